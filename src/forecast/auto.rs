//! `auto`: per-series choice by rolling-origin validation on the series' own history,
//! built to generalise rather than to win M4 (docs/forecast.md, "Development protocol").
//! Each candidate forecasts the last [`ORIGINS`] horizons of the training data from
//! their origins and is scored by OWA against Naive2 there (the M4 measure). The
//! forecast is the median of a fixed default combination ([`DEFAULT`]) unless one
//! candidate beat that combination by a clear [`MARGIN`] in validation, or the level
//! shifted just before the origin ([`super::shift`]), which hands it to Theta. Picking
//! the best of nine on two windows was noisy: 15% of picks flipped when 10% of the
//! points went missing, and on node series nobody tuned to it lost to plain Theta;
//! combinations are steadier (M4's lesson) and the margin keeps a pick from flipping on
//! a near tie.
//!
//! The members' own intervals assume each is the true model. The validation errors of
//! the combination therefore calibrate them: the band is scaled until it would have
//! covered `level` of the validation points (a split-conformal correction on the
//! standardised errors), widened freely, narrowed at most to [`MIN_SCALE`].

use augurs::Forecast;

use super::{fit_predict, score, stats, ForecastError, ModelKind};

/// Validation origins: one to four horizons back. Two ranked the default against a
/// single model on too little (a pick that one burst day decides); four ranked better
/// on every tune set (docs/forecast.md).
const ORIGINS: usize = 4;
/// The default: the median of Theta with additive seasonality (level and half the
/// trend; additive because multiplicative indices blow up on bursty series near zero),
/// the level-shifted seasonal mean (a stable daily shape) and the seasonal naive with
/// drift (a steady fill). Each fails somewhere the other two do not, and the median
/// follows the two that agree.
pub const DEFAULT: [ModelKind; 3] = [
    ModelKind::ThetaAdd,
    ModelKind::SMeanLevel,
    ModelKind::SNaiveDrift,
];
/// A single candidate replaces the default only if its validation OWA is below this
/// fraction of the default's: a few windows rank close candidates at random, and a
/// choice that flips on a few missing points is worse than a steady default.
const MARGIN: f64 = 0.8;
/// The calibrated band may narrow to this fraction of the members' own (their
/// bands over-cover smooth series) but no further on so few validation points; the
/// anomaly score reads the band too (docs/forecast.md, **Intervals**).
const MIN_SCALE: f64 = 0.9;
/// Level of the validation fits' intervals (only their width per step is used).
const VALIDATION_LEVEL: f64 = 0.95;
/// Bound on points × weekly period for the validation fits (see `choose`).
const VALIDATION_BUDGET: usize = 8_000_000;

/// Candidates usable on `n` points given the seasons (daily first, weekly second).
pub fn candidates(seasons: &[usize], n: usize, horizon: usize) -> Vec<ModelKind> {
    use ModelKind::*;
    let Some(&day) = seasons.first() else {
        return vec![SNaive, ThetaAdd, SNaiveDrift];
    };
    let mut c = vec![SNaive, SMean, SMeanLevel, ThetaAdd, SNaiveDrift];
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
) -> Result<(Vec<ModelKind>, Forecast), ForecastError> {
    forecast_reusing(y, observed, seasons, horizon, level, None).map(|(m, f, _)| (m, f))
}

/// As [`forecast`], but with `reuse` (an earlier choice for the same series) instead
/// of validating again, unless one of its members is no longer a candidate (the
/// history became long enough for weekly models, or too short for them). Validation
/// is 20 of a forecast's 23 fits with weekly candidates, and on 35 days of history a
/// new point every 5 minutes barely moves it. Returns the choice used.
pub fn forecast_reusing(
    y: &[f64],
    observed: &[bool],
    seasons: &[usize],
    horizon: usize,
    level: f64,
    reuse: Option<&Choice>,
) -> Result<(Vec<ModelKind>, Forecast, Choice), ForecastError> {
    let still_valid = |c: &&Choice| {
        let cands = candidates(seasons, y.len(), horizon);
        c.members.iter().all(|m| cands.contains(m))
    };
    let choice = match reuse.filter(still_valid) {
        Some(c) => c.clone(),
        None => choose(y, observed, seasons, horizon),
    };
    let mut f = combine(&choice.members, y, seasons, horizon, level)
        .map_err(|e| ForecastError::Model(e.0))?;
    widen(&mut f, interval_scale(&choice.errors, level));
    Ok((choice.members.clone(), f, choice))
}

