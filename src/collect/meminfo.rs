//! `meminfo`: node_memory_<Field>_bytes gauges from `<procfs>/meminfo`.

use procfs::Meminfo;

use super::util::{non_numeric, parse_err, parse_file};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct MemInfo;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(MemInfo)
}

/// Lines procfs-core's `Meminfo` insists on (all present since Linux 2.6).
const REQUIRED: [&str; 17] = [
    "MemTotal",
    "MemFree",
    "Buffers",
    "Cached",
    "SwapCached",
    "Active",
    "Inactive",
    "SwapTotal",
    "SwapFree",
    "Dirty",
    "Writeback",
    "Mapped",
    "Slab",
    "Committed_AS",
    "VmallocTotal",
    "VmallocUsed",
    "VmallocChunk",
];

/// Name the required keys the file lacks, for an error a human can act on.
fn missing_key(path: &std::path::Path) -> String {
    let bytes = super::util::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let have: Vec<&str> = text.lines().filter_map(|l| l.split(':').next()).collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|k| !have.contains(k))
        .collect();
    format!("missing required keys: {}", missing.join(", "))
}

impl Collector for MemInfo {
    fn name(&self) -> &'static str {
        "meminfo"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("meminfo");
        let m: Meminfo = parse_file(&path, |l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f[..] {
                [] => None,
                [key, value, ..] if key.ends_with(':') => {
                    non_numeric(&[value], &format!("key {}", key.trim_end_matches(':')))
                }
                _ => Some(format!("expected \"Key: value [unit]\", got {l:?}")),
            }
        })
        .map_err(|e| match e {
            CollectError::Parse { path, reason } if reason == "missing field" => {
                let reason = missing_key(&path);
                CollectError::Parse { path, reason }
            }
            other => other,
        })?;
        // MemAvailable only exists since Linux 3.14; node_exporter emits what the
        // file has, and forecasting exhaustion without it would be misleading.
        let available = m
            .mem_available
            .ok_or_else(|| parse_err(&path, "no MemAvailable line (kernel older than 3.14?)"))?;
        // procfs-core already converted the "kB" units to bytes.
        // The fields node-mixin's rules and dashboards and common memory
        // panels read (Slab: instance:node_memory_utilisation:ratio on kernels
        // without MemAvailable); fields a kernel lacks are left out.
        let fields = [
            ("MemTotal", Some(m.mem_total)),
            ("MemFree", Some(m.mem_free)),
            ("MemAvailable", Some(available)),
            ("Buffers", Some(m.buffers)),
            ("Cached", Some(m.cached)),
            ("SwapCached", Some(m.swap_cached)),
            ("SwapTotal", Some(m.swap_total)),
            ("SwapFree", Some(m.swap_free)),
            ("Active", Some(m.active)),
            ("Inactive", Some(m.inactive)),
            ("Dirty", Some(m.dirty)),
            ("Writeback", Some(m.writeback)),
            ("AnonPages", m.anon_pages),
            ("Mapped", Some(m.mapped)),
            ("Shmem", m.shmem),
            ("Slab", Some(m.slab)),
            ("SReclaimable", m.s_reclaimable),
            ("SUnreclaim", m.s_unreclaim),
            ("PageTables", m.page_tables),
            ("CommitLimit", m.commit_limit),
            ("Committed_AS", Some(m.committed_as)),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
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
