//! `stat`: boot time, context switches, forks, interrupts and runnable/blocked
//! process counts from `<procfs>/stat`, as node_exporter's stat collector.

use super::util::{parse_err, parse_u64, read};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Stat;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Stat)
}

/// (key in /proc/stat, metric, HELP, kind); every key must be present
/// (procs_running/blocked exist since Linux 2.5.45).
const FIELDS: [(&str, &str, &str, Kind); 6] = [
    (
        "intr",
        "node_intr_total",
        "Total number of interrupts serviced.",
        Kind::Counter,
    ),
    (
        "ctxt",
        "node_context_switches_total",
        "Total number of context switches.",
        Kind::Counter,
    ),
    (
        "processes",
        "node_forks_total",
        "Total number of forks.",
        Kind::Counter,
    ),
    (
        "btime",
        "node_boot_time_seconds",
        "Node boot time, in unixtime.",
        Kind::Gauge,
    ),
    (
        "procs_running",
        "node_procs_running",
        "Number of processes in runnable state.",
        Kind::Gauge,
    ),
    (
        "procs_blocked",
        "node_procs_blocked",
        "Number of processes blocked waiting for I/O to complete.",
        Kind::Gauge,
    ),
];

impl Collector for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("stat");
        let bytes = read(&path)?;
        let text =
            std::str::from_utf8(&bytes).map_err(|e| parse_err(&path, format!("not UTF-8: {e}")))?;
        let mut values = [None; FIELDS.len()];
        for (n, line) in text.lines().enumerate() {
            let mut words = line.split_whitespace();
            let Some(key) = words.next() else { continue };
            let Some(i) = FIELDS.iter().position(|f| f.0 == key) else {
                continue;
            };
            // `intr` is followed by per-IRQ counts; its first number is the total.
            let first = words.next().unwrap_or("");
            let v = parse_u64(&path, &format!("line {}: {key}", n + 1), first)?;
            values[i] = Some(v);
        }
        let missing: Vec<&str> = FIELDS
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(f, _)| f.0)
            .collect();
        if !missing.is_empty() {
            return Err(parse_err(
                &path,
                format!("missing lines: {}", missing.join(", ")),
            ));
        }
        for ((_, name, help, kind), v) in FIELDS.iter().zip(values) {
            out.push(Family::single(name, help, *kind, v.unwrap_or(0) as f64));
        }
        Ok(())
    }
}
