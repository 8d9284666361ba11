//! The forecast loop: on its own low-priority thread, every `--forecast.interval` it
//! forecasts each selected series from the downsampled tier and publishes the
//! results as a snapshot. Scrapes only read the last snapshot, so a slow cycle
//! never delays `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::collect::Family;
use crate::config::ForecastSettings;
use crate::export::exposition::SharedFamilies;
use crate::export::self_metrics::SelfMetrics;
use crate::forecast::{forecast, ForecastError, SeriesInput};
use crate::predict::exhaustion::assess;
use crate::predict::select::{select, Policy, Selected};
use crate::predict::{SeriesForecast, SharedForecasts};
use crate::store::{series_key, Agg, Store, Tier};

use super::collect_loop::now_ms;
use super::forecast_metrics::families_for;

/// Most points of history one forecast reads (35 days at the default 5-minute step).
pub const MAX_FORECAST_POINTS: i64 = 10_080;

/// Messages to the forecast thread.
pub enum Wake {
    /// Run a cycle now (new history arrived, e.g. from a backfill).
    Now,
    Stop,
}

pub struct ForecastLoop {
    pub store: Arc<Store>,
    pub settings: ForecastSettings,
    pub downsample_step: Duration,
    pub downsample_retention: Duration,
    /// The latest collection, for current values and read-only flags.
    pub current: SharedFamilies,
    pub out_families: SharedFamilies,
    pub out_forecasts: SharedForecasts,
    pub metrics: SelfMetrics,
    /// Set by the collection loop after its first collection.
    pub ready: Arc<AtomicBool>,
    /// When the agent started (Unix ms): series with newer samples were collected by it.
    pub started_ms: i64,
}

/// Which resource a remaining-quantity metric measures.
pub fn resource_of(metric: &str) -> Option<&'static str> {
    Some(match metric {
        "node_filesystem_avail_bytes" => "filesystem_space",
        "node_filesystem_files_free" => "filesystem_inodes",
        "node_memory_MemAvailable_bytes" => "memory",
        "node_memory_SwapFree_bytes" => "swap",
        "node_filefd_available" => "file_descriptors",
        "node_processes_available" => "pids",
        _ => return None,
    })
}

/// Forecasting runs behind collection and serving: nice it down on Linux.
fn lower_thread_priority() {
    // SAFETY: setpriority on our own thread id; failure only leaves the default priority.
    let rc = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10)
    };
    // Said once per daemon (this runs at thread start): a seccomp filter that
    // denies setpriority (systemd's ~@resources) would otherwise hide it.
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        tracing::warn!(error = %e, "cannot lower the forecast thread's priority; forecasts compete with collection at the daemon's own priority");
    }
}

