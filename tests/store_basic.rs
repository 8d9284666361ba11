//! Round trips, reopen, identity, downsampling, clock steps, backfill.

#[path = "store_common/mod.rs"]
mod common;

use common::*;
use nodecast::store::{Agg, Store, StoreError, Tier};
use std::time::Duration;

const K: &str = r#"node_load1{host="a"}"#;

#[test]
fn round_trip_with_gaps_before_and_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    let gaps = [5, 6, 20];
    let mut want = vec![f64::NAN; 50];
    for s in 0..50i64 {
        if !gaps.contains(&s) {
            let v = s as f64 * 1.5 - 7.25;
            // jitter inside the slot must not move the sample
            let st = store.append(s * 1000 + 999, &[(K, v)]).unwrap();
            assert_eq!((st.stored, st.dropped), (1, 0));
            want[s as usize] = v;
        }
    }
    assert_values(&raw(&store, K, 0, 50), &want);
    store.flush().unwrap();
    assert_values(&raw(&store, K, 0, 50), &want);
    // unaligned start rounds up to the next slot; end is exclusive
    let w = store.read(K, Tier::Raw, Agg::Mean, 10_500, 15_000).unwrap();
    assert_eq!((w.start_ms, w.step_ms, w.values.len()), (11_000, 1000, 4));
    assert_values(&w.values, &want[11..15]);
    // unknown series and empty windows are all gaps, not errors
    assert!(raw(&store, "nope", 0, 10).iter().all(|v| v.is_nan()));
    assert!(raw(&store, K, 10, 10).is_empty());
}

#[test]
fn reopen_keeps_flushed_data_and_series_identity() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ["a_total", r#"b{x="1"}"#, r#"b{x="2"}"#];
    let ids: Vec<Option<u32>>;
    {
        let store = Store::open(tiny(dir.path())).unwrap();
        for s in 0..30i64 {
            let row: Vec<(&str, f64)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, (s * 10 + i as i64) as f64))
                .collect();
            store.append(s * 1000, &row).unwrap();
        }
        store.flush().unwrap();
        ids = keys.iter().map(|k| store.series_id(k)).collect();
    }
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_eq!(store.series_keys(), keys.to_vec());
    assert_eq!(
        keys.iter().map(|k| store.series_id(k)).collect::<Vec<_>>(),
        ids
    );
    for (i, k) in keys.iter().enumerate() {
        let want: Vec<f64> = (0..30).map(|s| (s * 10 + i as i64) as f64).collect();
        assert_values(&raw(&store, k, 0, 30), &want);
    }
    // a series created after reopen gets a fresh id and none of the old data
    store
        .append(30_000, &[("c", 1.0), (keys[0], 300.0)])
        .unwrap();
    let c = store.series_id("c").unwrap();
    assert!(ids.iter().all(|id| *id != Some(c)));
    assert_values(&raw(&store, "c", 28, 31), &[f64::NAN, f64::NAN, 1.0]);
    assert_values(&raw(&store, keys[0], 28, 31), &[280.0, 290.0, 300.0]);
}

#[test]
fn downsampling_mean_min_max_and_rebuild_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(tiny(dir.path())).unwrap();
        for s in 0..36i64 {
            if s != 12 {
                store.append(s * 1000, &[(K, s as f64)]).unwrap();
            }
        }
        let ds = |agg| store.read(K, Tier::Downsampled, agg, 0, 40_000).unwrap();
        let mean = ds(Agg::Mean);
        assert_eq!((mean.start_ms, mean.step_ms), (0, 10_000));
        let m1 = (10..20).filter(|s| *s != 12).sum::<i64>() as f64 / 9.0;
        // bucket 3 (30..35) is still in progress: not reported
        assert_values(&mean.values, &[4.5, m1 as f32 as f64, 24.5, f64::NAN]);
        assert_values(&ds(Agg::Min).values, &[0.0, 10.0, 20.0, f64::NAN]);
        assert_values(&ds(Agg::Max).values, &[9.0, 19.0, 29.0, f64::NAN]);
        store.flush().unwrap();
    }
    // the bucket in progress is rebuilt from the raw tier after a restart
    let store = Store::open(tiny(dir.path())).unwrap();
    for s in 36..41i64 {
        store.append(s * 1000, &[(K, s as f64)]).unwrap();
    }
    let w = store
        .read(K, Tier::Downsampled, Agg::Mean, 30_000, 40_000)
        .unwrap();
    assert_values(&w.values, &[34.5]);
    let w = store
        .read(K, Tier::Downsampled, Agg::Min, 30_000, 40_000)
        .unwrap();
    assert_values(&w.values, &[30.0]);
}

