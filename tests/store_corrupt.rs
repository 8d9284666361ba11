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
fn damaged_chunk_reads_as_corrupt_error() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    {
        let db = sled::open(dir.path().join("gen-0")).unwrap();
        let data = db.open_tree("data").unwrap();
        let (k, v) = data.iter().next().unwrap().unwrap();
        let mut bad = v.to_vec();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        data.insert(k, bad).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(tiny(dir.path())).unwrap();
    let keys = store.series_keys();
    let errors: Vec<StoreError> = keys
        .iter()
        .filter_map(|k| store.read(k, Tier::Raw, Agg::Mean, 0, 400_000).err())
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly the damaged series fails: {errors:?}"
    );
    assert!(
        matches!(&errors[0], StoreError::Corrupt { reason, .. } if reason.contains("checksum")),
        "{:?}",
        errors[0]
    );
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
