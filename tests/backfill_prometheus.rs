//! History backfill from a real Prometheus whose TSDB is seeded with a node's
//! node_exporter history (promtool tsdb create-blocks-from openmetrics): a fresh
//! nodecast forecasts from it within seconds; 35 days arrive whole, averaged per step
//! and with derived series as the live agent computes them; forecasts wait for the
//! first collection and drop series whose source is gone.
mod common;
use common::*;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nodecast::store::{series_key, Agg, Store, StoreConfig, Tier};

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
    om
}

#[test]
fn fresh_agent_forecasts_from_prometheus_history_within_seconds() {
    let d = tempfile::tempdir().unwrap();
    let now_s = nodecast::daemon::now_ms() / 1000;
    let prom = seeded_prometheus(d.path(), &history(now_s));
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
    // A forecast cycle may run between two backfill queries; the backfill still ends.
    wait_for_log(&a, "backfill done", Duration::from_secs(60));
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

const DAY: i64 = 86_400;

/// Appends one gauge family with a single series of `labels` sampled at `times`.
fn gauge(
    om: &mut String,
    name: &str,
    labels: &str,
    times: impl Iterator<Item = i64>,
    f: impl Fn(i64) -> f64,
) {
    writeln!(om, "# TYPE {name} gauge").unwrap();
    for t in times {
        writeln!(om, "{name}{{{labels}}} {} {t}", f(t)).unwrap();
    }
}

/// Multiples of `step` in `[from, to)`.
fn grid(from: i64, to: i64, step: i64) -> impl Iterator<Item = i64> {
    let first = from.div_euclid(step) * step + step;
    (first..to).step_by(step as usize)
}

/// Writes `om` (OpenMetrics text, `# EOF` added) as TSDB blocks and starts Prometheus on them.
fn seeded_prometheus(dir: &Path, om: &str) -> Prometheus {
    let file = dir.join("history.om");
    std::fs::write(&file, format!("{om}# EOF\n")).unwrap();
    let tsdb = dir.join("prom").join("tsdb");
    std::fs::create_dir_all(&tsdb).unwrap();
    // promtool cuts 2 h blocks by default: 420 of them for 35 days take minutes to write
    // and load. The (hidden) flag makes a handful.
    let out = Command::new(require_tool("promtool"))
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=1000h",
        ])
        .arg(&file)
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Prometheus' default 15-day retention would delete most of the seeded history at start.
    Prometheus::start_args(
        &dir.join("prom"),
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
        &["--storage.tsdb.retention.time=60d"],
    )
}

