//! History backfill from a real Prometheus: its TSDB is seeded with eight days of a
//! node's node_exporter series (promtool tsdb create-blocks-from openmetrics), and a
//! fresh nodecast pointed at it forecasts from that history within seconds.
mod common;
use common::*;

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

const STEP_S: i64 = 300;
const DAYS: i64 = 8;

/// OpenMetrics text of two node_exporter series for instance "edge-1:9100", one sample per 5 min.
fn history(now_s: i64) -> String {
    let mut om = String::new();
    om.push_str("# TYPE node_memory_MemAvailable_bytes gauge\n");
    let start = now_s - DAYS * 86400;
    // Ends an hour ago so the local collection and the backfill do not overlap.
    let end = now_s - 3600;
    let mut t = start;
    while t < end {
        let day = ((t % 86400) as f64 / 86400.0 * std::f64::consts::TAU).sin();
        let v = 4.0e9 + 1.0e9 * day;
        writeln!(
            om,
            "node_memory_MemAvailable_bytes{{instance=\"edge-1:9100\",job=\"node\"}} {v} {t}"
        )
        .unwrap();
        t += STEP_S;
    }
    om.push_str("# TYPE node_filesystem_avail_bytes gauge\n");
    let mut t = start;
    while t < end {
        let v = 50.0e9 - (t - start) as f64 * 10_000.0;
        writeln!(
            om,
            "node_filesystem_avail_bytes{{device=\"/dev/sdz1\",fstype=\"ext4\",instance=\"edge-1:9100\",job=\"node\",mountpoint=\"/data\"}} {v} {t}"
        )
        .unwrap();
        t += STEP_S;
    }
    om.push_str("# EOF\n");
    om
}

#[test]
fn fresh_agent_forecasts_from_prometheus_history_within_seconds() {
    let d = tempfile::tempdir().unwrap();
    let now_s = nodecast::daemon::now_ms() / 1000;
    let om = d.path().join("history.om");
    std::fs::write(&om, history(now_s)).unwrap();
    let tsdb = d.path().join("prom").join("tsdb");
    std::fs::create_dir_all(&tsdb).unwrap();
    let out = Command::new(require_tool("promtool"))
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prom = Prometheus::start(
        &d.path().join("prom"),
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    );
    let seeded = prom.query("count_over_time(node_memory_MemAvailable_bytes[10d])");
    assert_eq!(
        seeded.len(),
        1,
        "Prometheus holds the seeded history: {seeded:?}"
    );

    let mut flags = fast_flags();
    flags.extend([
        format!("--backfill.prometheus-url=http://{}", prom.addr),
        "--backfill.selector=instance=\"edge-1:9100\"".to_string(),
        "--forecast.min-history=6h".to_string(),
    ]);
    let started = Instant::now();
    let a = Agent::start(&d.path().join("store"), &flags);
    let want = nodecast::store::series_key("node_memory_MemAvailable_bytes", &[]);
    let mut found = None;
    while started.elapsed() < Duration::from_secs(60) && found.is_none() {
        let (_, body) = a.get("/api/v1/series");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        found = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["series"] == want.as_str())
            .cloned();
        if found.is_none() {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let s = found.unwrap_or_else(|| {
        panic!(
            "no forecast from backfilled history; log:\n{}",
            a.log_text()
        )
    });
    eprintln!(
        "forecast from backfilled history after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let hist = s["history_seconds"].as_f64().unwrap();
    assert!(hist > 6.0 * 86400.0, "history after backfill: {hist} s");
    assert_eq!(s["resource"], "memory");
    // The seeded filesystem (not on this machine) came in with its labels, minus the target's.
    let (_, body) = a.get("/api/v1/forecast?series=node_filesystem_avail_bytes%7Bdevice%3D%22%2Fdev%2Fsdz1%22%2Cfstype%3D%22ext4%22%2Cmountpoint%3D%22%2Fdata%22%7D");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    assert!(
        v["data"]["points"].as_array().unwrap().len() >= 288,
        "24 h of 5 min points"
    );
    let log = a.log_text();
    assert!(log.contains("backfill done"), "{log}");
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn unreachable_prometheus_is_a_clear_error_not_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    // A closed port on loopback: connection refused, retried, then given up.
    flags.extend([
        format!("--backfill.prometheus-url=http://127.0.0.1:{}", free_port()),
        "--backfill.selector=instance=\"x\"".to_string(),
    ]);
    let a = Agent::start(&d.path().join("store"), &flags);
    let start = Instant::now();
    while !a.log_text().contains("backfill failed") && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = a.log_text();
    assert!(
        log.contains("backfill failed") && log.contains("attempts"),
        "{log}"
    );
    assert_eq!(
        a.get("/readyz").0,
        200,
        "the agent keeps running without history"
    );
    assert_eq!(a.stop().code(), Some(0));
}
