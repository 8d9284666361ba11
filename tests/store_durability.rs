//! The store across process lifetimes: restarts keep history, SIGKILL loses at most
//! what was not yet flushed, and the store never grows past its bound.
mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

use nodecast::store::{series_key, Agg, Store, StoreConfig, Tier};

fn open(path: &Path, step_s: u64, raw: Duration, ds_step: Duration, ds_ret: Duration) -> Store {
    Store::open(StoreConfig {
        step: Duration::from_secs(step_s),
        raw_retention: raw,
        downsample_step: ds_step,
        downsample_retention: ds_ret,
        ..StoreConfig::new(path)
    })
    .expect("store opens")
}

fn open_default(path: &Path) -> Store {
    open(
        path,
        1,
        Duration::from_secs(48 * 3600),
        Duration::from_secs(300),
        Duration::from_secs(35 * 86400),
    )
}

/// Timestamps (ms) of stored raw MemTotal samples.
fn stored_slots(store: &Store, from_ms: i64, to_ms: i64) -> Vec<i64> {
    let w = store
        .read(
            &series_key("node_memory_MemTotal_bytes", &[]),
            Tier::Raw,
            Agg::Mean,
            from_ms,
            to_ms,
        )
        .unwrap();
    w.values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, _)| w.start_ms + i as i64 * w.step_ms)
        .collect()
}

fn metric(a: &Agent, name: &str) -> f64 {
    sample(&a.scrape(), name, &[]).unwrap_or(f64::NAN)
}

#[test]
fn restart_keeps_history() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let t0 = nodecast::daemon::now_ms();
    let a = Agent::start(&store, &fast_flags());
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(a.stop().code(), Some(0));
    let t_restart = nodecast::daemon::now_ms();
    let b = Agent::start(&store, &fast_flags());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(b.stop().code(), Some(0));
    let s = open_default(&store);
    let slots = stored_slots(&s, t0 - 2000, nodecast::daemon::now_ms());
    let before = slots.iter().filter(|&&t| t < t_restart).count();
    let after = slots.iter().filter(|&&t| t >= t_restart).count();
    assert!(
        before >= 3,
        "samples from before the restart: {before} ({slots:?})"
    );
    assert!(after >= 2, "samples after the restart: {after}");
    let mut sorted = slots.clone();
    sorted.dedup();
    assert_eq!(sorted, slots, "slots are unique and ordered");
}

#[test]
fn sigkill_loses_at_most_the_unflushed_tail() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let t0 = nodecast::daemon::now_ms();
    let a = Agent::start(&store, &fast_flags());
    std::thread::sleep(Duration::from_secs(5));
    let last_flush_ms = (metric(&a, "nodecast_store_last_flush_timestamp_seconds") * 1000.0) as i64;
    a.kill9();
    // The store opens after the kill, both in the agent and directly.
    let b = Agent::start(&store, &fast_flags());
    assert_eq!(b.stop().code(), Some(0));
    let s = open_default(&store);
    let slots = stored_slots(&s, t0 - 2000, last_flush_ms);
    // Every whole second between the first sample and the last flush is there.
    let first = *slots.first().expect("samples before the kill survived");
    let expected = ((last_flush_ms - 1000 - first) / 1000).max(0) as usize;
    assert!(
        slots.len() >= expected,
        "{} samples up to the last flush, expected ≥ {expected}: {slots:?}",
        slots.len()
    );
}

#[test]
fn fifty_sigkills_never_corrupt_the_store() {
    let kills: usize = std::env::var("NODECAST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let t0 = nodecast::daemon::now_ms();
    let mut flushed_until = Vec::new();
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15 ^ t0 as u64;
    for _ in 0..kills {
        let a = Agent::start(&store, &fast_flags());
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 2500));
        let f = metric(&a, "nodecast_store_last_flush_timestamp_seconds");
        // 0 means no flush yet in this run.
        if f.is_finite() && f > 0.0 {
            flushed_until.push((f * 1000.0) as i64);
        }
        a.kill9();
    }
    let s = open_default(&store);
    let keys = s.series_keys();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "duplicated series");
    assert!(
        keys.iter()
            .all(|k| nodecast::store::parse_series_key(k).is_some()),
        "garbled series key"
    );
    let now = nodecast::daemon::now_ms();
    let slots = stored_slots(&s, t0 - 2000, now);
    for f in &flushed_until {
        // A sample from the second before each observed flush must have survived its kill.
        assert!(
            slots.iter().any(|t| t <= f && *t > f - 3000),
            "data before flush at {f} lost"
        );
    }
    // Values are not garbled: MemTotal is constant, CPU idle seconds never decrease.
    let w = s
        .read(
            &series_key("node_memory_MemTotal_bytes", &[]),
            Tier::Raw,
            Agg::Mean,
            t0 - 2000,
            now,
        )
        .unwrap();
    let vals: Vec<f64> = w.values.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(
        vals.windows(2).all(|p| p[0] == p[1]),
        "MemTotal changed: garbled values"
    );
    let idle = series_key(
        "node_cpu_seconds_total",
        &[("cpu".into(), "0".into()), ("mode".into(), "idle".into())],
    );
    let w = s.read(&idle, Tier::Raw, Agg::Mean, t0 - 2000, now).unwrap();
    let vals: Vec<f64> = w.values.iter().copied().filter(|v| v.is_finite()).collect();
    // Not one per run: a run killed within its first flush interval keeps nothing,
    // which is allowed. Enough that the order check below is not vacuous.
    assert!(
        vals.len() >= 10 && 2 * vals.len() >= flushed_until.len(),
        "too few CPU samples: {} after {} observed flushes",
        vals.len(),
        flushed_until.len()
    );
    assert!(
        vals.windows(2).all(|p| p[1] >= p[0]),
        "CPU seconds went backwards: garbled or out of order"
    );
}

#[test]
fn tiny_retention_keeps_store_within_bound() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let mut flags = fast_flags();
    flags.extend(
        [
            "--storage.raw-retention=6s",
            "--storage.downsample-step=2s",
            "--storage.downsample-retention=12s",
        ]
        .map(String::from),
    );
    let a = Agent::start(&store, &flags);
    std::thread::sleep(Duration::from_secs(20));
    let mid = metric(&a, "nodecast_store_size_bytes");
    std::thread::sleep(Duration::from_secs(25));
    let end = metric(&a, "nodecast_store_size_bytes");
    assert_eq!(a.stop().code(), Some(0));
    eprintln!("store size: {mid} bytes after 20 s, {end} bytes after 45 s");
    assert!(
        end <= mid * 1.25 + 512.0 * 1024.0,
        "store grew from {mid} to {end} bytes with retention reached"
    );
    // Read back: nothing older than retention (plus one chunk's span) is left.
    let s = open(
        &store,
        1,
        Duration::from_secs(6),
        Duration::from_secs(2),
        Duration::from_secs(12),
    );
    let now = nodecast::daemon::now_ms();
    let slots = stored_slots(&s, now - 60_000, now);
    let oldest = *slots.first().expect("recent samples kept");
    assert!(
        now - oldest < 40_000,
        "raw sample {} ms old outlived 6 s retention",
        now - oldest
    );
}
