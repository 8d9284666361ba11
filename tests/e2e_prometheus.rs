//! End to end with a real Prometheus: a tmpfs filled at a steady rate makes the
//! shipped predicted-full alert fire before the filesystem is full, and every
//! panel query of the shipped dashboard returns data.
//!
//! Time is accelerated: 1 s collection, a 2 s downsampled tier, forecasts every
//! 3 s, and the rules' `for`/`keep_firing_for` shortened to seconds. The alert
//! expressions themselves are the shipped ones.
mod common;
use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped rules with hold times cut to seconds for an accelerated test.
fn accelerated_rules(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("deploy/prometheus/rules/nodecast.rules.yml"))
        .expect("shipped rules");
    let re = regex::Regex::new(r"(?m)^(\s*)(for|keep_firing_for):\s*\S+").unwrap();
    let out = dir.join("nodecast.rules.yml");
    std::fs::write(&out, re.replace_all(&text, "${1}${2}: 2s").as_ref()).unwrap();
    out
}

fn firing(prom: &Prometheus, alert: &str, mountpoint: &str) -> bool {
    let v = prom.api("/api/v1/alerts");
    v["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| {
            a["state"] == "firing"
                && a["labels"]["alertname"] == alert
                && a["labels"]["mountpoint"] == mountpoint
        })
}

#[test]
fn predicted_full_alert_fires_before_disk_is_full_and_dashboard_has_data() {
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("fill");
    let fs = Tmpfs::mount(&mnt, "48m");
    let mountpoint = mnt.display().to_string();

    let flags: Vec<String> = [
        "--collect.interval=1s",
        "--storage.flush-interval=2s",
        "--storage.downsample-step=2s",
        "--storage.downsample-retention=1h",
        "--forecast.interval=3s",
        "--forecast.min-history=20s",
        "--forecast.horizon=10m",
        "--forecast.horizons=1m,5m",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let agent = Agent::start(&d.path().join("store"), &flags);

    let rules = accelerated_rules(d.path());
    let prom = Prometheus::start(
        d.path(),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: nodecast\n    static_configs:\n      - targets: ['{}']\n",
            rules.display(),
            agent.addr
        ),
    );

    // Fill steadily: 48 MiB at ~320 KiB/s, full after about 150 s.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = mnt.join("growing.log");
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(path).unwrap();
            let chunk = vec![b'x'; 32 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if f.write_all(&chunk).is_err() {
                    break; // full
                }
                let _ = f.flush();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let start = Instant::now();
    let mut fired_with = None;
    while start.elapsed() < Duration::from_secs(200) {
        if firing(&prom, "NodecastFilesystemSpaceFillingUp", &mountpoint) {
            fired_with = Some(fs.avail());
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let avail = fired_with.unwrap_or_else(|| {
        let tte = prom.query("nodecast_time_to_exhaustion_seconds");
        panic!(
            "alert never fired; TTE series: {tte:?}\nagent log:\n{}",
            agent.log_text()
        )
    });
    assert!(
        avail > 0,
        "alert fired only once the filesystem was already full"
    );
    eprintln!(
        "alert fired with {avail} bytes still free ({:.0}% of 48 MiB)",
        avail as f64 / (48.0 * 1048576.0) * 100.0
    );

    // Every panel query of the shipped dashboard returns data from this Prometheus.
    let instance = agent.addr.clone();
    let out = Command::new("python3")
        .arg(repo().join("deploy/grafana/extract-queries.py"))
        .args([
            "--instance",
            &instance,
            "--job",
            "nodecast",
            "--horizon",
            "1m",
            "--rate-interval",
            "10s",
        ])
        .args(["--mountpoint", &mountpoint])
        .arg("--dashboard")
        .arg(repo().join("deploy/grafana/dashboards/nodecast.json"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let queries: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(queries.len() >= 5, "too few panel queries: {queries:?}");
    // Forecast panels show the forecast made one horizon (1m) ago: give them that long.
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut empty: Vec<&String> = queries.iter().collect();
    while !empty.is_empty() && Instant::now() < deadline {
        empty.retain(|q| prom.query(q).is_empty());
        if !empty.is_empty() {
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    assert!(empty.is_empty(), "panel queries without data: {empty:#?}");
    eprintln!("all {} dashboard queries returned data", queries.len());
    // Forecast series keep the source labels and carry the configured horizons.
    let m = agent.scrape();
    let mp = format!("mountpoint=\"{mountpoint}\"");
    for h in ["1m", "5m"] {
        let hl = format!("horizon=\"{h}\"");
        for name in [
            "nodecast_forecast",
            "nodecast_forecast_lower",
            "nodecast_forecast_upper",
        ] {
            assert!(
                sample(
                    &m,
                    name,
                    &[
                        "metric=\"node_filesystem_avail_bytes\"",
                        &mp,
                        "fstype=\"tmpfs\"",
                        &hl
                    ]
                )
                .is_some(),
                "{name} {h}"
            );
        }
    }
    assert!(sample(&m, "nodecast_forecast_model_info", &[&mp]).is_some());

    // Fill it up: time to exhaustion becomes 0 and the alert keeps firing.
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(mnt.join("growing.log"))
            .unwrap();
        let chunk = vec![b'y'; 1 << 20];
        while f.write_all(&chunk).is_ok() {}
    }
    let start = Instant::now();
    let tte_q = format!("nodecast_time_to_exhaustion_seconds{{resource=\"filesystem_space\",mountpoint=\"{mountpoint}\"}}");
    let mut tte = f64::NAN;
    while start.elapsed() < Duration::from_secs(30) {
        tte = prom
            .query(&tte_q)
            .first()
            .and_then(|r| r["value"][1].as_str().and_then(|v| v.parse().ok()))
            .unwrap_or(f64::NAN);
        if tte == 0.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(tte, 0.0, "a full filesystem reports time to exhaustion 0");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        firing(&prom, "NodecastFilesystemSpaceFillingUp", &mountpoint),
        "alert must keep firing once full"
    );
    drop(prom);
    assert_eq!(agent.stop().code(), Some(0));
}
