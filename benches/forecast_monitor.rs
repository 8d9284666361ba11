//! What issue 14's model operations (online accuracy, shadow challenger,
//! drift, anomaly score) cost a forecast cycle: 512 series, the daemon's cycle
//! with and without them, cycle by cycle alternately on a simulated 5-minute
//! clock, timed in thread CPU time (the machine is shared); pending paths and
//! states go to a real store as in the daemon. The store is the agent's
//! (default settings: `StoreConfig::new`) and holds the series: their history is
//! written before the run, and every cycle appends the new samples and reads
//! each window back, as the collector and the forecast loop do, then flushes
//! (the daemon flushes every minute); all of that outside the timed part.
//!
//! The timed part is what the daemon's forecast loop does per cycle: each
//! series forecast (`auto`'s choice reused for an hour), with the monitor its
//! state, view and anomaly tracker, then the cycle's results and their
//! families for `/metrics` built and held until the next cycle replaces them,
//! as the published snapshot is. Until this was added the bench left out the
//! choice reuse (which made the plain cycle dearer), the anomaly trackers, and
//! the views and families the monitor adds to every published cycle.
//!
//! Memory: the same run in child processes with one variant only, with the
//! agent's allocator settings; anonymous RSS at the end (store flushed, heap
//! trimmed as the daemon trims after each cycle), median of
//! `NODECAST_BENCH_RSS_RUNS` (default 3) runs each, monitored minus plain. So
//! both sides hold the same store with the same cache, filled by the series'
//! chunks as in the agent, and the sled buffers every store has count on
//! both. RSS moves by megabytes between runs of the same variant (where the
//! allocator's free pages fall, sled's background flushes), so the bench also
//! counts live heap bytes exactly with a counting allocator: the same children
//! report the heap live at the end (monitored minus plain: the states, the
//! trackers, the published views and families and the store's share of the
//! records), and the parent the bytes freed by dropping each of these (the
//! states alone, and so on).
//!
//! Run: `cargo bench --bench forecast_monitor` (`NODECAST_BENCH_SERIES`, default
//! 512; `NODECAST_BENCH_CYCLES`, default 36 = 3 simulated hours, which holds
//! the hourly shadow forecasts and records every horizon once;
//! `NODECAST_BENCH_DAYS` of history per series, default 8).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use nodecast::config::ForecastSettings;
use nodecast::daemon::families_for_at;
use nodecast::forecast::auto::Choice;
use nodecast::forecast::ModelKind;
use nodecast::predict::anomaly::{self, Tracker, EXPECT_BUCKETS};
use nodecast::predict::monitor::challenger::Gate;
use nodecast::predict::monitor::drift::DriftParams;
use nodecast::predict::monitor::persist::{self, StorePaths};
use nodecast::predict::monitor::run::assess_monitored;
use nodecast::predict::monitor::{MonitorSettings, SeriesMonitor};
use nodecast::predict::series::{assess_series, History, Settings};
use nodecast::predict::series::{Assessment, RECHOOSE_AFTER_STEPS};
use nodecast::predict::SeriesForecast;
use nodecast::store::{Agg, Store, StoreConfig, Tier, Window};

const STEP_MS: i64 = 300_000;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::LIVE;

#[global_allocator]
static A: counting_alloc::Counting = counting_alloc::Counting;
const DAY: usize = 288;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn trim() {
    // SAFETY: malloc_trim only releases free memory.
    unsafe { libc::malloc_trim(0) };
}

/// Daily cycle plus AR(1) noise, a different phase and level per series.
fn series(k: usize, n: usize) -> Vec<f64> {
    let mut s = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut ar = 0.0;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            ar = 0.7 * ar + e;
            let phase = (i % DAY) as f64 / DAY as f64 + k as f64 / 97.0;
            10.0 + k as f64 + 5.0 * (2.0 * std::f64::consts::PI * phase).sin() + ar
        })
        .collect()
}

