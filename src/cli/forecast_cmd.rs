//! `nodecast forecast`: forecast a timestamp,value CSV from its end.

use std::{
    io::Write,
    path::PathBuf,
    time::{Duration, UNIX_EPOCH},
};

use super::backtest_cmd::data;
use super::bounded::{self, Horizon};
use crate::config::value::fmt_duration;
use crate::forecast::{forecast, ModelKind, SeriesInput};

/// Every model name, from the model enum so that help and parser cannot disagree.
pub fn model_names() -> String {
    let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
    names.join(", ")
}

fn model_help() -> String {
    format!(
        "Model: {}. auto picks per series by validation on its own history",
        model_names()
    )
}

/// Arguments of `nodecast forecast`.
#[derive(clap::Args, Debug, Clone)]
pub struct ForecastArgs {
    /// CSV with a header naming `timestamp` and `value` columns (NAB style).
    #[arg(long)]
    pub input: PathBuf,
    /// How far ahead: a number of steps of the input's grid (see --step), or a duration
    /// (24h, 90m) rounded up to whole steps. At most 35 days and 100800 steps.
    #[arg(long, value_parser = bounded::parse_horizon)]
    pub horizon: Horizon,
    /// Grid step of the input (15s, 5m, 1h; whole seconds). Samples snap to the nearest
    /// point of this grid, later ones winning. Default: the median spacing of the
    /// timestamps. The step fixes what a step count in --horizon and --season means.
    #[arg(long, value_name = "DURATION", value_parser = bounded::step)]
    pub step: Option<Duration>,
    #[arg(long, default_value = "auto", value_parser = clap::builder::ValueParser::new(parse_model), help = model_help())]
    pub model: ModelKind,
    /// Interval level in percent, strictly between 0 and 100.
    #[arg(long, default_value = "95", value_parser = bounded::level)]
    pub level: f64,
    /// Season lengths in steps (comma-separated, each at least 2), replacing the
    /// default. The shortest is the daily season, the second (if any) the weekly one
    /// that the -week models use. Each needs two full cycles of history. Default: one
    /// day from the step when there are two days of history, plus one week from three
    /// weeks of history; with no daily season in the step, a period the periodogram finds.
    #[arg(long, value_delimiter = ',', value_parser = bounded::season)]
    pub season: Vec<usize>,
    #[arg(long, value_enum, default_value_t = OutFormat::Csv)]
    pub format: OutFormat,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv,
    Json,
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

/// Runs the subcommand; returns the process exit code (0 ok, 1 no forecast possible,
/// 2 bad input).
pub fn run(args: &ForecastArgs) -> i32 {
    let step = args.step.map(|d| d.as_secs() as i64);
    let grid = match data::read_timestamp_value_on(&args.input, step) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("nodecast forecast: {e}");
            return 2;
        }
    };
    let horizon = match args.horizon.steps(grid.step_secs as f64) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("nodecast forecast: {e}");
            return 2;
        }
    };
    let history = grid.values.len() - grid.values.iter().position(|v| v.is_finite()).unwrap_or(0);
    if let Some(m) = args.season.iter().find(|m| history / 2 < **m) {
        eprintln!(
            "nodecast forecast: --season {m} needs two full seasons ({} points) of history; {} has {history}",
            m.saturating_mul(2),
            args.input.display()
        );
        return 2;
    }
    let input = SeriesInput {
        values: &grid.values,
        step_secs: grid.step_secs as f64,
        seasons: (!args.season.is_empty()).then_some(args.season.as_slice()),
    };
    let out = match forecast(&input, horizon, args.level / 100.0, args.model) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("nodecast forecast: {}: {e}", args.input.display());
            return 1;
        }
    };
    let n = grid.values.len();
    let p = &out.forecast.point;
    let (lo, hi) = match &out.forecast.intervals {
        Some(iv) => (iv.lower.clone(), iv.upper.clone()),
        None => (vec![f64::NAN; p.len()], vec![f64::NAN; p.len()]),
    };
    // Timestamps far outside RFC 3339's years (odd input) print as Unix seconds.
    let ts = |i: usize| {
        let t = grid.start as i128 + grid.step_secs as i128 * (n + i) as i128;
        if (0..253_402_300_800).contains(&t) {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t as u64))
                .to_string()
        } else {
            t.to_string()
        }
    };
    let mut so = std::io::stdout().lock();
    let res = if args.format == OutFormat::Json {
        let points: Vec<_> = (0..p.len())
            .map(|i| serde_json::json!({"timestamp": ts(i), "mean": p[i], "lower": lo[i], "upper": hi[i]}))
            .collect();
        let doc = serde_json::json!({
            "model": out.model.to_string(),
            "season": out.season,
            "level": args.level,
            "imputed_fraction": out.imputed_fraction,
            "history_len": out.history_len,
            "forecast": points,
        });
        writeln!(so, "{doc:#}")
    } else {
        (|| {
            writeln!(so, "timestamp,mean,lower,upper")?;
            for i in 0..p.len() {
                writeln!(so, "{},{},{},{}", ts(i), p[i], lo[i], hi[i])?;
            }
            Ok(())
        })()
    };
    match res {
        Ok(()) => {
            let secs = |n: usize| Duration::from_secs(n as u64 * grid.step_secs as u64);
            eprintln!(
                "model {} (season {:?}), step {}, horizon {horizon} steps ({}), {} points of history, {:.1}% imputed",
                out.model,
                out.season,
                fmt_duration(secs(1)),
                fmt_duration(secs(horizon)),
                out.history_len,
                out.imputed_fraction * 100.0
            );
            0
        }
        Err(e) => {
            eprintln!("nodecast forecast: writing output: {e}");
            1
        }
    }
}
