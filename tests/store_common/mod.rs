// Shared helpers for the store tests (included with `#[path]`, not a test crate of its own).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use nodecast::store::{Agg, Store, StoreConfig, Tier};

/// Tiny grid so that many retention cycles run in a test: 1 s raw kept 60 s,
/// 10 s buckets kept 600 s.
pub fn tiny(path: &Path) -> StoreConfig {
    StoreConfig {
        path: path.to_path_buf(),
        step: Duration::from_secs(1),
        raw_retention: Duration::from_secs(60),
        downsample_step: Duration::from_secs(10),
        downsample_retention: Duration::from_secs(600),
        cache_bytes: 1 << 20,
        max_series: 100,
    }
}

pub fn raw(store: &Store, key: &str, from_s: i64, to_s: i64) -> Vec<f64> {
    store
        .read(key, Tier::Raw, Agg::Mean, from_s * 1000, to_s * 1000)
        .unwrap()
        .values
}

pub fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

pub fn assert_values(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "window length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(same(*g, *w), "slot {i}: got {g}, want {w}");
    }
}
