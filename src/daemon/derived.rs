//! Series the forecaster needs but node_exporter does not expose: utilisation and
//! pressure as ratios (from counter deltas), load per CPU, and what is left of
//! file descriptors and PIDs. They are stored beside the collected series and
//! named like recording rules, without colons.
//!
//! [`DERIVED`] is the one definition of each: [`Deriver`] evaluates it on every
//! collection and [`Formula::promql`] turns it into the query the backfill runs,
//! so backfilled history and live values of a derived series join.

use std::collections::HashMap;

use crate::collect::Family;

/// The per-mode CPU counter; its `mode="idle"` series also count the CPUs.
const CPU_SECONDS: &str = "node_cpu_seconds_total";

/// How a derived series is computed from node_exporter series.
#[derive(Debug, Clone, Copy)]
pub enum Formula {
    /// Share of time not idle: `1 - rate(idle) / rate(all modes)`, in [0, 1].
    BusyRatio,
    /// Rate of a seconds counter (seconds per second), in [0, 1].
    RateRatio { counter: &'static str },
    /// Sum of a gauge divided by the number of CPUs.
    PerCpu { gauge: &'static str },
    /// The smallest of the limits present minus the sum of `used`, at least 0.
    Headroom {
        limits: &'static [&'static str],
        used: &'static str,
    },
}

pub struct Derived {
    pub name: &'static str,
    pub formula: Formula,
}

pub const DERIVED: &[Derived] = &[
    Derived {
        name: "node_cpu_utilisation_ratio",
        formula: Formula::BusyRatio,
    },
    Derived {
        name: "node_load1_per_cpu",
        formula: Formula::PerCpu {
            gauge: "node_load1",
        },
    },
    Derived {
        name: "node_filefd_available",
        formula: Formula::Headroom {
            limits: &["node_filefd_maximum"],
            used: "node_filefd_allocated",
        },
    },
    Derived {
        name: "node_processes_available",
        // Either limit can bind: pid_max (max_processes) is 4194304 under systemd
        // while threads-max stays near RAM / 128 KiB.
        formula: Formula::Headroom {
            limits: &["node_processes_max_processes", "node_processes_max_threads"],
            used: "node_processes_threads",
        },
    },
    Derived {
        name: "node_pressure_cpu_waiting_ratio",
        formula: Formula::RateRatio {
            counter: "node_pressure_cpu_waiting_seconds_total",
        },
    },
    Derived {
        name: "node_pressure_memory_waiting_ratio",
        formula: Formula::RateRatio {
            counter: "node_pressure_memory_waiting_seconds_total",
        },
    },
    Derived {
        name: "node_pressure_io_waiting_ratio",
        formula: Formula::RateRatio {
            counter: "node_pressure_io_waiting_seconds_total",
        },
    },
];

impl Formula {
    /// The PromQL computing this series over `sel` (label matchers without braces).
    /// Gauges are averaged over `avg` and counters' rates taken over `rate` (both
    /// Prometheus durations), so a point at `t` describes the window ending at `t`.
    pub fn promql(&self, sel: &str, avg: &str, rate: &str) -> String {
        match *self {
            Formula::BusyRatio => format!(
                "clamp(1 - sum(rate({CPU_SECONDS}{{mode=\"idle\",{sel}}}[{rate}])) / sum(rate({CPU_SECONDS}{{{sel}}}[{rate}])), 0, 1)"
            ),
            Formula::RateRatio { counter } => {
                format!("clamp(sum(rate({counter}{{{sel}}}[{rate}])), 0, 1)")
            }
            Formula::PerCpu { gauge } => format!(
                "sum(avg_over_time({gauge}{{{sel}}}[{avg}])) / count({CPU_SECONDS}{{mode=\"idle\",{sel}}})"
            ),
            // Limits are sysctls that rarely change: an instant selector keeps each
            // series' name, so all limits fit one vector and `min` takes those present.
            Formula::Headroom { limits, used } => format!(
                "clamp_min(min({{__name__=~\"{}\",{sel}}}) - sum(avg_over_time({used}{{{sel}}}[{avg}])), 0)",
                limits.join("|")
            ),
        }
    }
}

/// Remembers the previous cycle's counters so ratios can be formed from deltas.
#[derive(Default)]
pub struct Deriver {
    prev: HashMap<&'static str, (i64, f64)>,
}

/// Sum of the samples of `name` whose labels pass `pred`; None when there are none.
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

fn sum(fams: &[Family], name: &str) -> Option<f64> {
    sum_where(fams, name, |_| true)
}

fn is_idle(l: &[(String, String)]) -> bool {
    l.iter().any(|(k, v)| k == "mode" && v == "idle")
}

impl Deriver {
    /// Rate of change of a counter since the previous cycle; None on the first
    /// cycle and after a counter reset.
    fn rate(&mut self, key: &'static str, ts_ms: i64, v: f64) -> Option<f64> {
        let prev = self.prev.insert(key, (ts_ms, v));
        let (pts, pv) = prev?;
        let dt = (ts_ms - pts) as f64 / 1000.0;
        (dt > 0.0 && v >= pv).then(|| (v - pv) / dt)
    }

