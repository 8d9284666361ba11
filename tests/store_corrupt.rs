//! Damaged directories give typed errors (or a consistent prefix), never a
//! panic or garbled values; `move_aside` keeps the damaged copy.

#[path = "store_common/mod.rs"]
mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use common::*;
use nodecast::store::{move_aside, Agg, Store, StoreError, Tier};

const K: &str = r#"node_memory_MemFree_bytes"#;

fn value(s: i64) -> f64 {
    (s * 4096 + 17) as f64
}

fn filled(dir: &Path) {
    let store = Store::open(tiny(dir)).unwrap();
    for s in 0..400i64 {
        let other = format!("other{{n=\"{}\"}}", s % 7);
        store
            .append(
                s * 1000,
                &[(K, value(s)), (other.as_str(), s as f64 / 10.0)],
            )
            .unwrap();
        if s % 13 == 0 {
            store.flush().unwrap();
        }
    }
    store.flush().unwrap();
}

/// Either a typed open error, or a store whose values are all correct or gaps.
fn open_is_safe(dir: &Path) -> Result<(), StoreError> {
    let store = Store::open(tiny(dir))?;
    let w = store.read(K, Tier::Raw, Agg::Mean, 0, 400_000)?;
    for (i, v) in w.values.iter().enumerate() {
        assert!(v.is_nan() || *v == value(i as i64), "garbled slot {i}: {v}");
    }
    Ok(())
}

fn overwrite(file: &Path, at_fraction: f64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(file).unwrap();
    let len = f.metadata().unwrap().len();
    f.seek(SeekFrom::Start((len as f64 * at_fraction) as u64))
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn damaged_sled_files_never_panic_or_garble() {
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "truncated db",
            Box::new(|d: &Path| {
                let f = OpenOptions::new()
                    .write(true)
                    .open(d.join("gen-0/db"))
                    .unwrap();
                let len = f.metadata().unwrap().len();
                f.set_len(len / 3).unwrap();
            }),
        ),
        (
            "garbage in db",
            Box::new(move |d: &Path| overwrite(&d.join("gen-0/db"), 0.4, &garbage)),
        ),
        (
            "garbage at db start",
            Box::new(|d: &Path| overwrite(&d.join("gen-0/db"), 0.0, &[0xAB; 4096])),
        ),
        (
            "garbage conf",
            Box::new(|d: &Path| {
                std::fs::write(d.join("gen-0/conf"), b"not a sled config at all").unwrap()
            }),
        ),
        (
            "empty db",
            Box::new(|d: &Path| std::fs::write(d.join("gen-0/db"), b"").unwrap()),
        ),
    ];
    for (name, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        filled(dir.path());
        damage(dir.path());
        match open_is_safe(dir.path()) {
            Ok(()) => eprintln!("{name}: opened, surviving values verified"),
            Err(e) => {
                eprintln!("{name}: {e}");
                assert!(
                    matches!(
                        e,
                        StoreError::Corrupt { .. }
                            | StoreError::Io { .. }
                            | StoreError::Sled { .. }
                            | StoreError::Panicked { .. }
                    ),
                    "{name}: unexpected error {e:?}"
                );
            }
        }
    }
}

