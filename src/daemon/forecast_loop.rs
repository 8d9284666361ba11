//! The forecast loop: on its own low-priority thread, every `--forecast.interval` it
//! forecasts each selected series from the downsampled tier and publishes the
//! results as a snapshot. Scrapes only read the last snapshot, so a slow cycle
//! never delays `/metrics`.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::collect::Family;
use crate::config::ForecastSettings;
use crate::export::exposition::SharedFamilies;
use crate::export::self_metrics::SelfMetrics;
use crate::forecast::ForecastError;
use crate::predict::series::{assess_series, capacity_metric, History, Settings, FAST_WINDOW};
use crate::predict::{SeriesForecast, SharedForecasts};
use crate::store::{parse_series_key, series_key, Agg, Store, Tier};

use super::collect_loop::now_ms;
use super::forecast_metrics::families_for;

/// A series chosen for this cycle: (store key, metric name, labels).
type Selected = (String, String, Vec<(String, String)>);

pub use crate::predict::series::MAX_FORECAST_POINTS;

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
}

pub use crate::predict::series::resource_of;

/// Forecasting runs behind collection and serving: nice it down on Linux.
fn lower_thread_priority() {
    // SAFETY: setpriority on our own thread id; failure only leaves the default priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

impl ForecastLoop {
    pub fn run(self, wake: Receiver<Wake>) {
        lower_thread_priority();
        // The first cycle waits for a little data; later ones keep the interval.
        let mut wait = Duration::from_secs(2).min(self.settings.interval);
        // Hysteresis of "exhausted" needs the previous cycle's verdict per series.
        let mut exhausted: HashMap<String, bool> = HashMap::new();
        loop {
            match wake.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) | Ok(Wake::Now) => {}
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let started = Instant::now();
            let (results, failed) = self.cycle(&mut exhausted);
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

    /// Series to forecast this cycle: selected by name, not excluded, not read-only,
    /// resources first, at most `max_series`.
    fn selected(&self, current: &[Family]) -> Vec<Selected> {
        let readonly: Vec<&Vec<(String, String)>> = current
            .iter()
            .filter(|f| f.name == "node_filesystem_readonly")
            .flat_map(|f| {
                f.samples
                    .iter()
                    .filter(|s| s.value > 0.0)
                    .map(|s| &s.labels)
            })
            .collect();
        let no_swap = current
            .iter()
            .find(|f| f.name == "node_memory_SwapTotal_bytes")
            .and_then(|f| f.samples.first())
            .is_some_and(|s| s.value <= 0.0);
        let mut picked: Vec<_> = self
            .store
            .series_keys()
            .into_iter()
            .filter(|k| !self.settings.exclude.is_match(k))
            .filter_map(|k| parse_series_key(&k).map(|(n, l)| (k, n, l)))
            .filter(|(_, n, l)| self.settings.metrics.is_match(n) && !readonly.contains(&l))
            .filter(|(_, n, _)| !(no_swap && n == "node_memory_SwapFree_bytes"))
            .collect();
        picked.sort_by_key(|(k, n, _)| (resource_of(n).is_none(), k.clone()));
        picked.truncate(self.settings.max_series);
        picked
    }

    fn cycle(&self, exhausted: &mut HashMap<String, bool>) -> (Vec<SeriesForecast>, u64) {
        let current = crate::export::exposition::snapshot(&self.current);
        let value_of: HashMap<String, f64> = current
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
        let settings = Settings {
            horizon: self.settings.horizon,
            min_history: self.settings.min_history,
            level: self.settings.level,
            model: self.settings.model,
        };
        let mut out = Vec::new();
        let mut failed = 0;
        let mut seen = HashMap::new();
        for (key, metric, labels) in self.selected(&current) {
            let resource = resource_of(&metric);
            let read = |tier, from| self.store.read(&key, tier, Agg::Mean, from, now + 1);
            let window = match read(Tier::Downsampled, now - span) {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!(series = %key, error = %e, "store read failed");
                    failed += 1;
                    continue;
                }
            };
            let raw = match resource {
                Some(_) => read(Tier::Raw, now - FAST_WINDOW.as_millis() as i64).ok(),
                None => None,
            };
            let latest = raw.as_ref().and_then(|r| {
                let i = r.values.iter().rposition(|v| v.is_finite())?;
                Some((r.timestamp(i), r.values[i]))
            });
            let capacity = capacity_metric(&metric)
                .and_then(|c| value_of.get(&series_key(c, &labels)).copied());
            let history = History {
                window: &window,
                raw: raw.as_ref(),
                latest,
                capacity,
            };
            let was = exhausted.get(&key).copied().unwrap_or(false);
            // A model bug on one odd series must cost that series, not the agent.
            let run = std::panic::catch_unwind(|| {
                assess_series(&history, resource, was, now, &settings)
            });
            let a = match run.unwrap_or_else(|_| Err(ForecastError::Model("model panicked".into())))
            {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(series = %key, error = %e, "forecast failed");
                    failed += 1;
                    continue;
                }
            };
            seen.insert(key.clone(), a.exhausted);
            out.push(SeriesForecast {
                series: key,
                metric,
                labels,
                model: a.model,
                start_ms: a.start_ms,
                step_ms: a.step_ms,
                level: self.settings.level,
                mean: a.mean,
                lower: a.lower,
                upper: a.upper,
                history_seconds: a.history_seconds,
                imputed_ratio: a.imputed_ratio,
                resource: resource.map(str::to_string),
                time_to_exhaustion_seconds: a.exhaustion.map(|e| e.time_to_exhaustion_seconds),
                exhaustion_probability: a.exhaustion.map(|e| e.probability),
            });
        }
        *exhausted = seen;
        (out, failed)
    }
}
