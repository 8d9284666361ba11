//! Does the store's memory settle across compactions? Drives a real store
//! with the soak's configuration (1 s raw kept 10 min, 10 s downsampled kept
//! 20 min, a flush every 2 s of simulated time) at full speed on synthetic
//! node-like series, trims the heap after each compaction as the daemon does,
//! and prints the process's anonymous RSS every 10 compactions. Simulated time
//! runs far faster than real time, so this covers many days of soak in a
//! minute or two, without the HTTP and forecast noise of `benches/soak.py`.
//!
//! Run: `cargo bench --bench store_memory` (`NODECAST_BENCH_SERIES`, default 63;
//! `NODECAST_BENCH_COMPACTIONS`, default 200)

use std::time::{Duration, Instant};

use nodecast::store::synth::node_like;
use nodecast::store::{Store, StoreConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n = env("NODECAST_BENCH_SERIES", 63) as usize;
    let target = env("NODECAST_BENCH_COMPACTIONS", 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = StoreConfig {
        step: Duration::from_secs(1),
        raw_retention: Duration::from_secs(600),
        downsample_step: Duration::from_secs(10),
        downsample_retention: Duration::from_secs(1200),
        ..StoreConfig::new(dir.path().join("store"))
    };
    let store = Store::open(cfg).expect("open");
    let mut series = node_like(n);
    let t0: i64 = 1_750_000_000_000;
    let started = Instant::now();
    let (mut seen, mut first, mut lo, mut hi) = (0, 0, u64::MAX, 0);
    let mut row: Vec<(String, f64)> = Vec::with_capacity(n);
    let mut step = 0i64;
    while seen < target {
        row.clear();
        row.extend(series.iter_mut().map(|s| (s.key.clone(), s.next_value())));
        let refs: Vec<(&str, f64)> = row.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        store.append(t0 + step * 1000, &refs).expect("append");
        step += 1;
        if step % 2 != 0 {
            continue;
        }
        store.flush().expect("flush");
        let c = store.stats().compactions;
        if c == seen {
            continue;
        }
        seen = c;
        nodecast::daemon::release_free_memory();
        let rss = rss_anon_kib();
        if seen == 10 {
            first = rss;
        }
        if seen >= 10 {
            (lo, hi) = (lo.min(rss), hi.max(rss));
        }
        if seen % 10 == 0 {
            println!(
                "compactions {seen:4}: RssAnon {:6.1} MiB, store {:5.2} MiB, simulated {:5.1} h, elapsed {:5.1} s",
                rss as f64 / 1024.0,
                store.size_on_disk() as f64 / 1048576.0,
                step as f64 / 3600.0,
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "{n} series, compactions 10 → {seen}: RssAnon {:.1} → {:.1} MiB, range {:.1}–{:.1} MiB",
        first as f64 / 1024.0,
        rss_anon_kib() as f64 / 1024.0,
        lo as f64 / 1024.0,
        hi as f64 / 1024.0
    );
}
