//! What the backfill asks Prometheus for: node_exporter's series averaged over each
//! step, and the derived series from their shared definition in `daemon::derived`,
//! so backfilled history has the texture of local history (a local bucket is the
//! mean of every collection in its step).

use std::time::Duration;

use super::response::RangeSeries;
use crate::daemon::derived::DERIVED;
use crate::store::series_key;

/// node_exporter series stored under their own names and labels.
pub const RAW: [&str; 11] = [
    "node_filesystem_avail_bytes",
    "node_filesystem_files_free",
    "node_filesystem_size_bytes",
    "node_filesystem_files",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_memory_SwapFree_bytes",
    "node_memory_SwapTotal_bytes",
    "node_load1",
    "node_hwmon_temp_celsius",
    "node_thermal_zone_temp",
];

/// Rates need two scrapes inside their window; 5 minutes covers the usual 15–60 s
/// scrape intervals even when the step is shorter.
const MIN_RATE_WINDOW: Duration = Duration::from_secs(300);

/// One `query_range` expression and the series name its results are stored under.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub name: &'static str,
    /// Derived series are stored without labels; raw ones keep theirs.
    pub derived: bool,
    pub promql: String,
}

/// The queries for the node `sel` (label matchers without braces) at `step`.
pub fn queries(sel: &str, step: Duration) -> Vec<Query> {
    // Prometheus 2 ranges include both ends: one millisecond less keeps a sample
    // that falls on a step boundary in one step only.
    let avg = format!("{}ms", step.as_millis().max(2) - 1);
    let rate = format!("{}s", step.max(MIN_RATE_WINDOW).as_secs());
    let raw = RAW.iter().map(|&name| Query {
        name,
        derived: false,
        promql: format!("avg_over_time({name}{{{sel}}}[{avg}])"),
    });
    let derived = DERIVED.iter().map(|d| Query {
        name: d.name,
        derived: true,
        promql: d.formula.promql(sel, &avg, &rate),
    });
    raw.chain(derived).collect()
}

/// The store key for a pulled series: scrape-target labels and the selector's own labels
/// dropped. (`avg_over_time` drops `__name__`, so the name comes from the query.)
pub fn key_for(s: &RangeSeries, q: &Query, selector_labels: &[String]) -> String {
    if q.derived {
        return series_key(q.name, &[]);
    }
    let labels: Vec<(String, String)> = s
        .labels
        .iter()
        .filter(|(k, _)| {
            k != "__name__" && k != "instance" && k != "job" && !selector_labels.contains(k)
        })
        .cloned()
        .collect();
    series_key(q.name, &labels)
}

pub fn selector_label_names(sel: &str) -> Vec<String> {
    sel.split(',')
        .filter_map(|m| m.split(['=', '!', '~']).next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_target_and_selector_labels() {
        let s = RangeSeries {
            labels: vec![
                ("device".into(), "/dev/vda".into()),
                ("instance".into(), "n1:9100".into()),
                ("job".into(), "node".into()),
                ("node".into(), "n1".into()),
            ],
            samples: vec![],
        };
        let names = selector_label_names("node=\"n1\",job=~\"node.*\"");
        assert_eq!(names, vec!["node".to_string(), "job".to_string()]);
        let all = queries("node=\"n1\"", Duration::from_secs(300));
        let avail = all
            .iter()
            .find(|q| q.name == "node_filesystem_avail_bytes")
            .unwrap();
        assert_eq!(
            key_for(&s, avail, &names),
            series_key(
                "node_filesystem_avail_bytes",
                &[("device".into(), "/dev/vda".into())]
            )
        );
        let per_cpu = all.iter().find(|q| q.name == "node_load1_per_cpu").unwrap();
        assert_eq!(
            key_for(&s, per_cpu, &names),
            series_key("node_load1_per_cpu", &[])
        );
    }

    #[test]
    fn every_query_carries_the_selector_and_averages_over_the_step() {
        for q in queries("instance=\"x\"", Duration::from_secs(60)) {
            assert!(q.promql.contains("instance=\"x\""), "{}", q.promql);
            if !q.derived {
                assert!(q.promql.starts_with("avg_over_time("), "{}", q.promql);
                assert!(q.promql.ends_with("[59999ms])"), "{}", q.promql);
            }
        }
    }
}
