//! The agent's own health metrics (`nodecast_*`), kept in prometheus-client types
//! so the loops update them lock-free and scrapes read them directly.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;
type GaugeF = Gauge<f64, AtomicU64>;

#[derive(Default, Clone)]
pub struct SelfMetrics {
    pub build_info: Family<Labels, Gauge>,
    pub collector_duration: Family<Labels, GaugeF>,
    pub collector_success: Family<Labels, Gauge>,
    pub collector_errors: Family<Labels, Counter>,
    pub samples_stored: Counter,
    /// By `reason`: see [`DROP_REASONS`].
    pub samples_dropped: Family<Labels, Counter>,
    pub store_errors: Counter,
    pub clock_forward_steps: Counter,
    /// Refused connections by `reason` (`per_client`, `global`).
    pub http_connections_rejected: Family<Labels, Counter>,
    pub store_size: Gauge,
    pub store_compactions: Counter,
    pub store_corrupt_chunks: Counter,
    pub store_series: Gauge,
    pub store_retention: Family<Labels, GaugeF>,
    pub store_last_flush: GaugeF,
    pub forecast_cycle_duration: GaugeF,
    pub forecast_last_run: GaugeF,
    pub forecast_cycles: Counter,
    pub forecast_errors: Counter,
    pub forecast_series: Gauge,
    pub backfill_samples: Family<Labels, Counter>,
    pub backfill_series: Gauge,
    pub backfill_queries: Counter,
}

/// Why samples were not stored: a new series over `--storage.max-series`; a
/// sample at or before its series' newest slot (clock went back); the store
/// failed the write; the wall clock is held as stepped forward.
pub const DROP_REASONS: [&str; 4] = ["series_limit", "out_of_order", "store_error", "clock_step"];

/// Count `n` samples dropped for `reason` (one of [`DROP_REASONS`]).
pub fn count_dropped(m: &SelfMetrics, reason: &str, n: u64) {
    if n > 0 {
        m.samples_dropped
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc_by(n);
    }
}

pub fn collector_label(name: &str) -> Labels {
    vec![("collector".to_string(), name.to_string())]
}

impl SelfMetrics {
    pub fn register(&self, r: &mut Registry) {
        let info = vec![
            ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            (
                "revision".to_string(),
                option_env!("NODECAST_GIT_REVISION")
                    .unwrap_or("unknown")
                    .to_string(),
            ),
        ];
        self.build_info.get_or_create(&info).set(1);
        r.register(
            "nodecast_build_info",
            "A metric with a constant '1' value labeled by version and revision of nodecast",
            self.build_info.clone(),
        );
        r.register(
            "nodecast_collector_duration_seconds",
            "Duration of the last run of each collector",
            self.collector_duration.clone(),
        );
        r.register(
            "nodecast_collector_success",
            "Whether the last run of each collector succeeded (1) or failed (0)",
            self.collector_success.clone(),
        );
        r.register(
            "nodecast_collector_errors",
            "Failed runs of each collector",
            self.collector_errors.clone(),
        );
        r.register(
            "nodecast_store_samples_stored",
            "Samples written to the local store",
            self.samples_stored.clone(),
        );
        // Every reason exists from the start, so rate() and alerts see 0, not absence.
        for reason in DROP_REASONS {
            let _ = self
                .samples_dropped
                .get_or_create(&vec![("reason".to_string(), reason.to_string())]);
        }
        r.register(
            "nodecast_store_samples_dropped",
            "Samples not stored, by reason: series_limit (over --storage.max-series), out_of_order, store_error, clock_step",
            self.samples_dropped.clone(),
        );
        r.register(
            "nodecast_clock_forward_steps",
            "Wall-clock steps forward of more than 5 minutes; samples are not stored while one lasts, for up to 15 minutes",
            self.clock_forward_steps.clone(),
        );
        r.register(
            "nodecast_http_connections_rejected",
            "Connections closed unanswered at once: reason per_client (--web.max-connections-per-client reached) or global (--web.max-connections and the probe reserve full)",
            self.http_connections_rejected.clone(),
        );
        r.register(
            "nodecast_store_errors",
            "Failed store writes and flushes",
            self.store_errors.clone(),
        );
        r.register(
            "nodecast_store_size_bytes",
            "Size of the store directory on disk",
            self.store_size.clone(),
        );
        r.register(
            "nodecast_store_compactions",
            "Rewrites of the store into a fresh sled generation to reclaim space",
            self.store_compactions.clone(),
        );
        r.register(
            "nodecast_store_corrupt_chunks",
            "Stored chunks found damaged or missing (failed checksum, or lost by sled since the last flush); each counted once, see docs/store.md",
            self.store_corrupt_chunks.clone(),
        );
        r.register(
            "nodecast_store_series",
            "Series held in the store",
            self.store_series.clone(),
        );
        r.register(
            "nodecast_store_retention_seconds",
            "Retention of each store tier",
            self.store_retention.clone(),
        );
        r.register(
            "nodecast_store_last_flush_timestamp_seconds",
            "Time of the last successful store flush",
            self.store_last_flush.clone(),
        );
        r.register(
            "nodecast_forecast_cycle_duration_seconds",
            "Duration of the last forecast cycle",
            self.forecast_cycle_duration.clone(),
        );
        r.register(
            "nodecast_forecast_cycle_last_run_timestamp_seconds",
            "End time of the last forecast cycle",
            self.forecast_last_run.clone(),
        );
        r.register(
            "nodecast_forecast_cycles",
            "Forecast cycles run",
            self.forecast_cycles.clone(),
        );
        r.register(
            "nodecast_forecast_errors",
            "Series whose forecast failed (other than for too little history)",
            self.forecast_errors.clone(),
        );
        r.register(
            "nodecast_forecast_series",
            "Series forecast in the last cycle",
            self.forecast_series.clone(),
        );
        for result in ["stored", "skipped"] {
            let _ = self
                .backfill_samples
                .get_or_create(&vec![("result".to_string(), result.to_string())]);
        }
        r.register(
            "nodecast_backfill_samples",
            "Samples pulled by the history backfill, by result: stored, or skipped (at or after local data, or outside retention)",
            self.backfill_samples.clone(),
        );
        r.register(
            "nodecast_backfill_series",
            "Distinct series the last history backfill wrote",
            self.backfill_series.clone(),
        );
        r.register(
            "nodecast_backfill_queries",
            "query_range requests made by the history backfill",
            self.backfill_queries.clone(),
        );
    }
}
