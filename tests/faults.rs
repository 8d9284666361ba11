//! Faults with real processes and files: a corrupted store, a store whose
//! filesystem fills up, the clock stepping backwards or forwards, unreadable procfs files.
mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn metric(a: &Agent, name: &str) -> f64 {
    sample(&a.scrape(), name, &[]).unwrap_or(f64::NAN)
}

/// Overwrites the middle of every file in the store with garbage.
fn corrupt(dir: &Path) {
    for e in walk(dir) {
        let len = std::fs::metadata(&e).map(|m| m.len()).unwrap_or(0);
        if len > 64 {
            let mut bytes = std::fs::read(&e).unwrap();
            for b in bytes.iter_mut().skip(16) {
                *b = 0xA5;
            }
            std::fs::write(&e, bytes).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn corrupted_store_fails_clearly_or_is_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let a = Agent::start(&store, &fast_flags());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a.stop().code(), Some(0));
    corrupt(&store);
    let before: Vec<_> = walk(&store);

    let out = Command::new(BIN)
        .arg(format!("--storage.path={}", store.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a corrupted store must not start silently: {err}"
    );
    assert!(
        err.contains("corrupt") && err.contains("--storage.reset-on-corruption"),
        "{err}"
    );
    assert_eq!(
        walk(&store),
        before,
        "the corrupted store must be left untouched"
    );

    let mut flags = fast_flags();
    flags.push("--storage.reset-on-corruption".into());
    let b = Agent::start(&store, &flags);
    assert!(b.log_text().contains("moved it aside"), "{}", b.log_text());
    assert_eq!(b.stop().code(), Some(0));
    let aside: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("store.corrupt"))
        .collect();
    assert_eq!(aside.len(), 1, "old store renamed, not deleted");
    let kept: Vec<_> = walk(&aside[0].path())
        .iter()
        .map(|p| p.strip_prefix(aside[0].path()).unwrap().to_path_buf())
        .collect();
    for f in &before {
        let rel = f.strip_prefix(&store).unwrap();
        assert!(
            kept.iter().any(|k| k == rel),
            "{} lost when moving the store aside",
            rel.display()
        );
    }
}

struct Tmpfs(std::path::PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_keeps_serving_counts_errors_and_recovers() {
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs (needs root)");
    let _guard = Tmpfs(mnt.clone());
    let a = Agent::start(&mnt.join("store"), &fast_flags());
    std::thread::sleep(Duration::from_secs(2));
    // Fill the filesystem completely.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 16];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let start = Instant::now();
    while metric(&a, "nodecast_store_errors_total") < 1.0
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        metric(&a, "nodecast_store_errors_total") >= 1.0,
        "storage errors are counted; log:\n{}",
        a.log_text()
    );
    // Still serving current values while the store cannot write.
    std::thread::sleep(Duration::from_secs(3));
    let m = a.scrape();
    assert!(sample(&m, "node_load1", &[]).is_some());
    let warn_lines = a
        .log_text()
        .lines()
        .filter(|l| l.contains("store") && l.contains("failed"))
        .count();
    assert!(
        warn_lines <= 4,
        "logging floods: {warn_lines} store warnings in a few seconds"
    );
    // Space returns: writes resume.
    std::fs::remove_file(&filler).unwrap();
    let errors_then = metric(&a, "nodecast_store_errors_total");
    let stored_then = metric(&a, "nodecast_store_samples_stored_total");
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        metric(&a, "nodecast_store_samples_stored_total") > stored_then,
        "writing resumed"
    );
    let errors_now = metric(&a, "nodecast_store_errors_total");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        metric(&a, "nodecast_store_errors_total"),
        errors_now,
        "no new errors once space returned (was {errors_then})"
    );
    assert_eq!(a.stop().code(), Some(0));
}

