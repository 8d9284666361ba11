//! What the forecast monitor (online accuracy, shadow challenger, drift) costs a
//! forecast cycle: 512 series, the daemon's per-series path with and without
//! it, cycle by cycle alternately on a simulated 5-minute clock, timed in
//! thread CPU time (the machine is shared); pending paths and states go to a
//! real store as in the daemon. Memory: anonymous RSS after the run with the
//! 512 monitor states alive, minus after two cycles without monitoring (heap
//! trimmed both times, as the daemon trims after each cycle), and the bytes
//! the states own, counted. The store is flushed every cycle (the daemon
//! flushes every minute), outside the timed part.
//!
//! Run: `cargo bench --bench forecast_monitor` (`NODECAST_BENCH_SERIES`, default
//! 512; `NODECAST_BENCH_CYCLES`, default 36 = 3 simulated hours, which holds
//! the hourly shadow forecasts and records every horizon once;
//! `NODECAST_BENCH_DAYS` of history per series, default 8).

use std::collections::HashMap;
use std::time::Duration;

use nodecast::forecast::ModelKind;
use nodecast::predict::monitor::challenger::Gate;
use nodecast::predict::monitor::drift::DriftParams;
use nodecast::predict::monitor::persist::{self, StorePaths};
use nodecast::predict::monitor::run::assess_monitored;
use nodecast::predict::monitor::{MonitorSettings, SeriesMonitor};
use nodecast::predict::series::{assess_series, History, Settings};
use nodecast::store::{Store, StoreConfig, Window};

const STEP_MS: i64 = 300_000;
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

fn main() {
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
    let keys: Vec<String> = (0..n_series).map(|k| format!("s{{k=\"{k}\"}}")).collect();
    let no_clip = |_: &mut [f64], _: &mut [f64], _: &mut [f64]| {};
    let mut monitors: HashMap<String, SeriesMonitor> = HashMap::new();
    let (mut plain, mut watched) = (0.0, 0.0);
    let mut baseline = 0;
    for c in 0..cycles + 2 {
        // Two cycles without monitoring first: the baseline RSS.
        let warm = c < 2;
        if c == 2 {
            trim();
            baseline = rss_anon_kib();
        }
        let c = c.saturating_sub(2);
        let i = days * DAY + c;
        let now = i as i64 * STEP_MS;
        let windows: Vec<Window> = data
            .iter()
            .map(|v| Window {
                start_ms: (i - days * DAY) as i64 * STEP_MS,
                step_ms: STEP_MS,
                values: v[i - days * DAY..i].to_vec(),
            })
            .collect();
        let hist = |w| History {
            window: w,
            raw: None,
            latest: None,
            capacity: None,
            reuse: None,
        };
        // The daemon flushes the store every --storage.flush-interval (60 s):
        // sled's dirty pages would otherwise pile up in memory.
        store.flush().expect("flush");
        // Alternate which variant goes first, so cache warmth favours neither.
        for variant in [c % 2, 1 - c % 2] {
            if warm && variant == 1 {
                continue;
            }
            let t0 = thread_cpu_secs();
            for (k, w) in keys.iter().zip(&windows) {
                if variant == 0 {
                    let _ =
                        std::hint::black_box(assess_series(&hist(w), None, false, now, &settings));
                    continue;
                }
                let mut mon = monitors
                    .remove(k)
                    .unwrap_or_else(|| persist::load(&store, k, &ms, now));
                let mut paths = StorePaths {
                    store: &store,
                    series: k,
                };
                let r = assess_monitored(
                    &mut mon,
                    &hist(w),
                    None,
                    false,
                    now,
                    &settings,
                    &ms,
                    &mut paths,
                    &no_clip,
                );
                let _ = std::hint::black_box(r);
                if mon.needs_save(now) {
                    persist::save(&store, k, &mut mon, now);
                }
                let _ = std::hint::black_box(mon.view(now, &ms));
                monitors.insert(k.clone(), mon);
            }
            let dt = thread_cpu_secs() - t0;
            match (warm, variant) {
                (true, _) => {}
                (false, 0) => plain += dt,
                (false, _) => watched += dt,
            }
        }
    }
    trim();
    let with = rss_anon_kib();
    let owned: usize = monitors
        .iter()
        .map(|(k, m)| {
            std::mem::size_of::<(String, SeriesMonitor)>()
                + k.capacity()
                + m.horizons_ms.capacity() * 8
                + (m.exposed.capacity() + m.shadow.capacity())
                    * std::mem::size_of::<nodecast::predict::monitor::accuracy::Windowed>()
                + m.lead.capacity() * 16
                + m.due.capacity() * 8
        })
        .sum();
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
        "RSS: +{} KiB ({:.2} MiB) with monitoring (anonymous RSS {baseline} KiB after 2 cycles without, {with} KiB after the run with); the {n_series} states own {} KiB",
        with as i64 - baseline as i64,
        (with as f64 - baseline as f64) / 1024.0,
        owned / 1024
    );
}
