//! The anomaly score through the daemon's path (`assess_series` → `Tracker`), on a
//! generated seasonal series with and without an injected anomaly, and on NAB.
//! `cargo test --release --test anomaly_score -- --nocapture`

use std::path::PathBuf;
use std::time::Duration;

use nodecast::cli::anomaly_cmd::{self, walk, AnomalyEvalArgs, METHODS};
use nodecast::forecast::ModelKind;
use nodecast::predict::anomaly::{ALERT_THRESHOLD, DEFAULT};
use nodecast::predict::series::Settings;

const STEP_MS: i64 = 300_000;
const DAY: usize = 288;

/// Days of a daily cycle at 5 minutes with seeded Gaussian-ish noise.
fn seasonal(days: usize, seed: u64) -> Vec<f64> {
    let mut x = seed;
    let mut noise = || {
        // Sum of four uniforms: close enough to normal, no dependency.
        (0..4)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .sum::<f64>()
    };
    (0..days * DAY)
        .map(|i| {
            let phase = (i % DAY) as f64 / DAY as f64 * std::f64::consts::TAU;
            50.0 + 20.0 * phase.sin() + 2.0 * noise()
        })
        .collect()
}

fn scores(values: &[f64]) -> Vec<f64> {
    let s = Settings {
        // The daemon's default forecast.horizon: auto ranks its models over it.
        horizon: Duration::from_secs(24 * 3600),
        min_history: Duration::from_secs(6 * 3600),
        level: 0.95,
        model: ModelKind::Auto,
        exhaustion_only: false,
    };
    // Refit every bucket, as the daemon does with its default 5m interval and step.
    walk::scores(values, 1_400_000_000_000, STEP_MS, &s, 1, &DEFAULT)
}

fn max_in(s: &[f64], from: usize, to: usize) -> f64 {
    s[from..to]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

#[test]
fn injected_spike_and_level_shift_score_high_clean_series_stays_below() {
    // The first two days have no usable daily season yet: their forecasts fit
    // badly and raise the robust scale, which then takes days to settle
    // (docs/anomaly.md). The anomalies go on day 5, as on a running agent.
    let days = 6;
    let clean = seasonal(days, 7);
    let c = scores(&clean);
    // Scored from the second day: the first day's forecasts have no season yet.
    let quiet = max_in(&c, DAY, clean.len());
    println!(
        "clean: max score {quiet:.2} (threshold {ALERT_THRESHOLD}); day 2 {:.2}, days 3-{days} {:.2}",
        max_in(&c, DAY, 2 * DAY),
        max_in(&c, 2 * DAY, clean.len())
    );
    assert!(quiet < ALERT_THRESHOLD, "clean series scored {quiet:.2}");

    // A one-hour burst of about 13 noise σ (σ of the noise ≈ 1.15).
    let at = 4 * DAY + 100;
    let mut spiked = clean.clone();
    for v in &mut spiked[at..at + 12] {
        *v += 15.0;
    }
    let s = scores(&spiked);
    let peak = max_in(&s, at, at + 12);
    println!(
        "spike: max score {peak:.2}; before it {:.2}",
        max_in(&s, DAY, at)
    );
    assert!(peak > ALERT_THRESHOLD, "spike scored {peak:.2}");
    assert!(max_in(&s, DAY, at) < ALERT_THRESHOLD);
    // It decays: two hours later the series is back to normal.
    let after = max_in(&s, at + 36, at + 60);
    assert!(
        after < ALERT_THRESHOLD,
        "score {after:.2} two hours after the spike"
    );

    // A level shift of +12 (about 10 noise σ) for the rest of the series.
    let mut shifted = clean.clone();
    for v in &mut shifted[at..] {
        *v += 12.0;
    }
    let s = scores(&shifted);
    let peak = max_in(&s, at, at + 24);
    println!("shift: max score {peak:.2} within 2 h");
    assert!(peak > ALERT_THRESHOLD, "level shift scored {peak:.2}");
}

fn nab_args(only: &[&str]) -> AnomalyEvalArgs {
    let data = std::env::var_os("NODECAST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"));
    let input = data.join("nab");
    assert!(
        input.join("anomaly_windows.json").is_file(),
        "NAB data not found at {} (set NODECAST_DATA_DIR)",
        input.display()
    );
    AnomalyEvalArgs {
        input,
        windows: None,
        only: only.iter().map(|s| s.to_string()).collect(),
        refit_every: 1,
        model: ModelKind::Auto,
        level: 95.0,
        min_history: Duration::from_secs(6 * 3600),
        horizon: Duration::from_secs(24 * 3600),
        sustain: None,
        over: None,
        min_scale: None,
        max_scale: None,
        scale_reversion: None,
        scale_quantile: None,
        scale_gain: None,
        per_file: false,
    }
}

#[test]
fn nab_subset_runs_and_reports_every_method() {
    let cases = anomaly_cmd::cases(&nab_args(&[
        "ec2_cpu_utilization_24ae8d",
        "ec2_cpu_utilization_53ea38",
    ]))
    .unwrap();
    assert_eq!(cases.len(), 2);
    assert!(cases[0].tune && !cases[1].tune);
    for c in &cases {
        assert!(!c.windows.is_empty());
        // The score exists once the first forecast is made (6 h of history).
        let first = c.score.iter().position(|v| v.is_finite()).unwrap();
        assert!(first <= 6 * 12 + 12, "{}: first score at {first}", c.file);
        assert!(c
            .score
            .iter()
            .all(|v| v.is_nan() || (*v >= 0.0 && *v <= DEFAULT.clip)));
    }
    let summary = anomaly_cmd::summarize(&cases);
    for (m, (_, tune, held)) in summary.iter().enumerate() {
        println!(
            "{}: tune F1 {:.2}, held F1 {:.2} ({:?})",
            METHODS[m],
            tune.f1(),
            held.f1(),
            held
        );
    }
}

#[test]
fn rule_threshold_is_the_tuned_one() {
    let rules = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/prometheus/rules/nodecast.rules.yml"),
    )
    .unwrap();
    let expr = format!("expr: nodecast_anomaly_score > {ALERT_THRESHOLD}");
    assert!(rules.contains(&expr), "rules file lacks {expr:?}");
}