/// What one variant keeps between cycles besides the monitor's states: `auto`'s
/// choices and the last published cycle.
#[derive(Default)]
struct Side {
    choices: HashMap<String, (Choice, i64)>,
    published: Vec<SeriesForecast>,
    families: Vec<nodecast::collect::Family>,
}

/// The published form of a series' forecast, as the daemon builds it; the
/// metric and its label stand for a network interface's counter.
fn forecast_of(
    key: &str,
    a: Assessment,
    level: f64,
    monitor: Option<nodecast::predict::monitor::view::MonitorView>,
    anomaly_score: Option<f64>,
) -> SeriesForecast {
    let device = key.trim_start_matches("s{k=\"").trim_end_matches("\"}");
    SeriesForecast {
        series: key.to_string(),
        metric: "node_network_receive_bytes_total".into(),
        labels: vec![("device".into(), format!("eth{device}"))],
        model: a.model,
        start_ms: a.start_ms,
        step_ms: a.step_ms,
        level,
        mean: a.mean,
        lower: a.lower,
        upper: a.upper,
        history_seconds: a.history_seconds,
        imputed_ratio: a.imputed_ratio,
        resource: None,
        time_to_exhaustion_seconds: None,
        exhaustion_probability: None,
        monitor,
        anomaly_score,
    }
}

/// Marks a child run's answers on its stdout.
const CHILD_RSS: &str = "anonymous RSS KiB at the end:";
const CHILD_HEAP: &str = "live heap bytes at the end:";
const CHILD_STORE: &str = "heap bytes freed by closing the store:";

