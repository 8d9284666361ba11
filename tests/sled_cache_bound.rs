//! sled's page cache stays near `cache_capacity` (the vendored LRU patch,
//! vendor/sled/PATCHED.md). sled 0.34 applied a shard's accesses only once 64
//! of them had queued, over 256 shards, so a store of a few hundred pages never
//! evicted anything: the whole tree stayed in memory whatever the capacity.
//! Counted with a counting allocator, so the figure is exact, not timed.

#[path = "../benches/common/counting_alloc.rs"]
mod counting_alloc;

use std::sync::atomic::Ordering::Relaxed;

#[global_allocator]
static A: counting_alloc::Counting = counting_alloc::Counting;

const VALUES: u32 = 2000;
const VALUE_BYTES: usize = 2048;

fn open(dir: &std::path::Path, cache: u64) -> sled::Db {
    sled::Config::new()
        .path(dir)
        .cache_capacity(cache)
        .mode(sled::Mode::LowSpace)
        .open()
        .unwrap()
}

/// Heap bytes that reading every value twice leaves live, on a freshly opened store.
fn held_after_reading(dir: &std::path::Path, cache: u64) -> usize {
    let db = open(dir, cache);
    let before = counting_alloc::LIVE.load(Relaxed);
    for _ in 0..2 {
        for k in 0..VALUES {
            let v = db.get(k.to_be_bytes()).unwrap().expect("value written");
            assert_eq!(v.len(), VALUE_BYTES);
            assert_eq!(v[0], k as u8, "value of key {k}");
        }
    }
    let held = counting_alloc::LIVE.load(Relaxed).saturating_sub(before);
    drop(db);
    held
}

#[test]
fn reading_a_store_larger_than_the_cache_keeps_about_the_cache() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = open(d.path(), 256 << 10);
        for k in 0..VALUES {
            db.insert(k.to_be_bytes(), vec![k as u8; VALUE_BYTES])
                .unwrap();
        }
        db.flush().unwrap();
    }
    let data = VALUES as usize * VALUE_BYTES;
    let small = held_after_reading(d.path(), 256 << 10);
    let large = held_after_reading(d.path(), 64 << 20);
    eprintln!(
        "{} KiB of values; held after reading them twice: {} KiB with a 256 KiB cache, {} KiB with 64 MiB",
        data >> 10,
        small >> 10,
        large >> 10
    );
    // The large cache shows what "everything cached" costs here, so the bound is
    // checked against it rather than against a guess at sled's per-node overhead.
    assert!(large >= data, "a 64 MiB cache holds every value read");
    assert!(
        small < large / 3,
        "a 256 KiB cache held {} KiB of {} KiB read",
        small >> 10,
        large >> 10
    );
}
