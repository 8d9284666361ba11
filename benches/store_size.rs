//! Fills a store with `NODECAST_BENCH_SERIES` (default 200) synthetic
//! node-like series for the full default retention (35 days, of which the
//! last 48 h+ with the daemon's real 60 s flush cadence) and prints the real
//! on-disk size, then runs one more day to show the size holds steady.
//!
//! Run: `cargo bench --bench store_size`

use std::time::Instant;

use nodecast::store::synth::node_like;
use nodecast::store::{Store, StoreConfig, Tier};

const STEP_S: i64 = 15;

fn main() {
    let n: usize = std::env::var("NODECAST_BENCH_SERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let days: i64 = std::env::var("NODECAST_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = StoreConfig::new(dir.path().join("store"));
    let store = Store::open(cfg.clone()).expect("open");
    let mut series = node_like(n);
    let t0: i64 = 1_750_000_000_000;
    let steps_per_day = 86_400 / STEP_S;
    let total = days * steps_per_day;
    // Up to the last 3 days flush hourly to keep the fill fast; after that
    // every 4 steps (60 s), the daemon's default, so sled's garbage pattern
    // in the retained window is the real one.
    let fine_from = total
        - std::env::var("NODECAST_BENCH_FINE_DAYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3)
            * steps_per_day;
    let started = Instant::now();
    let mut row: Vec<(String, f64)> = Vec::with_capacity(n);
    let report = |label: &str, store: &Store, step: i64| {
        let (counts, live) = store.chunk_counts().expect("chunk counts");
        let size = store.size_on_disk();
        println!(
            "{label}: series={n} simulated={:.1}d size_on_disk={:.2} MiB ({:.0} B/series) live_chunk_bytes={:.2} MiB chunks raw={} ds={} (bound {}/{} per series) elapsed={:.1}s",
            step as f64 / steps_per_day as f64,
            size as f64 / 1048576.0,
            size as f64 / n as f64,
            live as f64 / 1048576.0,
            counts[0],
            counts[1],
            store.max_chunks_per_series(Tier::Raw),
            store.max_chunks_per_series(Tier::Downsampled),
            started.elapsed().as_secs_f64()
        );
    };
    for step in 0..total + steps_per_day {
        row.clear();
        row.extend(series.iter_mut().map(|s| (s.key.clone(), s.next_value())));
        let refs: Vec<(&str, f64)> = row.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        store
            .append(t0 + step * STEP_S * 1000, &refs)
            .expect("append");
        let every = if step >= fine_from { 4 } else { 240 };
        if step % every == every - 1 {
            store.flush().expect("flush");
        }
        if step == total - 1 {
            report("full retention", &store, step + 1);
        }
    }
    store.flush().expect("flush");
    report("one more day", &store, total + steps_per_day);
    let st = store.stats();
    println!(
        "compactions: {} size after last compaction: {:?} B",
        st.compactions, st.size_after_last_compaction
    );
    for e in std::fs::read_dir(dir.path().join("store"))
        .expect("list")
        .flatten()
    {
        let m = e.metadata().expect("metadata");
        println!(
            "  {:?}: len={} allocated={}",
            e.file_name(),
            m.len(),
            std::os::unix::fs::MetadataExt::blocks(&m) * 512
        );
    }
    drop(store);
    let reopen = Instant::now();
    let store = Store::open(cfg).expect("reopen");
    let keys = store.series_keys();
    let t_end = t0 + (total + steps_per_day) * STEP_S * 1000;
    let mut points = 0usize;
    for k in &keys {
        let w = store
            .read(
                k,
                Tier::Downsampled,
                nodecast::store::Agg::Mean,
                t_end - 35 * 86_400_000,
                t_end,
            )
            .expect("read");
        points += w.values.iter().filter(|v| !v.is_nan()).count();
    }
    println!(
        "reopen + read 35 d downsampled of {} series: {points} points in {:.3}s; size after reopen {:.2} MiB",
        keys.len(),
        reopen.elapsed().as_secs_f64(),
        store.size_on_disk() as f64 / 1048576.0
    );
}
