//! `auto`: per-series model choice by rolling-origin validation on the series' own
//! history. Each candidate forecasts the last two horizons of the training data from
//! their origins; the one with the lowest OWA against Naive2 there (the M4 measure,
//! which balances relative and scaled errors) is refitted on all of it.
//!
//! Node metrics differ in what dominates: a stable daily shape (seasonal means), a
//! drifting level (level-shifted means, Theta), or weekday effects (weekly variants).
//! No single model wins across them; the series' own recent past picks well.

use augurs::Forecast;

use super::{fit_predict, score, ForecastError, ModelKind};

/// Validation origins: two horizons back and one horizon back.
const ORIGINS: usize = 2;
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
    let chosen = choose(y, observed, seasons, horizon);
    let f =
        fit_predict(chosen, y, seasons, horizon, level).map_err(|e| ForecastError::Model(e.0))?;
    Ok((chosen, f))
}

/// The candidate with the lowest summed validation OWA; the seasonal naive (or Theta
/// without a season) when the history is too short to validate.
pub fn choose(y: &[f64], observed: &[bool], seasons: &[usize], horizon: usize) -> ModelKind {
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
        return fallback;
    }
    let cands = candidates(seasons, n, horizon);
    let mut total = vec![0.0; cands.len()];
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
        let Ok(base) = fit_predict(ModelKind::Naive2, train, seasons, horizon, 0.95) else {
            return fallback;
        };
        let base = pick(&base);
        let s2 = score::smape(&actual, &base).max(1e-9);
        let m2 = mae(&actual, &base).max(1e-12);
        for (c, t) in cands.iter().zip(total.iter_mut()) {
            *t += match fit_predict(*c, train, seasons, horizon, 0.95) {
                Ok(f) => {
                    let p = pick(&f);
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
    best.map_or(fallback, |(i, _)| cands[i])
}

fn mae(a: &[f64], f: &[f64]) -> f64 {
    a.iter().zip(f).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len().max(1) as f64
}
