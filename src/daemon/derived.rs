//! Series the forecaster needs but node_exporter does not expose: utilisation and
//! pressure as ratios (from counter deltas), load per CPU, and what is left of
//! file descriptors and PIDs. They are stored beside the collected series and
//! named like recording rules, without colons.

use std::collections::HashMap;

use crate::collect::Family;

/// Remembers the previous cycle's counters so ratios can be formed from deltas.
#[derive(Default)]
pub struct Deriver {
    prev: HashMap<String, (i64, f64)>,
}

fn value(fams: &[Family], name: &str) -> Option<f64> {
    fams.iter()
        .find(|f| f.name == name)
        .and_then(|f| f.samples.first())
        .map(|s| s.value)
}

fn sum_where(
    fams: &[Family],
    name: &str,
    pred: impl Fn(&[(String, String)]) -> bool,
) -> Option<f64> {
    let fam = fams.iter().find(|f| f.name == name)?;
    let picked: Vec<f64> = fam
        .samples
        .iter()
        .filter(|s| pred(&s.labels))
        .map(|s| s.value)
        .collect();
    (!picked.is_empty()).then(|| picked.iter().sum())
}

impl Deriver {
    /// Rate of change of a counter since the previous cycle; None on the first
    /// cycle and after a counter reset.
    fn rate(&mut self, key: &str, ts_ms: i64, v: f64) -> Option<f64> {
        let prev = self.prev.insert(key.to_string(), (ts_ms, v));
        let (pts, pv) = prev?;
        let dt = (ts_ms - pts) as f64 / 1000.0;
        (dt > 0.0 && v >= pv).then(|| (v - pv) / dt)
    }

    /// Derived (series name, value) pairs for this cycle, all without labels.
    pub fn derive(&mut self, ts_ms: i64, fams: &[Family]) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let mode_is = |m: &'static str| {
            move |l: &[(String, String)]| l.iter().any(|(k, v)| k == "mode" && v == m)
        };
        if let (Some(idle), Some(all)) = (
            sum_where(fams, "node_cpu_seconds_total", mode_is("idle")),
            sum_where(fams, "node_cpu_seconds_total", |_| true),
        ) {
            let idle_rate = self.rate("cpu_idle", ts_ms, idle);
            let all_rate = self.rate("cpu_all", ts_ms, all);
            if let (Some(i), Some(a)) = (idle_rate, all_rate) {
                if a > 0.0 {
                    out.push((
                        "node_cpu_utilisation_ratio".to_string(),
                        (1.0 - i / a).clamp(0.0, 1.0),
                    ));
                }
            }
        }
        let cpus = fams
            .iter()
            .find(|f| f.name == "node_cpu_seconds_total")
            .map(|f| {
                f.samples
                    .iter()
                    .filter(|s| mode_is("idle")(&s.labels))
                    .count()
            })
            .unwrap_or(0);
        if let (Some(load), true) = (value(fams, "node_load1"), cpus > 0) {
            out.push(("node_load1_per_cpu".to_string(), load / cpus as f64));
        }
        if let (Some(alloc), Some(max)) = (
            value(fams, "node_filefd_allocated"),
            value(fams, "node_filefd_maximum"),
        ) {
            out.push(("node_filefd_available".to_string(), (max - alloc).max(0.0)));
        }
        if let Some(threads) = value(fams, "node_processes_threads") {
            let limit = [
                value(fams, "node_processes_max_processes"),
                value(fams, "node_processes_max_threads"),
            ]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
            if limit.is_finite() {
                out.push((
                    "node_processes_available".to_string(),
                    (limit - threads).max(0.0),
                ));
            }
        }
        for (counter, ratio) in [
            (
                "node_pressure_cpu_waiting_seconds_total",
                "node_pressure_cpu_waiting_ratio",
            ),
            (
                "node_pressure_memory_waiting_seconds_total",
                "node_pressure_memory_waiting_ratio",
            ),
            (
                "node_pressure_io_waiting_seconds_total",
                "node_pressure_io_waiting_ratio",
            ),
        ] {
            if let Some(v) = value(fams, counter) {
                if let Some(r) = self.rate(counter, ts_ms, v) {
                    out.push((ratio.to_string(), r.clamp(0.0, 1.0)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Kind, Sample};

    fn cpu(idle: f64, user: f64) -> Family {
        let l = |m: &str| {
            vec![
                ("cpu".to_string(), "0".to_string()),
                ("mode".to_string(), m.to_string()),
            ]
        };
        Family {
            name: "node_cpu_seconds_total".into(),
            help: String::new(),
            kind: Kind::Counter,
            samples: vec![
                Sample {
                    labels: l("idle"),
                    value: idle,
                },
                Sample {
                    labels: l("user"),
                    value: user,
                },
            ],
        }
    }

    fn gauge(name: &str, v: f64) -> Family {
        Family {
            name: name.into(),
            help: String::new(),
            kind: Kind::Gauge,
            samples: vec![Sample {
                labels: vec![],
                value: v,
            }],
        }
    }

    #[test]
    fn utilisation_from_deltas_and_headroom() {
        let mut d = Deriver::default();
        let first = d.derive(
            0,
            &[
                cpu(100.0, 50.0),
                gauge("node_filefd_allocated", 10.0),
                gauge("node_filefd_maximum", 100.0),
            ],
        );
        assert!(
            first.iter().all(|(n, _)| n != "node_cpu_utilisation_ratio"),
            "no rate on the first cycle"
        );
        assert!(first.contains(&("node_filefd_available".to_string(), 90.0)));
        let second = d.derive(10_000, &[cpu(103.0, 57.0)]);
        let util = second
            .iter()
            .find(|(n, _)| n == "node_cpu_utilisation_ratio")
            .map(|x| x.1);
        assert_eq!(util, Some(0.7));
        // A counter reset (restart of the source) gives no rate rather than a negative one.
        let third = d.derive(20_000, &[cpu(1.0, 1.0)]);
        assert!(third.iter().all(|(n, _)| n != "node_cpu_utilisation_ratio"));
    }
}
