//! The forecast monitor on the daemon's own per-series path
//! (`predict::monitor::run::assess_monitored`, which wraps `assess_series`):
//! online accuracy reproduces `nodecast backtest` on the same origins (pending
//! paths kept in a store, as the daemon keeps them, across a restart), and the
//! drift detector fires soon after a change and rarely on a stable series.

mod forecast_common;

use std::process::Command;
use std::time::Duration;

use nodecast::cli::backtest_cmd::data::read_timestamp_value;
use nodecast::forecast::ModelKind;
use nodecast::predict::monitor::accuracy::WINDOWS;
use nodecast::predict::monitor::challenger::Gate;
use nodecast::predict::monitor::drift::DriftParams;
use nodecast::predict::monitor::persist::{self, StorePaths};
use nodecast::predict::monitor::run::{assess_monitored, MemPaths};
use nodecast::predict::monitor::{MonitorSettings, PathStore, SeriesMonitor};
use nodecast::predict::series::{History, Settings};
use nodecast::store::{Store, StoreConfig, Window};

const STEP_MS: i64 = 300_000;
const DAY: usize = 288;

fn monitor_settings(challenger: Option<ModelKind>, drift: bool) -> MonitorSettings {
    MonitorSettings {
        horizons: [900, 3600, 6 * 3600, 86_400]
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect(),
        model: ModelKind::Auto,
        challenger,
        gate: Gate {
            margin: 0.10,
            min_samples: 24,
        },
        gate_window: Duration::from_secs(7 * 86_400),
        pin: None,
        drift: drift.then_some(DriftParams::DEFAULT),
    }
}

/// The daemon's settings, except that the horizon is half a step short of 24 h:
/// the daemon's path starts half a bucket after the last mean, so at 24 h it
/// forecasts 289 steps where `backtest --horizon 24h` forecasts 288, and auto's
/// validation windows follow the step count.
fn settings() -> Settings {
    Settings {
        horizon: Duration::from_millis(86_400_000 - STEP_MS as u64 / 2),
        min_history: Duration::from_secs(6 * 3600),
        level: 0.95,
        model: ModelKind::Auto,
        exhaustion_only: false,
    }
}

fn no_clip(_: &mut [f64], _: &mut [f64], _: &mut [f64]) {}

/// One monitored cycle at the end of bucket `i` (buckets before it complete),
/// on at most `keep` buckets of history.
fn cycle(
    mon: &mut SeriesMonitor,
    paths: &mut dyn PathStore,
    values: &[f64],
    i: usize,
    keep: usize,
    ms: &MonitorSettings,
) -> nodecast::predict::monitor::Events {
    let from = i.saturating_sub(keep);
    let window = Window {
        start_ms: from as i64 * STEP_MS,
        step_ms: STEP_MS,
        values: values[from..i].to_vec(),
    };
    let h = History {
        window: &window,
        raw: None,
        latest: None,
        capacity: None,
        reuse: None,
    };
    let now = i as i64 * STEP_MS;
    let (res, ev) = assess_monitored(mon, &h, None, false, now, &settings(), ms, paths, &no_clip);
    res.expect("assessment failed");
    ev
}