#[test]
fn missing_pieces_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    std::fs::write(dir.path().join("CURRENT"), "gen-x\n").unwrap();
    let e = Store::open(tiny(dir.path())).err().unwrap();
    assert!(
        matches!(&e, StoreError::Corrupt { path, .. } if path == dir.path()),
        "{e:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    std::fs::remove_dir_all(dir.path().join("gen-0")).unwrap();
    assert!(matches!(
        Store::open(tiny(dir.path())),
        Err(StoreError::Corrupt { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    assert!(matches!(
        Store::open(tiny(dir.path())),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn damaged_chunk_is_quarantined_counted_once_and_the_rest_reads() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let damaged_key = {
        let db = sled::open(dir.path().join("gen-0")).unwrap();
        let data = db.open_tree("data").unwrap();
        // the oldest raw chunk of the first series that has more than one
        let (k, v) = data.iter().next().unwrap().unwrap();
        let mut bad = v.to_vec();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        data.insert(&k, bad).unwrap();
        db.flush().unwrap();
        k.to_vec()
    };
    let store = Store::open(tiny(dir.path())).unwrap();
    let report = store.open_report().clone();
    assert_eq!(report.chunks_corrupt, 1, "{report:?}");
    assert_eq!(report.damaged_series.len(), 1, "{report:?}");
    assert_eq!(store.stats().chunks_corrupt, 1);
    for k in store.series_keys() {
        let w = store
            .read(&k, Tier::Raw, Agg::Mean, 0, 400_000)
            .unwrap_or_else(|e| panic!("{k}: one bad chunk must not fail the read: {e}"));
        let present = w.values.iter().filter(|v| !v.is_nan()).count();
        assert!(
            present > 0,
            "{k}: the other chunks of the series still read"
        );
        if k == K {
            for (i, v) in w.values.iter().enumerate() {
                assert!(v.is_nan() || *v == value(i as i64), "{k} slot {i}: {v}");
            }
        }
    }
    // reads skip it without counting again
    assert_eq!(store.stats().chunks_corrupt, 1);
    store.flush().unwrap();
    drop(store);
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_eq!(
        store.open_report().chunks_corrupt,
        0,
        "quarantined at the first open, not counted again: {:?}",
        store.open_report()
    );
    drop(store);
    let db = sled::open(dir.path().join("gen-0")).unwrap();
    assert!(db
        .open_tree("quarantine")
        .unwrap()
        .contains_key(&damaged_key)
        .unwrap());
    assert!(!db
        .open_tree("data")
        .unwrap()
        .contains_key(&damaged_key)
        .unwrap());
}

/// A store of ten node-like series at the default grid: two days, flushed
/// every 4 minutes of data, as the daemon would leave it.
mod real {
    use super::*;
    use nodecast::store::StoreConfig;

    pub const N: usize = 10;
    pub const STEP: i64 = 15_000;
    pub const SAMPLES: i64 = 2 * 86_400 / 15;

    pub fn key(i: usize) -> String {
        format!("node_filesystem_avail_bytes{{mountpoint=\"/m{i}\"}}")
    }

    pub fn val(i: usize, s: i64) -> f64 {
        (1_000_000_000 - s * 4096 * (i as i64 + 1)) as f64
    }

    pub fn fill(p: &Path) {
        let st = Store::open(StoreConfig::new(p)).unwrap();
        let keys: Vec<String> = (0..N).map(key).collect();
        for s in 0..SAMPLES {
            let smp: Vec<(&str, f64)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), val(i, s)))
                .collect();
            st.append(s * STEP, &smp).unwrap();
            if s % 16 == 15 {
                st.flush().unwrap();
            }
        }
        st.flush().unwrap();
    }

    pub fn db_file(p: &Path) -> std::path::PathBuf {
        let gen = std::fs::read_to_string(p.join("CURRENT")).unwrap();
        p.join(gen.trim()).join("db")
    }

    /// Series whose raw history is not all there, after checking that
    /// every value that is there is the one written.
    pub fn series_with_gaps(st: &Store) -> usize {
        (0..N)
            .filter(|&i| {
                let w = st
                    .read(&key(i), Tier::Raw, Agg::Mean, 0, SAMPLES * STEP)
                    .unwrap();
                let mut gaps = false;
                for (s, v) in w.values.iter().enumerate() {
                    if v.is_nan() {
                        gaps = true;
                    } else {
                        assert_eq!(*v, val(i, s as i64), "series {i} slot {s} garbled");
                    }
                }
                gaps || w.values.len() != SAMPLES as usize
            })
            .count()
    }
}

#[test]
fn truncated_or_overwritten_store_reports_damage_and_keeps_the_rest() {
    let base = tempfile::tempdir().unwrap();
    let src = base.path().join("src");
    real::fill(&src);
    // Opening changes sled's files, so the baseline is checked on a copy.
    let copy = |to: &Path| {
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(to)
            .status()
            .unwrap();
        assert!(st.success());
    };
    copy(&base.path().join("baseline"));
    {
        let st = Store::open(nodecast::store::StoreConfig::new(
            base.path().join("baseline"),
        ))
        .unwrap();
        assert_eq!(real::series_with_gaps(&st), 0, "baseline is complete");
        assert_eq!(st.open_report().chunks_corrupt, 0, "{:?}", st.open_report());
        assert_eq!(st.open_report().unverified, None);
    }
    let len = std::fs::metadata(real::db_file(&src)).unwrap().len();
    let page = |f: f64| (len as f64 * f) as u64 / 4096 * 4096;
    let cases: Vec<(&str, Option<u64>)> = vec![
        ("truncated to half", None),
        ("3 pages at 10%", Some(page(0.1))),
        ("3 pages at 50%", Some(page(0.5))),
        ("3 pages at 90%", Some(page(0.9))),
        ("first page", Some(0)),
        (
            "last 3 pages",
            Some(len.saturating_sub(3 * 4096) / 4096 * 4096),
        ),
    ];
    let mut damaged_opens = 0;
    for (name, at) in cases {
        let d = base.path().join(name.replace(' ', "_"));
        copy(&d);
        let f = OpenOptions::new()
            .write(true)
            .open(real::db_file(&d))
            .unwrap();
        match at {
            None => f.set_len(len / 2).unwrap(),
            Some(at) => {
                let mut f = f;
                f.seek(SeekFrom::Start(at)).unwrap();
                f.write_all(&[0xA5; 3 * 4096]).unwrap();
            }
        }
        let opened =
            std::panic::catch_unwind(|| Store::open(nodecast::store::StoreConfig::new(&d)))
                .unwrap_or_else(|_| panic!("{name}: Store::open panicked"));
        match opened {
            Err(e) => {
                eprintln!("{name}: refused: {e}");
                assert!(
                    matches!(&e, StoreError::Corrupt { reason, .. } if !reason.is_empty()),
                    "{name}: {e:?}"
                );
            }
            Ok(st) => {
                let gaps = real::series_with_gaps(&st);
                let rep = st.open_report().clone();
                eprintln!(
                    "{name}: opened, {gaps} of {} series lost history; corrupt chunks {} (rolled back {:?})",
                    real::N,
                    rep.chunks_corrupt,
                    rep.rolled_back
                );
                if gaps > 0 {
                    damaged_opens += 1;
                    assert!(rep.chunks_corrupt > 0, "{name}: silent damage: {rep:?}");
                    assert!(st.stats().chunks_corrupt >= rep.chunks_corrupt);
                    assert!(
                        rep.damaged_series.len() >= gaps,
                        "{name}: {} series with lost history named, {gaps} lost: {rep:?}",
                        rep.damaged_series.len()
                    );
                }
                // the store keeps working on top of what survived
                st.append(real::SAMPLES * real::STEP, &[(&real::key(0), 1.0)])
                    .unwrap();
                st.flush().unwrap();
            }
        }
    }
    assert!(
        damaged_opens >= 3,
        "the cases must exercise damage that opens"
    );
}

#[test]
fn store_from_the_previous_version_opens_unverified_then_verified() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    // What the version before INVENTORY left: no file, no flush_seq in meta.
    std::fs::remove_file(dir.path().join("INVENTORY")).unwrap();
    {
        let db = sled::open(dir.path().join("gen-0")).unwrap();
        assert!(db
            .open_tree("meta")
            .unwrap()
            .remove("flush_seq")
            .unwrap()
            .is_some());
        db.flush().unwrap();
    }
    let store = Store::open(tiny(dir.path())).unwrap();
    let rep = store.open_report().clone();
    assert_eq!(rep.chunks_corrupt, 0, "{rep:?}");
    assert!(rep.chunks_verified > 0, "{rep:?}");
    assert!(
        rep.unverified
            .as_deref()
            .is_some_and(|w| w.contains("INVENTORY")),
        "{rep:?}"
    );
    open_is_safe_full(&store);
    store.flush().unwrap();
    drop(store);
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_eq!(
        store.open_report().unverified,
        None,
        "{:?}",
        store.open_report()
    );
    assert_eq!(store.open_report().chunks_corrupt, 0);
    open_is_safe_full(&store);
}

fn open_is_safe_full(store: &Store) {
    let w = store.read(K, Tier::Raw, Agg::Mean, 0, 400_000).unwrap();
    let present = w.values.iter().filter(|v| !v.is_nan()).count();
    assert!(present >= 60, "raw retention of 60 s kept: {present}");
    for (i, v) in w.values.iter().enumerate() {
        assert!(v.is_nan() || *v == value(i as i64), "slot {i}: {v}");
    }
}

#[test]
fn healthy_store_is_never_reported_damaged() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let inv = std::fs::read(dir.path().join("INVENTORY")).unwrap();
    for round in 0..3i64 {
        let store = Store::open(tiny(dir.path())).unwrap();
        assert_eq!(
            store.open_report().chunks_corrupt,
            0,
            "round {round}: {:?}",
            store.open_report()
        );
        assert_eq!(store.open_report().unverified, None);
        for s in 0..50 {
            let t = (400 + round * 50 + s) * 1000;
            store.append(t, &[(K, value(t / 1000))]).unwrap();
        }
        store.flush().unwrap();
    }
    // A crash between sled's flush and the INVENTORY write leaves an older
    // inventory: not damage, only unverified.
    std::fs::write(dir.path().join("INVENTORY"), inv).unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_eq!(
        store.open_report().chunks_corrupt,
        0,
        "{:?}",
        store.open_report()
    );
    assert!(store.open_report().unverified.is_some());
}

#[test]
fn sled_panic_or_tiny_cache_is_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    for cache in [0u64, 1, 255] {
        let mut cfg = tiny(dir.path());
        cfg.cache_bytes = cache;
        let r = std::panic::catch_unwind(|| Store::open(cfg).map(|_| ()))
            .unwrap_or_else(|_| panic!("cache {cache}: panicked"));
        match r {
            Err(StoreError::Config(m)) => assert!(m.contains("256"), "{m}"),
            other => panic!("cache {cache}: want a configuration error, got {other:?}"),
        }
    }
    let store = Store::open(tiny(dir.path())).unwrap();
    assert_eq!(store.open_report().chunks_corrupt, 0);
    open_is_safe_full(&store);
}

