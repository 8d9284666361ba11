//! The collection loop: on its own thread, so slow procfs/sysfs reads never stall
//! HTTP workers. Each cycle runs the enabled collectors, publishes the families for
//! `/metrics`, appends them to the store, and flushes the store when due.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collect::{Collector, Family, Roots};
use crate::export::scrape_cache::EncodedFamilies;
use crate::export::self_metrics::{collector_label, count_dropped, SelfMetrics};
use crate::store::Store;

use super::clock::{boot_ms, ClockGuard, Verdict};
use super::derived::Deriver;

pub struct CollectLoop {
    pub collectors: Vec<Box<dyn Collector>>,
    pub roots: Roots,
    pub interval: Duration,
    pub flush_interval: Duration,
    pub store: Arc<Store>,
    pub families: Arc<EncodedFamilies>,
    pub metrics: SelfMetrics,
    pub ready: Arc<AtomicBool>,
    /// Unix ms of the last finished cycle, for the systemd watchdog.
    pub heartbeat: Arc<AtomicI64>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Logs a storage error at most once a minute, so a full disk does not flood the journal.
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    fn warn(&mut self, what: &str, err: &dyn std::fmt::Display) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if due {
            tracing::warn!(error = %err, suppressed = self.suppressed, "{what} failed");
            self.last = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

impl CollectLoop {
    /// Runs until `stop` receives a message or its sender is dropped; flushes on the way out.
    pub fn run(mut self, stop: Receiver<()>) {
        let step_ms = self.interval.as_millis().max(1) as i64;
        let mut failing = vec![false; self.collectors.len()];
        let mut deriver = Deriver::default();
        let mut throttle = Throttle {
            last: None,
            suppressed: 0,
        };
        let mut last_flush = Instant::now();
        let mut clock = ClockGuard::default();
        let mut limit_seen = self.store.stats().samples_dropped_series_limit;
        loop {
            // Align to the grid so each cycle lands in its own slot of the store.
            let now = now_ms();
            let next = (now / step_ms + 1) * step_ms;
            let wait = Duration::from_millis((next - now).max(0) as u64);
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => break,
            }
            let fams = self.collect_all(&mut failing);
            let mut samples: Vec<(String, f64)> = Vec::with_capacity(512);
            for f in fams.iter() {
                for s in &f.samples {
                    samples.push((crate::store::series_key(&f.name, &s.labels), s.value));
                }
            }
            samples.extend(
                deriver
                    .derive(next, &fams)
                    .into_iter()
                    .map(|(n, v)| (crate::store::series_key(&n, &[]), v)),
            );
            self.families.publish(fams);
            let refs: Vec<(&str, f64)> = samples.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            if !self.clock_believed(&mut clock, next, refs.len()) {
                self.heartbeat.store(now_ms(), Ordering::Release);
                continue;
            }
            match self.store.append(next, &refs) {
                Ok(st) => {
                    self.metrics.samples_stored.inc_by(st.stored);
                    // The store counts series-cap refusals itself; the rest were out of order.
                    let limit_now = self.store.stats().samples_dropped_series_limit;
                    let over_cap = limit_now.saturating_sub(limit_seen).min(st.dropped);
                    limit_seen = limit_now;
                    count_dropped(&self.metrics, "series_limit", over_cap);
                    count_dropped(&self.metrics, "out_of_order", st.dropped - over_cap);
                }
                Err(e) => {
                    self.metrics.store_errors.inc();
                    count_dropped(&self.metrics, "store_error", refs.len() as u64);
                    throttle.warn("store append", &e);
                }
            }
            if last_flush.elapsed() >= self.flush_interval {
                self.flush(&mut throttle);
                last_flush = Instant::now();
            }
            self.metrics
                .store_series
                .set(self.store.series_count() as i64);
            if !self.ready.swap(true, Ordering::AcqRel) {
                tracing::info!(series = samples.len(), "first collection done; ready");
                super::notify::notify("READY=1");
            }
            self.heartbeat.store(now_ms(), Ordering::Release);
        }
        self.flush(&mut throttle);
    }

    /// False while the wall clock is held as stepped forward (see [`super::clock`]).
    fn clock_believed(&self, clock: &mut ClockGuard, wall_ms: i64, samples: usize) -> bool {
        match clock.check(wall_ms, boot_ms()) {
            Verdict::Store => true,
            Verdict::Hold { ahead_ms, first } => {
                if first {
                    self.metrics.clock_forward_steps.inc();
                    tracing::warn!(
                        ahead_seconds = ahead_ms / 1000,
                        "wall clock stepped forward; not storing samples until it steps back or holds for 15 minutes"
                    );
                }
                count_dropped(&self.metrics, "clock_step", samples as u64);
                false
            }
        }
    }

    fn flush(&self, throttle: &mut Throttle) {
        match self.store.flush() {
            Ok(()) => {
                self.metrics.store_last_flush.set(now_ms() as f64 / 1000.0);
            }
            Err(e) => {
                self.metrics.store_errors.inc();
                throttle.warn("store flush", &e);
            }
        }
        self.metrics
            .store_size
            .set(self.store.size_on_disk() as i64);
        let stats = self.store.stats();
        let corrupt = stats.chunks_corrupt;
        let counted = self.metrics.store_corrupt_chunks.get();
        if corrupt > counted {
            self.metrics.store_corrupt_chunks.inc_by(corrupt - counted);
        }
        let compactions = stats.compactions;
        let seen = self.metrics.store_compactions.get();
        if compactions > seen {
            self.metrics.store_compactions.inc_by(compactions - seen);
        }
        // A flush's batch, and more so a compaction (two sled generations and their
        // caches at once), leave free pages inside the heap; a trim a minute costs
        // well under a millisecond with this small a heap.
        super::release_free_memory();
    }

    fn collect_all(&mut self, failing: &mut [bool]) -> Vec<Family> {
        let mut out = Vec::with_capacity(64);
        for (i, c) in self.collectors.iter_mut().enumerate() {
            let label = collector_label(c.name());
            let start = Instant::now();
            let mut fams = Vec::new();
            let result = c.collect(&self.roots, &mut fams);
            self.metrics
                .collector_duration
                .get_or_create(&label)
                .set(start.elapsed().as_secs_f64());
            match result {
                Ok(()) => {
                    if failing[i] {
                        tracing::info!(collector = c.name(), "collector recovered");
                        failing[i] = false;
                    }
                    self.metrics.collector_success.get_or_create(&label).set(1);
                    out.extend(fams);
                }
                Err(e) => {
                    // Log the first failure only; the error counter tells how often it recurs.
                    if !failing[i] {
                        tracing::warn!(collector = c.name(), error = %e, "collector failed; skipping it until it recovers");
                        failing[i] = true;
                    }
                    self.metrics.collector_success.get_or_create(&label).set(0);
                    self.metrics.collector_errors.get_or_create(&label).inc();
                }
            }
        }
        out
    }
}
