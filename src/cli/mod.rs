//! Command line: `run` (the agent, also the default), `check-config`, `forecast`,
//! `backtest`, `replay`, `anomaly-eval`, `status`, `plot`, `completions`.
//!
//! Agent settings are built from [`crate::config::settings::SETTINGS`] with clap's
//! builder API because the `--collector.<name>` flags come from the collector registry.

pub mod anomaly_cmd;
pub mod backtest_cmd;
pub mod bounded;
pub mod client;
pub mod forecast_cmd;
pub mod plot_cmd;
pub mod replay_cmd;
pub mod status_cmd;

use std::ffi::OsString;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::config::file;
use crate::config::settings::{env_name, parse, ValueKind, SETTINGS};
use crate::config::Config;

/// Exit code for bad flags, bad config and bad input files.
pub const EXIT_USAGE: i32 = 2;

fn agent_args(cmd: Command) -> Command {
    let mut cmd = cmd.arg(
        Arg::new("config")
            .long("config")
            .value_name("FILE")
            .env("NODECAST_CONFIG")
            .help("TOML config file; flags and NODECAST_* environment variables override it"),
    );
    for s in SETTINGS {
        let mut arg = Arg::new(s.name)
            .long(s.name)
            .help(setting_help(s))
            .env(env_name(s.name));
        if s.kind == ValueKind::Switch {
            arg = arg.action(ArgAction::SetTrue);
        } else {
            let kind = s.kind;
            arg = arg
                .value_name(kind.value_name())
                .value_parser(ValueParser::new(move |v: &str| parse(kind, v)));
            if let Some(d) = s.default {
                arg = arg.default_value(d);
            }
        }
        cmd = cmd.arg(arg);
    }
    for reg in crate::collect::REGISTRY {
        let on = format!("collector.{}", reg.name);
        let off = format!("no-collector.{}", reg.name);
        let state = if reg.default_enabled {
            "enabled"
        } else {
            "disabled"
        };
        cmd = cmd
            .arg(
                Arg::new(on.clone())
                    .long(on.clone())
                    .action(ArgAction::SetTrue)
                    .env(env_name(&on))
                    .overrides_with(off.clone())
                    .help(format!(
                        "Enable the {} collector: {} [default: {state}]",
                        reg.name, reg.help
                    )),
            )
            .arg(
                Arg::new(off.clone())
                    .long(off.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(on)
                    .help(format!("Disable the {} collector", reg.name)),
            );
    }
    cmd
}

/// The table's help plus what the type accepts, so `--help` shows every bound.
fn setting_help(s: &crate::config::settings::Setting) -> String {
    let mut h = s.help.to_string();
    if s.kind == ValueKind::Model {
        h.push_str(": ");
        h.push_str(&forecast_cmd::model_names());
    }
    if let Some(b) = s.kind.bounds() {
        h.push_str(&format!(" [range: {b}]"));
    }
    h
}

/// The whole command tree (also used for shell completions and the flag check in CI).
pub fn command() -> Command {
    let root = Command::new("nodecast")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Node metrics agent that forecasts its series and predicts resource exhaustion for Prometheus")
        .args_conflicts_with_subcommands(true)
        .max_term_width(100);
    agent_args(root)
        .subcommand(agent_args(
            Command::new("run").about("Run the agent (the default)"),
        ))
        .subcommand(
            agent_args(Command::new("check-config").about(
                "Validate a config file with the environment and flags as `run` would: exit 0, or 2 naming the offending key",
            ))
            .arg(Arg::new("file").required(true).value_name("FILE")),
        )
        .subcommand(forecast_cmd::ForecastArgs::augment_args(
            Command::new("forecast").about("Forecast a timestamp,value CSV from its end"),
        ))
        .subcommand(backtest_cmd::BacktestArgs::augment_args(
            Command::new("backtest")
                .about("Score forecasting models on M4 files or rolling origins over CSVs"),
        ))
        .subcommand(status_cmd::StatusArgs::augment_args(Command::new("status").about(
            "Resources of a running agent by time to exhaustion; exit 1 when one runs out within the horizon, 3 when the agent cannot be reached",
        )))
        .subcommand(plot_cmd::PlotArgs::augment_args(
            Command::new("plot")
                .about("SVG chart of history, forecast and interval band, from a CSV or a running agent's series"),
        ))
        .subcommand(replay_cmd::ReplayArgs::augment_args(
            Command::new("replay")
                .about("Replay recorded histories through the assessment and the alert rules"),
        ))
        .subcommand(anomaly_cmd::AnomalyEvalArgs::augment_args(
            Command::new("anomaly-eval")
                .about("Score the anomaly score and two baselines on NAB's labelled windows"),
        ))
        .subcommand(
            Command::new("completions")
                .about("Print a shell completion script")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                ),
        )
}