fn wait_for_log(a: &Agent, what: &str, timeout: Duration) {
    let start = Instant::now();
    while !a.log_text().contains(what) {
        assert!(
            start.elapsed() < timeout,
            "no {what:?} within {timeout:?}; log:\n{}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The downsampled buckets of one series over the last 36 days, as (bucket start s, mean).
fn buckets(store: &Store, key: &str, now_s: i64) -> Vec<(i64, f64)> {
    let w = store
        .read(
            key,
            Tier::Downsampled,
            Agg::Mean,
            (now_s - 36 * DAY) * 1000,
            now_s * 1000,
        )
        .unwrap();
    (0..w.values.len())
        .filter(|&i| w.values[i].is_finite())
        .map(|i| (w.timestamp(i) / 1000, w.values[i]))
        .collect()
}

/// 35 days at the default 5-minute step are 10,080 steps: more than one 10,000-step
/// query_range chunk. Every step must arrive, each averaged over its 5 minutes like
/// local history, and the derived PID headroom must use the same limits as the live one.
#[test]
fn backfill_of_35_days_keeps_every_step_averaged_and_derived_like_live() {
    let d = tempfile::tempdir().unwrap();
    let now_s = nodecast::daemon::now_ms() / 1000;
    let start = now_s - 35 * DAY;
    let node = "instance=\"edge-1:9100\",job=\"node\"";
    let fill = |t: i64| 50.0e9 - (t - start) as f64 * 1000.0;
    let threads = |t: i64| 500.0 + ((t / 300) % 50) as f64;
    let mut om = String::new();
    gauge(
        &mut om,
        "node_filesystem_avail_bytes",
        &format!("device=\"/dev/sdz1\",fstype=\"ext4\",{node},mountpoint=\"/data\""),
        grid(start, now_s, 300),
        fill,
    );
    gauge(
        &mut om,
        "node_processes_threads",
        node,
        grid(start, now_s, 300),
        threads,
    );
    // systemd's pid_max: the thread limit is the one that binds.
    gauge(
        &mut om,
        "node_processes_max_processes",
        node,
        grid(start, now_s, 300),
        |_| 4_194_304.0,
    );
    gauge(
        &mut om,
        "node_processes_max_threads",
        node,
        grid(start, now_s, 300),
        |_| 100_000.0,
    );
    // Once a minute for two days, 40 with a spike to 50 every fifth minute: every
    // 5-minute average is 42, while samples 5 minutes apart are all 40 or all 50.
    gauge(
        &mut om,
        "node_hwmon_temp_celsius",
        &format!("chip=\"fake\",{node},sensor=\"temp9\""),
        grid(now_s - 2 * DAY, now_s, 60),
        |t| if (t / 60) % 5 == 0 { 50.0 } else { 40.0 },
    );
    let prom = seeded_prometheus(d.path(), &om);

    let mut flags = fast_flags();
    flags.extend([
        format!("--backfill.prometheus-url=http://{}", prom.addr),
        "--backfill.selector=instance=\"edge-1:9100\"".to_string(),
        // Local series must not overlap the seeded ones.
        "--collector.disable-defaults".to_string(),
        "--collector.meminfo".to_string(),
    ]);
    let store_dir = d.path().join("store");
    let a = Agent::start(&store_dir, &flags);
    wait_for_log(&a, "backfill done", Duration::from_secs(120));
    let metrics = a.scrape();
    assert_eq!(a.stop().code(), Some(0));

    let mut cfg = StoreConfig::new(&store_dir);
    cfg.step = Duration::from_secs(1);
    let store = Store::open(cfg).unwrap();
    let data = buckets(
        &store,
        &series_key(
            "node_filesystem_avail_bytes",
            &[
                ("device".into(), "/dev/sdz1".into()),
                ("fstype".into(), "ext4".into()),
                ("mountpoint".into(), "/data".into()),
            ],
        ),
        now_s,
    );
    let (first, last) = (data[0].0, data[data.len() - 1].0);
    assert!(
        last >= now_s - 900,
        "newest backfilled step is {} min old (the newest query chunk was dropped)",
        (now_s - last) / 60
    );
    assert!(
        first <= start + 900,
        "oldest step {} min after the start",
        (first - start) / 60
    );
    assert_eq!(
        data.len() as i64,
        (last - first) / 300 + 1,
        "gaps in the backfilled history"
    );
    // A bucket holds the average over its own 5 minutes, i.e. of the sample at its end.
    for &(b, v) in &data {
        let want = fill(b + 300);
        assert!((v - want).abs() <= want * 1e-6, "bucket {b}: {v} != {want}");
    }
    let temp = buckets(
        &store,
        &series_key(
            "node_hwmon_temp_celsius",
            &[
                ("chip".into(), "fake".into()),
                ("sensor".into(), "temp9".into()),
            ],
        ),
        now_s,
    );
    let inner: Vec<f64> = temp
        .iter()
        .filter(|(b, _)| *b > now_s - 2 * DAY + 600 && *b < now_s - 600)
        .map(|x| x.1)
        .collect();
    assert!(inner.len() > 500, "{} temperature buckets", inner.len());
    assert!(
        inner.iter().all(|&v| v == 42.0),
        "backfilled steps are not 5-minute averages: {:?}",
        &inner[..10]
    );
    let pids = buckets(&store, &series_key("node_processes_available", &[]), now_s);
    assert!(pids.len() > 10_000, "{} PID headroom buckets", pids.len());
    for &(b, v) in &pids {
        let want = 100_000.0 - threads(b + 300);
        assert_eq!(v, want, "node_processes_available at {b}");
    }

    let stored = sample(
        &metrics,
        "nodecast_backfill_samples_total",
        &["result=\"stored\""],
    );
    let skipped = sample(
        &metrics,
        "nodecast_backfill_samples_total",
        &["result=\"skipped\""],
    );
    assert_eq!(skipped, Some(0.0), "{metrics}");
    assert!(stored.unwrap_or(0.0) >= 2.0 * 10_000.0, "{metrics}");
    assert_eq!(
        sample(&metrics, "nodecast_backfill_series", &[]),
        Some(3.0),
        "each series counted once, not once per chunk"
    );
}

fn forecast_keys(a: &Agent) -> Vec<String> {
    let (_, body) = a.get("/api/v1/series");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["series"].as_str().map(str::to_string))
        .collect()
}

/// Replaces `path` (a FIFO or a file) with a regular file atomically.
fn put(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A node without swap, its history backfilled: no forecast may run before the first
/// collection (it would see no current values: swap "exhausted", read-only filter off),
/// and series whose source is gone stop being forecast.
#[test]
fn forecasts_wait_for_the_first_collection_and_drop_stale_series() {
    let d = tempfile::tempdir().unwrap();
    let now_s = nodecast::daemon::now_ms() / 1000;
    let node = "instance=\"edge-2:9100\",job=\"node\"";
    let fs =
        |mount: &str| format!("device=\"/dev/x\",fstype=\"ext4\",{node},mountpoint=\"{mount}\"");
    let recent = || grid(now_s - 8 * 3600, now_s - 60, 60);
    let mut om = String::new();
    // One family at a time, as OpenMetrics requires.
    writeln!(om, "# TYPE node_filesystem_avail_bytes gauge").unwrap();
    for (mount, from, to) in [
        // Known only from history: ended an hour ago (kept) or two days ago (gone).
        ("/fresh", now_s - 8 * 3600, now_s - 3600),
        ("/gone", now_s - 3 * DAY, now_s - 2 * DAY),
    ] {
        for t in grid(from, to, 60) {
            writeln!(
                om,
                "node_filesystem_avail_bytes{{{}}} {} {t}",
                fs(mount),
                1e10 - t as f64
            )
            .unwrap();
        }
    }
    gauge(
        &mut om,
        "node_memory_MemAvailable_bytes",
        node,
        recent(),
        |t| 4e9 + (t % 600) as f64,
    );
    gauge(
        &mut om,
        "node_memory_SwapFree_bytes",
        node,
        recent(),
        |_| 0.0,
    );
    gauge(
        &mut om,
        "node_memory_SwapTotal_bytes",
        node,
        recent(),
        |_| 0.0,
    );
    let prom = seeded_prometheus(d.path(), &om);

    // The first collection blocks reading meminfo from a FIFO until the test writes to it.
    let procfs = d.path().join("proc");
    std::fs::create_dir_all(&procfs).unwrap();
    let meminfo = procfs.join("meminfo");
    let c = std::ffi::CString::new(meminfo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/collect/good/proc/meminfo"),
    )
    .unwrap();
    let no_swap: String = fixture
        .lines()
        .map(|l| match l.split(':').next() {
            Some(k @ ("SwapTotal" | "SwapFree")) => format!("{k}: 0 kB\n"),
            _ => format!("{l}\n"),
        })
        .collect();

    let mut flags = fast_flags();
    flags.extend([
        format!("--backfill.prometheus-url=http://{}", prom.addr),
        "--backfill.selector=instance=\"edge-2:9100\"".to_string(),
        "--collector.disable-defaults".to_string(),
        "--collector.meminfo".to_string(),
        format!("--path.procfs={}", procfs.display()),
        "--forecast.min-history=1h".to_string(),
        "--forecast.stale-after=5s".to_string(),
    ]);
    let a = Agent::spawn(&d.path().join("store"), &flags);
    wait_for_log(&a, "backfill done", Duration::from_secs(60));
    // Longer than the forecast interval, and the backfill asked for a cycle too.
    std::thread::sleep(Duration::from_secs(3));
    let m = a.scrape();
    assert_eq!(
        sample(&m, "nodecast_forecast_cycles_total", &[]),
        Some(0.0),
        "a forecast cycle ran before the first collection:\n{}",
        samples(&m, "nodecast_time_to_exhaustion_seconds").join("\n")
    );

    std::fs::write(&meminfo, &no_swap).unwrap(); // into the FIFO: the collection goes on
    put(&meminfo, &no_swap);
    a.wait_ready(Duration::from_secs(30));
    let has = |keys: &[String], part: &str| keys.iter().any(|k| k.contains(part));
    // The blocked collection's samples are dated when it was due, seconds ago, so the
    // first cycle may find memory stale already; a later one forecasts it.
    let start = Instant::now();
    let keys = loop {
        let keys = forecast_keys(&a);
        assert!(!has(&keys, "/gone"), "last sample two days ago: {keys:?}");
        assert!(!has(&keys, "Swap"), "no swap on this node: {keys:?}");
        if has(&keys, "MemAvailable") {
            break keys;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no memory forecast: {keys:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(has(&keys, "/fresh"), "backfilled an hour ago: {keys:?}");
    let m = a.scrape();
    assert!(
        sample(
            &m,
            "nodecast_time_to_exhaustion_seconds",
            &["resource=\"swap\""]
        )
        .is_none(),
        "{m}"
    );

    // Without its MemAvailable line the meminfo collector fails: memory is no longer seen.
    let broken: String = no_swap
        .lines()
        .filter(|l| !l.starts_with("MemAvailable"))
        .map(|l| format!("{l}\n"))
        .collect();
    put(&meminfo, &broken);
    let start = Instant::now();
    while has(&forecast_keys(&a), "MemAvailable") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "memory still forecast 30 s after its collector stopped delivering"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(has(&forecast_keys(&a), "/fresh"));
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn stale_after_shorter_than_a_collection_is_refused() {
    // A store that cannot be created stops (with exit 1) an agent that wrongly
    // accepted the flag.
    let (code, _, err) = run_cli(&[
        "--collect.interval=15s",
        "--forecast.stale-after=5s",
        "--storage.path=/proc/nodecast-cannot-exist",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--forecast.stale-after") && err.contains("--collect.interval"),
        "{err}"
    );
}

/// `nodecast replay --prometheus-url`: a node's filling filesystem, pulled from a real
/// Prometheus with its size, goes through the same replay as a CSV would and is
/// warned a day ahead.
#[test]
fn replay_pulls_a_nodes_history_from_prometheus() {
    let d = tempfile::tempdir().unwrap();
    let now_s = nodecast::daemon::now_ms() / 1000;
    let (from, full, freed) = (now_s - 5 * 86400, now_s - 2 * 86400, now_s - 86400);
    let labels =
        r#"device="/dev/sdz1",fstype="ext4",instance="edge-1:9100",job="node",mountpoint="/data""#;
    let mut om = String::new();
    gauge(
        &mut om,
        "node_filesystem_avail_bytes",
        labels,
        grid(from, now_s, 60),
        |t| {
            if t >= freed {
                30.0e9
            } else {
                (40.0e9 * (full - t) as f64 / (full - from) as f64).max(0.0)
            }
        },
    );
    gauge(
        &mut om,
        "node_filesystem_size_bytes",
        labels,
        grid(from, now_s, 60),
        |_| 50.0e9,
    );
    let prom = seeded_prometheus(d.path(), &om);
    let out = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["replay", "--format", "json", "--lookback", "6d"])
        .args(["--prometheus-url", &format!("http://{}", prom.addr)])
        .args(["--selector", r#"instance="edge-1:9100""#])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");
    assert_eq!(r["resource"], "filesystem_space", "{r}");
    assert!(
        r["input"].as_str().unwrap().contains("mountpoint=_data"),
        "{r}"
    );
    let exhausted = r["exhausted_at_hours"].as_f64().expect("it ran out");
    assert!(
        (exhausted - 72.0).abs() < 1.0,
        "exhausted at {exhausted} h: {r}"
    );
    let warn = r["ours"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["severity"] == "warning")
        .unwrap();
    assert!(warn["lead_hours"].as_f64().unwrap() >= 20.0, "{warn}");

    // A Prometheus that is not there is named, not a crash.
    let out = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(["replay", "--prometheus-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:9"));
}
