//! The page at `/` in a real browser (Debian's headless Chromium): an agent whose
//! store holds three days of generated history for ~100 forecast series loads
//! the page; the charts are drawn, no script error is logged, and the resource
//! table lists first the filesystem that runs out first. Screenshots at desktop
//! and phone width go to target/ (and to docs/ with NODECAST_UPDATE_DOCS=1).
//! Load time and RSS are printed, not asserted.
mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nodecast::store::{Store, StoreConfig};

const MOUNTS: usize = 50;
const DAYS: i64 = 3;

/// Three days of 5-minute history ending at `now` with the value `end`: a steady
/// drain of `per_hour` plus a daily wave.
fn history(now_ms: i64, end: f64, per_hour: f64, wave: f64) -> Vec<(i64, f64)> {
    let step = 300_000;
    let n = DAYS * 86_400_000 / step;
    (0..n)
        .map(|i| {
            let ts = now_ms - (n - 1 - i) * step;
            let hours_before = (now_ms - ts) as f64 / 3.6e6;
            let daily = (ts as f64 / 8.64e7 * std::f64::consts::TAU).sin() * wave;
            (ts, end + per_hour * hours_before + daily)
        })
        .collect()
}

fn chromium(args: &[&str], url: &str, profile: &Path) -> (String, String) {
    let bin = require_tool("chromium");
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn page_shows_the_soonest_resource_and_charts_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let mounts: Vec<Tmpfs> = (0..MOUNTS)
        .map(|i| Tmpfs::mount(&mnt.join(format!("vol{i:02}")), "64m"))
        .collect();
    // vol07 has filled at 0.8 MiB an hour for three days and has 4 MiB left.
    let hot = mounts[7].0.clone();
    std::fs::write(hot.join("fill"), vec![1u8; 60 << 20]).unwrap();

    let store_dir = dir.path().join("store");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    {
        let store = Store::open(StoreConfig::new(&store_dir)).expect("open store");
        for m in &mounts {
            let (avail, files) = m.statvfs();
            let (avail, files) = (avail as f64, files as f64);
            let labels = format!(
                "device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"{}\"",
                m.0.display()
            );
            let per_hour = if m.0 == hot { 0.8 * 1048576.0 } else { 0.0 };
            let series = [
                (
                    format!("node_filesystem_avail_bytes{{{labels}}}"),
                    history(now, avail, per_hour, 65536.0),
                ),
                (
                    format!("node_filesystem_files_free{{{labels}}}"),
                    history(now, files, 0.0, 10.0),
                ),
            ];
            for (key, samples) in series {
                store.backfill(&key, &samples).expect("backfill");
            }
        }
        store.flush().unwrap();
    }

    // Theta: a trend model whatever auto picks, so the test is about the page.
    let agent = Agent::start(
        &store_dir,
        &[
            "--forecast.interval=2s".to_string(),
            "--forecast.model=theta".to_string(),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let forecast_series = loop {
        let (_, body) = agent.get("/api/v1/series");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let n = v["data"].as_array().map_or(0, Vec::len);
        if n >= 2 * MOUNTS {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "forecasts did not appear: {body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let pid = agent.child.id();
    let rss_before = rss_kib(pid);

    let url = format!("http://{}/", agent.addr);
    let profile = dir.path().join("chromium");
    let (dom, log) = chromium(
        &["--virtual-time-budget=15000", "--dump-dom"],
        &url,
        &profile,
    );
    let rss_after = rss_kib(pid);

    assert!(
        dom.contains("data-loaded=\"yes\""),
        "page did not finish loading:\n{dom}\n{log}"
    );
    assert!(
        dom.contains("data-chart=\"drawn\""),
        "chart not drawn:\n{log}"
    );
    assert!(
        !dom.contains("data-errors="),
        "script errors on the page:\n{log}"
    );
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("ERROR")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
    // The first row of the resource table is the filling volume.
    let tbody = dom
        .split("<table id=\"resources\">")
        .nth(1)
        .and_then(|t| t.split("<tbody>").nth(1))
        .expect("resource table");
    let first_row = tbody.split("</tr>").next().unwrap_or("");
    assert!(
        first_row.contains(&format!("mountpoint=\"{}\"", hot.display()).replace('"', "&quot;"))
            || first_row.contains(&hot.display().to_string()),
        "first resource row is not {}:\n{first_row}",
        hot.display()
    );
    assert!(
        first_row.contains("class=\"soon\""),
        "soonest row not marked: {first_row}"
    );
    assert!(!first_row.contains("not within horizon"), "{first_row}");
    let render_ms: f64 = dom
        .split("data-render-ms=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    println!(
        "page: {forecast_series} forecast series; first render {render_ms:.0} ms after navigation start (Chromium, virtual time); \
         embedded assets {} bytes; agent RSS {rss_before} KiB before the page, {rss_after} KiB after",
        nodecast::export::page::EMBEDDED_BYTES
    );

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for (name, size) in [
        ("page-desktop.png", "1280,1500"),
        ("page-phone.png", "390,2200"),
    ] {
        let path = shots.join(name);
        let _ = std::fs::remove_file(&path);
        chromium(
            &[
                "--virtual-time-budget=15000",
                "--hide-scrollbars",
                &format!("--window-size={size}"),
                &format!("--screenshot={}", path.display()),
            ],
            &url,
            &profile,
        );
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 10_000,
            "screenshot {name} missing or empty ({len} bytes)"
        );
        if std::env::var_os("NODECAST_UPDATE_DOCS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join(name);
            std::fs::copy(&path, docs).unwrap();
        }
    }
    drop(agent);
    drop(mounts);
}