#[test]
fn non_utf8_current_is_corrupt_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    std::fs::write(dir.path().join("CURRENT"), b"gen-\xff\xfe0\n").unwrap();
    match Store::open(tiny(dir.path())) {
        Err(StoreError::Corrupt { path, reason }) => {
            assert_eq!(path, dir.path());
            assert!(
                reason.contains("CURRENT") && reason.contains("UTF-8"),
                "{reason}"
            );
        }
        other => panic!("want Corrupt, got {:?}", other.err()),
    }
    std::fs::write(dir.path().join("CURRENT"), vec![b'g'; 1 << 20]).unwrap();
    assert!(matches!(
        Store::open(tiny(dir.path())),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn move_aside_renames_and_a_fresh_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    filled(&path);
    std::fs::write(path.join("CURRENT"), "garbage").unwrap();
    assert!(matches!(
        Store::open(tiny(&path)),
        Err(StoreError::Corrupt { .. })
    ));
    let aside = move_aside(&path).unwrap();
    assert!(!path.exists());
    assert!(
        aside.join("gen-0").join("db").exists(),
        "data kept at {}",
        aside.display()
    );
    assert!(aside
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("store.corrupt-"));
    let store = Store::open(tiny(&path)).unwrap();
    assert!(store.series_keys().is_empty());
    // a second move aside in the same second gets its own name
    drop(store);
    let again = move_aside(&path).unwrap();
    assert_ne!(again, aside);
}

#[test]
fn foreign_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    assert!(matches!(
        Store::open(tiny(dir.path())),
        Err(StoreError::Config(_))
    ));
}