fn backtest_mase(file: &str, origins: usize) -> f64 {
    let out = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(["backtest", "--input", file, "--horizon", "24h"])
        .args([
            "--origins",
            &origins.to_string(),
            "--models",
            "auto",
            "--format",
            "json",
        ])
        .output()
        .expect("run nodecast backtest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("backtest JSON");
    let rows = rows.as_array().expect("rows");
    // Both parts score the same number of origins here: their mean is the overall mean.
    let (mut sum, mut n, mut scored) = (0.0, 0.0, 0);
    for r in rows.iter().filter(|r| r["model"] == "auto") {
        sum += r["mase"].as_f64().unwrap() * r["scored"].as_f64().unwrap();
        n += r["scored"].as_f64().unwrap();
        scored += r["scored"].as_u64().unwrap();
    }
    assert_eq!(scored as usize, origins, "{rows:?}");
    sum / n
}

#[test]
fn online_mase_reproduces_the_backtest_on_the_same_origins() {
    let origins = 6;
    for name in [
        "ec2_cpu_utilization_24ae8d.csv",
        "rds_cpu_utilization_cc0c53.csv",
    ] {
        let file = forecast_common::data_dir().join("nab").join(name);
        let g = read_timestamp_value(&file).unwrap();
        assert_eq!(g.step_secs * 1000, STEP_MS);
        let v = &g.values;
        let n = v.len();
        let first = n - origins * DAY;
        let ms = monitor_settings(None, false);
        // The records go through the store's encoding, and halfway the agent
        // restarts: state saved, store flushed and reopened, state loaded.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let mut mon = SeriesMonitor::new("s", &ms, first as i64 * STEP_MS);
        // The daemon's loop at a 1-hour interval: it divides 24 h, so the 24 h
        // slot is refilled at the very cycle it is scored, one horizon apart.
        let mut i = first;
        let restart = first + origins / 2 * DAY + 60;
        while i <= n {
            if i == restart {
                let now = i as i64 * STEP_MS;
                persist::save(&store, "s", &mut mon, now);
                store.flush().unwrap();
                drop(store);
                store = Store::open(StoreConfig::new(dir.path())).unwrap();
                mon = persist::load(&store, "s", &ms, now);
            }
            let mut paths = StorePaths {
                store: &store,
                series: "s",
            };
            cycle(&mut mon, &mut paths, v, i, usize::MAX, &ms);
            i += 12;
        }
        let s = mon.exposed[3].summary(n as i64 * STEP_MS, WINDOWS[1].1, None);
        let offline = backtest_mase(file.to_str().unwrap(), origins);
        println!(
            "{name}: online 24h MASE {:.4} over {} origins, nodecast backtest {offline:.4}",
            s.mase, s.n
        );
        assert_eq!(s.n as usize, origins);
        assert!(
            (s.mase - offline).abs() <= 0.01 * offline,
            "{name}: online {} vs backtest {offline}",
            s.mase
        );
    }
}

/// A node-like series: a daily cycle, office hours on weekdays, AR(1) noise.
/// From `change` on, `after` alters it.
fn generated(days: usize, seed: u64, change: usize, after: Change, weekly: bool) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut unif = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut ar = 0.0;
    (0..days * DAY)
        .map(|i| {
            let phase = (i % DAY) as f64 / DAY as f64;
            let weekday = weekly && (i / DAY) % 7 < 5;
            let changed = i >= change;
            let shift = if changed && after == Change::NewDailyPattern {
                0.5
            } else {
                0.0
            };
            let daily = 20.0 * (2.0 * std::f64::consts::PI * (phase + shift)).sin();
            let office = if weekday && (0.375..0.75).contains(&((phase + shift) % 1.0)) {
                10.0
            } else {
                0.0
            };
            let level = if changed && after == Change::LevelShift {
                65.0
            } else {
                50.0
            };
            let e: f64 = (0..12).map(|_| unif()).sum::<f64>() - 6.0;
            ar = 0.7 * ar + 2.0 * e;
            level + daily + office + ar
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    None,
    LevelShift,
    NewDailyPattern,
}

/// Runs the monitored loop every 5 minutes from `from` to `to` (bucket
/// indices) on a week of history; returns the buckets at which drift fired and
/// the 1-hour MASE over 24 h at each day boundary.
fn run(v: &[f64], from: usize, to: usize) -> (Vec<usize>, Vec<(usize, f64)>) {
    run_with(v, from, to, DriftParams::DEFAULT)
}

fn run_with(v: &[f64], from: usize, to: usize, p: DriftParams) -> (Vec<usize>, Vec<(usize, f64)>) {
    let keep = 8 * DAY;
    let mut ms = monitor_settings(None, true);
    ms.drift = Some(p);
    let mut mon = SeriesMonitor::new("s", &ms, from as i64 * STEP_MS);
    let mut paths = MemPaths::default();
    let (mut fired, mut daily) = (Vec::new(), Vec::new());
    for i in from..=to {
        let ev = cycle(&mut mon, &mut paths, v, i, keep, &ms);
        if ev.drift.is_some() {
            fired.push(i);
        }
        if i % DAY == 0 {
            let s = mon.exposed[1].summary(i as i64 * STEP_MS, WINDOWS[0].1, None);
            daily.push((i / DAY, s.mase));
        }
    }
    (fired, daily)
}

#[test]
fn drift_fires_within_two_hours_accuracy_recovers_and_a_stable_series_stays_quiet() {
    let change = 10 * DAY;
    for (after, seed) in [(Change::LevelShift, 11), (Change::NewDailyPattern, 12)] {
        let v = generated(16, seed, change, after, false);
        let (fired, daily) = run(&v, 8 * DAY, 15 * DAY);
        println!("{after:?}: drift at buckets {fired:?} (change at {change}); 1h MASE over 24h by day {daily:.3?}");
        assert!(
            fired.iter().all(|&i| i >= change),
            "{after:?}: fired before the change: {fired:?}"
        );
        let first = fired.first().copied().unwrap_or(usize::MAX);
        assert!(
            first <= change + 24,
            "{after:?}: first detection at bucket {first}, change at {change}"
        );
        // The day after the change day forecasts as well as the day before it.
        let at = |d: usize| daily.iter().find(|x| x.0 == d).map_or(f64::NAN, |x| x.1);
        let (before, after_day) = (at(change / DAY), at(change / DAY + 2));
        assert!(
            after_day <= 1.25 * before,
            "{after:?}: 1h MASE over 24h {after_day} a day after the change, {before} before"
        );
    }
    let weeks = 3;
    let v = generated(8 + 7 * weeks, 13, usize::MAX, Change::None, false);
    let (fired, _) = run(&v, 8 * DAY, (8 + 7 * weeks) * DAY - 1);
    println!(
        "stable series: {} detections in {weeks} weeks: {fired:?}",
        fired.len()
    );
    assert!(
        fired.len() < weeks,
        "{} detections in {weeks} weeks on a stable series: {fired:?}",
        fired.len()
    );
}

/// The scan behind the detector's allowance and threshold (docs/forecast.md):
/// `cargo test --release --test forecast_monitor drift_parameter_scan -- --ignored --nocapture`.
#[test]
#[ignore]
fn drift_parameter_scan() {
    let change = 10 * DAY;
    let t0 = std::time::Instant::now();
    for (k, h) in [
        (0.75, 12.0),
        (1.0, 12.0),
        (1.0, 16.0),
        (1.25, 10.0),
        (1.5, 8.0),
    ] {
        let p = DriftParams {
            slack: k,
            threshold: h,
            ..DriftParams::DEFAULT
        };
        let mut line = format!("k={k} h={h}:");
        for (after, seed) in [(Change::LevelShift, 11), (Change::NewDailyPattern, 12)] {
            let v = generated(14, seed, change, after, false);
            let (fired, _) = run_with(&v, 8 * DAY, 13 * DAY, p);
            line += &format!(
                " {after:?} {:?}",
                fired
                    .iter()
                    .map(|&i| i as i64 - change as i64)
                    .collect::<Vec<_>>()
            );
        }
        for seed in [13, 14] {
            let v = generated(8 + 21, seed, usize::MAX, Change::None, false);
            let (fired, _) = run_with(&v, 8 * DAY, 29 * DAY - 1, p);
            line += &format!(" stable{seed} {}", fired.len());
        }
        println!("{line} ({:?})", t0.elapsed());
    }
}

/// Drives begin/end with given paths: the exposed one off by `champ_err`, the
/// shadow's by `shadow_err`, hourly for `hours`. Returns the promotions seen.
fn gate_run(champ_err: f64, shadow_err: f64, hours: usize, pin: bool) -> (SeriesMonitor, usize) {
    let mut ms = monitor_settings(Some(ModelKind::Theta), false);
    if pin {
        ms.pin = Some((regex::Regex::new("^s$").unwrap(), ModelKind::SNaive));
    }
    // A daily sawtooth with a little deterministic noise (a non-zero MASE scale).
    let v: Vec<f64> = (0..5 * DAY + hours * 12)
        .map(|i| (i % DAY) as f64 + ((i * 7919) % 13) as f64)
        .collect();
    let mut mon = SeriesMonitor::new("s", &ms, 0);
    let mut paths = MemPaths::default();
    let mut promotions = 0;
    for hour in 3..hours {
        let i = 3 * DAY + hour * 12;
        let w = Window {
            start_ms: 0,
            step_ms: STEP_MS,
            values: v[..i].to_vec(),
        };
        let now = i as i64 * STEP_MS;
        let (plan, ev) = mon.begin(&w, now, &ms, &mut paths);
        promotions += usize::from(ev.promotion.is_some());
        let path = |err: f64| -> Vec<f64> { (i..i + DAY).map(|k| v[k] + err).collect() };
        let (c, s) = (path(champ_err), path(shadow_err));
        let (lo, hi) = (vec![f64::MIN; DAY], vec![f64::MAX; DAY]);
        let mid = now + STEP_MS / 2;
        // The champion's path is whichever model is champion now.
        let (exp, sh) = if plan.model == ModelKind::Auto {
            (&c, &s)
        } else {
            (&s, &c)
        };
        let shadow = plan.shadow.map(|_| path_ref(mid, sh, &lo, &hi));
        mon.end(
            &w,
            Some(path_ref(mid, exp, &lo, &hi)),
            shadow,
            now,
            &ms,
            &mut paths,
        );
    }
    (mon, promotions)
}

fn path_ref<'a>(
    mid_ms: i64,
    mean: &'a [f64],
    lower: &'a [f64],
    upper: &'a [f64],
) -> nodecast::predict::monitor::PathRef<'a> {
    nodecast::predict::monitor::PathRef {
        mid_ms,
        step_ms: STEP_MS,
        mean,
        lower,
        upper,
    }
}

#[test]
fn a_better_challenger_is_promoted_once_and_a_pinned_series_keeps_its_model() {
    // 24 scored 1-hour forecasts need a day; the champion is 5x worse.
    let (mon, n) = gate_run(5.0, 1.0, 12, false);
    assert_eq!(n, 0, "promoted before enough samples");
    assert_eq!(mon.champion, ModelKind::Auto);
    let (mon, n) = gate_run(5.0, 1.0, 60, false);
    assert_eq!(
        n, 1,
        "one promotion, then the former champion is the worse challenger"
    );
    assert_eq!(
        (mon.champion, mon.challenger),
        (ModelKind::Theta, Some(ModelKind::Auto))
    );
    let (a, b) = {
        let p = mon.last_promotion.unwrap();
        (p.2, p.3)
    };
    assert!(b <= 0.9 * a, "logged scores {a} vs {b}");
    // Within the margin (5% better): no promotion.
    let (_, n) = gate_run(1.0, 0.95, 60, false);
    assert_eq!(n, 0);
    let (mon, n) = gate_run(5.0, 1.0, 60, true);
    assert_eq!(
        (n, mon.champion, mon.challenger),
        (0, ModelKind::SNaive, None)
    );
}
