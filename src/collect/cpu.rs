//! `cpu`: node_cpu_seconds_total{cpu,mode} from `<procfs>/stat`.

use std::collections::HashMap;

use procfs::{ExplicitSystemInfo, FromReadSI, KernelStats};

use super::util::{non_numeric, parse_err, procfs_reason, read};
use super::{CollectError, Collector, Family, Kind, Roots};

const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

#[derive(Default)]
pub struct Cpu {
    /// Last emitted value per (cpu, mode index). The kernel's idle and iowait
    /// counters can step backwards (NO_HZ accounting); node_exporter holds the
    /// previous value in that case so rate() does not see a counter reset.
    last: HashMap<(String, usize), f64>,
}

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Cpu::default())
}

impl Collector for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("stat");
        let bytes = read(&path)?;
        let tps = procfs::ticks_per_second();
        let si = ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: tps,
            page_size: 4096,
            is_little_endian: cfg!(target_endian = "little"),
        };
        let stats = KernelStats::from_read(&bytes[..], &si).map_err(|e| {
            // Point at the first cpu line procfs-core would reject, if any.
            let text = String::from_utf8_lossy(&bytes);
            let bad = text.lines().enumerate().find_map(|(n, l)| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let name = f.first().filter(|w| w.starts_with("cpu"))?;
                if f.len() < 5 {
                    return Some(format!(
                        "line {}: {name}: expected at least 4 counters",
                        n + 1
                    ));
                }
                non_numeric(&f[1..], name).map(|why| format!("line {}: {why}", n + 1))
            });
            parse_err(&path, bad.unwrap_or_else(|| procfs_reason(&e)))
        })?;
        // procfs keeps per-CPU lines in file order but drops their numbers; offline
        // CPUs leave gaps, so take the ids from the same lines ourselves.
        let text = String::from_utf8_lossy(&bytes);
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|w| w.strip_prefix("cpu"))
            .filter(|id| !id.is_empty())
            .collect();
        if ids.len() != stats.cpu_time.len() || ids.iter().any(|id| id.parse::<u32>().is_err()) {
            return Err(parse_err(&path, "per-CPU lines are not of the form cpuN"));
        }
        if self.last.keys().filter(|(_, m)| *m == 0).count() != ids.len() {
            self.last.clear(); // CPU hotplug: old values belong to a different set
        }

        let mut fam = Family::new(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            Kind::Counter,
        );
        let mut next = HashMap::new();
        for (id, t) in ids.iter().zip(&stats.cpu_time) {
            let ticks = [
                Some(t.user),
                Some(t.nice),
                Some(t.system),
                Some(t.idle),
                t.iowait,
                t.irq,
                t.softirq,
                t.steal,
            ];
            for (m, tick) in ticks.iter().enumerate() {
                let Some(tick) = tick else { continue };
                let mut secs = *tick as f64 / tps as f64;
                let key = (id.to_string(), m);
                if let Some(&prev) = self.last.get(&key) {
                    if (MODES[m] == "idle" || MODES[m] == "iowait") && secs < prev {
                        secs = prev;
                    }
                }
                next.insert(key, secs);
                fam.push(&[("cpu", id), ("mode", MODES[m])], secs);
            }
        }
        self.last = next;
        out.push(fam);
        Ok(())
    }
}
