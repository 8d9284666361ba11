//! `auto`: per-series model choice by rolling-origin validation on the series' own
//! history. Each candidate forecasts the last two horizons of the training data from
//! their origins; the one with the lowest OWA against Naive2 there (the M4 measure,
//! which balances relative and scaled errors) is refitted on all of it.
//!
//! Node metrics differ in what dominates: a stable daily shape (seasonal means), a
//! drifting level (level-shifted means, Theta), or weekday effects (weekly variants).
//! No single model wins across them; the series' own recent past picks well.
//!
//! The chosen model's own intervals assume it is the true model, and after a choice
//! among nine they under-cover (91% for a nominal 95% on M4 hourly). The same
//! validation errors therefore calibrate them: the band is widened, never narrowed,
//! until it would have covered `level` of the validation points (a split-conformal
//! correction on the standardised errors).

use augurs::Forecast;

use super::{fit_predict, score, stats, ForecastError, ModelKind};

/// Validation origins: two horizons back and one horizon back.
const ORIGINS: usize = 2;
/// Level of the validation fits' intervals (only their width per step is used).
const VALIDATION_LEVEL: f64 = 0.95;
/// Bound on points × weekly period for the validation fits (see `choose`).
const VALIDATION_BUDGET: usize = 8_000_000;

/// Candidates usable on `n` points given the seasons (daily first, weekly second).
pub fn candidates(seasons: &[usize], n: usize, horizon: usize) -> Vec<ModelKind> {
    use ModelKind::*;
    let Some(&day) = seasons.first() else {
        return vec![SNaive, Theta, SNaiveDrift];
    };
    let mut c = vec![SNaive, SMean, SMeanLevel, Theta, SNaiveDrift];
    // Weekly models need two weeks before the earliest validation origin.
    if let Some(&week) = seasons.get(1) {
        if n >= 2 * week + ORIGINS * horizon + day {
            c.extend([SNaiveWeek, SMeanWeek, SMeanWeekLevel, ThetaWeek]);
        }
    }
    c
}

/// `observed` marks the points that were not gap-filled; validation scores only those,
/// so a model is not rewarded for reproducing the imputation.
pub fn forecast(
    y: &[f64],
    observed: &[bool],
    seasons: &[usize],
    horizon: usize,
    level: f64,
) -> Result<(ModelKind, Forecast), ForecastError> {
    let (chosen, errors) = choose(y, observed, seasons, horizon);
    let mut f =
        fit_predict(chosen, y, seasons, horizon, level).map_err(|e| ForecastError::Model(e.0))?;
    widen(&mut f, interval_scale(errors, level));
    Ok((chosen, f))
}

/// Factor (≥ 1) by which a band at `level` must widen so that it would have covered
/// `level` of the validation points, given their errors in standard errors.
pub fn interval_scale(mut errors: Vec<f64>, level: f64) -> f64 {
    errors.retain(|e| e.is_finite());
    // Fewer points than this say little about a tail quantile.
    if errors.len() < 20 {
        return 1.0;
    }
    errors.sort_by(f64::total_cmp);
    // The conformal quantile: the ⌈(n+1)·level⌉-th smallest.
    let n = errors.len();
    let k = (((n + 1) as f64 * level).ceil() as usize).clamp(1, n);
    (errors[k - 1] / stats::z_for_level(level)).max(1.0)
}

fn widen(f: &mut Forecast, scale: f64) {
    if scale <= 1.0 {
        return;
    }
    if let Some(iv) = f.intervals.as_mut() {
        for ((lo, hi), p) in iv.lower.iter_mut().zip(iv.upper.iter_mut()).zip(&f.point) {
            *lo = p - (p - *lo) * scale;
            *hi = p + (*hi - p) * scale;
        }
    }
}

