//! Disk full, simulated with RLIMIT_FSIZE (writes past the limit fail with
//! EFBIG): flush fails with a typed error, appends keep working, and once
//! space returns the next flush writes everything. Its own test binary,
//! because the limit applies to the whole process.

#[path = "store_common/mod.rs"]
mod common;

use common::*;
use nodecast::store::{Store, StoreError};

fn set_fsize_limit(bytes: libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a valid, initialised struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim), 0);
        lim.rlim_cur = bytes.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
}

#[test]
fn flush_fails_typed_then_recovers_when_space_returns() {
    // SAFETY: ignoring SIGXFSZ turns "file too large" into an EFBIG error.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(tiny(dir.path())).unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("disk{{n=\"{i}\"}}")).collect();
    let value = |s: i64, i: usize| (s * 1000 + i as i64) as f64 / 7.0;
    let mut s = 0i64;
    let append_round = |store: &Store, s: &mut i64| {
        let row: Vec<(&str, f64)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), value(*s, i)))
            .collect();
        assert_eq!(
            store.append(*s * 1000, &row).unwrap().stored,
            keys.len() as u64
        );
        *s += 1;
    };
    for _ in 0..20 {
        append_round(&store, &mut s);
    }
    store.flush().unwrap();
    let db = dir.path().join("gen-0/db");
    let size = std::fs::metadata(&db).unwrap().len();
    set_fsize_limit(size as libc::rlim_t);
    let mut failed = None;
    for _ in 0..200 {
        append_round(&store, &mut s);
        if let Err(e) = store.flush() {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("flush never failed under the file size limit");
    // Nothing is printed while the limit is set: stdout/stderr redirected to a file
    // (as in CI logs) would hit the same limit.
    let report = format!("flush failed after {s} rounds: {err}");
    assert!(
        matches!(err, StoreError::Io { .. }),
        "not an I/O error: {err:?}"
    );
    // still usable while full: appends and reads of in-memory data work
    for _ in 0..5 {
        append_round(&store, &mut s);
    }
    // reads keep working on the old handle until the next flush reopens sled
    let first = keys[0].as_str();
    assert_values(
        &raw(&store, first, 0, 3),
        &[value(0, 0), value(1, 0), value(2, 0)],
    );
    assert_values(&raw(&store, first, s - 1, s), &[value(s - 1, 0)]);
    assert!(
        store.flush().is_err(),
        "flush should keep failing while full"
    );
    for _ in 0..3 {
        append_round(&store, &mut s);
    }
    set_fsize_limit(libc::RLIM_INFINITY);
    eprintln!("{report}");
    store.flush().expect("flush after space returned");
    assert!(store.stats().flush_errors >= 2);
    let check = |store: &Store| {
        for (i, k) in keys.iter().enumerate() {
            let got = raw(store, k, 0, s);
            let want: Vec<f64> = (0..s).map(|t| value(t, i)).collect();
            assert_values(&got, &want);
        }
    };
    check(&store);
    drop(store);
    let store = Store::open(tiny(dir.path())).unwrap();
    check(&store);
}
