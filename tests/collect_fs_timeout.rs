//! A statvfs that never returns (dead NFS server) must not block collection,
//! and must not pile up one blocked thread per scrape.
//!
//! A hung mount cannot be produced in this sandbox, so the filesystem collector
//! is given a stat function that blocks until the test releases it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use nodecast::collect::filesystem::{Filesystem, FsStats};
use nodecast::collect::{CollectOptions, Collector, Family, Roots};

static STARTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);
static RELEASED: Mutex<bool> = Mutex::new(false);
static WAKE: Condvar = Condvar::new();

fn blocking_stat(_: &Path) -> std::io::Result<FsStats> {
    STARTED.fetch_add(1, Ordering::SeqCst);
    let mut released = RELEASED.lock().unwrap_or_else(|e| e.into_inner());
    while !*released {
        released = WAKE.wait(released).unwrap_or_else(|e| e.into_inner());
    }
    FINISHED.fetch_add(1, Ordering::SeqCst);
    Ok(FsStats {
        size: 100.0,
        free: 50.0,
        avail: 40.0,
        files: 10.0,
        files_free: 5.0,
    })
}

fn roots() -> Roots {
    let b = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/collect/good");
    Roots {
        procfs: b.join("proc"),
        sysfs: b.join("sys"),
        rootfs: b.join("root"),
    }
}

fn collect(fs: &mut Filesystem) -> Vec<Family> {
    let mut out = Vec::new();
    fs.collect(&roots(), &mut out).expect("filesystem collect");
    out
}

fn errors(out: &[Family]) -> Vec<f64> {
    let f = out
        .iter()
        .find(|f| f.name == "node_filesystem_device_error")
        .expect("device_error family");
    f.samples.iter().map(|s| s.value).collect()
}

#[test]
fn hung_statvfs_times_out_and_is_not_retried_while_running() {
    let mut fs = Filesystem::new(
        &CollectOptions::default(),
        Duration::from_millis(20),
        blocking_stat,
    )
    .expect("default options are valid");
    let first = collect(&mut fs);
    let mounts = errors(&first).len();
    assert_eq!(
        mounts, 4,
        "fixture has four mounts after excludes and dedupe"
    );
    assert!(
        errors(&first).iter().all(|&e| e == 1.0),
        "a timed-out mount is a device error"
    );
    assert!(
        first.iter().all(|f| f.name != "node_filesystem_size_bytes"),
        "no sizes for hung mounts"
    );

    // Second scrape while the calls are still stuck: still errors, no new threads.
    let second = collect(&mut fs);
    assert!(errors(&second).iter().all(|&e| e == 1.0));
    assert_eq!(STARTED.load(Ordering::SeqCst), mounts);

    // The server comes back: once the old calls return, the next scrape stats again.
    *RELEASED.lock().unwrap_or_else(|e| e.into_inner()) = true;
    WAKE.notify_all();
    while FINISHED.load(Ordering::SeqCst) < mounts {
        std::thread::yield_now();
    }
    // Each helper drops its in-flight mark just after FINISHED is bumped, so
    // scrape until every mount is stat'ed again (bounded, so a bug fails rather than hangs).
    let mut third = collect(&mut fs);
    for _ in 0..1000 {
        if errors(&third).iter().all(|&e| e == 0.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        third = collect(&mut fs);
    }
    let sizes = third
        .iter()
        .find(|f| f.name == "node_filesystem_size_bytes")
        .expect("sizes after recovery");
    assert_eq!(sizes.samples.len(), mounts);
    assert!(errors(&third).iter().all(|&e| e == 0.0));
}
