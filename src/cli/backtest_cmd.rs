//! `nodecast backtest`: score models on M4 files or rolling origins over CSVs.

mod cases;
pub mod data;
pub mod protocol;
mod report;

use std::{io::IsTerminal, path::PathBuf, time::Instant};

use protocol::Part;
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
    #[arg(long, required_unless_present_any = ["m4_train", "synthetic"])]
    pub input: Option<PathBuf>,
    /// Score this many generated node-like series (5-minute steps) with rolling
    /// origins instead of files; --seed picks the set.
    #[arg(long, conflicts_with_all = ["input", "m4_train"])]
    pub synthetic: Option<usize>,
    /// Days of each generated series (with --synthetic).
    #[arg(long, default_value_t = 17)]
    pub synthetic_days: usize,
    /// Score only one part of the development protocol (docs/forecast.md); by
    /// default both are scored and reported side by side.
    #[arg(long, value_enum)]
    pub part: Option<Part>,
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
pub(crate) struct Case {
    pub part: Part,
    pub train: Vec<f64>,
    /// Training values before --drop-fraction/--outage: Naive2 and the MASE scale come
    /// from these so that OWA stays against the same benchmark with or without gaps.
    pub clean: Vec<f64>,
    pub actual: Vec<f64>,
    pub step_secs: f64,
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
    let mut cases = match (&args.m4_train, &args.m4_test, &args.input, args.synthetic) {
        (Some(tr), Some(te), _, _) => cases::m4(tr, te, args)?,
        (_, _, Some(input), _) => cases::csv(input, args)?,
        (_, _, _, Some(n)) => cases::synthetic(n, args)?,
        _ => return Err("give --m4-train and --m4-test, --input, or --synthetic".into()),
    };
    if let Some(l) = args.limit {
        cases.truncate(l);
    }
    let mut rng = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for c in &mut cases {
        c.clean = c.train.clone();
        cases::punch_gaps(&mut c.train, args.drop_fraction, args.outage, &mut rng);
    }
    let parts: Vec<Part> = match args.part {
        Some(p) => vec![p],
        None => vec![Part::Tune, Part::Held],
    };
    let mut all_rows = Vec::new();
    for part in parts {
        let mine: Vec<&Case> = cases.iter().filter(|c| c.part == part).collect();
        let mut rows = score_part(&models, &mine, args)?;
        for r in &mut rows {
            r.part = Some(part);
        }
        all_rows.extend(rows);
    }
    report::print(
        &all_rows,
        args.format == Format::Json,
        args.level / 100.0,
        &mut std::io::stdout().lock(),
    )
    .map_err(|e| format!("writing the report: {e}"))
}

fn score_part(
    models: &[ModelKind],
    cases: &[&Case],
    args: &BacktestArgs,
) -> Result<Vec<report::Row>, String> {
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
    Ok(report::rows(models, &tallies, &naive2))
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
                let names: Vec<&str> = o.members.iter().map(|m| m.name()).collect();
                *t.chosen.entry(names.join("+")).or_default() += 1;
            }
        }
        Err(_) => t.failed += 1,
    }
}
