//! `nodecast forecast`: forecast a timestamp,value CSV from its end.

/// Arguments of `nodecast forecast`.
#[derive(clap::Args, Debug, Clone)]
pub struct ForecastArgs {}

/// Runs the subcommand; returns the process exit code (0 ok, 2 bad input).
pub fn run(_args: &ForecastArgs) -> i32 {
    0
}
