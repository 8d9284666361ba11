//! `vmstat`: node_vmstat_<field> from `<procfs>/vmstat`, for the fields
//! node_exporter exports by default (`^(oom_kill|pgpg|pswp|pg.*fault).*`):
//! page-ins/outs, swap-ins/outs, page faults and OOM kills.
//!
//! node_exporter types these `untyped`; we expose them as gauges (the names
//! lack `_total`, so `counter` would break promtool's conventions), which
//! `rate()` treats the same way.

use super::util::{parse_err, parse_u64, read};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct VmStat;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(VmStat)
}

/// node_exporter's default `--collector.vmstat.fields`, as a predicate.
fn wanted(key: &str) -> bool {
    key.starts_with("oom_kill")
        || key.starts_with("pgpg")
        || key.starts_with("pswp")
        || (key.starts_with("pg") && key[2..].contains("fault"))
}

impl Collector for VmStat {
    fn name(&self) -> &'static str {
        "vmstat"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("vmstat");
        let bytes = read(&path)?;
        let text =
            std::str::from_utf8(&bytes).map_err(|e| parse_err(&path, format!("not UTF-8: {e}")))?;
        let mut fams = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [key, value] = f[..] else {
                if f.is_empty() {
                    continue;
                }
                return Err(parse_err(
                    &path,
                    format!("line {}: expected \"key value\", got {line:?}", n + 1),
                ));
            };
            if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(parse_err(
                    &path,
                    format!("line {}: {key:?} is not a field name", n + 1),
                ));
            }
            if !wanted(key) {
                continue;
            }
            let v = parse_u64(&path, &format!("line {}: {key}", n + 1), value)?;
            fams.push(Family::single(
                &format!("node_vmstat_{key}"),
                &format!("/proc/vmstat information field {key}."),
                Kind::Gauge,
                v as f64,
            ));
        }
        if !fams.iter().any(|f| f.name == "node_vmstat_pgmajfault") {
            return Err(parse_err(&path, "no pgmajfault line"));
        }
        fams.sort_by(|a, b| a.name.cmp(&b.name));
        fams.dedup_by(|a, b| a.name == b.name);
        out.extend(fams);
        Ok(())
    }
}
