//! Which series a forecast cycle forecasts. A pure policy over the store's keys, the
//! latest collection and each series' newest stored sample, so the daemon, tests and
//! benchmarks select alike.
//!
//! A series is selected when its metric name matches, it is not excluded, it is not a
//! read-only filesystem or swap on a host without swap (both judged by the latest
//! collection), and it is not stale. Resources come first, then the cap applies.
//!
//! Staleness: a series collected since the agent started is stale `stale_after` past
//! its newest sample (a mount point that went away stops being forecast within a few
//! collections). A series known only from history, backfilled from Prometheus or
//! collected before the agent started, is kept [`HISTORY_STALE_AFTER`] past its newest
//! sample (at least `stale_after`): it gets no new samples, yet a fresh backfill
//! deserves forecasts, and one whose source is long gone does not.

use std::time::Duration;

use regex::Regex;

use crate::collect::Family;
use crate::store::parse_series_key;

/// How long series known only from history stay forecast past their newest sample.
pub const HISTORY_STALE_AFTER: Duration = Duration::from_secs(86_400);

/// A series chosen for this cycle: (store key, metric name, labels).
pub type Selected = (String, String, Vec<(String, String)>);

pub struct Policy<'a> {
    /// Metric names to forecast.
    pub metrics: &'a Regex,
    /// Series keys not to forecast.
    pub exclude: &'a Regex,
    pub max_series: usize,
    /// Staleness of series collected since `started_ms`.
    pub stale_after: Duration,
    /// When this agent started: series with a newer sample were collected by it.
    pub started_ms: i64,
    /// Puts resources first when the cap bites.
    pub is_resource: fn(&str) -> bool,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Policy<'_> {
    /// Whether a series whose newest sample is at `newest_ms` is still forecast at `now_ms`.
    pub fn fresh(&self, newest_ms: Option<i64>, now_ms: i64) -> bool {
        let Some(t) = newest_ms else { return false };
        let limit = if t >= self.started_ms {
            ms(self.stale_after)
        } else {
            ms(self.stale_after.max(HISTORY_STALE_AFTER))
        };
        now_ms.saturating_sub(t) <= limit
    }
}

/// The series to forecast at `now_ms`. `newest_ms` gives a series' newest stored sample.
pub fn select(
    keys: Vec<String>,
    current: &[Family],
    newest_ms: impl Fn(&str) -> Option<i64>,
    policy: &Policy,
    now_ms: i64,
) -> Vec<Selected> {
    let readonly: Vec<&[(String, String)]> = current
        .iter()
        .filter(|f| f.name == "node_filesystem_readonly")
        .flat_map(|f| {
            f.samples
                .iter()
                .filter(|s| s.value > 0.0)
                .map(|s| &*s.labels)
        })
        .collect();
    let no_swap = current
        .iter()
        .find(|f| f.name == "node_memory_SwapTotal_bytes")
        .and_then(|f| f.samples.first())
        .is_some_and(|s| s.value <= 0.0);
    let mut picked: Vec<Selected> = keys
        .into_iter()
        .filter(|k| !policy.exclude.is_match(k))
        .filter_map(|k| parse_series_key(&k).map(|(n, l)| (k, n, l)))
        .filter(|(_, n, l)| policy.metrics.is_match(n) && !readonly.contains(&l.as_slice()))
        .filter(|(_, n, _)| !(no_swap && n == "node_memory_SwapFree_bytes"))
        // Last: it is the only filter that looks into the store.
        .filter(|(k, _, _)| policy.fresh(newest_ms(k), now_ms))
        .collect();
    picked.sort_by_key(|(k, n, _)| (!(policy.is_resource)(n), k.clone()));
    picked.truncate(policy.max_series);
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Kind, Sample};
    use std::collections::HashMap;

    const MIN: i64 = 60_000;

    fn fam(name: &str, labels: &[(&str, &str)], value: f64) -> Family {
        Family {
            name: name.into(),
            help: String::new(),
            kind: Kind::Gauge,
            samples: vec![Sample {
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                tail: None,
                value,
            }],
        }
    }

    fn run(newest: &HashMap<&str, i64>, current: &[Family], max: usize) -> Vec<String> {
        let metrics = Regex::new("^node_(filesystem_avail_bytes|memory_.*|load1)$").unwrap();
        let exclude = Regex::new("excluded").unwrap();
        let policy = Policy {
            metrics: &metrics,
            exclude: &exclude,
            max_series: max,
            stale_after: Duration::from_secs(60),
            started_ms: 1000 * MIN,
            is_resource: |n| n != "node_load1",
        };
        let keys = newest.keys().map(|k| k.to_string()).collect();
        select(
            keys,
            current,
            |k| newest.get(k).copied(),
            &policy,
            2000 * MIN,
        )
        .into_iter()
        .map(|s| s.0)
        .collect()
    }

    #[test]
    fn live_series_go_stale_quickly_history_after_a_day() {
        let newest = HashMap::from([
            ("node_load1", 2000 * MIN),
            // Collected since start, gone for two minutes.
            (
                "node_filesystem_avail_bytes{mountpoint=\"/gone\"}",
                1998 * MIN,
            ),
            // Backfilled only: an hour old is kept, two days old is not.
            ("node_filesystem_avail_bytes{mountpoint=\"/bf\"}", 940 * MIN),
            (
                "node_filesystem_avail_bytes{mountpoint=\"/old\"}",
                2000 * MIN - 2 * 1440 * MIN,
            ),
            ("node_memory_MemAvailable_bytes", 2000 * MIN),
            ("node_memory_SwapFree_bytes", 2000 * MIN),
            ("node_memory_excluded", 2000 * MIN),
            ("node_cpu_seconds_total", 2000 * MIN),
        ]);
        let current = [fam("node_memory_SwapTotal_bytes", &[], 0.0)];
        assert_eq!(
            run(&newest, &current, 10),
            vec![
                "node_filesystem_avail_bytes{mountpoint=\"/bf\"}",
                "node_memory_MemAvailable_bytes",
                "node_load1",
            ],
            "no swap, no stale series, no excluded or unselected names, resources first"
        );
        assert_eq!(run(&newest, &current, 1).len(), 1, "capped");
        // With swap and the series read-only, swap is in and the mount out.
        let current = [
            fam("node_memory_SwapTotal_bytes", &[], 1e9),
            fam("node_filesystem_readonly", &[("mountpoint", "/bf")], 1.0),
        ];
        let got = run(&newest, &current, 10);
        assert!(
            got.contains(&"node_memory_SwapFree_bytes".to_string()),
            "{got:?}"
        );
        assert!(!got.iter().any(|k| k.contains("/bf")), "{got:?}");
    }

    #[test]
    fn staleness_thresholds() {
        let any = Regex::new(".").unwrap();
        let policy = Policy {
            metrics: &any,
            exclude: &any,
            max_series: 10,
            stale_after: Duration::from_secs(60),
            started_ms: 1_000_000_000,
            is_resource: |_| false,
        };
        let day = 86_400_000;
        assert!(!policy.fresh(None, 0), "no sample, nothing to forecast");
        let live = policy.started_ms;
        assert!(policy.fresh(Some(live), live + 60_000));
        assert!(!policy.fresh(Some(live), live + 60_001));
        let history = policy.started_ms - 1;
        assert!(policy.fresh(Some(history), history + day));
        assert!(!policy.fresh(Some(history), history + day + 1));
        // A longer stale_after applies to history too.
        let long = Policy {
            stale_after: Duration::from_secs(3 * 86_400),
            ..policy
        };
        assert!(long.fresh(Some(history), history + 2 * day));
    }
}
