//! `nodecast backtest`: score models on M4 files or rolling origins over CSVs.

pub mod data;
mod report;

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    time::Instant,
};

use report::Tally;

use super::bounded::Horizon;
use crate::forecast::{forecast, score, ModelKind, SeriesInput};

/// Arguments of `nodecast backtest`.
#[derive(clap::Args, Debug, Clone)]
pub struct BacktestArgs {
    /// M4 training file (wide CSV: id, then values).
    #[arg(long, requires = "m4_test", conflicts_with = "input")]
    pub m4_train: Option<PathBuf>,
    /// M4 test file matching --m4-train.
    #[arg(long, requires = "m4_train")]
    pub m4_test: Option<PathBuf>,
    /// timestamp,value CSV, or a directory of them, for rolling-origin evaluation.
    #[arg(long, required_unless_present = "m4_train")]
    pub input: Option<PathBuf>,
    /// Forecast horizon: steps (48), or for --input a duration (24h) rounded up to whole
    /// steps. At most 35 days and 100800 steps.
    #[arg(long, default_value = "48", value_parser = super::bounded::parse_horizon)]
    pub horizon: Horizon,
    /// Steps per day for M4 files (24 for hourly); the weekly season follows from it.
    #[arg(long, default_value_t = 24, value_parser = |s: &str| super::bounded::count(s, 1, 86_400))]
    pub season: usize,
    /// Comma-separated models to score; Naive2 is always run for OWA.
    #[arg(long, default_value = "snaive,theta,auto")]
    pub models: String,
    /// Rolling origins per file for --input (each one horizon apart, ending at the end).
    #[arg(long, default_value_t = 3, value_parser = |s: &str| super::bounded::count(s, 1, 1000))]
    pub origins: usize,
    /// Interval level in percent, strictly between 0 and 100.
    #[arg(long, default_value = "95", value_parser = super::bounded::level)]
    pub level: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Score only the first N series (quick runs).
    #[arg(long, value_parser = |s: &str| super::bounded::count(s, 1, u32::MAX as u64))]
    pub limit: Option<usize>,
    /// Remove this fraction of training points at random (gap robustness test), 0..=1.
    #[arg(long, default_value = "0", value_parser = |s: &str| super::bounded::number(s, 0.0, 1.0))]
    pub drop_fraction: f64,
    /// Also cut one outage of this many steps from each training series.
    #[arg(long, default_value_t = 0, value_parser = |s: &str| super::bounded::count(s, 0, super::backtest_cmd::data::MAX_GRID_POINTS as u64))]
    pub outage: usize,
    /// Seed for --drop-fraction and --outage.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Runs the subcommand; returns the process exit code (0 ok, 2 bad input).
pub fn run(args: &BacktestArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("nodecast backtest: {e}");
            2
        }
    }
}

/// One series to score: training values, actuals after them, grid step.
struct Case {
    train: Vec<f64>,
    /// Training values before --drop-fraction/--outage: Naive2 and the MASE scale come
    /// from these so that OWA stays against the same benchmark with or without gaps.
    clean: Vec<f64>,
    actual: Vec<f64>,
    step_secs: f64,
}

fn run_inner(args: &BacktestArgs) -> Result<(), String> {
    let mut models: Vec<ModelKind> = Vec::new();
    for m in args.models.split(',').filter(|s| !s.trim().is_empty()) {
        models.push(
            m.parse::<ModelKind>()
                .map_err(|e| format!("--models: {e}"))?,
        );
    }
    if models.is_empty() {
        return Err("--models: no model given".into());
    }
    if !(args.level > 0.0 && args.level < 100.0) {
        return Err(format!("--level must be in (0, 100), got {}", args.level));
    }
    let mut cases = match (&args.m4_train, &args.m4_test, &args.input) {
        (Some(tr), Some(te), _) => m4_cases(tr, te, args)?,
        (_, _, Some(input)) => csv_cases(input, args)?,
        _ => return Err("give --m4-train and --m4-test, or --input".into()),
    };
    if let Some(l) = args.limit {
        cases.truncate(l);
    }
    let mut rng = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for c in &mut cases {
        c.clean = c.train.clone();
        punch_gaps(&mut c.train, args.drop_fraction, args.outage, &mut rng);
    }
    let level = args.level / 100.0;
    let mut tallies = vec![Tally::default(); models.len()];
    let mut naive2 = Tally::default();
    let progress = cases.len() > 50 && std::io::stderr().is_terminal();
    for (i, c) in cases.iter().enumerate() {
        let day = (86_400.0 / c.step_secs).round().max(1.0) as usize;
        let scale = score::mase_scale(&c.clean, day);
        score_one(ModelKind::Naive2, &c.clean, c, level, scale, &mut naive2);
        for (m, t) in models.iter().zip(tallies.iter_mut()) {
            score_one(*m, &c.train, c, level, scale, t);
        }
        if progress {
            eprint!("\r{}/{} series", i + 1, cases.len());
        }
    }
    if progress {
        eprintln!();
    }
    let rows = report::rows(&models, &tallies, &naive2);
    report::print(
        &rows,
        args.format == Format::Json,
        level,
        &mut std::io::stdout().lock(),
    )
    .map_err(|e| format!("writing the report: {e}"))
}

