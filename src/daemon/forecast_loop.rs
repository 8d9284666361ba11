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
use crate::export::scrape_cache::EncodedFamilies;
use crate::export::self_metrics::SelfMetrics;
use crate::forecast::ForecastError;
use crate::predict::anomaly::{self, Tracker};
use crate::predict::monitor::persist::{self, StorePaths};
use crate::predict::monitor::run::{assess_monitored, log_events};
use crate::predict::monitor::{MonitorSettings, SeriesMonitor};
use crate::predict::select::{select, Policy, Selected};
use crate::predict::series::{
    capacity_metric, History, Settings, FAST_WINDOW, RECHOOSE_AFTER_STEPS,
};
use crate::predict::{SeriesForecast, SharedForecasts};
use crate::store::{series_key, Agg, Store, Tier};

use super::collect_loop::now_ms;
use super::forecast_metrics::families_for;

pub use crate::predict::series::MAX_FORECAST_POINTS;

/// Per series, the last `auto` choice and when (Unix ms) it was made.
type Choices = HashMap<String, (crate::forecast::auto::Choice, i64)>;

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
    pub out_families: Arc<EncodedFamilies>,
    pub out_forecasts: SharedForecasts,
    pub metrics: SelfMetrics,
    /// Set by the collection loop after its first collection.
    pub ready: Arc<AtomicBool>,
    /// When the agent started (Unix ms): series with newer samples were collected by it.
    pub started_ms: i64,
}

pub use crate::predict::series::resource_of;

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
        // Hysteresis of "exhausted" needs the previous cycle's verdict per series.
        let mut exhausted: HashMap<String, bool> = HashMap::new();
        // Online accuracy, challenger and drift per series; persisted in the store.
        let monitor = MonitorSettings::from_forecast(&self.settings);
        // Boxed: the map keeps twice the slots it holds, each a pointer, not a state.
        let mut monitors: HashMap<String, Box<SeriesMonitor>> = HashMap::new();
        persist::prune(&self.store);
        // The anomaly score judges each new bucket by the forecast made an hour before.
        // Boxed like the monitors: the map keeps about twice the slots it holds.
        let mut trackers: HashMap<String, Box<Tracker>> = HashMap::new();
        let mut choices = Choices::new();
        let mut first_cycle = true;
        loop {
            match wake.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) | Ok(Wake::Now) => {}
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let started = Instant::now();
            let (results, failed) = self.cycle(
                &mut exhausted,
                &mut monitors,
                &monitor,
                &mut trackers,
                &mut choices,
            );
            if !results.is_empty() && !announced {
                announced = true;
                tracing::info!(
                    series = results.len(),
                    "first forecasts published; see / or /api/v1/series"
                );
            }
            let fams = families_for(&results, &self.settings);
            self.metrics.forecast_series.set(results.len() as i64);
            self.metrics.forecast_errors.inc_by(failed);
            self.out_families.publish(fams);
            crate::snapshot::publish(&self.out_forecasts, results);
            self.metrics.forecast_cycles.inc();
            self.metrics
                .forecast_cycle_duration
                .set(started.elapsed().as_secs_f64());
            self.metrics.forecast_last_run.set(now_ms() as f64 / 1000.0);
            crate::forecast::season::drop_fft_plans();
            super::release_free_memory();
            if first_cycle {
                // Start-up and the first model choices are done: from here on only
                // the code that runs is kept resident.
                crate::memory::shed_start_up_code();
                first_cycle = false;
            } else {
                super::release_file_pages();
            }
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

    fn cycle(
        &self,
        exhausted: &mut HashMap<String, bool>,
        monitors: &mut HashMap<String, Box<SeriesMonitor>>,
        ms: &MonitorSettings,
        trackers: &mut HashMap<String, Box<Tracker>>,
        choices: &mut Choices,
    ) -> (Vec<SeriesForecast>, u64) {
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
            exhaustion_only: false,
        };
        let mut out = Vec::new();
        let mut failed = 0;
        let mut seen = HashMap::new();
        // Cycles further apart than this many buckets leave buckets unscored.
        let expect_points = anomaly::EXPECT_BUCKETS.max(
            (self.settings.interval.as_millis() as i64)
                .div_euclid(step_ms)
                .clamp(1, 288) as usize
                + 1,
        );
        let selected = self.selected(&current);
        trackers.retain(|k, _| selected.iter().any(|(s, _, _)| s == k));
        let mut kept = HashMap::with_capacity(monitors.len());
        let mut chosen = Choices::new();
        for (key, metric, labels) in selected {
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
                reuse: choices
                    .get(&key)
                    .filter(|(_, at)| now - at < RECHOOSE_AFTER_STEPS * step_ms)
                    .map(|(c, _)| c),
            };
            let was = exhausted.get(&key).copied().unwrap_or(false);
            // The key moves with its state: a clone every cycle would scatter
            // small blocks over the heap that pin its pages.
            let (mon_key, mut mon) = monitors.remove_entry(&key).unwrap_or_else(|| {
                let m = persist::load(&self.store, &key, ms, now);
                (key.clone(), Box::new(m))
            });
            let related =
                |n: &str, l: &[(String, String)]| value_of.get(&series_key(n, l)).copied();
            let bounds = crate::forecast::bounds::bounds_for(&metric, &labels, &related);
            let clip = |m: &mut [f64], l: &mut [f64], u: &mut [f64]| bounds.clip_path(m, l, u);
            let mut paths = StorePaths {
                store: &self.store,
                series: &key,
            };
            // A model bug on one odd series must cost that series, not the agent.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let h = &history;
                assess_monitored(
                    &mut mon, h, resource, was, now, &settings, ms, &mut paths, &clip,
                )
            }));
            let run = run.map(|(r, ev)| {
                log_events(&key, &ev);
                r
            });
            if mon.needs_save(now) {
                persist::save(&self.store, &key, &mut mon, now);
            }
            let view = mon.view(now, ms);
            kept.insert(mon_key, mon);
            let mut a =
                match run.unwrap_or_else(|_| Err(ForecastError::Model("model panicked".into()))) {
                    Ok(Some(a)) => a,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::debug!(series = %key, error = %e, "forecast failed");
                        failed += 1;
                        continue;
                    }
                };
            seen.insert(key.clone(), a.exhausted);
            if let Some(c) = a.choice.take() {
                let reused = history.reuse.is_some_and(|r| r.members == c.members);
                let at = match choices.get(&key) {
                    Some((_, at)) if reused => *at,
                    _ => now,
                };
                chosen.insert(key.clone(), (c, at));
            }
            let anomaly_score = trackers.entry(key.clone()).or_default().cycle(
                &window,
                step_ms,
                &anomaly::Path {
                    start_ms: a.start_ms,
                    step_ms: a.step_ms,
                    mean: &a.mean,
                    lower: &a.lower,
                    upper: &a.upper,
                    level: self.settings.level,
                },
                expect_points,
            );
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
                monitor: Some(view),
                anomaly_score,
            });
        }
        *exhausted = seen;
        *monitors = kept;
        *choices = chosen;
        (out, failed)
    }
}
