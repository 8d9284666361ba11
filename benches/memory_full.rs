//! Where the agent's memory goes at full history, stage by stage, with a counting
//! global allocator (heaptrack is not on the machine): a store on the daemon's
//! defaults takes a 35-day backfill like the one from Prometheus (5-minute points,
//! fetched newest chunk first), flushes it, then runs an hour of 15 s collections
//! with a flush a minute, then one forecast cycle over every series (35-day windows,
//! `auto`), then the heap is trimmed. For each stage it prints the heap live at its
//! end, the heap's peak during it, and the process's anonymous RSS.
//!
//! Run: `cargo bench --bench memory_full`. Settings: `NODECAST_BENCH_SERIES` (30,
//! about what the backfill writes for one node), `NODECAST_BENCH_CACHE` (sled's cache
//! in bytes, default the daemon's), `NODECAST_BENCH_FLUSH_EVERY` (flush after this
//! many series' chunks of the backfill, 1 as the daemon does; 0: one flush at the
//! end), `NODECAST_BENCH_MALLOPT` (1: the daemon's malloc settings; 0: glibc's),
//! `NODECAST_BENCH_TRACE_BIG` (print allocations of at least this many bytes).

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use nodecast::forecast::ModelKind;
use nodecast::predict::series::{assess_series, History, Settings};
use nodecast::store::synth::node_like;
use nodecast::store::{Agg, Store, StoreConfig, Tier};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{LIVE, PEAK, TRACE_BIG};

#[global_allocator]
static A: counting_alloc::Counting = counting_alloc::Counting;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(b: usize) -> f64 {
    b as f64 / 1048576.0
}

/// Prints the stage and starts the next one's peak from the live heap.
fn stage(what: &str) {
    let live = LIVE.load(Relaxed);
    println!(
        "{what:44} heap live {:6.2} MiB, peak {:6.2} MiB; RssAnon {:6.2} MiB",
        mib(live),
        mib(PEAK.load(Relaxed)),
        status_kib("RssAnon:") as f64 / 1024.0
    );
    PEAK.store(live, Relaxed);
}

const DS_STEP_MS: i64 = 300_000;
const CHUNK_POINTS: i64 = 10_000;

fn main() {
    if env("NODECAST_BENCH_MALLOPT", 1) == 1 {
        nodecast::daemon::tune_malloc();
    }
    let n = env("NODECAST_BENCH_SERIES", 30) as usize;
    TRACE_BIG.store(env("NODECAST_BENCH_TRACE_BIG", u64::MAX) as usize, Relaxed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = StoreConfig::new(dir.path().join("store"));
    cfg.cache_bytes = env("NODECAST_BENCH_CACHE", cfg.cache_bytes);
    stage("start");
    let store = Store::open(cfg.clone()).expect("open");
    stage("store opened");

    let now: i64 = nodecast::daemon::now_ms();
    let lookback = 35 * 86_400_000;
    let first = (now - lookback) / DS_STEP_MS * DS_STEP_MS + 3 * DS_STEP_MS;
    let mut series = node_like(n);
    // Values oldest first; the backfill asks for them newest chunk first.
    let points = ((now - first) / DS_STEP_MS) as usize;
    let history: Vec<Vec<f64>> = series
        .iter_mut()
        .map(|s| (0..points).map(|_| s.next_value()).collect())
        .collect();
    stage(&format!("{n} series x {points} points generated"));
    // The daemon's backfill flushes after each query (one metric, one time chunk):
    // 1 here; 0 holds the whole backfill for one flush, as it did before.
    let flush_every = env("NODECAST_BENCH_FLUSH_EVERY", 1) as usize;
    let mut end = points as i64;
    while end > 0 {
        let start = (end - CHUNK_POINTS).max(0);
        for (i, (s, vals)) in series.iter().zip(&history).enumerate() {
            if flush_every > 0 && i % flush_every == 0 {
                store.flush().expect("flush");
            }
            let samples: Vec<(i64, f64)> = (start..end)
                .map(|i| (first + i * DS_STEP_MS, vals[i as usize]))
                .collect();
            store.backfill(&s.key, &samples).expect("backfill");
        }
        end = start;
    }
    drop(history);
    stage("backfilled (pending, before the flush)");
    store.flush().expect("flush");
    stage("first flush");
    println!(
        "  store {:.1} MiB on disk, {} compactions",
        store.size_on_disk() as f64 / 1048576.0,
        store.stats().compactions
    );
    nodecast::daemon::release_free_memory();
    stage("heap trimmed");

    // An hour of live collection: 15 s appends, a flush a minute.
    let mut row: Vec<(String, f64)> = Vec::with_capacity(n);
    let (mut flush_rise, mut compact_rise) = (0usize, 0usize);
    for k in 0..240 {
        row.clear();
        row.extend(series.iter_mut().map(|s| (s.key.clone(), s.next_value())));
        let refs: Vec<(&str, f64)> = row.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        store.append(now + k * 15_000, &refs).expect("append");
        if k % 4 == 3 {
            let (before, c) = (LIVE.load(Relaxed), store.stats().compactions);
            let peak_before = PEAK.swap(before, Relaxed);
            store.flush().expect("flush");
            let rise = PEAK.load(Relaxed) - before;
            let worst = if store.stats().compactions > c {
                &mut compact_rise
            } else {
                &mut flush_rise
            };
            *worst = (*worst).max(rise);
            PEAK.fetch_max(peak_before, Relaxed);
        }
    }
    println!(
        "  heap rise in a flush {:.2} MiB, in a flush that compacts {:.2} MiB",
        mib(flush_rise),
        mib(compact_rise)
    );
    stage("an hour of collection, 60 flushes");
    println!(
        "  store {:.1} MiB on disk, {} compactions",
        store.size_on_disk() as f64 / 1048576.0,
        store.stats().compactions
    );

    let settings = Settings {
        horizon: Duration::from_secs(86_400),
        min_history: Duration::from_secs(6 * 3600),
        level: 0.95,
        model: ModelKind::Auto,
        exhaustion_only: false,
    };
    let t_end = now + 3_600_000;
    let mut read_peak = 0usize;
    let mut fc_peak = 0usize;
    for s in &series {
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let w = store
            .read(
                &s.key,
                Tier::Downsampled,
                Agg::Mean,
                t_end - lookback,
                t_end,
            )
            .expect("read");
        read_peak = read_peak.max(PEAK.load(Relaxed) - before);
        let mid = LIVE.load(Relaxed);
        PEAK.store(mid, Relaxed);
        let h = History {
            window: &w,
            raw: None,
            latest: None,
            capacity: None,
            reuse: None,
        };
        let _ = assess_series(&h, None, false, t_end, &settings);
        fc_peak = fc_peak.max(PEAK.load(Relaxed) - mid);
    }
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    println!(
        "  per series: read of 35 days peaks {:.2} MiB, forecast (auto) peaks {:.2} MiB above it",
        mib(read_peak),
        mib(fc_peak)
    );
    stage("one forecast cycle");
    nodecast::daemon::release_free_memory();
    stage("heap trimmed");
}
