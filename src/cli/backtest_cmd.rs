//! `nodecast backtest`: score models on M4 files or rolling origins over CSVs.

/// Arguments of `nodecast backtest`.
#[derive(clap::Args, Debug, Clone)]
pub struct BacktestArgs {}

/// Runs the subcommand; returns the process exit code (0 ok, 2 bad input).
pub fn run(_args: &BacktestArgs) -> i32 {
    0
}

pub mod data;
