//! Inputs pulled from a Prometheus: every remaining-quantity series of one node, with
//! its capacity, through the backfill client (same chunks and retries). An operator
//! replays five weeks of their own node without exporting anything first.

use std::collections::HashMap;
use std::time::Duration;

use super::sim::{metric_for, Input};
use crate::backfill::{pull, Plan, RangeSeries};
use crate::predict::series::capacity_metric;

/// Resources read from node_exporter's own series (nodecast's derived headroom
/// series for file descriptors and PIDs are not in a node_exporter's Prometheus).
const RESOURCES: &[&str] = &["filesystem_space", "filesystem_inodes", "memory", "swap"];

/// Where and what to pull.
pub struct Source {
    pub url: String,
    /// Label matchers without braces, e.g. `instance="node1:9100"`.
    pub selector: String,
    pub lookback: Duration,
    pub step: Duration,
    pub timeout: Duration,
}

/// One input per series of each resource that has a capacity beside it.
pub fn inputs(src: &Source, now_ms: i64) -> Result<Vec<Input>, String> {
    let plan = Plan {
        url: src.url.clone(),
        selector: src.selector.clone(),
        step: src.step,
        lookback: src.lookback,
        timeout: src.timeout,
        retries: 2,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mut out = Vec::new();
    for &resource in RESOURCES {
        let metric = metric_for(resource);
        let Some(cap_metric) = capacity_metric(metric) else {
            continue;
        };
        let q = |m: &str| format!("{m}{{{}}}", src.selector);
        let get = |m: &str| {
            rt.block_on(pull(&plan, &q(m), now_ms))
                .map_err(|e| format!("{}: {e}", src.url))
        };
        let caps: HashMap<Vec<(String, String)>, RangeSeries> = get(cap_metric)?
            .into_iter()
            .map(|s| (without_name(&s.labels), s))
            .collect();
        for s in get(metric)? {
            let labels = without_name(&s.labels);
            let Some(cap) = caps.get(&labels) else {
                continue;
            };
            let cap_at: HashMap<i64, f64> = cap.samples.iter().copied().collect();
            let samples: Vec<(i64, f64, f64)> = s
                .samples
                .iter()
                .filter_map(|&(t, v)| Some((t, v, *cap_at.get(&t)?)))
                .filter(|p| p.1.is_finite() && p.2.is_finite() && p.2 > 0.0)
                .collect();
            if samples.len() < 2 {
                continue;
            }
            out.push(Input {
                name: file_name(metric, &labels),
                resource: resource.to_string(),
                samples,
            });
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{}: no remaining-quantity series with a capacity for {{{}}}",
            src.url, src.selector
        ));
    }
    Ok(out)
}

fn without_name(labels: &[(String, String)]) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect()
}

/// `metric_label=value_…`, safe as a file name for `--trace`.
fn file_name(metric: &str, labels: &[(String, String)]) -> String {
    let mut n = metric.to_string();
    for (k, v) in labels {
        if matches!(k.as_str(), "instance" | "job") {
            continue;
        }
        n.push_str(&format!("_{k}={v}"));
    }
    n.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_=.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_file_names() {
        let l = vec![
            ("mountpoint".to_string(), "/var/lib/we\"ird".to_string()),
            ("instance".to_string(), "n1:9100".to_string()),
        ];
        let n = file_name("node_filesystem_avail_bytes", &l);
        assert_eq!(n, "node_filesystem_avail_bytes_mountpoint=_var_lib_we_ird");
    }
}