#[test]
fn clock_going_backwards_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    store.append(10_000, &[(K, 1.0)]).unwrap();
    let back = store.append(5_000, &[(K, 2.0)]).unwrap();
    let same_slot = store.append(10_500, &[(K, 3.0)]).unwrap();
    let nan = store.append(11_000, &[(K, f64::NAN)]).unwrap();
    let fwd = store.append(12_000, &[(K, 4.0)]).unwrap();
    assert_eq!(
        [back.dropped, same_slot.dropped, nan.dropped, fwd.stored],
        [1, 1, 1, 1]
    );
    assert_values(
        &raw(&store, K, 4, 13),
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            1.0,
            f64::NAN,
            4.0,
        ],
    );
    let stats = store.stats();
    assert_eq!(
        (stats.samples_stored, stats.samples_dropped_out_of_order),
        (2, 3)
    );
    // negative timestamps (clock before 1970) are just more slots, no panic
    let st = store.append(-5_000, &[("neg", 7.0)]).unwrap();
    assert_eq!(st.stored, 1);
    assert_values(&raw(&store, "neg", -5, -4), &[7.0]);
    store.flush().unwrap();
}

#[test]
fn backfill_never_overwrites_local_samples() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    for s in 100..120i64 {
        store.append(s * 1000, &[(K, s as f64)]).unwrap();
    }
    store.flush().unwrap();
    let remote: Vec<(i64, f64)> = (50..130i64).map(|s| (s * 1000, -1.0)).collect();
    let st = store.backfill(K, &remote).unwrap();
    // 50..99 are older than all local data (raw keeps only 60 s, so 50..59
    // reach the downsampled tier only); 100..129 collide or are newer.
    assert_eq!((st.stored, st.dropped), (50, 30));
    let want: Vec<f64> = (50..130)
        .map(|s| {
            if s < 60 {
                f64::NAN
            } else if s < 100 {
                -1.0
            } else if s < 120 {
                s as f64
            } else {
                f64::NAN
            }
        })
        .collect();
    assert_values(&raw(&store, K, 50, 130), &want);
    let ds = store
        .read(K, Tier::Downsampled, Agg::Mean, 50_000, 120_000)
        .unwrap();
    assert_values(&ds.values, &[-1.0, -1.0, -1.0, -1.0, -1.0, 104.5, f64::NAN]);
    // a second, overlapping backfill only adds what is older than everything
    let st = store
        .backfill(
            K,
            &(40..80i64).map(|s| (s * 1000, -2.0)).collect::<Vec<_>>(),
        )
        .unwrap();
    assert_eq!((st.stored, st.dropped), (10, 30));
    store.flush().unwrap();
    drop(store);
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_values(&raw(&store, K, 50, 130), &want);
    let ds = store
        .read(K, Tier::Downsampled, Agg::Mean, 30_000, 60_000)
        .unwrap();
    assert_values(&ds.values, &[f64::NAN, -2.0, -1.0]);
    // local appends continue after the newest local sample
    assert_eq!(store.append(120_000, &[(K, 120.0)]).unwrap().stored, 1);
}

#[test]
fn backfill_into_new_series_replays_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    let mut remote: Vec<(i64, f64)> = (0..25i64).map(|s| (s * 1000, s as f64)).collect();
    remote.reverse();
    assert_eq!(store.backfill("fresh", &remote).unwrap().stored, 25);
    assert_values(
        &raw(&store, "fresh", 0, 25),
        &(0..25).map(|s| s as f64).collect::<Vec<_>>(),
    );
    let ds = store
        .read("fresh", Tier::Downsampled, Agg::Max, 0, 30_000)
        .unwrap();
    assert_values(&ds.values, &[9.0, 19.0, f64::NAN]);
    assert_eq!(store.append(24_000, &[("fresh", 0.0)]).unwrap().dropped, 1);
}