fn collector_names() -> Vec<&'static str> {
    crate::collect::REGISTRY.iter().map(|r| r.name).collect()
}

/// Resolves the agent's configuration from its matches and an optional file: the
/// validation `run` does before it opens the store or binds, shared with `check-config`.
pub fn resolve_agent_config(m: &ArgMatches, file: Option<&str>) -> Result<Config, (i32, String)> {
    resolve_counting(m, file).map(|(cfg, _)| cfg)
}

/// As [`resolve_agent_config`], also returning how many settings the file set.
fn resolve_counting(m: &ArgMatches, file: Option<&str>) -> Result<(Config, usize), (i32, String)> {
    let entries = match file {
        Some(path) => file::load(path.as_ref(), &collector_names())
            .map_err(|e| (EXIT_USAGE, e.to_string()))?,
        None => Vec::new(),
    };
    let cfg = Config::resolve(m, &entries).map_err(|e| {
        let from = file.map(|f| format!(" (config {f})")).unwrap_or_default();
        (EXIT_USAGE, format!("{e}{from}"))
    })?;
    Ok((cfg, entries.len()))
}

/// Parses a whole command line (`nodecast [run|check-config FILE] FLAGS…`) into the
/// agent's configuration without starting anything; clap's own messages (`--help`,
/// bad flags) come back as the error with their exit code.
pub fn parse_agent_config(argv: &[OsString]) -> Result<Config, (i32, String)> {
    let m = command()
        .try_get_matches_from(argv)
        .map_err(|e| (e.exit_code(), e.to_string()))?;
    match m.subcommand() {
        Some(("run", sub)) => resolve_agent_config(sub, config_flag(sub)),
        Some(("check-config", sub)) => {
            resolve_agent_config(sub, sub.get_one::<String>("file").map(String::as_str))
        }
        Some((other, _)) => Err((EXIT_USAGE, format!("{other} is not an agent command"))),
        None => resolve_agent_config(&m, config_flag(&m)),
    }
}

fn config_flag(m: &ArgMatches) -> Option<&str> {
    m.get_one::<String>("config").map(String::as_str)
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let m = match command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match m.subcommand() {
        Some(("check-config", sub)) => {
            let path = sub.get_one::<String>("file").map(String::as_str);
            let checked = resolve_counting(sub, path).and_then(|(cfg, n)| {
                // `run` loads the web config (TLS, users) before it serves; so does this.
                match cfg.web_config_file.as_deref() {
                    Some(web) => crate::daemon::check_web_config(web)
                        .map(|_| n)
                        .map_err(|e| (EXIT_USAGE, format!("--web.config.file: {e}"))),
                    None => Ok(n),
                }
            });
            match checked {
                Ok(n) => {
                    println!("{}: ok ({n} settings)", path.unwrap_or_default());
                    0
                }
                Err((code, msg)) => {
                    eprintln!("nodecast: {msg}");
                    code
                }
            }
        }
        Some(("forecast", sub)) => match forecast_cmd::ForecastArgs::from_arg_matches(sub) {
            Ok(args) => forecast_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("backtest", sub)) => match backtest_cmd::BacktestArgs::from_arg_matches(sub) {
            Ok(args) => backtest_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("status", sub)) => match status_cmd::StatusArgs::from_arg_matches(sub) {
            Ok(args) => status_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("plot", sub)) => match plot_cmd::PlotArgs::from_arg_matches(sub) {
            Ok(args) => plot_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("replay", sub)) => match replay_cmd::ReplayArgs::from_arg_matches(sub) {
            Ok(args) => replay_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("anomaly-eval", sub)) => match anomaly_cmd::AnomalyEvalArgs::from_arg_matches(sub) {
            Ok(args) => anomaly_cmd::run(&args),
            Err(e) => {
                let _ = e.print();
                EXIT_USAGE
            }
        },
        Some(("completions", sub)) => {
            let Some(shell) = sub.get_one::<clap_complete::Shell>("shell").copied() else {
                return EXIT_USAGE;
            };
            clap_complete::generate(shell, &mut command(), "nodecast", &mut std::io::stdout());
            0
        }
        Some(("run", sub)) => run_agent(sub),
        _ => run_agent(&m),
    }
}

fn run_agent(m: &ArgMatches) -> i32 {
    match resolve_agent_config(m, config_flag(m)) {
        Ok(cfg) => crate::daemon::run(cfg),
        Err((code, msg)) => {
            eprintln!("nodecast: {msg}");
            code
        }
    }
}
