//! The open downsampled chunk of every series (a day of 5-minute buckets, three
//! columns) is held encoded between buckets: held as `f64` columns it grew each
//! series' heap by 11 KiB from hour 1 to hour 23 of a day (this test before the
//! change; capacity doubling past 256 rows), 1.5 MiB for the 142 series of a
//! plain node by evening (issue 16); encoded, by 1.5 KiB. Counted with a
//! counting allocator, so the figure is exact, not timed.

#[path = "../benches/common/counting_alloc.rs"]
mod counting_alloc;

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use nodecast::store::{Agg, Store, StoreConfig, Tier};

#[global_allocator]
static A: counting_alloc::Counting = counting_alloc::Counting;

const SERIES: usize = 100;
const STEP_S: i64 = 15;
/// Midnight UTC, so the day's downsampled chunk starts empty.
const T0: i64 = 1_700_006_400;

/// Values like a node's: constants, a filling filesystem, a noisy daily cycle.
fn value(series: usize, t_s: i64) -> f64 {
    match series % 3 {
        0 => 8.0 * 1024.0 * 1024.0 * 1024.0,
        1 => (4096 * (1_000_000 + t_s / 60 * series as i64)) as f64,
        _ => {
            let day = (t_s as f64 / 86_400.0 * std::f64::consts::TAU).sin();
            let noise = ((t_s * 7919 + series as i64 * 104_729) % 1000) as f64 / 1000.0;
            ((50.0 + 30.0 * day + 5.0 * noise) * 100.0).round() / 100.0
        }
    }
}

/// Heap bytes per series that hours 1 to 23 of a day add to a store in `dir`,
/// with downsampled buckets of `ds_step`; the store and its keys.
fn growth_over_a_day(dir: &Path, ds_step: Duration) -> (i64, Store, Vec<String>) {
    let mut cfg = StoreConfig::new(dir);
    cfg.downsample_step = ds_step;
    let store = Store::open(cfg).unwrap();
    let keys: Vec<String> = (0..SERIES).map(|i| format!("m{{i=\"{i}\"}}")).collect();
    let mut live_at = Vec::new();
    let mut t = T0;
    for hour in 1..=23 {
        while t < T0 + hour * 3600 {
            let samples: Vec<(&str, f64)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), value(i, t - T0)))
                .collect();
            store.append(t * 1000, &samples).unwrap();
            t += STEP_S;
        }
        // sled is left alone between the two figures: its page table grows
        // with every flush (the agent's compactions reset it).
        if hour == 1 {
            store.flush().unwrap();
        }
        if hour == 1 || hour == 23 {
            live_at.push(counting_alloc::LIVE.load(Relaxed) as i64);
        }
    }
    ((live_at[1] - live_at[0]) / SERIES as i64, store, keys)
}

#[test]
fn open_downsampled_chunks_stay_small_through_the_day() {
    // The control has hourly buckets, so its open downsampled chunk holds 23
    // rows at most; everything else (hourly raw chunks waiting for a flush) is
    // the same.
    let (control_dir, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (control, _, _) = growth_over_a_day(control_dir.path(), Duration::from_secs(3600));
    let (grown, store, keys) = growth_over_a_day(dir.path(), Duration::from_secs(300));
    eprintln!(
        "heap grown per series from hour 1 to 23: {grown} bytes with 5-minute buckets, {control} with hourly ones"
    );
    // Open f64 columns: 23 hours of buckets are 276 rows x 3 columns x 8 bytes,
    // in a capacity of 512 rows: 12 KiB a series, more while a doubling copies.
    assert!(
        grown - control < 2048,
        "the open downsampled chunks grew {} bytes per series over the day",
        grown - control
    );
    // Everything appended is still there.
    let w = store
        .read(
            &keys[1],
            Tier::Downsampled,
            Agg::Max,
            T0 * 1000,
            (T0 + 23 * 3600) * 1000,
        )
        .unwrap();
    let got: Vec<f64> = w.values.iter().copied().filter(|v| !v.is_nan()).collect();
    assert_eq!(got.len(), 23 * 12 - 1, "buckets read back");
    // The max of a bucket is its last raw value (series 1 only grows).
    assert_eq!(got[0], value(1, 300 - STEP_S));
    assert_eq!(*got.last().unwrap(), value(1, (23 * 12 - 1) * 300 - STEP_S));
}