/// Starts the agent under libfaketime, whose wall-clock offset the test moves by
/// rewriting the returned file ("+0", "-1h", "+3d"); monotonic clocks stay real.
fn start_faketime(d: &Path, flags: &[String]) -> (Agent, std::path::PathBuf) {
    let lib = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("libfaketime (Debian package faketime, installed by scripts/test)");
    let offset = d.join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let env = [
        ("LD_PRELOAD", lib),
        ("FAKETIME_TIMESTAMP_FILE", offset.to_str().unwrap()),
        ("FAKETIME_NO_CACHE", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    (Agent::start_env(&d.join("store"), flags, &env), offset)
}

/// SIGTERM, a clean exit, then the agent's whole log.
fn stop_and_log(mut a: Agent) -> String {
    a.signal(libc::SIGTERM);
    assert_eq!(
        wait_timeout(&mut a.child, Duration::from_secs(30)).code(),
        Some(0)
    );
    // The log reader threads drain the pipes after exit.
    std::thread::sleep(Duration::from_millis(200));
    a.log_text()
}

fn raw_window(store: &Path, key: &str, from: i64, to: i64) -> nodecast::store::Window {
    let s = nodecast::store::Store::open(nodecast::store::StoreConfig {
        step: Duration::from_secs(1),
        ..nodecast::store::StoreConfig::new(store.to_path_buf())
    })
    .unwrap();
    s.read(
        &nodecast::store::series_key(key, &[]),
        nodecast::store::Tier::Raw,
        nodecast::store::Agg::Mean,
        from,
        to,
    )
    .unwrap()
}

#[test]
fn clock_stepping_forward_and_back_loses_no_history() {
    let d = tempfile::tempdir().unwrap();
    let started = nodecast::daemon::now_ms();
    let (a, offset) = start_faketime(d.path(), &fast_flags());
    std::thread::sleep(Duration::from_secs(3));
    let before_step = nodecast::daemon::now_ms();
    // Three days ahead: past the 48 h raw retention, so storing even one sample
    // stamped then would sweep every raw chunk collected so far.
    std::fs::write(&offset, "+3d\n").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let m = a.scrape();
    assert_eq!(
        sample(&m, "nodecast_clock_forward_steps_total", &[]),
        Some(1.0),
        "the step was detected"
    );
    assert!(
        sample(&m, "node_load1", &[]).is_some(),
        "still serving live metrics"
    );
    std::fs::write(&offset, "+0\n").unwrap();
    let back = nodecast::daemon::now_ms();
    std::thread::sleep(Duration::from_secs(4));
    let log = stop_and_log(a);
    assert!(log.contains("wall clock stepped forward"), "{log}");

    let key = "node_memory_MemTotal_bytes";
    let w = raw_window(&d.path().join("store"), key, started - 60_000, before_step);
    let kept = w.values.iter().filter(|v| v.is_finite()).count();
    assert!(
        kept >= 2,
        "history from before the step survives: {kept} samples"
    );
    let w = raw_window(&d.path().join("store"), key, back, back + 60_000);
    let after = w.values.iter().filter(|v| v.is_finite()).count();
    assert!(
        after >= 2,
        "collection is stored again after the clock came back: {after} samples"
    );
    let w = raw_window(
        &d.path().join("store"),
        key,
        back + 3_600_000,
        back + 4 * 86_400_000,
    );
    assert!(
        w.values.iter().all(|v| !v.is_finite()),
        "nothing stored at the bogus future time"
    );
}

#[test]
fn clock_stepping_backwards_does_not_panic_and_keeps_order() {
    let d = tempfile::tempdir().unwrap();
    let (a, offset) = start_faketime(d.path(), &fast_flags());
    let store = d.path().join("store");
    std::thread::sleep(Duration::from_secs(3));
    let stored = metric(&a, "nodecast_store_samples_stored_total");
    std::fs::write(&offset, "-1h\n").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(a.get("/healthz").0, 200);
    let m = a.scrape();
    assert!(
        sample(&m, "node_load1", &[]).is_some(),
        "still collecting after the clock step"
    );
    let dropped = sample(&m, "nodecast_store_samples_dropped_total", &[]).unwrap_or(0.0);
    let stored_after = sample(&m, "nodecast_store_samples_stored_total", &[]).unwrap_or(0.0);
    eprintln!("before step: {stored} stored; after: {stored_after} stored, {dropped} dropped");
    let log = stop_and_log(a);
    assert!(!log.contains("panicked"), "{log}");
    // Proof the step happened inside the agent: its own log time went back about an hour.
    let stamps: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["timestamp"].as_str().map(str::to_string))
        .collect();
    let went_back = stamps
        .windows(2)
        .any(|w| w[1].as_str() < w[0].as_str() && w[0][..13] != w[1][..13]);
    assert!(went_back, "the agent's clock did not step back: {stamps:?}");
    // The store reads back in time order with unique slots.
    let now = nodecast::daemon::now_ms();
    let w = raw_window(
        &store,
        "node_memory_MemTotal_bytes",
        now - 3 * 3_600_000,
        now + 60_000,
    );
    assert!(w.values.iter().any(|v| v.is_finite()), "samples kept");
}

#[test]
fn unreadable_procfs_file_skips_only_that_collector() {
    let d = tempfile::tempdir().unwrap();
    // A procfs whose meminfo is a directory (EISDIR: unreadable even for root), other files real.
    let proc_copy = d.path().join("proc");
    std::fs::create_dir_all(proc_copy.join("meminfo")).unwrap();
    for f in ["loadavg", "stat"] {
        std::fs::copy(Path::new("/proc").join(f), proc_copy.join(f)).unwrap();
    }
    let mut flags = fast_flags();
    flags.push(format!("--path.procfs={}", proc_copy.display()));
    let a = Agent::start(&d.path().join("s"), &flags);
    std::thread::sleep(Duration::from_secs(2));
    let m = a.scrape();
    assert_eq!(
        sample(&m, "nodecast_collector_success", &["collector=\"meminfo\""]),
        Some(0.0)
    );
    assert_eq!(
        sample(&m, "nodecast_collector_success", &["collector=\"loadavg\""]),
        Some(1.0)
    );
    assert!(sample(&m, "node_load1", &[]).is_some());
    assert!(
        a.log_text().contains("meminfo"),
        "the failure is logged with the collector's name"
    );
    assert_eq!(a.stop().code(), Some(0));
}
