//! Command line: `run` (the agent, also the default), `check-config`, `forecast`,
//! `backtest`, `replay`, `completions`.
//!
//! Agent settings are built from [`crate::config::settings::SETTINGS`] with clap's
//! builder API because the `--collector.<name>` flags come from the collector registry.

pub mod backtest_cmd;
pub mod forecast_cmd;
pub mod replay_cmd;

use std::ffi::OsString;

use clap::builder::ValueParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::config::file::{self, Entry};
use crate::config::settings::{env_name, validate, ValueKind, SETTINGS};
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
            .help(s.help)
            .env(env_name(s.name));
        if s.kind == ValueKind::Switch {
            arg = arg.action(ArgAction::SetTrue);
        } else {
            let kind = s.kind;
            arg = arg
                .value_name(value_name(kind))
                .value_parser(ValueParser::new(move |v: &str| {
                    validate(kind, v).map(|_| v.to_string())
                }));
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

fn value_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Duration => "DURATION",
        ValueKind::DurationList => "DURATIONS",
        ValueKind::Path => "PATH",
        ValueKind::Bytes => "N",
        ValueKind::Regex => "REGEX",
        _ => "VALUE",
    }
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
            Command::new("check-config")
                .about("Validate a config file: exit 0, or 2 naming the offending key")
                .arg(Arg::new("file").required(true).value_name("FILE")),
        )
        .subcommand(forecast_cmd::ForecastArgs::augment_args(
            Command::new("forecast").about("Forecast a timestamp,value CSV from its end"),
        ))
        .subcommand(backtest_cmd::BacktestArgs::augment_args(
            Command::new("backtest")
                .about("Score forecasting models on M4 files or rolling origins over CSVs"),
        ))
        .subcommand(replay_cmd::ReplayArgs::augment_args(
            Command::new("replay")
                .about("Replay recorded histories through the assessment and the alert rules"),
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

/// Turns file entries not already set by a flag or the environment into flags.
fn file_entries_as_flags(entries: &[Entry], m: &ArgMatches) -> Vec<OsString> {
    let explicit = |id: &str| {
        matches!(
            m.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let mut out = Vec::new();
    for e in entries {
        if let Some(name) = e
            .key
            .strip_prefix("collector.")
            .filter(|n| collector_names().contains(n))
        {
            if explicit(&e.key) || explicit(&format!("no-collector.{name}")) {
                continue;
            }
            let flag = if e.value == "true" {
                format!("--collector.{name}")
            } else {
                format!("--no-collector.{name}")
            };
            out.push(flag.into());
        } else if !explicit(&e.key) {
            let switch = SETTINGS
                .iter()
                .any(|s| s.name == e.key && s.kind == ValueKind::Switch);
            if !switch {
                out.push(format!("--{}={}", e.key, e.value).into());
            } else if e.value == "true" {
                out.push(format!("--{}", e.key).into());
            }
        }
    }
    out
}

/// Parses the agent's flags, environment and config file into a [`Config`].
pub fn resolve_agent_config(argv: &[OsString], m: &ArgMatches) -> Result<Config, (i32, String)> {
    let Some(path) = m.get_one::<String>("config") else {
        return Config::from_matches(m).map_err(|e| (EXIT_USAGE, e));
    };
    let entries =
        file::load(path.as_ref(), &collector_names()).map_err(|e| (EXIT_USAGE, e.to_string()))?;
    let mut argv = argv.to_vec();
    argv.extend(file_entries_as_flags(&entries, m));
    let merged = command()
        .try_get_matches_from(argv)
        .map_err(|e| (EXIT_USAGE, e.to_string()))?;
    let agent = merged.subcommand_matches("run").unwrap_or(&merged);
    Config::from_matches(agent).map_err(|e| (EXIT_USAGE, e))
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
            let Some(path) = sub.get_one::<String>("file") else {
                return EXIT_USAGE;
            };
            match file::load(path.as_ref(), &collector_names()) {
                Ok(entries) => {
                    println!("{path}: ok ({} settings)", entries.len());
                    0
                }
                Err(e) => {
                    eprintln!("{e}");
                    EXIT_USAGE
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
        Some(("replay", sub)) => match replay_cmd::ReplayArgs::from_arg_matches(sub) {
            Ok(args) => replay_cmd::run(&args),
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
        Some(("run", sub)) => run_agent(&argv, sub),
        _ => run_agent(&argv, &m),
    }
}

fn run_agent(argv: &[OsString], m: &ArgMatches) -> i32 {
    match resolve_agent_config(argv, m) {
        Ok(cfg) => crate::daemon::run(cfg),
        Err((code, msg)) => {
            eprintln!("nodecast: {msg}");
            code
        }
    }
}
