//! The detectors walked forward through one series on its regular grid. The anomaly
//! score goes through the daemon's own path: `assess_series` on the history before
//! a cycle (with the daemon's horizon, and `auto`'s choice reused for
//! [`RECHOOSE_AFTER_STEPS`] as the daemon does), `anomaly::Tracker::expect` on its
//! published path, `observe` on each bucket once it is complete. The daemon refits
//! every cycle (every bucket by default); `refit_every` 1 is exactly that, larger
//! values are faster and judge a bucket by forecasts 1 to `refit_every` buckets
//! ahead instead of [`EXPECT_BUCKETS`] ahead.

use crate::forecast::auto::Choice;
use crate::predict::anomaly::{Params, Path, Tracker, EXPECT_BUCKETS};
use crate::predict::series::{
    assess_series, History, Settings, MAX_FORECAST_POINTS, RECHOOSE_AFTER_STEPS,
};
use crate::store::Window;

/// Per-bucket anomaly scores (NaN before the first forecast, or where the forecast
/// failed). `values` is the regular grid (NaN = gap), `start_ms` its first bucket.
/// `s.horizon` should be the daemon's (`forecast.horizon`): `auto` ranks its
/// candidates over it, so a shorter one picks other models than the agent would.
pub fn scores(
    values: &[f64],
    start_ms: i64,
    step_ms: i64,
    s: &Settings,
    refit_every: usize,
    p: &Params,
) -> Vec<f64> {
    // Every bucket needs an expectation: refits at most EXPECT_BUCKETS apart.
    let refit_every = refit_every.clamp(1, EXPECT_BUCKETS);
    let mut out = vec![f64::NAN; values.len()];
    let mut tracker = Tracker::new();
    let mut choice: Option<(Choice, i64)> = None;
    let mut j = 1;
    while j < values.len() {
        let from = j.saturating_sub(MAX_FORECAST_POINTS as usize);
        let window = Window {
            start_ms: start_ms + from as i64 * step_ms,
            step_ms,
            values: values[from..j].to_vec(),
        };
        // The cycle runs as bucket j begins: everything before it is complete.
        let now = start_ms + j as i64 * step_ms;
        let history = History {
            window: &window,
            raw: None,
            latest: None,
            capacity: None,
            reuse: choice
                .as_ref()
                .filter(|(_, at)| now - at < RECHOOSE_AFTER_STEPS * step_ms)
                .map(|(c, _)| c),
        };
        if let Ok(Some(mut a)) = assess_series(&history, None, false, now, s) {
            if let Some(c) = a.choice.take() {
                let reused = history.reuse.is_some_and(|r| r.members == c.members);
                let at = match &choice {
                    Some((_, at)) if reused => *at,
                    _ => now,
                };
                choice = Some((c, at));
            }
            tracker.expect(
                &Path {
                    start_ms: a.start_ms,
                    step_ms: a.step_ms,
                    mean: &a.mean,
                    lower: &a.lower,
                    upper: &a.upper,
                    level: s.level,
                },
                EXPECT_BUCKETS,
            );
        }
        let end = (j + refit_every).min(values.len());
        for (k, slot) in out.iter_mut().enumerate().take(end).skip(j) {
            let mid = start_ms + k as i64 * step_ms + step_ms / 2;
            tracker.observe([(mid, values[k])], step_ms, p);
            *slot = tracker.score().unwrap_or(f64::NAN);
        }
        j = end;
    }
    out
}

/// |z| of each value against the mean and standard deviation of the `window` values
/// before it (NaN until half the window is observed, or on a flat window).
pub fn rolling_z(values: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(2);
    let mut out = vec![f64::NAN; values.len()];
    let (mut n, mut sum, mut sq) = (0usize, 0.0, 0.0);
    for i in 0..values.len() {
        if i > window {
            let old = values[i - window - 1];
            if old.is_finite() {
                n -= 1;
                sum -= old;
                sq -= old * old;
            }
        }
        if i >= 1 {
            let new = values[i - 1];
            if new.is_finite() {
                n += 1;
                sum += new;
                sq += new * new;
            }
        }
        let x = values[i];
        if n * 2 < window || !x.is_finite() {
            continue;
        }
        let mean = sum / n as f64;
        let var = (sq / n as f64 - mean * mean).max(0.0);
        let sd = var.sqrt();
        if sd > 1e-12 * mean.abs().max(1.0) {
            out[i] = (x - mean).abs() / sd;
        }
    }
    out
}

/// Empirical quantile (nearest rank) of the finite values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((q.clamp(0.0, 1.0) * (v.len() - 1) as f64).round()) as usize;
    Some(v[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_z_uses_only_the_past() {
        let mut v: Vec<f64> = (0..50)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        v.push(11.0);
        let z = rolling_z(&v, 10);
        assert!(z[..5].iter().all(|x| x.is_nan()));
        // Window of ±1: mean 0, sd 1.
        assert!((z[50] - 11.0).abs() < 1e-9, "{}", z[50]);
        assert!((z[40] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn quantile_nearest_rank() {
        let v = [3.0, f64::NAN, 1.0, 2.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(5.0));
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
