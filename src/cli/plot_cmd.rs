//! `nodecast plot`: an SVG chart of history, forecast and interval band, from a
//! `timestamp,value` CSV (forecast here, like `nodecast forecast`) or from a
//! running agent's series (its stored history and its latest forecast).

use std::path::PathBuf;

use super::backtest_cmd::data;
use super::bounded::Horizon;
use super::client::{urlencode, ClientArgs, ClientError};
use crate::export::svg::{render, Plot};
use crate::forecast::{forecast, ModelKind};

#[derive(clap::Args, Debug, Clone)]
pub struct PlotArgs {
    /// CSV with `timestamp` and `value` columns; forecast from its end.
    #[arg(long, conflicts_with = "series")]
    pub input: Option<PathBuf>,
    /// A series key of a running agent (from `/api/v1/series`), e.g.
    /// 'node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"}'.
    #[arg(long, required_unless_present = "input")]
    pub series: Option<String>,
    /// With --input: steps (48) or a duration (24h), at most 35 days.
    #[arg(long, default_value = "24h", value_parser = super::bounded::parse_horizon)]
    pub horizon: Horizon,
    /// With --input: the model (as `nodecast forecast --model`).
    #[arg(long, default_value = "auto", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<ModelKind>()))]
    pub model: ModelKind,
    /// With --input: interval level in percent, strictly between 0 and 100.
    #[arg(long, default_value = "95", value_parser = super::bounded::level)]
    pub level: f64,
    /// Where to write the SVG; standard output when absent.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(long, default_value_t = 960, value_parser = clap::value_parser!(u32).range(200..=8000))]
    pub width: u32,
    #[arg(long, default_value_t = 360, value_parser = clap::value_parser!(u32).range(120..=4000))]
    pub height: u32,
    #[command(flatten)]
    pub client: ClientArgs,
}

type Points = (
    Vec<(f64, f64)>,
    Vec<(f64, f64, f64, f64)>,
    Option<f64>,
    String,
    String,
);

fn from_csv(args: &PlotArgs, path: &std::path::Path) -> Result<Points, (i32, String)> {
    let grid = data::read_timestamp_value(path).map_err(|e| (2, e.to_string()))?;
    let steps = args
        .horizon
        .steps(grid.step_secs as f64)
        .map_err(|e| (2, e))?;
    let input = crate::forecast::SeriesInput {
        values: &grid.values,
        step_secs: grid.step_secs as f64,
        seasons: None,
    };
    let out = forecast(&input, steps, args.level / 100.0, args.model)
        .map_err(|e| (1, format!("{}: {e}", path.display())))?;
    let n = grid.values.len();
    let history = (0..n)
        .map(|i| (grid.timestamp(i) as f64, grid.values[i]))
        .collect();
    let p = &out.forecast.point;
    let (lo, hi) = match &out.forecast.intervals {
        Some(iv) => (iv.lower.clone(), iv.upper.clone()),
        None => (p.clone(), p.clone()),
    };
    let fc = (0..p.len())
        .map(|i| (grid.timestamp(n + i) as f64, p[i], lo[i], hi[i]))
        .collect();
    let title = format!("{} — model {}", path.display(), out.model);
    Ok((history, fc, None, title, "value".into()))
}

fn from_agent(args: &PlotArgs, key: &str) -> Result<Points, (i32, String)> {
    let q = urlencode(key);
    let get = |p: &str| args.client.get_json(p).map_err(|ClientError(e)| (3, e));
    let f = get(&format!("/api/v1/forecast?series={q}"))?;
    let h = get(&format!("/api/v1/history?series={q}&tier=downsampled"))?;
    let d = &f["data"];
    let hd = &h["data"];
    let (start, step) = (
        hd["start_timestamp"].as_f64().unwrap_or(0.0),
        hd["step_seconds"].as_f64().unwrap_or(1.0),
    );
    let history = hd["values"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_f64().map(|v| (start + i as f64 * step, v)))
                .collect()
        })
        .unwrap_or_default();
    let fc = d["points"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    let m = p["mean"].as_f64()?;
                    Some((
                        p["timestamp"].as_f64()?,
                        m,
                        p["lower"].as_f64().unwrap_or(m),
                        p["upper"].as_f64().unwrap_or(m),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let exhaustion = d["time_to_exhaustion_seconds"].as_f64().map(|t| now + t);
    let title = format!("{key} — model {}", d["model"].as_str().unwrap_or("?"));
    Ok((
        history,
        fc,
        exhaustion,
        title,
        d["metric"].as_str().unwrap_or("").to_string(),
    ))
}

pub fn run(args: &PlotArgs) -> i32 {
    let got = match (&args.input, &args.series) {
        (Some(path), _) => from_csv(args, path),
        (None, Some(key)) => from_agent(args, key),
        (None, None) => Err((2, "give --input FILE or --series KEY".into())),
    };
    let (history, fc, exhaustion, title, metric) = match got {
        Ok(p) => p,
        Err((code, e)) => {
            eprintln!("nodecast plot: {e}");
            return code;
        }
    };
    let svg = render(
        &Plot {
            title: &title,
            metric: &metric,
            history: &history,
            forecast: &fc,
            exhaustion_at: exhaustion,
        },
        args.width,
        args.height,
    );
    let written = match &args.output {
        Some(p) => std::fs::write(p, svg).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(svg.as_bytes())
                .map_err(|e| e.to_string())
        }
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("nodecast plot: writing the SVG: {e}");
            1
        }
    }
}
