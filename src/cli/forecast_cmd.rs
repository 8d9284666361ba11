//! `nodecast forecast`: forecast a timestamp,value CSV from its end.

use std::{
    io::Write,
    path::PathBuf,
    time::{Duration, UNIX_EPOCH},
};

use super::backtest_cmd::{data, horizon_steps};
use crate::forecast::{forecast, ModelKind, SeriesInput};

/// Arguments of `nodecast forecast`.
#[derive(clap::Args, Debug, Clone)]
pub struct ForecastArgs {
    /// CSV with a header naming `timestamp` and `value` columns (NAB style).
    #[arg(long)]
    pub input: PathBuf,
    /// Steps (48) or a duration (24h, 90m).
    #[arg(long)]
    pub horizon: String,
    /// auto, snaive, theta, naive2, mstl, smean, smean-level, snaive-week, smean-week,
    /// smean-week-level, theta-week.
    #[arg(long, default_value = "auto", value_parser = clap::builder::ValueParser::new(parse_model))]
    pub model: ModelKind,
    /// Interval level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    /// Known season lengths in steps (comma-separated); default: one day and one week.
    #[arg(long, value_delimiter = ',')]
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
    let grid = match data::read_timestamp_value(&args.input) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("nodecast forecast: {e}");
            return 2;
        }
    };
    if !(args.level > 0.0 && args.level < 100.0) {
        eprintln!(
            "nodecast forecast: --level must be in (0, 100), got {}",
            args.level
        );
        return 2;
    }
    let horizon = match horizon_steps(&args.horizon, grid.step_secs as f64) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("nodecast forecast: {e}");
            return 2;
        }
    };
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
    let ts = |i: usize| {
        let t = grid.timestamp(n + i);
        if t >= 0 {
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
            eprintln!(
                "model {} (season {:?}), {} points of history, {:.1}% imputed",
                out.model,
                out.season,
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
