//! History backfill: on a first start, pull this node's history from a Prometheus
//! that already scraped node_exporter, so forecasts do not wait weeks for data.
//!
//! Series are pulled with `query_range` at the downsampled tier's step, in chunks
//! small enough for Prometheus' 11 000-point limit, and written with
//! [`Store::backfill`], which never overwrites samples the agent collected itself.

pub mod response;

use std::sync::Arc;
use std::time::Duration;

use crate::store::{series_key, Store};
use response::{parse_range, RangeSeries};

pub struct Plan {
    pub url: String,
    /// Label matchers without braces, e.g. `instance="node1:9100"`.
    pub selector: String,
    pub step: Duration,
    pub lookback: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub queries: u64,
    pub series: u64,
    pub stored: u64,
    pub skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("backfill URL {0:?} is not an http(s) URL")]
    BadUrl(String),
    #[error("query {query:?}: {reason}")]
    Query { query: String, reason: String },
    #[error("store: {0}")]
    Store(String),
}

/// The queries to run: (series name to store under, PromQL). Raw names are kept;
/// derived series use the same definitions as `daemon::derived`.
pub fn queries(sel: &str) -> Vec<(Option<&'static str>, String)> {
    let raw = [
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
    let mut q: Vec<(Option<&'static str>, String)> = raw
        .iter()
        .map(|n| (None, format!("{n}{{{sel}}}")))
        .collect();
    q.push((Some("node_cpu_utilisation_ratio"), format!(
        "1 - sum(rate(node_cpu_seconds_total{{mode=\"idle\",{sel}}}[5m])) / sum(rate(node_cpu_seconds_total{{{sel}}}[5m]))"
    )));
    q.push((
        Some("node_load1_per_cpu"),
        format!("sum(node_load1{{{sel}}}) / count(node_cpu_seconds_total{{mode=\"idle\",{sel}}})"),
    ));
    q.push((
        Some("node_filefd_available"),
        format!("sum(node_filefd_maximum{{{sel}}}) - sum(node_filefd_allocated{{{sel}}})"),
    ));
    q.push((Some("node_processes_available"), format!(
        "clamp_min(min(node_processes_max_processes{{{sel}}}) - sum(node_processes_threads{{{sel}}}), 0)"
    )));
    for (r, name) in [
        ("cpu", "node_pressure_cpu_waiting_ratio"),
        ("memory", "node_pressure_memory_waiting_ratio"),
        ("io", "node_pressure_io_waiting_ratio"),
    ] {
        q.push((
            Some(name),
            format!("sum(rate(node_pressure_{r}_waiting_seconds_total{{{sel}}}[5m]))"),
        ));
    }
    q
}

/// The store key for a pulled series: scrape-target labels and the selector's own labels dropped.
pub fn key_for(
    s: &RangeSeries,
    derived: Option<&str>,
    selector_labels: &[String],
) -> Option<String> {
    if let Some(name) = derived {
        return Some(series_key(name, &[]));
    }
    let name = s.labels.iter().find(|(k, _)| k == "__name__")?.1.clone();
    let labels: Vec<(String, String)> = s
        .labels
        .iter()
        .filter(|(k, _)| {
            k != "__name__" && k != "instance" && k != "job" && !selector_labels.contains(k)
        })
        .cloned()
        .collect();
    Some(series_key(&name, &labels))
}

fn selector_label_names(sel: &str) -> Vec<String> {
    sel.split(',')
        .filter_map(|m| m.split(['=', '!', '~']).next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

async fn fetch(
    client: &reqwest::Client,
    plan: &Plan,
    query: &str,
    start: i64,
    end: i64,
) -> Result<Vec<RangeSeries>, String> {
    let url = format!("{}/api/v1/query_range", plan.url.trim_end_matches('/'));
    let params = [
        ("query", query.to_string()),
        ("start", (start as f64 / 1000.0).to_string()),
        ("end", (end as f64 / 1000.0).to_string()),
        ("step", format!("{}s", plan.step.as_secs().max(1))),
    ];
    let mut last_err = String::new();
    for attempt in 0..=plan.retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
        }
        match client
            .get(&url)
            .query(&params)
            .timeout(plan.timeout)
            .send()
            .await
        {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.bytes().await.map_err(|e| e.to_string());
                match body {
                    // 4xx other than 429 is our query's fault: retrying will not help.
                    Ok(b)
                        if status.is_success()
                            || (status.is_client_error() && status.as_u16() != 429) =>
                    {
                        return parse_range(&b).map_err(|e| format!("HTTP {status}: {e}"));
                    }
                    Ok(_) => last_err = format!("HTTP {status}"),
                    Err(e) => last_err = e,
                }
            }
            Err(e) => last_err = e.to_string(),
        }
        tracing::warn!(attempt = attempt + 1, error = %last_err, "backfill query failed; retrying");
    }
    Err(format!("{last_err} (after {} attempts)", plan.retries + 1))
}

/// Seconds of downsampled history the store holds for MemAvailable, the one series every Linux node has.
pub fn local_history_seconds(
    store: &Store,
    step: Duration,
    lookback: Duration,
    now_ms: i64,
) -> f64 {
    let key = series_key("node_memory_MemAvailable_bytes", &[]);
    let start = now_ms - lookback.as_millis() as i64;
    match store.read(
        &key,
        crate::store::Tier::Downsampled,
        crate::store::Agg::Mean,
        start,
        now_ms,
    ) {
        Ok(w) => w
            .values
            .iter()
            .position(|v| v.is_finite())
            .map_or(0.0, |i| (w.values.len() - i) as f64 * step.as_secs_f64()),
        Err(_) => 0.0,
    }
}

/// Pulls `plan.lookback` of history ending at `now_ms` into the store.
pub async fn run(plan: &Plan, store: Arc<Store>, now_ms: i64) -> Result<Report, BackfillError> {
    if !(plan.url.starts_with("http://") || plan.url.starts_with("https://")) {
        return Err(BackfillError::BadUrl(plan.url.clone()));
    }
    let client = reqwest::Client::builder()
        .timeout(plan.timeout)
        .build()
        .map_err(|e| BackfillError::Query {
            query: String::new(),
            reason: e.to_string(),
        })?;
    let step_ms = plan.step.as_millis().max(1) as i64;
    // 10 000 points per query keeps below Prometheus' 11 000-point cap.
    let chunk_ms = step_ms * 10_000;
    let start_ms = now_ms - plan.lookback.as_millis() as i64;
    let sel_names = selector_label_names(&plan.selector);
    let all = queries(&plan.selector);
    let mut report = Report::default();
    for (i, (derived, q)) in all.iter().enumerate() {
        let mut from = start_ms;
        while from < now_ms {
            let to = (from + chunk_ms).min(now_ms);
            let result =
                fetch(&client, plan, q, from, to)
                    .await
                    .map_err(|reason| BackfillError::Query {
                        query: q.clone(),
                        reason,
                    })?;
            report.queries += 1;
            for s in &result {
                let Some(key) = key_for(s, *derived, &sel_names) else {
                    continue;
                };
                report.series += 1;
                let samples: Vec<(i64, f64)> = s
                    .samples
                    .iter()
                    .copied()
                    .filter(|(_, v)| v.is_finite())
                    .collect();
                let st = store
                    .backfill(&key, &samples)
                    .map_err(|e| BackfillError::Store(e.to_string()))?;
                report.stored += st.stored;
                report.skipped += st.dropped;
            }
            from = to + step_ms;
        }
        tracing::info!(
            query = i + 1,
            of = all.len(),
            stored = report.stored,
            "backfill progress"
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_target_and_selector_labels() {
        let s = RangeSeries {
            labels: vec![
                ("__name__".into(), "node_filesystem_avail_bytes".into()),
                ("device".into(), "/dev/vda".into()),
                ("instance".into(), "n1:9100".into()),
                ("job".into(), "node".into()),
                ("node".into(), "n1".into()),
            ],
            samples: vec![],
        };
        let names = selector_label_names("node=\"n1\",job=~\"node.*\"");
        assert_eq!(names, vec!["node".to_string(), "job".to_string()]);
        assert_eq!(
            key_for(&s, None, &names),
            Some(series_key(
                "node_filesystem_avail_bytes",
                &[("device".into(), "/dev/vda".into())]
            ))
        );
        assert_eq!(
            key_for(&s, Some("node_load1_per_cpu"), &names),
            Some(series_key("node_load1_per_cpu", &[]))
        );
    }

    #[test]
    fn every_query_carries_the_selector() {
        for (_, q) in queries("instance=\"x\"") {
            assert!(q.contains("instance=\"x\""), "{q}");
        }
    }
}
