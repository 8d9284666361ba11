//! Many retention cycles: chunk count and size stay under bounds derived
//! from the config, old data is gone, series that stop are forgotten.

#[path = "store_common/mod.rs"]
mod common;

use common::*;
use nodecast::store::synth::node_like;
use nodecast::store::{Store, Tier};

#[test]
fn chunks_and_size_stay_bounded_over_many_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny(dir.path());
    let store = Store::open(cfg.clone()).unwrap();
    let mut series = node_like(6);
    let keep_s = cfg.downsample_retention.as_secs() as i64;
    let cycles = 6; // of the longer (downsampled) retention
    let total = keep_s * cycles;
    let mut max_size = 0u64;
    let mut churn_ids = Vec::new();
    for s in 0..total {
        let mut row: Vec<(String, f64)> = series
            .iter_mut()
            .map(|x| (x.key.clone(), x.next_value()))
            .collect();
        // a short-lived series every 100 s, like a container's veth interface
        if s % 300 < 100 {
            row.push((format!("churn{{gen=\"{}\"}}", s / 300), s as f64));
        }
        let refs: Vec<(&str, f64)> = row.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(store.append(s * 1000, &refs).unwrap().dropped, 0);
        if s % 5 == 4 {
            store.flush().unwrap();
            if s % 300 == 99 {
                churn_ids.push(
                    store
                        .series_id(&format!("churn{{gen=\"{}\"}}", s / 300))
                        .unwrap(),
                );
            }
            if s > keep_s * 2 {
                let live = store.series_keys().len() as u64;
                let (counts, _) = store.chunk_counts().unwrap();
                assert!(
                    counts[0] <= live * store.max_chunks_per_series(Tier::Raw),
                    "raw chunks {} at {s}",
                    counts[0]
                );
                assert!(
                    counts[1] <= live * store.max_chunks_per_series(Tier::Downsampled),
                    "ds chunks {} at {s}",
                    counts[1]
                );
                let size = store.size_on_disk();
                assert!(
                    size <= store.size_bound(live as usize),
                    "size {size} > bound {} at {s}",
                    store.size_bound(live as usize)
                );
                max_size = max_size.max(size);
            }
        }
    }
    let stats = store.stats();
    eprintln!(
        "max size {max_size} B, bound {} B, stats {stats:?}",
        store.size_bound(series.len() + 2)
    );
    // old churn series expired; at most the ones inside retention remain
    assert!(
        stats.series_expired >= (cycles as u64 * keep_s as u64 / 300) - 3,
        "{stats:?}"
    );
    assert!(store.series_keys().len() <= series.len() + 3);
    // ids are never reused
    let mut sorted = churn_ids.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), churn_ids.len());
    assert!(churn_ids.windows(2).all(|w| w[0] < w[1]));
    // the first raw minute and the first downsampled window are gone, the last are there
    let k = &series[0].key;
    assert!(raw(&store, k, 0, 60).iter().all(|v| v.is_nan()));
    assert!(raw(&store, k, total - 50, total)
        .iter()
        .all(|v| !v.is_nan()));
    let ds = store
        .read(k, Tier::Downsampled, nodecast::store::Agg::Max, 0, 600_000)
        .unwrap();
    assert!(ds.values.iter().all(|v| v.is_nan()));
}
