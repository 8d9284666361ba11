//! The `forecast()` entry point the daemon calls, and the CLI's exit codes on real files.

mod forecast_common;

use std::io::Write;

use clap::Parser;
use forecast_common::data_dir;
use nodecast::{
    cli::{backtest_cmd, forecast_cmd},
    forecast::{forecast, ForecastError, ModelKind, SeriesInput},
};

fn daily(n: usize, step_secs: f64) -> Vec<f64> {
    let day = 86_400.0 / step_secs;
    (0..n)
        .map(|t| 50.0 + 10.0 * (t as f64 * std::f64::consts::TAU / day).sin() + 0.001 * t as f64)
        .collect()
}

#[test]
fn derives_the_daily_season_from_the_step_and_reports_imputation() {
    let mut y = daily(288 * 4, 300.0);
    y[..10].fill(f64::NAN); // leading gap: trimmed, not imputed
    y[500..536].fill(f64::NAN); // 3-hour outage: seasonal fill
    y[700] = f64::NAN;
    let input = SeriesInput {
        values: &y,
        step_secs: 300.0,
        seasons: None,
    };
    for kind in [ModelKind::SNaive, ModelKind::Theta, ModelKind::Auto] {
        let out = forecast(&input, 288, 0.9, kind).unwrap();
        assert_eq!(out.season, Some(288));
        assert_eq!(out.history_len, y.len() - 10);
        assert!((out.imputed_fraction - 37.0 / (y.len() - 10) as f64).abs() < 1e-12);
        assert_eq!(out.forecast.point.len(), 288);
        let iv = out.forecast.intervals.as_ref().unwrap();
        assert_eq!(iv.level, 0.9);
        // The cycle is smooth and exactly periodic: every model should land close.
        for (i, p) in out.forecast.point.iter().enumerate() {
            let truth = daily(y.len() + 288, 300.0)[y.len() + i];
            assert!((p - truth).abs() < 1.0, "{kind:?} step {i}: {p} vs {truth}");
            assert!(iv.lower[i] <= *p && *p <= iv.upper[i]);
        }
        if kind != ModelKind::Auto {
            assert_eq!(out.model, kind);
        }
    }
}

#[test]
fn typed_errors_for_short_or_missing_history() {
    let y = daily(10, 300.0);
    let r = forecast(
        &SeriesInput {
            values: &y,
            step_secs: 300.0,
            seasons: None,
        },
        5,
        0.95,
        ModelKind::Auto,
    );
    assert_eq!(
        r.unwrap_err(),
        ForecastError::NotEnoughHistory { have: 10, need: 16 }
    );
    let mut y = daily(400, 300.0);
    for (i, v) in y.iter_mut().enumerate() {
        if i % 3 != 0 {
            *v = f64::NAN;
        }
    }
    match forecast(
        &SeriesInput {
            values: &y,
            step_secs: 300.0,
            seasons: None,
        },
        5,
        0.95,
        ModelKind::Theta,
    ) {
        Err(ForecastError::MostlyMissing { missing_fraction }) => assert!(missing_fraction > 0.6),
        other => panic!("expected MostlyMissing, got {other:?}"),
    }
}

#[test]
fn model_names_round_trip() {
    for k in ModelKind::ALL {
        assert_eq!(k.to_string().parse::<ModelKind>().unwrap(), k);
    }
    assert!("prophet".parse::<ModelKind>().is_err());
}

#[derive(Parser)]
enum Cmd {
    Forecast(forecast_cmd::ForecastArgs),
    Backtest(backtest_cmd::BacktestArgs),
}

fn run(args: &[&str]) -> i32 {
    let mut full = vec!["nodecast"];
    full.extend_from_slice(args);
    match Cmd::try_parse_from(full).unwrap() {
        Cmd::Forecast(a) => forecast_cmd::run(&a),
        Cmd::Backtest(a) => backtest_cmd::run(&a),
    }
}

#[test]
fn cli_exit_codes_on_good_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        p.to_string_lossy().into_owned()
    };
    let bad = [
        write("nocol.csv", "timestamp,val\n2014-01-01 00:00:00,1\n"),
        write(
            "num.csv",
            "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,abc\n",
        ),
        write(
            "ts.csv",
            "timestamp,value\n2014-01-01 00:00:00,1\nnot-a-time,2\n",
        ),
        write("empty.csv", ""),
    ];
    for f in &bad {
        assert_eq!(run(&["forecast", "--input", f, "--horizon", "3"]), 2, "{f}");
        assert_eq!(run(&["backtest", "--input", f, "--horizon", "3"]), 2, "{f}");
    }
    let nab = data_dir().join("nab/ec2_cpu_utilization_24ae8d.csv");
    let nab = nab.to_string_lossy();
    assert_eq!(
        run(&[
            "forecast",
            "--input",
            &nab,
            "--horizon",
            "1h",
            "--model",
            "theta"
        ]),
        0
    );
    assert_eq!(
        run(&[
            "forecast",
            "--input",
            &nab,
            "--horizon",
            "1h",
            "--format",
            "json"
        ]),
        0
    );
    assert_eq!(
        run(&[
            "backtest",
            "--input",
            &nab,
            "--horizon",
            "24h",
            "--origins",
            "1",
            "--models",
            "snaive,theta"
        ]),
        0
    );
    let m4 = data_dir().join("m4-hourly");
    let (tr, te) = (m4.join("Hourly-train.csv"), m4.join("Hourly-test.csv"));
    let (tr, te) = (tr.to_string_lossy(), te.to_string_lossy());
    let m4_args = [
        "backtest",
        "--m4-train",
        &tr,
        "--m4-test",
        &te,
        "--season",
        "24",
        "--limit",
        "3",
    ];
    assert_eq!(
        run(&[
            &m4_args[..],
            &[
                "--horizon",
                "48",
                "--models",
                "snaive,theta,auto",
                "--format",
                "json"
            ]
        ]
        .concat()),
        0
    );
    // The M4 test files hold 48 values: a longer horizon is bad input.
    assert_eq!(run(&[&m4_args[..], &["--horizon", "49"]].concat()), 2);
    // Fewer than 16 points: a forecast error, not bad input.
    let short = write(
        "short.csv",
        &(0..5)
            .map(|i| format!("{i}00,{i}\n"))
            .fold("timestamp,value\n".into(), |a: String, l| a + &l),
    );
    assert_eq!(run(&["forecast", "--input", &short, "--horizon", "2"]), 1);
}
