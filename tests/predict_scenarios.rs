//! The daemon's forecast → exhaustion path on the two disk patterns the alert
//! rules are tested with: a log-rotation sawtooth (must not predict exhaustion)
//! and a steady fill (must predict it, close to the truth). Same functions the
//! forecast loop calls: `forecast::forecast` with `auto`, then `predict::exhaustion::assess`.
use nodecast::forecast::{forecast, ModelKind, SeriesInput};
use nodecast::predict::exhaustion::assess;

const STEP: f64 = 300.0;
const PER_DAY: usize = 288;
const GB: f64 = 1e9;

/// Deterministic small noise so the series is not perfectly clean.
fn noise(i: usize) -> f64 {
    let x = (i as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.05 * GB
}

/// 40 GB free; from 16:00 to midnight logs eat 2.4 GB/h; logrotate empties them at midnight.
fn sawtooth(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let hour = (i % PER_DAY) as f64 * STEP / 3600.0;
            let used = if hour >= 16.0 {
                (hour - 16.0) * 2.4 * GB
            } else {
                0.0
            };
            40.0 * GB - used + noise(i)
        })
        .collect()
}

/// 60 GB free at the start, 0.5 GB/h steady growth plus a small daily wobble.
fn steady(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let h = i as f64 * STEP / 3600.0;
            let wobble = (2.0 * std::f64::consts::PI * h / 24.0).sin() * 0.3 * GB;
            60.0 * GB - 0.5 * GB * h + wobble + noise(i)
        })
        .collect()
}

fn tte_and_p(values: &[f64]) -> (f64, f64, String) {
    let input = SeriesInput {
        values,
        step_secs: STEP,
        seasons: None,
    };
    let horizon = PER_DAY; // 24 h, the daemon's default
    let o = forecast(&input, horizon, 0.95, ModelKind::Auto).expect("forecast");
    let iv = o.forecast.intervals.as_ref().expect("intervals");
    let e = assess(
        values[values.len() - 1],
        &o.forecast.point,
        &iv.lower,
        &iv.upper,
        STEP,
        0.95,
    );
    (
        e.time_to_exhaustion_seconds,
        e.probability,
        o.model.to_string(),
    )
}

#[test]
fn log_rotation_sawtooth_is_not_a_disk_filling_up() {
    let full = sawtooth(PER_DAY * 9);
    // Origins every two hours across the last day, including the steep evening ramp
    // where predict_linear over 6 h would call the disk doomed.
    for end_hour in (0..24).step_by(2) {
        let n = PER_DAY * 8 + end_hour * 12;
        let (tte, p, model) = tte_and_p(&full[..n]);
        assert!(
            tte.is_infinite(),
            "sawtooth at {end_hour}:00 predicted exhaustion in {tte} s (model {model})"
        );
        assert!(
            p < 0.5,
            "sawtooth at {end_hour}:00: exhaustion probability {p} (model {model})"
        );
    }
}

#[test]
fn steady_fill_is_predicted_close_to_the_truth() {
    // After 7 days: 60 - 84 = ... use 5 days of history: 60 - 60 = 0 at 120 h, so at 100 h, 20 h remain.
    let n = (100.0 * 3600.0 / STEP) as usize;
    let v = steady(n);
    let truth = v[n - 1] / (0.5 * GB) * 3600.0;
    let (tte, p, model) = tte_and_p(&v);
    assert!(tte.is_finite(), "steady fill not predicted (model {model})");
    let err = (tte - truth).abs() / truth;
    assert!(
        err < 0.25,
        "TTE {tte:.0} s vs truth {truth:.0} s ({:.0}% off, model {model})",
        err * 100.0
    );
    assert!(
        p > 0.8,
        "exhaustion within 24 h should be likely: p = {p} (model {model})"
    );
}