/// Median (mean of the middle two for an even count) of the members' points and
/// of their bounds, each fitted on all of `y`.
pub fn combine(
    members: &[ModelKind],
    y: &[f64],
    seasons: &[usize],
    horizon: usize,
    level: f64,
) -> Result<Forecast, super::ModelFailure> {
    let fs = members
        .iter()
        .map(|m| fit_predict(*m, y, seasons, horizon, level))
        .collect::<Result<Vec<Forecast>, _>>()?;
    let mut f = fs
        .first()
        .cloned()
        .ok_or_else(|| super::ModelFailure("no model to combine".into()))?;
    if fs.len() == 1 {
        return Ok(f);
    }
    let mut buf = Vec::with_capacity(fs.len());
    for i in 0..horizon {
        f.point[i] = middle(&mut buf, fs.iter().map(|g| g.point[i]));
        if let Some(iv) = f.intervals.as_mut() {
            let bands: Vec<_> = fs.iter().filter_map(|g| g.intervals.as_ref()).collect();
            iv.lower[i] = middle(&mut buf, bands.iter().map(|b| b.lower[i]));
            iv.upper[i] = middle(&mut buf, bands.iter().map(|b| b.upper[i]));
        }
    }
    Ok(f)
}

/// Median of `v` (mean of the two middle values for an even count).
pub fn middle(buf: &mut Vec<f64>, v: impl Iterator<Item = f64>) -> f64 {
    buf.clear();
    buf.extend(v);
    let n = buf.len();
    if n == 0 {
        return f64::NAN;
    }
    buf.sort_by(f64::total_cmp);
    if n % 2 == 1 {
        buf[n / 2]
    } else {
        (buf[n / 2 - 1] + buf[n / 2]) / 2.0
    }
}

/// Factor (≥ MIN_SCALE) by which a band at `level` must scale so that it would have
/// covered `level` of the validation points, given their signed errors in standard
/// errors per origin (pooled: weighting origins by age or flooring at each origin's
/// own quantile were compared in `tests/forecast_interval_scan.rs` and not kept).
pub fn interval_scale(errors: &[Vec<f64>], level: f64) -> f64 {
    let mut all: Vec<f64> = errors.iter().flatten().map(|e| e.abs()).collect();
    // Fewer points than this say little about a tail quantile.
    if all.iter().filter(|e| e.is_finite()).count() < 20 {
        return 1.0;
    }
    (conformal_quantile(&mut all, level) / stats::z_for_level(level)).max(MIN_SCALE)
}