    fn eval(&mut self, f: Formula, ts_ms: i64, fams: &[Family]) -> Option<f64> {
        match f {
            Formula::BusyRatio => {
                let idle = sum_where(fams, CPU_SECONDS, is_idle)?;
                let all = sum(fams, CPU_SECONDS)?;
                // Both rates are taken before either can bail out, so both stay current.
                let (i, a) = (
                    self.rate("cpu_idle", ts_ms, idle),
                    self.rate("cpu_all", ts_ms, all),
                );
                let (i, a) = (i?, a?);
                (a > 0.0).then(|| (1.0 - i / a).clamp(0.0, 1.0))
            }
            Formula::RateRatio { counter } => {
                let v = sum(fams, counter)?;
                Some(self.rate(counter, ts_ms, v)?.clamp(0.0, 1.0))
            }
            Formula::PerCpu { gauge } => {
                let cpus = fams.iter().find(|f| f.name == CPU_SECONDS).map_or(0, |f| {
                    f.samples.iter().filter(|s| is_idle(&s.labels)).count()
                });
                let v = sum(fams, gauge)?;
                (cpus > 0).then(|| v / cpus as f64)
            }
            Formula::Headroom { limits, used } => {
                let used = sum(fams, used)?;
                let limit = limits
                    .iter()
                    .filter_map(|l| sum(fams, l))
                    .fold(f64::INFINITY, f64::min);
                limit.is_finite().then(|| (limit - used).max(0.0))
            }
        }
    }

    /// Derived (series name, value) pairs for this cycle, all without labels.
    pub fn derive(&mut self, ts_ms: i64, fams: &[Family]) -> Vec<(String, f64)> {
        DERIVED
            .iter()
            .filter_map(|d| Some((d.name.to_string(), self.eval(d.formula, ts_ms, fams)?)))
            .collect()
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
                    labels: l("idle").into(),
                    tail: None,
                    value: idle,
                },
                Sample {
                    labels: l("user").into(),
                    tail: None,
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
                labels: [].into(),
                tail: None,
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

    #[test]
    fn pid_headroom_takes_the_binding_limit() {
        let fams = [
            gauge("node_processes_threads", 500.0),
            gauge("node_processes_max_processes", 4_194_304.0),
            gauge("node_processes_max_threads", 100_000.0),
        ];
        let got = Deriver::default().derive(0, &fams);
        assert!(got.contains(&("node_processes_available".to_string(), 99_500.0)));
        // Without the thread limit the PID limit binds.
        let got = Deriver::default().derive(0, &fams[..2]);
        assert!(got.contains(&("node_processes_available".to_string(), 4_193_804.0)));
        let q = DERIVED
            .iter()
            .find(|d| d.name == "node_processes_available")
            .unwrap()
            .formula
            .promql("instance=\"x\"", "5m", "5m");
        assert!(
            q.contains("node_processes_max_processes|node_processes_max_threads"),
            "{q}"
        );
    }
}