/// The candidate with the lowest summed validation OWA, with its validation errors in
/// units of its own standard error; the seasonal naive (or Theta without a season) and
/// no errors when the history is too short to validate.
pub fn choose(
    y: &[f64],
    observed: &[bool],
    seasons: &[usize],
    horizon: usize,
) -> (ModelKind, Vec<f64>) {
    let n = y.len();
    let fallback = if seasons.is_empty() {
        ModelKind::Theta
    } else {
        ModelKind::SNaive
    };
    let min_train = seasons
        .first()
        .map_or(super::MIN_HISTORY, |d| 2 * d)
        .max(super::MIN_HISTORY);
    if n < min_train + ORIGINS * horizon {
        return (fallback, Vec::new());
    }
    let cands = candidates(seasons, n, horizon);
    let mut total = vec![0.0; cands.len()];
    let mut errors = vec![Vec::new(); cands.len()];
    let z = stats::z_for_level(VALIDATION_LEVEL);
    // The weekly Theta's seasonality test costs O(n·week): on 35 days at 5 minutes it
    // dominates. Validation fits therefore see at most VALIDATION_BUDGET / week points,
    // but never less than three weeks; short weeks (M4's 168 hours) are not capped.
    let window = seasons.get(1).map_or(usize::MAX, |w| {
        (3 * w + ORIGINS * horizon).max(VALIDATION_BUDGET / w)
    });
    for k in 1..=ORIGINS {
        let o = n - k * horizon;
        let train = &y[o.saturating_sub(window)..o];
        let keep: Vec<usize> = (o..o + horizon)
            .filter(|&t| observed.get(t).copied().unwrap_or(true))
            .collect();
        if keep.is_empty() {
            continue;
        }
        let actual: Vec<f64> = keep.iter().map(|&t| y[t]).collect();
        let pick = |f: &Forecast| keep.iter().map(|&t| f.point[t - o]).collect::<Vec<f64>>();
        let Ok(base) = fit_predict(ModelKind::Naive2, train, seasons, horizon, VALIDATION_LEVEL)
        else {
            return (fallback, Vec::new());
        };
        let base = pick(&base);
        let s2 = score::smape(&actual, &base).max(1e-9);
        let m2 = mae(&actual, &base).max(1e-12);
        for ((c, t), errs) in cands.iter().zip(total.iter_mut()).zip(errors.iter_mut()) {
            *t += match fit_predict(*c, train, seasons, horizon, VALIDATION_LEVEL) {
                Ok(f) => {
                    let p = pick(&f);
                    if let Some(iv) = &f.intervals {
                        errs.extend(keep.iter().zip(&actual).filter_map(|(&t, a)| {
                            let se = (iv.upper[t - o] - iv.lower[t - o]) / (2.0 * z);
                            (se > 0.0).then(|| (a - f.point[t - o]).abs() / se)
                        }));
                    }
                    score::owa(score::smape(&actual, &p), mae(&actual, &p), s2, m2)
                }
                Err(_) => f64::INFINITY,
            };
        }
    }
    let best = total
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1));
    match best {
        Some((i, _)) => (cands[i], std::mem::take(&mut errors[i])),
        None => (fallback, Vec::new()),
    }
}

fn mae(a: &[f64], f: &[f64]) -> f64 {
    a.iter().zip(f).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard-normal quantiles at evenly spaced probabilities: a sample that is
    /// exactly calibrated.
    fn calibrated(n: usize) -> Vec<f64> {
        (1..=n)
            .map(|i| stats::z_for_level(i as f64 / (n + 1) as f64))
            .collect()
    }

    #[test]
    fn calibrated_errors_leave_the_band_alone() {
        let s = interval_scale(calibrated(199), 0.95);
        assert!((1.0..1.05).contains(&s), "{s}");
    }

    #[test]
    fn errors_twice_the_claimed_spread_double_the_band() {
        let e: Vec<f64> = calibrated(199).iter().map(|e| 2.0 * e).collect();
        let s = interval_scale(e.clone(), 0.95);
        assert!((1.9..2.1).contains(&s), "{s}");
        let s80 = interval_scale(e, 0.8);
        assert!((1.9..2.1).contains(&s80), "{s80}");
    }

    #[test]
    fn too_few_or_too_small_errors_never_narrow() {
        assert_eq!(interval_scale(vec![10.0; 5], 0.95), 1.0);
        assert_eq!(interval_scale(vec![0.1; 100], 0.95), 1.0);
        let mut f = Forecast {
            point: vec![10.0, 10.0],
            intervals: Some(augurs::ForecastIntervals {
                level: 0.95,
                lower: vec![9.0, 8.0],
                upper: vec![11.0, 12.0],
            }),
        };
        widen(&mut f, 1.5);
        let iv = f
            .intervals
            .as_ref()
            .map(|iv| (iv.lower.clone(), iv.upper.clone()));
        assert_eq!(iv, Some((vec![8.5, 7.0], vec![11.5, 13.0])));
    }
}
