//! `meminfo`: node_memory_<Field>_bytes gauges from `<procfs>/meminfo`.

use procfs::Meminfo;

use super::util::{parse_err, parse_file};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct MemInfo;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(MemInfo)
}

impl Collector for MemInfo {
    fn name(&self) -> &'static str {
        "meminfo"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("meminfo");
        let m: Meminfo = parse_file(&path)?;
        // MemAvailable only exists since Linux 3.14; node_exporter emits what the
        // file has, and forecasting exhaustion without it would be misleading.
        let available =
            m.mem_available.ok_or_else(|| parse_err(&path, "no MemAvailable line (kernel older than 3.14?)"))?;
        // procfs-core already converted the "kB" units to bytes.
        let fields = [
            ("MemTotal", m.mem_total),
            ("MemFree", m.mem_free),
            ("MemAvailable", available),
            ("Buffers", m.buffers),
            ("Cached", m.cached),
            ("SwapTotal", m.swap_total),
            ("SwapFree", m.swap_free),
        ];
        for (field, value) in fields {
            out.push(Family::single(
                &format!("node_memory_{field}_bytes"),
                &format!("Memory information field {field}_bytes."),
                Kind::Gauge,
                value as f64,
            ));
        }
        Ok(())
    }
}
