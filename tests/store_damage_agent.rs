//! Store damage seen through the real binary: logged and exported, a healthy
//! store never moved aside, a damaged CURRENT handled by the reset flag.
#[path = "common/mod.rs"]
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn written_store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let a = Agent::start(&store, &fast_flags());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(a.stop().code(), Some(0));
    store
}

fn siblings(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn gen_dir(store: &Path) -> PathBuf {
    store.join(
        std::fs::read_to_string(store.join("CURRENT"))
            .unwrap()
            .trim(),
    )
}

#[test]
fn damaged_chunk_is_logged_and_counted_and_the_agent_runs() {
    let d = tempfile::tempdir().unwrap();
    let store = written_store(d.path());
    {
        let db = sled::open(gen_dir(&store)).unwrap();
        let data = db.open_tree("data").unwrap();
        let (k, v) = data.iter().next().unwrap().unwrap();
        let mut bad = v.to_vec();
        bad[0] ^= 0x55;
        data.insert(k, bad).unwrap();
        db.flush().unwrap();
    }
    let a = Agent::start(&store, &fast_flags());
    let start = Instant::now();
    let counted = loop {
        let v = sample(&a.scrape(), "nodecast_store_corrupt_chunks_total", &[]).unwrap_or(0.0);
        if v > 0.0 || start.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = a.log_text();
    assert_eq!(counted, 1.0, "one damaged chunk counted once; log:\n{log}");
    assert_eq!(
        log.matches("store damage detected").count(),
        1,
        "logged once:\n{log}"
    );
    assert_eq!(a.stop().code(), Some(0));
    assert_eq!(siblings(d.path()), vec!["store"], "nothing moved aside");
}

#[test]
fn healthy_store_with_a_tiny_cache_is_not_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let store = written_store(d.path());
    let out = Command::new(BIN)
        .arg(format!("--storage.path={}", store.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--storage.cache-bytes=100")
        .arg("--storage.reset-on-corruption")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("is corrupt"),
        "a healthy store called corrupt: {err}"
    );
    assert!(err.contains("cache"), "the error names the cache: {err}");
    assert_eq!(
        siblings(d.path()),
        vec!["store"],
        "healthy store moved aside: {err}"
    );
    // and it still opens with its history
    let a = Agent::start(&store, &fast_flags());
    assert!(
        !a.log_text().contains("store damage detected"),
        "{}",
        a.log_text()
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn non_utf8_current_names_the_file_and_the_reset_flag_handles_it() {
    let d = tempfile::tempdir().unwrap();
    let store = written_store(d.path());
    std::fs::write(store.join("CURRENT"), b"gen-\xff\xfe\n").unwrap();
    let out = Command::new(BIN)
        .arg(format!("--storage.path={}", store.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("CURRENT")
            && err.contains("UTF-8")
            && err.contains("--storage.reset-on-corruption"),
        "{err}"
    );
    let mut flags = fast_flags();
    flags.push("--storage.reset-on-corruption".into());
    let a = Agent::start(&store, &flags);
    assert!(a.log_text().contains("moved it aside"), "{}", a.log_text());
    assert_eq!(a.stop().code(), Some(0));
    assert!(
        siblings(d.path())
            .iter()
            .any(|n| n.starts_with("store.corrupt-")),
        "{:?}",
        siblings(d.path())
    );
}
