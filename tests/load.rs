//! 200 concurrent scrapers for 60 s against /metrics and the API: zero errors.
//! Latency and RSS are printed (figures, not assertions: CI machines are noisy).
mod common;
use common::*;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn two_hundred_concurrent_scrapers_for_a_minute() {
    let secs: u64 = std::env::var("NODECAST_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    // All 200 scrapers share 127.0.0.1; lift the per-client cap (32) over them.
    flags.push("--web.max-connections-per-client=256".into());
    let a = Agent::start(&d.path().join("s"), &flags);
    let rss_before = rss_kib(a.child.id());
    let errors = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(Mutex::new(Vec::<f64>::with_capacity(200_000)));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..200)
        .map(|i| {
            let (addr, errors, lat) = (a.addr.clone(), errors.clone(), lat.clone());
            std::thread::spawn(move || {
                let path = if i % 4 == 0 {
                    "/api/v1/series"
                } else {
                    "/metrics"
                };
                let mut mine = Vec::new();
                let mut conn = None;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if conn.is_none() {
                        conn = KeepAlive::connect(&addr).ok();
                    }
                    let Some(c) = conn.as_mut() else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("connect failed");
                        continue;
                    };
                    let r = c.get(path);
                    if r.is_err() {
                        conn = None;
                    }
                    match r {
                        Ok((200, body)) if !body.is_empty() => {
                            mine.push(t.elapsed().as_secs_f64() * 1000.0)
                        }
                        Ok((code, _)) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("{path}: HTTP {code}");
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("{path}: {e}");
                        }
                    }
                }
                lat.lock().unwrap().extend(mine);
            })
        })
        .collect();
    let mut rss_peak = 0;
    while Instant::now() < deadline {
        rss_peak = rss_peak.max(rss_kib(a.child.id()));
        std::thread::sleep(Duration::from_millis(500));
    }
    for w in workers {
        w.join().unwrap();
    }
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|x, y| x.total_cmp(y));
    let pct = |p: f64| l[((l.len() - 1) as f64 * p) as usize];
    eprintln!(
        "load: {} requests in {secs} s ({:.0}/s), errors {}, median {:.2} ms, p99 {:.2} ms, RSS before {} KiB, peak {} KiB",
        l.len(),
        l.len() as f64 / secs as f64,
        errors.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99),
        rss_before,
        rss_peak
    );
    assert_eq!(errors.load(Ordering::Relaxed), 0);
    assert!(l.len() > 200, "too few requests completed");
    assert_eq!(a.get("/healthz").0, 200);
    assert_eq!(a.stop().code(), Some(0));
}