#[test]
fn drop_without_flush_keeps_flushed_data_and_nothing_garbled() {
    let dir = tempfile::tempdir().unwrap();
    let value = |s: i64| (s * s) as f64 / 3.0;
    {
        let store = Store::open(tiny(dir.path())).unwrap();
        for s in 0..25i64 {
            store.append(s * 1000, &[(K, value(s))]).unwrap();
        }
        store.flush().unwrap();
        for s in 25..47i64 {
            store.append(s * 1000, &[(K, value(s))]).unwrap();
        }
    }
    let store = Store::open(tiny(dir.path())).unwrap();
    let got = raw(&store, K, 0, 47);
    for (s, g) in got.iter().enumerate() {
        let w = value(s as i64);
        if s < 25 {
            assert!(same(*g, w), "flushed slot {s}: {g} != {w}");
        } else {
            assert!(g.is_nan() || same(*g, w), "unflushed slot {s} garbled: {g}");
        }
    }
    let newest = got.iter().rposition(|v| !v.is_nan()).unwrap() as i64;
    assert_eq!(
        store
            .append((newest + 1) * 1000, &[(K, 1.0)])
            .unwrap()
            .stored,
        1
    );
    store.flush().unwrap();
}

#[test]
fn reopening_with_another_step_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(tiny(dir.path())).unwrap().flush().unwrap();
    let mut cfg = tiny(dir.path());
    cfg.step = Duration::from_secs(2);
    match Store::open(cfg) {
        Err(StoreError::StepMismatch {
            stored_ms,
            configured_ms,
            ..
        }) => assert_eq!((stored_ms, configured_ms), (1000, 2000)),
        other => panic!("expected StepMismatch, got {:?}", other.err()),
    }
    let mut cfg = tiny(dir.path());
    cfg.downsample_step = Duration::from_millis(2500);
    assert!(matches!(Store::open(cfg), Err(StoreError::Config(_))));
    // a longer retention is fine: chunk lengths come from the store itself
    let mut cfg = tiny(dir.path());
    cfg.raw_retention = Duration::from_secs(3600);
    Store::open(cfg).unwrap();
}

#[test]
fn max_series_caps_new_series_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny(dir.path());
    cfg.max_series = 2;
    let store = Store::open(cfg).unwrap();
    let st = store
        .append(0, &[("a", 1.0), ("b", 2.0), ("c", 3.0)])
        .unwrap();
    assert_eq!((st.stored, st.dropped), (2, 1));
    assert_eq!(
        store
            .append(1000, &[("a", 1.0), ("c", 3.0)])
            .unwrap()
            .stored,
        1
    );
    assert_eq!(store.series_keys(), vec!["a", "b"]);
    assert_eq!(store.stats().samples_dropped_series_limit, 2);
}

#[test]
fn second_open_of_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(tiny(dir.path())).unwrap();
    assert!(matches!(
        Store::open(tiny(dir.path())),
        Err(StoreError::Locked { .. })
    ));
}

#[test]
fn concurrent_reader_sees_only_correct_values_or_gaps() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    let value = |s: i64| s as f64 * 0.25 + 1.0;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                let w = store.read(K, Tier::Raw, Agg::Mean, 0, 400_000).unwrap();
                for (i, v) in w.values.iter().enumerate() {
                    assert!(v.is_nan() || *v == value(i as i64), "slot {i}: {v}");
                }
                reads += 1;
            }
            reads
        });
        for s in 0..400i64 {
            store.append(s * 1000, &[(K, value(s))]).unwrap();
            if s % 10 == 9 {
                store.flush().unwrap();
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    });
    // the last minute is there in full (raw retention is 60 s)
    assert_values(
        &raw(&store, K, 340, 400),
        &(340..400).map(value).collect::<Vec<_>>(),
    );
}
