//! `nodecast anomaly-eval`: the anomaly score against NAB's labelled windows, next to
//! a training-range threshold and a rolling z-score of the raw series. Each method's
//! one threshold is chosen on the tune files and reported on the held ones; the split
//! and the metric are in docs/anomaly.md.

pub mod walk;
pub mod windows;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::forecast::ModelKind;
use crate::predict::anomaly::{Params, DEFAULT, EXPECT_BUCKETS, MAX_OVER};
use crate::predict::series::Settings;
use windows::Counts;

#[derive(clap::Args, Debug, Clone)]
pub struct AnomalyEvalArgs {
    /// Directory of NAB-style `timestamp,value` CSVs.
    #[arg(long, default_value = "data/nab")]
    pub input: PathBuf,
    /// Labelled windows (default: INPUT/anomaly_windows.json).
    #[arg(long)]
    pub windows: Option<PathBuf>,
    /// Only files whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Buckets between refits (the daemon refits every cycle, i.e. every bucket).
    #[arg(long, default_value_t = 1)]
    pub refit_every: usize,
    #[arg(long, default_value = "auto", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<ModelKind>()))]
    pub model: ModelKind,
    /// Interval level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    #[arg(long, default_value = "6h", value_parser = humantime::parse_duration)]
    pub min_history: Duration,
    /// Forecast horizon (the daemon's `forecast.horizon`; at least an hour is used):
    /// `auto` ranks its models over it.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub horizon: Duration,
    /// Buckets of the look-back that must be off for the score to be (default: the
    /// daemon's).
    #[arg(long)]
    pub sustain: Option<usize>,
    /// Buckets the score looks back over (default: the daemon's).
    #[arg(long)]
    pub over: Option<usize>,
    /// Smallest robust scale relative to the band (default: the daemon's).
    #[arg(long)]
    pub min_scale: Option<f64>,
    /// Largest robust scale relative to the band (default: the daemon's).
    #[arg(long)]
    pub max_scale: Option<f64>,
    /// Pull of the scale back to the band per bucket (default: the daemon's).
    #[arg(long)]
    pub scale_reversion: Option<f64>,
    /// Quantile of |e| the robust scale tracks (default: the daemon's).
    #[arg(long)]
    pub scale_quantile: Option<f64>,
    /// Gain of the scale's update (default: the daemon's).
    #[arg(long)]
    pub scale_gain: Option<f64>,
    /// Print one row per file and method as well.
    #[arg(long)]
    pub per_file: bool,
}

/// NAB does not score the first 15% of each file (its probationary period); the
/// threshold baseline learns its range there.
pub const PROBATION: f64 = 0.15;
/// Thresholds tried on the tune part. The range baseline: below 1, the quantile
/// level q (alarm above the q-quantile of the probation values or below the
/// 1−q one); from 1, 1 + f: alarm more than f × (max − min) beyond the range.
pub const QUANTILES: [f64; 11] = [
    0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 1.0, 1.1, 1.25, 1.5, 2.0,
];
/// |z| or score.
pub const Z_LEVELS: [f64; 15] = [
    2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0, 50.0, 100.0,
];
pub const METHODS: [&str; 3] = [
    "anomaly score",
    "threshold (p/1-p of probation)",
    "rolling z (1 day)",
];

/// One file's detector outputs.
pub struct Case {
    pub file: String,
    pub tune: bool,
    pub values: Vec<f64>,
    pub windows: Vec<(usize, usize)>,
    pub scored_from: usize,
    pub episode_gap: usize,
    pub score: Vec<f64>,
    pub z: Vec<f64>,
}

impl Case {
    /// Alarm indices of method `m` at its `k`-th threshold.
    pub fn alarms(&self, m: usize, k: usize) -> Vec<usize> {
        let over =
            |s: &[f64], t: f64| -> Vec<usize> { (0..s.len()).filter(|&i| s[i] > t).collect() };
        match m {
            0 => over(&self.score, Z_LEVELS[k]),
            1 => {
                let train = &self.values[..self.scored_from];
                let q = QUANTILES[k].min(1.0);
                let (Some(mut hi), Some(mut lo)) =
                    (walk::quantile(train, q), walk::quantile(train, 1.0 - q))
                else {
                    return Vec::new();
                };
                let beyond = (QUANTILES[k] - 1.0).max(0.0) * (hi - lo);
                hi += beyond;
                lo -= beyond;
                (0..self.values.len())
                    .filter(|&i| self.values[i] > hi || self.values[i] < lo)
                    .collect()
            }
            _ => over(&self.z, Z_LEVELS[k]),
        }
    }

    pub fn counts(&self, m: usize, k: usize) -> Counts {
        windows::count(
            &self.alarms(m, k),
            &self.windows,
            self.scored_from,
            self.episode_gap,
        )
    }
}

pub fn thresholds(m: usize) -> &'static [f64] {
    if m == 1 {
        &QUANTILES
    } else {
        &Z_LEVELS
    }
}

