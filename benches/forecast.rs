//! Forecast engine speed: Theta over all 414 M4 hourly series, and fit+predict on a
//! week at 5 minutes (2016 points) and 35 days (10080 points) of a real NAB series.
//! Data: $NODECAST_DATA_DIR or <manifest>/data.

use std::{hint::black_box, path::PathBuf, time::Instant};

use augurs::{Fit, Predict};
use criterion::{criterion_group, criterion_main, Criterion};
use nodecast::{
    cli::backtest_cmd::data::{read_m4, read_timestamp_value},
    forecast::{forecast, snaive::SNaive, theta::Theta, ModelKind, SeriesInput},
};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("NODECAST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"));
    assert!(
        dir.join("m4-hourly").is_dir(),
        "bench data not found at {}",
        dir.display()
    );
    dir
}

fn m4_all(c: &mut Criterion) {
    let train =
        read_m4(&data_dir().join("m4-hourly/Hourly-train.csv")).unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("m4_hourly_414_series");
    g.sample_size(20);
    g.bench_function("theta", |b| {
        b.iter(|| {
            for (_, y) in &train {
                black_box(
                    Theta::thetaf(Some(24))
                        .fit(y)
                        .unwrap()
                        .predict(48, 0.95)
                        .unwrap(),
                );
            }
        })
    });
    g.bench_function("snaive", |b| {
        b.iter(|| {
            for (_, y) in &train {
                black_box(
                    SNaive { period: 24 }
                        .fit(y)
                        .unwrap()
                        .predict(48, 0.95)
                        .unwrap(),
                );
            }
        })
    });
    g.sample_size(10);
    g.bench_function("auto", |b| {
        b.iter(|| {
            for (_, y) in &train {
                let input = SeriesInput {
                    values: y,
                    step_secs: 3600.0,
                    seasons: None,
                };
                black_box(forecast(&input, 48, 0.95, ModelKind::Auto).unwrap());
            }
        })
    });
    g.finish();
}

fn five_minute(c: &mut Criterion) {
    let week = read_timestamp_value(&data_dir().join("nab/ec2_cpu_utilization_24ae8d.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let y2016 = &week.values[week.values.len() - 2016..];
    // nyc_taxi is half-hourly; relabelled as 5-minute steps it stands in for 35 days.
    let taxi = read_timestamp_value(&data_dir().join("nab/nyc_taxi.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let y10080 = &taxi.values[taxi.values.len() - 10080..];
    let mut g = c.benchmark_group("fit_predict_5min");
    g.sample_size(20);
    for (name, y) in [("2016", y2016), ("10080", y10080)] {
        for model in [ModelKind::Theta, ModelKind::SNaive, ModelKind::Auto] {
            let input = SeriesInput {
                values: y,
                step_secs: 300.0,
                seasons: None,
            };
            g.bench_function(format!("{model}/{name}"), |b| {
                b.iter(|| black_box(forecast(&input, 288, 0.95, model).unwrap()))
            });
        }
    }
    g.finish();
    // One plain figure per size for the docs, outside criterion's statistics.
    for (name, y) in [("2016", y2016), ("10080", y10080)] {
        let input = SeriesInput {
            values: y,
            step_secs: 300.0,
            seasons: None,
        };
        let t = Instant::now();
        let o = forecast(&input, 288, 0.95, ModelKind::Auto).unwrap();
        println!(
            "auto on {name} points chose {} in {:?}",
            o.model,
            t.elapsed()
        );
    }
}

/// statsforecast's Theta on the same 414 series, timed by Python in this run, when it
/// is installed (`pip install statsforecast`; `$NODECAST_PEER_PYTHON` names the
/// interpreter, default `python3`); prints the ratio to ours.
const STATSFORECAST: &str = r#"
import sys, time
import numpy as np
from statsforecast.models import Theta
series = []
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        cells = [c.strip().strip('"') for c in line.split(',')[1:]]
        series.append(np.array([float(c) for c in cells if c not in ('', 'NA')]))
model = Theta(season_length=24)
model.forecast(series[0], h=48, level=[95])  # JIT warm-up, not timed
t = time.perf_counter()
for y in series:
    model.forecast(y, h=48, level=[95])
print(time.perf_counter() - t)
"#;

fn peer_ratio(_c: &mut Criterion) {
    let path = data_dir().join("m4-hourly/Hourly-train.csv");
    let train = read_m4(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut ours = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for (_, y) in &train {
            black_box(
                Theta::thetaf(Some(24))
                    .fit(y)
                    .unwrap()
                    .predict(48, 0.95)
                    .unwrap(),
            );
        }
        ours.push(t.elapsed().as_secs_f64());
    }
    ours.sort_by(f64::total_cmp);
    let ours = ours[2];
    let python = std::env::var("NODECAST_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(STATSFORECAST)
        .arg(&path)
        .output();
    let peer = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<f64>()
            .ok(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            println!(
                "statsforecast not run: {}",
                err.lines().last().unwrap_or("python3 failed")
            );
            None
        }
        Err(e) => {
            println!("statsforecast not run: python3: {e}");
            None
        }
    };
    match peer {
        Some(p) => println!("theta over 414 M4 hourly series: nodecast {ours:.4} s, statsforecast {p:.4} s, ratio {:.0}x", p / ours),
        None => println!("theta over 414 M4 hourly series: nodecast {ours:.4} s (no peer)"),
    }
}

criterion_group!(benches, m4_all, five_minute, peer_ratio);
criterion_main!(benches);
