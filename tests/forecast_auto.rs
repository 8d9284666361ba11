//! `auto` on M4 hourly (OWA target, robustness to gaps) and on NAB rolling origins.

mod forecast_common;

use forecast_common::{data_dir, m4_owa, m4_scores, Rng};
use nodecast::{
    cli::backtest_cmd::data::read_timestamp_value,
    forecast::{forecast, score, ModelKind, SeriesInput},
};

#[test]
fn auto_beats_the_owa_target_and_survives_gaps() {
    let clean = m4_owa(m4_scores(ModelKind::Auto, |_, _| {}));
    // 10% of points at random and one 12-hour outage per series, away from both ends.
    let holed = m4_owa(m4_scores(ModelKind::Auto, |i, y| {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
        let n = y.len();
        let a = 24 + (rng.unit() * (n - 72) as f64) as usize;
        y[a..a + 12].fill(f64::NAN);
        for v in y[1..n - 1].iter_mut() {
            if rng.unit() < 0.1 {
                *v = f64::NAN;
            }
        }
    }));
    println!(
        "auto OWA on M4 hourly: clean {clean:.4}, with gaps {holed:.4} ({:+.1}%)",
        (holed / clean - 1.0) * 100.0
    );
    assert!(clean <= 0.55, "OWA {clean}");
    assert!(holed <= clean * 1.05, "OWA with gaps {holed} vs {clean}");
}

#[test]
fn auto_at_least_as_good_as_snaive_and_theta_on_nab() {
    let dir = data_dir().join("nab");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "csv"));
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the NAB series in {}",
        dir.display()
    );
    let models = [ModelKind::SNaive, ModelKind::Theta, ModelKind::Auto];
    let mut mase = [0.0; 3];
    let mut count = 0;
    for f in &files {
        let g = read_timestamp_value(f).unwrap_or_else(|e| panic!("{e}"));
        let h = (86_400 / g.step_secs) as usize;
        for k in 1..=3 {
            let origin = g.values.len() - k * h;
            let (train, actual) = (&g.values[..origin], &g.values[origin..origin + h]);
            let scale = score::mase_scale(train, h);
            for (j, m) in models.iter().enumerate() {
                let input = SeriesInput {
                    values: train,
                    step_secs: g.step_secs as f64,
                    seasons: None,
                };
                let out = forecast(&input, h, 0.95, *m)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                let mae = actual
                    .iter()
                    .zip(&out.forecast.point)
                    .map(|(a, p)| (a - p).abs())
                    .sum::<f64>()
                    / h as f64;
                mase[j] += mae / scale;
            }
            count += 1;
        }
    }
    let mase = mase.map(|m| m / count as f64);
    println!(
        "NAB 24 h rolling origin MASE: snaive {:.3}, theta {:.3}, auto {:.3}",
        mase[0], mase[1], mase[2]
    );
    assert!(
        mase[2] <= mase[0].min(mase[1]),
        "auto {:.3} vs snaive {:.3} / theta {:.3}",
        mase[2],
        mase[0],
        mase[1]
    );
}

/// `auto`'s intervals are calibrated on its validation errors: uncalibrated, the chosen
/// model's 95% band covered 91.2% of M4 hourly and its 80% band 79.4%.
#[test]
fn auto_intervals_cover_close_to_their_level_on_m4() {
    let (train, test) = forecast_common::m4();
    for (level, floor) in [(0.95, 0.93), (0.8, 0.8)] {
        let (mut covered, mut total) = (0usize, 0usize);
        for ((_, y), (_, a)) in train.iter().zip(&test) {
            let input = SeriesInput {
                values: y,
                step_secs: 3600.0,
                seasons: None,
            };
            let out =
                forecast(&input, 48, level, ModelKind::Auto).unwrap_or_else(|e| panic!("{e}"));
            let iv = out.forecast.intervals.expect("auto returns intervals");
            for (i, v) in a[..48].iter().enumerate() {
                covered += usize::from(iv.lower[i] <= *v && *v <= iv.upper[i]);
                total += 1;
            }
        }
        let c = covered as f64 / total as f64;
        println!(
            "auto {:.0}% intervals cover {:.1}% of M4 hourly",
            level * 100.0,
            c * 100.0
        );
        assert!(c >= floor, "{level}: coverage {c}");
    }
}
