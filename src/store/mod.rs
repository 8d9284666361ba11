//! Bounded local history in sled: a ring buffer that survives restarts.
//!
//! Two tiers per series, each on its own regular grid: raw samples every
//! `step` (the collection interval) and a downsampled tier (mean/min/max per
//! `downsample_step`) that the forecaster reads. Samples are grouped into
//! compressed chunks (see [`codec`]); the open chunk of each series lives in
//! memory and reaches sled on [`Store::flush`]. Retention deletes whole chunks
//! older than `now − retention`, where `now` is the newest sample time seen.
//! See docs/store.md for the on-disk layout, bounds and measured sizes.

mod aux;
mod codec;
mod engine;
mod error;
mod fsutil;
mod inventory;
mod key;
mod layout;
mod query;
mod series;
mod sled_io;
pub mod synth;

use std::path::PathBuf;
use std::time::Duration;

pub use engine::Store;
pub use error::StoreError;
pub use fsutil::{dir_size, move_aside};
pub use key::{parse_series_key, series_key};
pub use sled_io::MIN_CACHE_BYTES;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// Raw grid; equal to the collection interval.
    pub step: Duration,
    pub raw_retention: Duration,
    /// Must be a whole multiple of `step`.
    pub downsample_step: Duration,
    pub downsample_retention: Duration,
    /// sled page cache cap.
    pub cache_bytes: u64,
    /// New series beyond this many are dropped (and counted) rather than
    /// letting a label explosion grow the store past its budget.
    pub max_series: usize,
}

impl StoreConfig {
    /// The defaults from the issue: 15 s raw for 48 h, 5 min for 35 days,
    /// 512 KiB cache (the daemon's default), 2000 series.
    pub fn new(path: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            path: path.into(),
            step: Duration::from_secs(15),
            raw_retention: Duration::from_secs(48 * 3600),
            downsample_step: Duration::from_secs(300),
            downsample_retention: Duration::from_secs(35 * 86400),
            cache_bytes: 512 << 10,
            max_series: 2000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Raw,
    Downsampled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Mean,
    Min,
    Max,
}

/// A regular-grid window: `values[i]` is at `start_ms + i * step_ms`; NaN is a gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start_ms: i64,
    pub step_ms: i64,
    pub values: Vec<f64>,
}

impl Window {
    pub fn timestamp(&self, i: usize) -> i64 {
        self.start_ms + i as i64 * self.step_ms
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    pub stored: u64,
    pub dropped: u64,
}

/// Counters for self-metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreStats {
    pub series: usize,
    pub samples_stored: u64,
    /// Samples at or before their series' newest slot (clock went back, or a
    /// second sample in one slot), or NaN.
    pub samples_dropped_out_of_order: u64,
    /// Samples of new series refused because `max_series` was reached.
    pub samples_dropped_series_limit: u64,
    pub backfill_stored: u64,
    pub backfill_dropped: u64,
    pub chunks_written: u64,
    pub chunks_deleted: u64,
    /// Chunks found damaged or missing: on open (failed checksum, or lost by
    /// sled since the last flush, see [`OpenReport`]) and later by reads.
    /// Each damaged chunk is counted once.
    pub chunks_corrupt: u64,
    pub series_expired: u64,
    pub flushes: u64,
    /// Rewrites of sled into a fresh generation (see docs/store.md).
    pub compactions: u64,
    /// Size of the fresh generation right after the last compaction.
    pub size_after_last_compaction: Option<u64>,
    pub flush_errors: u64,
    /// Unix ms of the last successful flush, if any since open.
    pub last_flush_unix_ms: Option<i64>,
    /// Newest sample time seen (the store's notion of "now").
    pub newest_sample_ms: Option<i64>,
}

/// What [`Store::open`] found when it verified the store (also logged, once).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenReport {
    /// Chunks whose checksum held.
    pub chunks_verified: u64,
    /// Chunks that failed their checksum, or that the INVENTORY of the last
    /// flush lists and sled no longer returns (a lower bound when sled came
    /// back with an older state).
    pub chunks_corrupt: u64,
    /// Keys of the series that lost chunks.
    pub damaged_series: Vec<String>,
    /// `(sled's flush, the inventory's flush)` when sled came back older
    /// than its last successful flush.
    pub rolled_back: Option<(u64, u64)>,
    /// Why completeness could not be checked (checksums still were): no
    /// INVENTORY yet (a store from an earlier version), or a crash between
    /// sled's flush and the INVENTORY write.
    pub unverified: Option<String>,
}
