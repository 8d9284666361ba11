//! Command line: `run` (the agent), `check-config`, `forecast`, `backtest`, `completions`.
pub mod backtest_cmd;
pub mod forecast_cmd;
