//! Temporary entry point for `forecast`/`backtest` until they are wired into `nodecast`.
use clap::Parser;
use nodecast::cli::{backtest_cmd, forecast_cmd};

#[derive(Parser)]
enum Cmd {
    Forecast(forecast_cmd::ForecastArgs),
    Backtest(backtest_cmd::BacktestArgs),
}

fn main() {
    let code = match Cmd::parse() {
        Cmd::Forecast(a) => forecast_cmd::run(&a),
        Cmd::Backtest(a) => backtest_cmd::run(&a),
    };
    std::process::exit(code);
}
