//! History backfill: on a first start, pull this node's history from a Prometheus
//! that already scraped node_exporter, so forecasts do not wait weeks for data.
//!
//! Series are pulled with `query_range` at the downsampled tier's step, in chunks
//! small enough for Prometheus' 11 000-point limit, and written with
//! [`Store::backfill`], which never overwrites samples the agent collected itself
//! and only writes before a series' oldest stored sample. So the chunks are
//! fetched newest first: oldest first, each newer chunk would land after the
//! older one and be dropped whole.

pub mod queries;
pub mod response;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{series_key, Store};
use queries::selector_label_names;
pub use queries::{key_for, queries, Query};
use response::parse_range;
pub use response::RangeSeries;

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
    /// Distinct series written (a series spanning several chunks counts once).
    pub series: u64,
    pub stored: u64,
    /// Samples the store did not take: at or after local data, or outside retention.
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

/// Points per `query_range`, well below Prometheus' 11 000-point cap: the answer,
/// its parse and its flush are the backfill's transient memory, in proportion to
/// this (a 10 000-point answer of three filesystems is 0.8 MiB of JSON and was
/// 2 MiB of heap to parse; docs/store.md, "Memory at full history"). 35 days of
/// 5-minute steps take five queries per series instead of two.
pub const CHUNK_POINTS: i64 = 2_500;

/// Evaluation times `(start, end)` of each query, newest chunk first, on the step grid.
///
/// A point at `t` averages `(t - step, t]` and is stored at `t - step`, the start of the
/// local bucket it describes. The oldest bucket starts a step after the retention cut,
/// so it is still kept when a local collection up to a step later moves the cut.
pub fn chunks(now_ms: i64, lookback_ms: i64, step_ms: i64) -> Vec<(i64, i64)> {
    let step_ms = step_ms.max(1);
    let first = (now_ms - lookback_ms).div_euclid(step_ms) * step_ms + 3 * step_ms;
    let mut end = now_ms.div_euclid(step_ms) * step_ms;
    let mut out = Vec::new();
    while end >= first {
        let start = (end - (CHUNK_POINTS - 1) * step_ms).max(first);
        out.push((start, end));
        end = start - step_ms;
    }
    out
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

/// The HTTP client for `plan`, after checking its URL's scheme.
fn client(plan: &Plan) -> Result<reqwest::Client, BackfillError> {
    let https = plan.url.starts_with("https://");
    if !(https || plan.url.starts_with("http://")) {
        return Err(BackfillError::BadUrl(plan.url.clone()));
    }
    // A plain-HTTP backfill (the usual node-local Prometheus) never verifies a
    // certificate: without the built-in roots the client does not copy ~150 of
    // them onto the heap and page their data in at the start-up peak.
    reqwest::Client::builder()
        .timeout(plan.timeout)
        .tls_built_in_root_certs(https)
        .build()
        .map_err(|e| BackfillError::Query {
            query: String::new(),
            reason: e.to_string(),
        })
}

/// A series' label pairs, sorted as Prometheus returns them.
type Labels = Vec<(String, String)>;

/// `promql` over `plan.lookback` ending at `now_ms`, every `plan.step`: the same
/// chunks and retries as the backfill, each series' samples joined oldest first.
/// For `nodecast replay`, which reads history without a store to put it in.
pub async fn pull(
    plan: &Plan,
    promql: &str,
    now_ms: i64,
) -> Result<Vec<RangeSeries>, BackfillError> {
    let client = client(plan)?;
    let step_ms = plan.step.as_millis().max(1) as i64;
    let mut by_labels: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
    for (from, to) in chunks(now_ms, plan.lookback.as_millis() as i64, step_ms) {
        let part = fetch(&client, plan, promql, from, to)
            .await
            .map_err(|reason| BackfillError::Query {
                query: promql.to_string(),
                reason,
            })?;
        for s in part {
            by_labels.entry(s.labels).or_default().extend(s.samples);
        }
    }
    Ok(by_labels
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by_key(|p| p.0);
            samples.dedup_by_key(|p| p.0);
            RangeSeries { labels, samples }
        })
        .collect())
}

/// Pulls `plan.lookback` of history ending at `now_ms` into the store.
pub async fn run(plan: &Plan, store: Arc<Store>, now_ms: i64) -> Result<Report, BackfillError> {
    let client = client(plan)?;
    let step_ms = plan.step.as_millis().max(1) as i64;
    let ranges = chunks(now_ms, plan.lookback.as_millis() as i64, step_ms);
    let sel_names = selector_label_names(&plan.selector);
    let all = queries(&plan.selector, plan.step);
    let mut report = Report::default();
    let mut seen: HashSet<String> = HashSet::new();
    for (i, q) in all.iter().enumerate() {
        for &(from, to) in &ranges {
            let result = fetch(&client, plan, &q.promql, from, to)
                .await
                .map_err(|reason| BackfillError::Query {
                    query: q.promql.clone(),
                    reason,
                })?;
            report.queries += 1;
            for s in &result {
                let key = key_for(s, q, &sel_names);
                let samples: Vec<(i64, f64)> = s
                    .samples
                    .iter()
                    .filter(|(_, v)| v.is_finite())
                    .map(|&(ts, v)| (ts - step_ms, v))
                    .collect();
                let st = store
                    .backfill(&key, &samples)
                    .map_err(|e| BackfillError::Store(e.to_string()))?;
                report.stored += st.stored;
                report.skipped += st.dropped;
                seen.insert(key);
            }
            drop(result);
            // One query's chunks at a time reach sled: held until the collection
            // loop's next flush, 35 days of every series made one batch that peaked
            // at 15 MiB of heap above the store's own (docs/store.md, "Memory at full history").
            // A failed flush keeps everything pending and the collection loop's next
            // flush retries and reports it; the backfill need not stop for it.
            let s = store.clone();
            let flushed = tokio::task::spawn_blocking(move || {
                let r = s.flush();
                // The response and the batch are freed in the middle of the heap.
                crate::memory::release_free_memory();
                r
            });
            if let Ok(Err(e)) = flushed.await {
                tracing::debug!(error = %e, "backfill flush failed; the next flush retries");
            }
        }
        tracing::info!(
            query = i + 1,
            of = all.len(),
            stored = report.stored,
            "backfill progress"
        );
    }
    report.series = seen.len() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_lookback_newest_first_on_the_grid() {
        let step = 300_000;
        let now = 1_700_000_123_456;
        let lookback = 35 * 86_400_000;
        let c = chunks(now, lookback, step);
        assert_eq!(c.len(), 5, "{c:?}");
        assert_eq!(c[0].1, now.div_euclid(step) * step, "newest chunk first");
        assert!(c.windows(2).all(|w| w[0].0 > w[1].1), "{c:?}");
        let points: i64 = c.iter().map(|(s, e)| (e - s) / step + 1).sum();
        // Everything but the two steps kept back at the old end.
        assert_eq!(points, lookback / step - 2);
        for (s, e) in &c {
            assert_eq!((s % step, e % step), (0, 0));
            assert!((e - s) / step < CHUNK_POINTS);
        }
        assert!(
            c.windows(2).all(|w| w[1].1 + step == w[0].0),
            "no gap or overlap between chunks: {c:?}"
        );
        assert!(chunks(now, 0, step).is_empty());
    }
}