/// The ⌈(n+1)·level⌉-th smallest finite value (the largest when there are too few);
/// NaN when there is none.
fn conformal_quantile(v: &mut Vec<f64>, level: f64) -> f64 {
    v.retain(|e| e.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let k = (((n + 1) as f64 * level).ceil() as usize).clamp(1, n);
    v[k - 1]
}

fn widen(f: &mut Forecast, scale: f64) {
    if scale == 1.0 {
        return;
    }
    if let Some(iv) = f.intervals.as_mut() {
        for ((lo, hi), p) in iv.lower.iter_mut().zip(iv.upper.iter_mut()).zip(&f.point) {
            *lo = p - (p - *lo) * scale;
            *hi = p + (*hi - p) * scale;
        }
    }
}

/// What `auto` settled on: the models combined (one for a pick) and the validation
/// errors of their combination in units of its standard error, per origin (latest
/// first; empty where an origin had no observed point).
#[derive(Debug, Clone)]
pub struct Choice {
    pub members: Vec<ModelKind>,
    pub errors: Vec<Vec<f64>>,
}

/// One candidate's validation forecasts at the scored points of each origin.
struct Val {
    owa: f64,
    point: Vec<Vec<f64>>,
    se: Vec<Vec<f64>>,
}

/// The default combination if all its members are candidates, else the best single
/// candidate if it beats the default by [`MARGIN`]; `theta-add` alone after a recent
/// level shift. Too short a history to validate gives Theta (the seasonal naive with a
/// season).
pub fn choose(y: &[f64], observed: &[bool], seasons: &[usize], horizon: usize) -> Choice {
    let n = y.len();
    let fallback = Choice {
        members: vec![if seasons.is_empty() {
            ModelKind::Theta
        } else {
            ModelKind::SNaive
        }],
        errors: Vec::new(),
    };
    let min_train = seasons
        .first()
        .map_or(super::MIN_HISTORY, |d| 2 * d)
        .max(super::MIN_HISTORY);
    if n < min_train + horizon {
        return fallback;
    }
    let origins = ((n - min_train) / horizon).min(ORIGINS);
    let cands = candidates(seasons, n, horizon);
    let mut vals: Vec<Val> = cands
        .iter()
        .map(|_| Val {
            owa: 0.0,
            point: Vec::new(),
            se: Vec::new(),
        })
        .collect();
    let mut actuals: Vec<Vec<f64>> = Vec::new();
    // Age of each validation window's origin (0 = the latest).
    let mut ages: Vec<usize> = Vec::new();
    let mut naive2: Vec<(f64, f64)> = Vec::new();
    let z = stats::z_for_level(VALIDATION_LEVEL);
    // The weekly Theta's seasonality test costs O(n·week): on 35 days at 5 minutes it
    // dominates. Validation fits therefore see at most VALIDATION_BUDGET / week points,
    // but never less than three weeks; short weeks (M4's 168 hours) are not capped.
    let window = seasons.get(1).map_or(usize::MAX, |w| {
        (3 * w + ORIGINS * horizon).max(VALIDATION_BUDGET / w)
    });
    for k in 1..=origins {
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
            return fallback;
        };
        let base = pick(&base);
        let (s2, m2) = (
            score::smape(&actual, &base).max(1e-9),
            mae(&actual, &base).max(1e-12),
        );
        for (c, v) in cands.iter().zip(vals.iter_mut()) {
            let Ok(f) = fit_predict(*c, train, seasons, horizon, VALIDATION_LEVEL) else {
                v.owa = f64::INFINITY;
                continue;
            };
            let p = pick(&f);
            v.se.push(match &f.intervals {
                Some(iv) => keep
                    .iter()
                    .map(|&t| (iv.upper[t - o] - iv.lower[t - o]) / (2.0 * z))
                    .collect(),
                None => vec![f64::NAN; keep.len()],
            });
            v.owa += score::owa(score::smape(&actual, &p), mae(&actual, &p), s2, m2);
            v.point.push(p);
        }
        naive2.push((s2, m2));
        actuals.push(actual);
        ages.push(k - 1);
    }
    let Some(best) = (0..cands.len())
        .filter(|&i| vals[i].owa.is_finite())
        .min_by(|a, b| vals[*a].owa.total_cmp(&vals[*b].owa))
    else {
        return fallback;
    };
    if actuals.is_empty() {
        return fallback;
    }
    let mut buf = Vec::new();
    // The members' validation forecasts combined like `combine` combines forecasts.
    let combined = |m: &[usize], j: usize, buf: &mut Vec<f64>| -> (Vec<f64>, Vec<f64>) {
        (0..actuals[j].len())
            .map(|t| {
                (
                    middle(buf, m.iter().map(|&i| vals[i].point[j][t])),
                    middle(buf, m.iter().map(|&i| vals[i].se[j][t])),
                )
            })
            .unzip()
    };
    let default: Vec<usize> = (0..cands.len())
        .filter(|&i| DEFAULT.contains(&cands[i]) && vals[i].owa.is_finite())
        .collect();
    let default_owa: f64 = if default.len() == DEFAULT.len() {
        (0..actuals.len())
            .map(|j| {
                let (p, _) = combined(&default, j, &mut buf);
                let a = &actuals[j];
                score::owa(score::smape(a, &p), mae(a, &p), naive2[j].0, naive2[j].1)
            })
            .sum()
    } else {
        f64::INFINITY
    };
    let theta = cands.iter().position(|c| *c == ModelKind::ThetaAdd);
    let shifted = seasons
        .first()
        .is_some_and(|d| super::shift::recent_shift(y, observed, *d));
    let members = match theta.filter(|t| shifted && vals[*t].owa.is_finite()) {
        // Validation windows before the shift cannot judge the models after it.
        Some(t) => vec![t],
        None if vals[best].owa < MARGIN * default_owa => vec![best],
        None => default,
    };
    let mut errors = vec![Vec::new(); origins];
    for (j, a) in actuals.iter().enumerate() {
        let (p, se) = combined(&members, j, &mut buf);
        errors[ages[j]].extend(
            a.iter()
                .zip(p.iter().zip(&se))
                .filter(|(_, (_, s))| **s > 0.0)
                .map(|(a, (p, s))| (a - p) / s),
        );
    }
    Choice {
        members: members.iter().map(|&i| cands[i]).collect(),
        errors,
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
        let s = interval_scale(&[calibrated(199)], 0.95);
        assert!((1.0..1.05).contains(&s), "{s}");
        let s = interval_scale(&[calibrated(99), calibrated(99), calibrated(99)], 0.95);
        assert!((0.98..1.05).contains(&s), "{s}");
    }

    #[test]
    fn errors_twice_the_claimed_spread_double_the_band() {
        let e: Vec<f64> = calibrated(199).iter().map(|e| 2.0 * e).collect();
        let s = interval_scale(std::slice::from_ref(&e), 0.95);
        assert!((1.9..2.1).contains(&s), "{s}");
        let s80 = interval_scale(&[e], 0.8);
        assert!((1.9..2.1).contains(&s80), "{s80}");
    }

    #[test]
    fn too_few_or_too_small_errors_narrow_little() {
        assert_eq!(interval_scale(&[vec![10.0; 5]], 0.95), 1.0);
        assert_eq!(
            interval_scale(&[vec![10.0; 5], vec![f64::NAN; 30]], 0.95),
            1.0
        );
        assert_eq!(
            interval_scale(&[vec![0.1; 60], vec![-0.1; 40]], 0.95),
            MIN_SCALE
        );
        // Signed errors count by their size, pooled over the origins.
        let e = calibrated(99);
        let signed: Vec<f64> = e
            .iter()
            .enumerate()
            .map(|(i, x)| if i % 2 == 0 { -x } else { *x })
            .collect();
        let (a, b) = e.split_at(50);
        assert_eq!(
            interval_scale(&[signed], 0.95),
            interval_scale(&[a.to_vec(), Vec::new(), b.to_vec()], 0.95)
        );
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

    #[test]
    fn a_reused_choice_forecasts_like_a_fresh_one_until_it_is_no_candidate() {
        let day = 24;
        let y: Vec<f64> = (0..20 * day)
            .map(|t| 10.0 + (t % day) as f64 + 0.01 * t as f64)
            .collect();
        let obs = vec![true; y.len()];
        let seasons = [day, 7 * day];
        let (m, f, c) = forecast_reusing(&y, &obs, &seasons, day, 0.95, None).unwrap();
        let (m2, f2, c2) = forecast_reusing(&y, &obs, &seasons, day, 0.95, Some(&c)).unwrap();
        assert_eq!((m, f.point), (m2, f2.point));
        assert_eq!(c.errors, c2.errors);
        // A weekly model cannot be kept once the history is too short for it.
        let weekly = Choice {
            members: vec![ModelKind::ThetaWeek],
            errors: Vec::new(),
        };
        let short = &y[..3 * day];
        let (m3, _, _) =
            forecast_reusing(short, &obs[..3 * day], &[day], day, 0.95, Some(&weekly)).unwrap();
        assert!(!m3.contains(&ModelKind::ThetaWeek), "{m3:?}");
    }

    #[test]
    fn median_of_members() {
        let mut b = Vec::new();
        assert_eq!(middle(&mut b, [3.0, 100.0, 1.0].into_iter()), 3.0);
        assert_eq!(middle(&mut b, [1.0, 2.0].into_iter()), 1.5);
        assert!(middle(&mut b, std::iter::empty()).is_nan());
    }
}
