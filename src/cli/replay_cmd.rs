//! `nodecast replay`: what nodecast (and node-mixin's predict_linear) would have
//! alerted on a recorded history. Each input goes through a real store, the daemon's
//! own per-series assessment every forecast interval on a simulated clock, and the
//! rules read from the rules files.

pub mod prom;
pub mod report;
pub mod rules;
pub mod sim;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::forecast::ModelKind;
use crate::predict::series::Settings;

#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// CSV files (`timestamp,value[,capacity]`, unix seconds) or directories of them.
    #[arg(required_unless_present = "prometheus_url")]
    pub inputs: Vec<PathBuf>,
    /// Replay a node's history from this Prometheus instead (its filesystems, inodes,
    /// memory and swap, each with its capacity), read with the backfill client.
    #[arg(long, value_name = "URL")]
    pub prometheus_url: Option<String>,
    /// Label matchers (without braces) naming the node in that Prometheus.
    #[arg(long, default_value = "", requires = "prometheus_url")]
    pub selector: String,
    /// How much history to pull.
    #[arg(long, default_value = "35d", value_parser = humantime::parse_duration, requires = "prometheus_url")]
    pub lookback: Duration,
    /// Sample spacing to pull at (must divide 5m).
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration, requires = "prometheus_url")]
    pub step: Duration,
    /// Resource of inputs without a `# resource=NAME` line.
    #[arg(long, default_value = "filesystem_space")]
    pub resource: String,
    /// Capacity of inputs without a capacity column.
    #[arg(long)]
    pub capacity: Option<f64>,
    #[arg(long, default_value = "deploy/prometheus/rules/nodecast.rules.yml")]
    pub rules: PathBuf,
    /// node-mixin's rules (NodeFilesystemSpaceFillingUp) to compare with.
    #[arg(
        long,
        default_value = "deploy/prometheus/rules/tests/node-mixin-reference.rules.yml"
    )]
    pub reference_rules: PathBuf,
    /// The agent's --forecast.interval.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub horizon: Duration,
    #[arg(long, default_value = "6h", value_parser = humantime::parse_duration)]
    pub min_history: Duration,
    #[arg(long, default_value = "auto", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<ModelKind>()))]
    pub model: ModelKind,
    /// Interval level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    #[arg(long, value_enum, default_value_t = super::forecast_cmd::OutFormat::Csv, hide_default_value = true)]
    pub format: super::forecast_cmd::OutFormat,
    /// Also write each input's forecast cycles (time, time to exhaustion,
    /// probability) to DIR/NAME.cycles.csv, for plots.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Inputs replayed in parallel (default: the CPUs available).
    #[arg(long)]
    pub jobs: Option<usize>,
}

fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "csv"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err("no CSV inputs".into());
    }
    Ok(out)
}

/// Runs the subcommand; 0 ok, 2 bad input.
pub fn run(a: &ReplayArgs) -> i32 {
    match replay(a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("nodecast replay: {e}");
            super::EXIT_USAGE
        }
    }
}

fn replay(a: &ReplayArgs) -> Result<(), String> {
    if !(a.level > 0.0 && a.level < 100.0) {
        return Err(format!("--level must be in (0, 100), got {}", a.level));
    }
    if a.interval < Duration::from_secs(60) {
        return Err("--interval must be at least 1m".into());
    }
    let started = Instant::now();
    let inputs = match &a.prometheus_url {
        Some(url) => {
            if a.lookback > Duration::from_secs(400 * 86_400) || a.lookback.is_zero() {
                return Err("--lookback must be in (0, 400d]".into());
            }
            if a.step < Duration::from_secs(1) || 300 % a.step.as_secs().max(1) != 0 {
                return Err("--step must be whole seconds dividing 5m".into());
            }
            let src = prom::Source {
                url: url.clone(),
                selector: a.selector.clone(),
                lookback: a.lookback,
                step: a.step,
                timeout: Duration::from_secs(30),
            };
            prom::inputs(&src, crate::daemon::now_ms())?
        }
        None => expand(&a.inputs)?
            .iter()
            .map(|f| sim::read_input(f, &a.resource, a.capacity))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let linear = rules::linear(&a.reference_rules)?;
    let ours = inputs
        .iter()
        .map(|i| rules::ours(&a.rules, &i.resource))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = Settings {
        horizon: a.horizon,
        min_history: a.min_history,
        level: a.level / 100.0,
        model: a.model,
        exhaustion_only: true,
    };
    let scratch = std::env::temp_dir();
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<report::Report, String>>> = vec![None; inputs.len()];
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(inputs.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(input) = inputs.get(i) else { break };
                let r =
                    sim::simulate(input, &settings, a.interval, &scratch).and_then(|(c, acc)| {
                        if let Some(dir) = &a.trace {
                            sim::write_trace(dir, input, &c)?;
                        }
                        let mut rep = report::measure(input, &c, &ours[i], &linear);
                        rep.online_accuracy = acc;
                        Ok(rep)
                    });
                slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let reports = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not replayed".into())))
        .collect::<Result<Vec<_>, _>>()?;
    match a.format {
        super::forecast_cmd::OutFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?
        ),
        _ => print!("{}", report::table(&reports)),
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    eprintln!(
        "replayed {} inputs ({:.1} days of history) in {:.1} s",
        reports.len(),
        reports.iter().map(|r| r.days).sum::<f64>(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