/// Loads every file with labelled windows and runs the three detectors on it.
/// Tune/held: files sorted by name, even positions tune, odd held.
pub fn cases(a: &AnomalyEvalArgs) -> Result<Vec<Case>, String> {
    let wpath = a
        .windows
        .clone()
        .unwrap_or_else(|| a.input.join("anomaly_windows.json"));
    let labelled = windows::read_windows(&wpath)?;
    let settings = Settings {
        horizon: a.horizon,
        min_history: a.min_history,
        level: a.level / 100.0,
        model: a.model,
        exhaustion_only: false,
    };
    if !(settings.level > 0.0 && settings.level < 1.0) {
        return Err(format!("--level must be in (0, 100), got {}", a.level));
    }
    let params = Params {
        sustain: a.sustain.unwrap_or(DEFAULT.sustain).max(1),
        over: a.over.unwrap_or(DEFAULT.over).clamp(1, MAX_OVER),
        min_scale: a.min_scale.unwrap_or(DEFAULT.min_scale).max(1e-3),
        max_scale: a.max_scale.unwrap_or(DEFAULT.max_scale).max(1e-3),
        scale_reversion: a
            .scale_reversion
            .unwrap_or(DEFAULT.scale_reversion)
            .clamp(0.0, 1.0),
        scale_quantile: a
            .scale_quantile
            .unwrap_or(DEFAULT.scale_quantile)
            .clamp(0.5, 0.999),
        scale_gain: a.scale_gain.unwrap_or(DEFAULT.scale_gain).clamp(1e-6, 1.0),
        ..DEFAULT
    };
    let mut out = Vec::new();
    for (pos, (file, ws)) in labelled.iter().enumerate() {
        if !a.only.is_empty() && !a.only.iter().any(|o| file.contains(o.as_str())) {
            continue;
        }
        let path = a.input.join(file);
        out.push(case(
            &path,
            file,
            pos % 2 == 0,
            ws,
            &settings,
            a.refit_every,
            &params,
        )?);
    }
    if out.is_empty() {
        return Err(format!(
            "no labelled files found under {}",
            a.input.display()
        ));
    }
    Ok(out)
}

fn case(
    path: &Path,
    file: &str,
    tune: bool,
    ws: &[(i64, i64)],
    s: &Settings,
    refit_every: usize,
    p: &Params,
) -> Result<Case, String> {
    let grid = super::backtest_cmd::data::read_timestamp_value(path).map_err(|e| e.to_string())?;
    let step = grid.step_secs.max(1);
    let n = grid.values.len();
    let idx = |t: i64| ((t - grid.start) as f64 / step as f64).clamp(0.0, (n - 1) as f64);
    let windows = ws
        .iter()
        .filter(|(a, b)| *b >= grid.start && *a <= grid.timestamp(n - 1))
        .map(|&(a, b)| (idx(a).ceil() as usize, idx(b).floor() as usize))
        .collect();
    let day = (86_400 / step).max(2) as usize;
    let step_ms = step * 1000;
    // Every path must reach the bucket it is expected to judge.
    let reach = Duration::from_millis((EXPECT_BUCKETS.max(refit_every) as i64 * step_ms) as u64);
    let s = Settings {
        horizon: s.horizon.max(reach),
        ..*s
    };
    Ok(Case {
        file: file.to_string(),
        tune,
        scored_from: (n as f64 * PROBATION).floor() as usize,
        episode_gap: (3600 / step).max(1) as usize,
        score: walk::scores(&grid.values, grid.start * 1000, step_ms, &s, refit_every, p),
        z: walk::rolling_z(&grid.values, day),
        values: grid.values,
        windows,
    })
}

/// Per method: the threshold index chosen on the tune files (best pooled F1, the
/// strictest among ties), and the pooled counts on tune and held.
pub fn summarize(cases: &[Case]) -> Vec<(usize, Counts, Counts)> {
    (0..METHODS.len())
        .map(|m| {
            let pooled = |k: usize, tune: bool| {
                let mut c = Counts::default();
                for cs in cases.iter().filter(|c| c.tune == tune) {
                    c += cs.counts(m, k);
                }
                c
            };
            let mut best = 0;
            let mut best_f1 = -1.0;
            for k in 0..thresholds(m).len() {
                let f1 = pooled(k, true).f1();
                if f1 >= best_f1 {
                    best_f1 = f1;
                    best = k;
                }
            }
            (best, pooled(best, true), pooled(best, false))
        })
        .collect()
}

fn cell(c: &Counts) -> String {
    format!(
        "{:.2} / {:.2} / **{:.2}** ({}/{} windows, {} FP)",
        c.precision(),
        c.recall(),
        c.f1(),
        c.detected,
        c.detected + c.missed,
        c.false_episodes
    )
}

/// Runs the subcommand; 0 ok, 2 bad input.
pub fn run(a: &AnomalyEvalArgs) -> i32 {
    let cases = match cases(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nodecast anomaly-eval: {e}");
            return super::EXIT_USAGE;
        }
    };
    let mut out = std::io::stdout().lock();
    let tune: Vec<&str> = cases
        .iter()
        .filter(|c| c.tune)
        .map(|c| c.file.as_str())
        .collect();
    let held: Vec<&str> = cases
        .iter()
        .filter(|c| !c.tune)
        .map(|c| c.file.as_str())
        .collect();
    let _ = writeln!(
        out,
        "tune: {}\nheld: {}\n",
        tune.join(", "),
        held.join(", ")
    );
    let _ = writeln!(
        out,
        "| method | threshold (tuned) | tune P / R / F1 | held P / R / F1 |\n|---|---|---|---|"
    );
    for (m, (k, t, h)) in summarize(&cases).iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            METHODS[m],
            thresholds(m)[*k],
            cell(t),
            cell(h)
        );
    }
    if a.per_file {
        let _ = writeln!(
            out,
            "\n| file | part | method | threshold | P / R / F1 |\n|---|---|---|---|---|"
        );
        let chosen = summarize(&cases);
        for c in &cases {
            for (m, (k, _, _)) in chosen.iter().enumerate() {
                let part = if c.tune { "tune" } else { "held" };
                let _ = writeln!(
                    out,
                    "| {} | {part} | {} | {} | {} |",
                    c.file,
                    METHODS[m],
                    thresholds(m)[*k],
                    cell(&c.counts(m, *k))
                );
            }
        }
    }
    0
}