impl ForecastLoop {
    pub fn run(self, wake: Receiver<Wake>) {
        lower_thread_priority();
        // Without a collection there are no current values: no exhaustion check, no
        // read-only or no-swap filter. Wakes (a finished backfill) wait too.
        while !self.ready.load(Ordering::Acquire) {
            match wake.recv_timeout(Duration::from_millis(100)) {
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                _ => {}
            }
        }
        let mut wait = Duration::ZERO;
        let mut announced = false;
        loop {
            match wake.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) | Ok(Wake::Now) => {}
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let started = Instant::now();
            let (results, failed) = self.cycle();
            if !results.is_empty() && !announced {
                announced = true;
                tracing::info!(series = results.len(), "first forecasts published; see / or /api/v1/series");
            }
            let fams = families_for(&results, &self.settings);
            self.metrics.forecast_series.set(results.len() as i64);
            self.metrics.forecast_errors.inc_by(failed);
            crate::snapshot::publish(&self.out_families, fams);
            crate::snapshot::publish(&self.out_forecasts, results);
            self.metrics.forecast_cycles.inc();
            self.metrics
                .forecast_cycle_duration
                .set(started.elapsed().as_secs_f64());
            self.metrics.forecast_last_run.set(now_ms() as f64 / 1000.0);
            super::release_free_memory();
            wait = self
                .settings
                .interval
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(100));
        }
    }

    /// Series to forecast this cycle (see [`crate::predict::select`]).
    fn selected(&self, current: &[Family]) -> Vec<Selected> {
        let policy = Policy {
            metrics: &self.settings.metrics,
            exclude: &self.settings.exclude,
            max_series: self.settings.max_series,
            stale_after: self.settings.stale_after,
            started_ms: self.started_ms,
            is_resource: |n| resource_of(n).is_some(),
        };
        let newest = |k: &str| self.store.newest_sample_ms(k).ok().flatten();
        select(self.store.series_keys(), current, newest, &policy, now_ms())
    }

    fn cycle(&self) -> (Vec<SeriesForecast>, u64) {
        let current = crate::export::exposition::snapshot(&self.current);
        let latest: HashMap<String, f64> = current
            .iter()
            .flat_map(|f| {
                f.samples
                    .iter()
                    .map(move |s| (series_key(&f.name, &s.labels), s.value))
            })
            .collect();
        let now = now_ms();
        let step_ms = self.downsample_step.as_millis().max(1) as i64;
        // Five weeks at 5 minutes is all a model uses; a finer tier must not make every
        // cycle allocate millions of empty slots per series.
        let span =
            (self.downsample_retention.as_millis() as i64).min(MAX_FORECAST_POINTS * step_ms);
        let start = now - span;
        let mut out = Vec::new();
        let mut failed = 0;
        for (key, metric, labels) in self.selected(&current) {
            let window = match self
                .store
                .read(&key, Tier::Downsampled, Agg::Mean, start, now)
            {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!(series = %key, error = %e, "store read failed");
                    failed += 1;
                    continue;
                }
            };
            let Some(first) = window.values.iter().position(|v| v.is_finite()) else {
                continue;
            };
            let Some(last) = window.values.iter().rposition(|v| v.is_finite()) else {
                continue;
            };
            let values = &window.values[first..=last];
            let history_secs = values.len() as f64 * step_ms as f64 / 1000.0;
            if history_secs < self.settings.min_history.as_secs_f64() {
                continue;
            }
            let last_ts = window.start_ms + last as i64 * window.step_ms;
            // Cover now + horizon even though the newest bucket may still be open.
            let lag_steps = ((now - last_ts) as f64 / window.step_ms as f64)
                .ceil()
                .max(0.0) as usize;
            let horizon = (self.settings.horizon.as_millis() as f64 / window.step_ms as f64).ceil()
                as usize
                + lag_steps;
            let input = SeriesInput {
                values,
                step_secs: window.step_ms as f64 / 1000.0,
                seasons: None,
            };
            // A model bug on one odd series must cost that series, not the agent.
            let (level, model) = (self.settings.level, self.settings.model);
            let run = std::panic::catch_unwind(|| forecast(&input, horizon.max(1), level, model));
            let outcome = match run
                .unwrap_or_else(|_| Err(ForecastError::Model("model panicked".into())))
            {
                Ok(o) => o,
                Err(
                    ForecastError::NotEnoughHistory { .. } | ForecastError::MostlyMissing { .. },
                ) => continue,
                Err(e) => {
                    tracing::debug!(series = %key, error = %e, "forecast failed");
                    failed += 1;
                    continue;
                }
            };
            let mut fc = outcome.forecast;
            let related = |n: &str, l: &[(String, String)]| latest.get(&series_key(n, l)).copied();
            crate::forecast::bounds::bounds_for(&metric, &labels, &related).clip(&mut fc);
            let (lower, upper) = match fc.intervals {
                Some(iv) => (iv.lower, iv.upper),
                None => (fc.point.clone(), fc.point.clone()),
            };
            let resource = resource_of(&metric);
            let (mut tte, mut prob) = (None, None);
            if resource.is_some() {
                let cur = latest
                    .get(&key)
                    .copied()
                    .unwrap_or(values[values.len() - 1]);
                let e = assess(
                    cur,
                    &fc.point,
                    &lower,
                    &upper,
                    window.step_ms as f64 / 1000.0,
                    self.settings.level,
                );
                let lag = (now - last_ts) as f64 / 1000.0;
                tte = Some(if cur <= 0.0 {
                    0.0
                } else {
                    (e.time_to_exhaustion_seconds - lag).max(0.0)
                });
                prob = Some(e.probability);
            }
            out.push(SeriesForecast {
                series: key,
                metric,
                labels,
                model: outcome.model.to_string(),
                start_ms: last_ts + window.step_ms,
                step_ms: window.step_ms,
                level: self.settings.level,
                mean: fc.point,
                lower,
                upper,
                history_seconds: history_secs,
                imputed_ratio: outcome.imputed_fraction,
                resource: resource.map(str::to_string),
                time_to_exhaustion_seconds: tte,
                exhaustion_probability: prob,
            });
        }
        (out, failed)
    }
}
