//! `netclass`: link state and properties per interface from
//! `<sysfs>/class/net/<iface>/`, as node_exporter's netclass collector:
//! node_network_{up,info,carrier,mtu_bytes,speed_bytes,...}{device}.
//!
//! An attribute the driver cannot report (reading `carrier` or `speed` of a
//! down link fails with EINVAL) is left out, as node_exporter does; one that
//! reads but is not a number is a parse error.

use std::path::Path;

use regex::Regex;

use super::util::{compile, parse_err, read, Misconfigured};
use super::{CollectError, CollectOptions, Collector, Family, Kind, Roots};

pub struct NetClass {
    ignored: Regex,
}

pub fn build(o: &CollectOptions) -> Box<dyn Collector> {
    match compile(
        "--collector.netclass.ignored-devices",
        &o.netclass_ignored_devices,
    ) {
        Ok(ignored) => Box::new(NetClass { ignored }),
        Err(reason) => Box::new(Misconfigured {
            name: "netclass",
            reason,
        }),
    }
}

/// (sysfs attribute, metric suffix, kind, multiplier to base units). Other
/// node_exporter netclass properties (carrier change counters, dormant, queue
/// length, ids and flags) are left out: node-mixin reads none of them and each
/// is a stored series per interface.
const NUMERIC: [(&str, &str, Kind, f64); 3] = [
    ("carrier", "carrier", Kind::Gauge, 1.0),
    ("mtu", "mtu_bytes", Kind::Gauge, 1.0),
    // Mbit/s; -1 (unknown) stays negative, as node_exporter reports it.
    ("speed", "speed_bytes", Kind::Gauge, 125_000.0),
];

/// An attribute's text, or None when the file is missing or the driver refuses it.
fn attr(dir: &Path, name: &str) -> Result<Option<String>, CollectError> {
    match read(&dir.join(name)) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).trim().to_string())),
        Err(CollectError::Io { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Collector for NetClass {
    fn name(&self) -> &'static str {
        "netclass"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let class = roots.sysfs.join("class/net");
        let entries = std::fs::read_dir(&class).map_err(|source| CollectError::Io {
            path: class.clone(),
            source,
        })?;
        let mut devices: Vec<String> = entries
            .filter_map(|e| e.ok())
            // bonding_masters is a file; interfaces are (links to) directories.
            .filter(|e| class.join(e.file_name()).is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|d| !self.ignored.is_match(d))
            .collect();
        devices.sort();
        let mut up = Family::new(
            "node_network_up",
            "Value is 1 if operstate is 'up', 0 otherwise.",
            Kind::Gauge,
        );
        let mut info = Family::new(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            Kind::Gauge,
        );
        let mut numeric = NUMERIC.map(|(_, suffix, kind, _)| {
            Family::new(
                &format!("node_network_{suffix}"),
                &format!("Network device property: {suffix}"),
                kind,
            )
        });
        for dev in &devices {
            let dir = class.join(dev);
            let text = |n| attr(&dir, n).map(Option::unwrap_or_default);
            let operstate = text("operstate")?;
            up.push(&[("device", dev)], f64::from(u8::from(operstate == "up")));
            info.push(
                &[
                    ("address", &text("address")?),
                    ("broadcast", &text("broadcast")?),
                    ("device", dev),
                    ("duplex", &text("duplex")?),
                    ("ifalias", &text("ifalias")?),
                    ("operstate", &operstate),
                ],
                1.0,
            );
            for ((file, _, _, scale), fam) in NUMERIC.iter().zip(numeric.iter_mut()) {
                let Some(raw) = attr(&dir, file)? else {
                    continue;
                };
                let v: i64 = raw.parse().map_err(|_| {
                    parse_err(&dir.join(file), format!("expected an integer, got {raw:?}"))
                })?;
                fam.push(&[("device", dev)], v as f64 * scale);
            }
        }
        out.extend(
            [up, info]
                .into_iter()
                .chain(numeric)
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}