fn score_one(model: ModelKind, train: &[f64], c: &Case, level: f64, scale: f64, t: &mut Tally) {
    let input = SeriesInput {
        values: train,
        step_secs: c.step_secs,
        seasons: None,
    };
    let start = Instant::now();
    let out = forecast(&input, c.actual.len(), level, model);
    let secs = start.elapsed().as_secs_f64();
    match out {
        Ok(o) => {
            let p = &o.forecast.point;
            let (lo, hi) = o
                .forecast
                .intervals
                .as_ref()
                .map_or((p.clone(), p.clone()), |iv| {
                    (iv.lower.clone(), iv.upper.clone())
                });
            t.add(scale, &c.actual, p, &lo, &hi, secs);
            if model == ModelKind::Auto {
                *t.chosen.entry(o.model.to_string()).or_default() += 1;
            }
        }
        Err(_) => t.failed += 1,
    }
}

fn m4_cases(train: &Path, test: &Path, args: &BacktestArgs) -> Result<Vec<Case>, String> {
    let Horizon::Steps(horizon) = args.horizon else {
        return Err(format!(
            "--horizon {:?}: M4 needs a number of steps",
            args.horizon
        ));
    };
    let tr = data::read_m4(train).map_err(|e| e.to_string())?;
    let te = data::read_m4(test).map_err(|e| e.to_string())?;
    if tr.len() != te.len() {
        return Err(format!(
            "{} has {} series but {} has {}",
            train.display(),
            tr.len(),
            test.display(),
            te.len()
        ));
    }
    if args.season == 0 {
        return Err("--season must be at least 1".into());
    }
    // The grid step makes `season` steps one day, so daily/weekly periods follow.
    let step_secs = 86_400.0 / args.season as f64;
    let mut out = Vec::with_capacity(tr.len());
    for ((id, y), (tid, a)) in tr.into_iter().zip(te) {
        if id != tid {
            return Err(format!(
                "series order differs: {id} in {} vs {tid} in {}",
                train.display(),
                test.display()
            ));
        }
        if a.len() < horizon {
            return Err(format!(
                "{}: series {tid} has {} test values, fewer than --horizon {horizon}",
                test.display(),
                a.len()
            ));
        }
        out.push(Case {
            train: y,
            clean: Vec::new(),
            actual: a[..horizon].to_vec(),
            step_secs,
        });
    }
    Ok(out)
}

fn csv_cases(input: &Path, args: &BacktestArgs) -> Result<Vec<Case>, String> {
    let files: Vec<PathBuf> = if input.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(|e| format!("{}: cannot list: {e}", input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        f.sort();
        f
    } else {
        vec![input.to_path_buf()]
    };
    if files.is_empty() {
        return Err(format!("{}: no .csv files", input.display()));
    }
    let mut out = Vec::new();
    for f in files {
        let g = data::read_timestamp_value(&f).map_err(|e| e.to_string())?;
        let h = args.horizon.steps(g.step_secs as f64)?;
        for k in (1..=args.origins).rev() {
            let Some(origin) = g.values.len().checked_sub(k * h) else {
                continue;
            };
            out.push(Case {
                train: g.values[..origin].to_vec(),
                clean: Vec::new(),
                actual: g.values[origin..origin + h].to_vec(),
                step_secs: g.step_secs as f64,
            });
        }
    }
    Ok(out)
}

/// Removes a fraction of points and one outage (not touching the first or last 2%
/// so that trimming and the forecast origin stay comparable).
fn punch_gaps(y: &mut [f64], fraction: f64, outage: usize, state: &mut u64) {
    let n = y.len();
    let mut next = move || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let margin = n / 50 + 1;
    if n <= 2 * margin + outage {
        return;
    }
    if outage > 0 {
        let a = margin + (next() as usize) % (n - 2 * margin - outage);
        y[a..a + outage].fill(f64::NAN);
    }
    if fraction > 0.0 {
        for v in y[margin..n - margin].iter_mut() {
            if ((next() >> 11) as f64 / (1u64 << 53) as f64) < fraction {
                *v = f64::NAN;
            }
        }
    }
}
