//! `os`: node_os_info and node_os_version from `<rootfs>/etc/os-release`
//! (falling back to `<rootfs>/usr/lib/os-release`), as node_exporter's os
//! collector; with the host's root mounted at `--path.rootfs` it names the
//! host's distribution, not the container's.

use super::util::{parse_err, read_opt, under_root};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Os;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Os)
}

/// os-release keys that become node_os_info labels (label = key lowercased).
const KEYS: [&str; 12] = [
    "BUILD_ID",
    "ID",
    "ID_LIKE",
    "IMAGE_ID",
    "IMAGE_VERSION",
    "NAME",
    "PRETTY_NAME",
    "VARIANT",
    "VARIANT_ID",
    "VERSION",
    "VERSION_CODENAME",
    "VERSION_ID",
];

/// One os-release value: shell-style quoting with `\"`, `\\`, `\$` and `` \` `` escapes.
fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('\'') {
        return inner.strip_suffix('\'').map(str::to_string);
    }
    let Some(inner) = v.strip_prefix('"') else {
        return Some(v.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The leading `major[.minor]` of VERSION_ID as a number, 0 if there is none.
fn major_minor(version_id: &str) -> f64 {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(version_id);
    if major == 0 {
        return 0.0;
    }
    let mut end = major;
    if version_id[major..].starts_with('.') {
        end += 1 + digits(&version_id[major + 1..]);
    }
    version_id[..end]
        .trim_end_matches('.')
        .parse()
        .unwrap_or(0.0)
}

impl Collector for Os {
    fn name(&self) -> &'static str {
        "os"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let mut found = None;
        for p in ["/etc/os-release", "/usr/lib/os-release"] {
            let path = under_root(&roots.rootfs, p);
            if let Some(bytes) = read_opt(&path)? {
                found = Some((path, bytes));
                break;
            }
        }
        let Some((path, bytes)) = found else {
            return Err(parse_err(
                &under_root(&roots.rootfs, "/etc/os-release"),
                "neither etc/os-release nor usr/lib/os-release exists under the root",
            ));
        };
        let text =
            std::str::from_utf8(&bytes).map_err(|e| parse_err(&path, format!("not UTF-8: {e}")))?;
        let mut values = [const { String::new() }; KEYS.len()];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                return Err(parse_err(
                    &path,
                    format!("line {}: expected KEY=value, got {line:?}", n + 1),
                ));
            };
            let Some(v) = unquote(raw) else {
                return Err(parse_err(
                    &path,
                    format!("line {}: unterminated quote in {key}", n + 1),
                ));
            };
            if let Some(i) = KEYS.iter().position(|k| *k == key.trim()) {
                values[i] = v;
            }
        }
        let get = |k: &str| values[KEYS.iter().position(|x| *x == k).unwrap_or(0)].as_str();
        let labels: Vec<(String, &str)> = KEYS
            .iter()
            .zip(&values)
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
            .collect();
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let mut info = Family::new(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
            Kind::Gauge,
        );
        info.push(&labels, 1.0);
        let mut version = Family::new(
            "node_os_version",
            "Metric containing the major.minor part of the OS version.",
            Kind::Gauge,
        );
        version.push(
            &[
                ("id", get("ID")),
                ("id_like", get("ID_LIKE")),
                ("name", get("NAME")),
            ],
            major_minor(get("VERSION_ID")),
        );
        out.push(info);
        out.push(version);
        Ok(())
    }
}