/// The run in a child process with only one variant (`plain` or `monitored`):
/// its anonymous RSS (KiB) and live heap (bytes) at the end, and the heap the
/// store held (bytes).
fn child_rss(only: &str) -> (u64, u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(std::env::args_os().skip(1))
        .env("NODECAST_BENCH_ONLY", only)
        .output()
        .expect("child run");
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |mark: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(mark)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{only} run said: {text}"))
    };
    (find(CHILD_RSS), find(CHILD_HEAP), find(CHILD_STORE))
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    // The agent's allocator settings (one arena, a fixed mmap threshold).
    nodecast::daemon::tune_malloc();
    // A child measuring RSS runs one variant; the parent alternates both for CPU.
    let only = std::env::var("NODECAST_BENCH_ONLY").ok();
    let rss_runs = env("NODECAST_BENCH_RSS_RUNS", 3).max(1) as usize;
    let n_series = env("NODECAST_BENCH_SERIES", 512) as usize;
    let cycles = env("NODECAST_BENCH_CYCLES", 36) as usize;
    let days = env("NODECAST_BENCH_DAYS", 8) as usize;
    let data: Vec<Vec<f64>> = (0..n_series)
        .map(|k| series(k, days * DAY + cycles))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(StoreConfig::new(dir.path())).expect("store");
    let settings = Settings {
        horizon: Duration::from_secs(86_400),
        min_history: Duration::from_secs(6 * 3600),
        level: 0.95,
        model: ModelKind::Auto,
        exhaustion_only: false,
    };
    let ms = MonitorSettings {
        horizons: [900, 3600, 6 * 3600, 86_400]
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect(),
        model: ModelKind::Auto,
        challenger: Some(ModelKind::Theta),
        gate: Gate {
            margin: 0.1,
            min_samples: 24,
        },
        gate_window: Duration::from_secs(7 * 86_400),
        pin: None,
        drift: Some(DriftParams::DEFAULT),
    };
    // What the daemon's families_for reads: the level and the exposed horizons.
    let published = ForecastSettings {
        interval: Duration::from_secs(300),
        horizon: settings.horizon,
        horizons: ms.horizons.clone(),
        min_history: settings.min_history,
        model: ModelKind::Auto,
        level: settings.level,
        max_series: n_series,
        metrics: regex::Regex::new(".*").expect("regex"),
        exclude: regex::Regex::new("^$").expect("regex"),
        stale_after: Duration::from_secs(3600),
        challenger: ms.challenger,
        challenger_margin: ms.gate.margin,
        challenger_window: ms.gate_window,
        challenger_min_samples: ms.gate.min_samples,
        pin: None,
        drift_detection: true,
    };
    let keys: Vec<String> = (0..n_series).map(|k| format!("s{{k=\"{k}\"}}")).collect();
    let no_clip = |_: &mut [f64], _: &mut [f64], _: &mut [f64]| {};
    // The series' history is in the store before the run, and every cycle
    // appends the new samples and reads each window back, as the collector and
    // the forecast loop do: both variants run on a store whose cache already
    // holds the chunks, so the monitor's records compete for it as they do in
    // the agent instead of landing in an empty cache.
    for (k, v) in keys.iter().zip(&data) {
        let samples: Vec<(i64, f64)> = (0..days * DAY)
            .map(|i| (i as i64 * STEP_MS, v[i]))
            .collect();
        store.backfill(k, &samples).expect("backfill");
    }
    store.flush().expect("flush");
    let mut appended = days * DAY;
    let mut monitors: HashMap<String, Box<SeriesMonitor>> = HashMap::new();
    let mut trackers: HashMap<String, Box<Tracker>> = HashMap::new();
    let mut sides = [Side::default(), Side::default()];
    let (mut plain, mut watched) = (0.0, 0.0);
    for c in 0..cycles {
        let i = days * DAY + c;
        let now = i as i64 * STEP_MS;
        // Samples up to `now`: the one at `now` completes the last bucket.
        while appended <= i {
            let row: Vec<(&str, f64)> = keys
                .iter()
                .zip(&data)
                .map(|(k, v)| (k.as_str(), v[appended]))
                .collect();
            store
                .append(appended as i64 * STEP_MS, &row)
                .expect("append");
            appended += 1;
        }
        let from = (i - days * DAY) as i64 * STEP_MS;
        let windows: Vec<Window> = keys
            .iter()
            .zip(&data)
            .map(|(k, v)| {
                let w = store
                    .read(k, Tier::Downsampled, Agg::Mean, from, now)
                    .expect("read");
                // The store's codec may round; close is enough.
                let want = &v[i - days * DAY..i];
                assert!(
                    (w.start_ms, w.step_ms, w.values.len()) == (from, STEP_MS, want.len())
                        && w.values.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4),
                    "the store gives back what was written"
                );
                w
            })
            .collect();
        // The daemon flushes the store every --storage.flush-interval (60 s):
        // sled's dirty pages would otherwise pile up in memory.
        store.flush().expect("flush");
        // Alternate which variant goes first, so cache warmth favours neither.
        for variant in [c % 2, 1 - c % 2] {
            let skip = match only.as_deref() {
                Some("plain") => variant == 1,
                Some(_) => variant == 0,
                None => false,
            };
            if skip {
                continue;
            }
            let t0 = thread_cpu_secs();
            let side = &mut sides[variant];
            let mut out = Vec::with_capacity(keys.len());
            let mut chosen = HashMap::new();
            for (k, w) in keys.iter().zip(&windows) {
                // As the daemon: `auto`'s choice is reused for an hour.
                let reuse = side
                    .choices
                    .get(k)
                    .filter(|(_, at)| now - at < RECHOOSE_AFTER_STEPS * STEP_MS);
                let h = History {
                    window: w,
                    raw: None,
                    latest: None,
                    capacity: None,
                    reuse: reuse.map(|(c, _)| c),
                };
                let (res, view) = if variant == 0 {
                    (assess_series(&h, None, false, now, &settings), None)
                } else {
                    // As the daemon: the key moves with its state.
                    let (mon_key, mut mon) = monitors.remove_entry(k).unwrap_or_else(|| {
                        (k.clone(), Box::new(persist::load(&store, k, &ms, now)))
                    });
                    let mut paths = StorePaths {
                        store: &store,
                        series: k,
                    };
                    let (r, _) = assess_monitored(
                        &mut mon, &h, None, false, now, &settings, &ms, &mut paths, &no_clip,
                    );
                    if mon.needs_save(now) {
                        persist::save(&store, k, &mut mon, now);
                    }
                    let view = mon.view(now, &ms);
                    monitors.insert(mon_key, mon);
                    (r, Some(view))
                };
                let Ok(Some(mut a)) = res else { continue };
                if let Some(c) = a.choice.take() {
                    let at = match reuse {
                        Some((r, at)) if r.members == c.members => *at,
                        _ => now,
                    };
                    chosen.insert(k.clone(), (c, at));
                }
                // The anomaly score (issue 14 too): judged by the forecast made an hour before.
                let anomaly_score = view.as_ref().and_then(|_| {
                    trackers.entry(k.clone()).or_default().cycle(
                        w,
                        STEP_MS,
                        &anomaly::Path {
                            start_ms: a.start_ms,
                            step_ms: a.step_ms,
                            mean: &a.mean,
                            lower: &a.lower,
                            upper: &a.upper,
                            level: settings.level,
                        },
                        EXPECT_BUCKETS,
                    )
                });
                out.push(forecast_of(k, a, settings.level, view, anomaly_score));
            }
            side.choices = chosen;
            // Published as the daemon publishes a cycle: the results and their
            // families for /metrics (with the monitor, its families too) stay
            // live until the next cycle's.
            side.families = families_for_at(&out, &published, now);
            side.published = out;
            let dt = thread_cpu_secs() - t0;
            match variant {
                0 => plain += dt,
                _ => watched += dt,
            }
        }
    }
    store.flush().expect("flush");
    trim();
    let rss = rss_anon_kib();
    if only.is_some() {
        println!("{CHILD_RSS} {rss}");
        println!("{CHILD_HEAP} {}", LIVE.load(Relaxed));
        // The store's share: its cache and buffers (the same on both sides but
        // for the monitor's records), freed when it closes.
        let before = LIVE.load(Relaxed);
        drop(store);
        println!(
            "{CHILD_STORE} {}",
            before.saturating_sub(LIVE.load(Relaxed))
        );
        return;
    }
    let spread = |v: &[u64]| format!("{}–{}", v.iter().min().unwrap(), v.iter().max().unwrap());
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let (mut heap_without, mut heap_with) = (Vec::new(), Vec::new());
    let (mut store_without, mut store_with) = (Vec::new(), Vec::new());
    for _ in 0..rss_runs {
        let (r, h, s) = child_rss("plain");
        without.push(r);
        heap_without.push(h);
        store_without.push(s);
        let (r, h, s) = child_rss("monitored");
        with.push(r);
        heap_with.push(h);
        store_with.push(s);
    }
    let store_spread = (spread(&store_without), spread(&store_with));
    let (store_without, store_with) = (median(&mut store_without), median(&mut store_with));
    let (heap_spread_without, heap_spread_with) = (spread(&heap_without), spread(&heap_with));
    let (heap_without, heap_with) = (median(&mut heap_without), median(&mut heap_with));
    let (lo_hi_without, lo_hi_with) = (spread(&without), spread(&with));
    let (without, with) = (median(&mut without), median(&mut with));
    // Exact: what dropping the states (their map and keys included) frees.
    let before_drop = LIVE.load(Relaxed);
    drop(monitors);
    let owned = before_drop - LIVE.load(Relaxed);
    // And what the rest of issue 14 holds between cycles: the anomaly trackers,
    // the monitor's part of the published results (views) and its families.
    let before_drop = LIVE.load(Relaxed);
    drop(trackers);
    let trackers_owned = before_drop - LIVE.load(Relaxed);
    let [plain_side, mut watched_side] = sides;
    // The run scores the 15m and 1h horizons only; a day on every score has a
    // value and the families hold all their samples: built again that way.
    let end_ms = (days * DAY + cycles - 1) as i64 * STEP_MS;
    let mut steady = watched_side.published.clone();
    for m in steady.iter_mut().filter_map(|f| f.monitor.as_mut()) {
        let scores = m.accuracy.iter_mut().chain(&mut m.challenger_accuracy);
        for s in scores.chain(&mut m.champion_gate_accuracy) {
            (s.scored, s.mase, s.coverage_ratio) = (24, 1.0, 0.95);
        }
    }
    let held = |f: &dyn Fn() -> Vec<nodecast::collect::Family>| {
        let before = LIVE.load(Relaxed);
        let v = f();
        let bytes = LIVE.load(Relaxed) - before;
        drop(v);
        bytes as i64
    };
    let steady_families = held(&|| families_for_at(&steady, &published, end_ms))
        - held(&|| families_for_at(&plain_side.published, &published, end_ms));
    drop(steady);
    let before_drop = LIVE.load(Relaxed);
    watched_side
        .published
        .iter_mut()
        .for_each(|f| f.monitor = None);
    let views_owned = before_drop - LIVE.load(Relaxed);
    let families_of = |f: Vec<nodecast::collect::Family>| {
        let before_drop = LIVE.load(Relaxed);
        drop(f);
        before_drop - LIVE.load(Relaxed)
    };
    let families_owned =
        families_of(watched_side.families) as i64 - families_of(plain_side.families) as i64;
    let shadow_runs = cycles.div_ceil(12);
    println!(
        "{n_series} series, {cycles} cycles of 5 min, {days} days of history, challenger theta about hourly ({shadow_runs} runs per series)"
    );
    println!(
        "forecast cycle CPU: without monitor {:.3} s/cycle, with {:.3} s/cycle, ratio {:.3} (+{:.1} %)",
        plain / cycles as f64,
        watched / cycles as f64,
        watched / plain,
        (watched / plain - 1.0) * 100.0
    );
    println!(
        "RSS: {:+} KiB ({:+.2} MiB) with monitoring: medians of {rss_runs} runs each, anonymous RSS at the end {without} KiB without ({lo_hi_without}), {with} KiB with ({lo_hi_with}); the {n_series} states own {} KiB",
        with as i64 - without as i64,
        (with as f64 - without as f64) / 1024.0,
        owned / 1024
    );
    let mib = |b: i64| b as f64 / 1_048_576.0;
    println!(
        "live heap: {:+} bytes ({:+.2} MiB) with monitoring: medians of {rss_runs} runs each, {heap_without} bytes without ({heap_spread_without}), {heap_with} bytes with ({heap_spread_with}); the {n_series} states alone {owned} bytes ({:.2} MiB, {} a series)",
        heap_with as i64 - heap_without as i64,
        mib(heap_with as i64 - heap_without as i64),
        mib(owned as i64),
        owned / n_series.max(1)
    );
    println!(
        "the store's heap: {:+} bytes ({:+.2} MiB) with monitoring: medians of {rss_runs} runs each, freed by closing it at the end: {store_without} bytes without ({}), {store_with} bytes with ({})",
        store_with as i64 - store_without as i64,
        mib(store_with as i64 - store_without as i64),
        store_spread.0,
        store_spread.1
    );
    println!(
        "held besides the states (exact): anomaly trackers {trackers_owned} bytes ({:.2} MiB), monitor views in the published results {views_owned} bytes ({:.2} MiB), families for /metrics {families_owned:+} bytes ({:+.2} MiB) over the forecast families alone, {steady_families:+} bytes ({:+.2} MiB) once every horizon is scored",
        mib(trackers_owned as i64),
        mib(views_owned as i64),
        mib(families_owned),
        mib(steady_families)
    );
}
