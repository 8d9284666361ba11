//! Local trend with change detection: the slope a resource is draining at *now*.
//!
//! Why not Theta or a seasonal model: before two days of history there is no season
//! to validate, Theta extrapolates half the least-squares slope by design, and a
//! fit over the whole history keeps extrapolating a ramp that ended hours ago. This
//! model instead (1) removes the daily profile when at least two days exist, so a
//! log-rotation sawtooth is flat to it, (2) finds the last change of slope in the
//! recent window (two-segment least squares with an F-test) and (3) estimates the
//! slope of the last segment robustly (Theil–Sen), so a burst or a cleanup does not
//! tilt it. Its intervals carry both the scatter around the line and the slope's own
//! uncertainty. Pure: numbers in, numbers out.

use augurs::{Fit, Forecast, ForecastIntervals, Predict};

use super::stats::z_for_level;
use super::ModelFailure;

/// A line fitted to the most recent segment of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineFit {
    /// Change per step.
    pub slope: f64,
    /// Value of the line at the last point.
    pub level: f64,
    /// Scatter of the segment around its line (per point).
    pub sigma: f64,
    /// Standard error of the slope.
    pub slope_se: f64,
    /// Points in the segment the line was fitted on.
    pub len: usize,
    /// Index (in the fitted slice) of the segment's first point: the drain's known age
    /// is `y.len() - start` steps.
    pub start: usize,
}

/// Break detection: the two-segment fit must explain this much more than one line
/// (F statistic with 2 and n-4 degrees of freedom). High on purpose: noise and a
/// daily wobble must not split a steady drain.
const BREAK_F: f64 = 30.0;
/// Theil–Sen on more points than this runs on an even subsample (cost is quadratic).
const TS_MAX_POINTS: usize = 160;

/// Fits the last segment of `y` (regular grid, NaN = gap, oldest first). A break
/// is only accepted with at least `min_seg` points on either side.
pub fn fit_recent(y: &[f64], min_seg: usize) -> Option<LineFit> {
    let pts: Vec<(f64, f64)> = y
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| (i as f64, *v))
        .collect();
    let min_seg = min_seg.max(3);
    if pts.len() < min_seg {
        return None;
    }
    // The latest break seen in the window or in its last half, quarter, …: with
    // three regimes (flat, a batch that wrote, flat again) no single split of the
    // whole window fits well enough to pass the F-test, while the last two do.
    let mut from = 0;
    let mut off = 0;
    while pts.len() - off > 2 * min_seg {
        let k = last_break(&pts[off..], min_seg);
        if k > 0 {
            from = from.max(off + k);
        }
        off += (pts.len() - off) / 2;
    }
    // Binary segmentation from there: a later change may remain inside.
    loop {
        let k = last_break(&pts[from..], min_seg);
        if k == 0 {
            break;
        }
        from += k;
    }
    let line = line_on(&pts[from..], y.len())?;
    // The last few points all on one side of the line, well outside its scatter: the
    // segment has ended (space freed, a burst over, a drain slowing or speeding up)
    // sooner than the F-test can prove with `min_seg` points. Refit on that run.
    let m = (min_seg / 2).max(3);
    let side = |p: &(f64, f64)| {
        let r = p.1 - (line.level + line.slope * (p.0 - (y.len() as f64 - 1.0)));
        let tol = 2.0 * line.sigma.max(1e-9 * line.level.abs());
        if r > tol {
            1
        } else if r < -tol {
            -1
        } else {
            0
        }
    };
    let seg = &pts[from..];
    if seg.len() > m {
        let last = side(&seg[seg.len() - 1]);
        if last != 0 && seg[seg.len() - m..].iter().all(|p| side(p) == last) {
            let run = seg.iter().rev().take_while(|p| side(p) == last).count();
            return line_on(&seg[seg.len() - run..], y.len());
        }
    }
    Some(line)
}

/// Theil–Sen line of one segment (`pts` = (index, value)), seen from point `n - 1`.
fn line_on(seg: &[(f64, f64)], n: usize) -> Option<LineFit> {
    let (slope, intercept) = theil_sen(seg)?;
    let last_t = n as f64 - 1.0;
    let level = intercept + slope * last_t;
    let len = seg.len() as f64;
    let resid: Vec<f64> = seg
        .iter()
        .map(|(t, v)| v - (intercept + slope * t))
        .collect();
    // MAD-based scatter: robust to the bursts Theil–Sen ignored.
    let sigma = 1.4826 * median(resid.iter().map(|r| r.abs()).collect()).unwrap_or(0.0);
    let mean_t = seg.iter().map(|p| p.0).sum::<f64>() / len;
    let sxx: f64 = seg.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let slope_se = if sxx > 0.0 { sigma / sxx.sqrt() } else { 0.0 };
    Some(LineFit {
        slope,
        level,
        sigma,
        slope_se,
        len: seg.len(),
        start: seg[0].0 as usize,
    })
}

/// Start index of the last segment: the split minimising the two-line squared error,
/// if it beats one line by [`BREAK_F`]; 0 otherwise.
fn last_break(pts: &[(f64, f64)], min_seg: usize) -> usize {
    let n = pts.len();
    if n < 2 * min_seg + 1 {
        return 0;
    }
    // Prefix sums make each candidate split O(1).
    let mut pre = vec![[0.0f64; 5]; n + 1];
    for (i, (t, v)) in pts.iter().enumerate() {
        let p = pre[i];
        pre[i + 1] = [p[0] + 1.0, p[1] + t, p[2] + v, p[3] + t * t, p[4] + t * v];
    }
    let sse = |a: usize, b: usize, yy: f64| {
        let s: Vec<f64> = (0..5).map(|k| pre[b][k] - pre[a][k]).collect();
        let (m, st, sv, stt, stv) = (s[0], s[1], s[2], s[3], s[4]);
        let sxx = stt - st * st / m;
        let sxy = stv - st * sv / m;
        let syy = yy - sv * sv / m;
        (syy - if sxx > 0.0 { sxy * sxy / sxx } else { 0.0 }).max(0.0)
    };
    let mut yy = vec![0.0; n + 1];
    for (i, (_, v)) in pts.iter().enumerate() {
        yy[i + 1] = yy[i] + v * v;
    }
    let sse_range = |a: usize, b: usize| sse(a, b, yy[b] - yy[a]);
    let one = sse_range(0, n);
    let mut best = (f64::INFINITY, 0);
    for k in min_seg..=n - min_seg {
        let two = sse_range(0, k) + sse_range(k, n);
        if two < best.0 {
            best = (two, k);
        }
    }
    let (two, k) = best;
    let dof = (n - 4) as f64;
    let f = if two > 0.0 {
        (one - two) / 2.0 / (two / dof)
    } else if one > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    if f > BREAK_F {
        k
    } else {
        0
    }
}

/// Theil–Sen line (median of pairwise slopes, median intercept).
fn theil_sen(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    if pts.len() < 2 {
        return None;
    }
    let sub: Vec<(f64, f64)> = if pts.len() > TS_MAX_POINTS {
        (0..TS_MAX_POINTS)
            .map(|i| pts[i * (pts.len() - 1) / (TS_MAX_POINTS - 1)])
            .collect()
    } else {
        pts.to_vec()
    };
    let mut slopes = Vec::with_capacity(sub.len() * sub.len() / 2);
    for i in 0..sub.len() {
        for j in i + 1..sub.len() {
            let dt = sub[j].0 - sub[i].0;
            if dt > 0.0 {
                slopes.push((sub[j].1 - sub[i].1) / dt);
            }
        }
    }
    let slope = median(slopes)?;
    let intercept = median(pts.iter().map(|(t, v)| v - slope * t).collect())?;
    Some((slope, intercept))
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if v.len() % 2 == 1 {
        return Some(m);
    }
    let lo = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lo + m) / 2.0)
}

/// Mean seasonal profile (zero mean) of `y` after removing its drift per season;
/// `None` before two seasons and a twelfth of the next. A routine seen once cannot
/// be told from a one-off (a fill, its exhaustion and the clean-up), which a profile
/// would replay a season later as a drop; until then a routine drain is caught as a
/// new drain instead (see `predict::series::trend_reach`).
/// The drift comes from seasonal differences, which a periodic shape cannot bias
/// (a least-squares line over a partial season would).
///
/// `lag` (a day for a weekly profile) is the difference the drift is read from: a
/// level shift (a volume grown in place) then touches one lag of differences, which
/// the median ignores, instead of a whole week of them.
pub fn seasonal_profile(y: &[f64], period: usize, lag: usize) -> Option<Vec<f64>> {
    let n = y.len();
    let lag = lag.clamp(1, period);
    if period < 2 || n < 2 * period + (period / 12).max(2) {
        return None;
    }
    // Drift and profile from the same recent seasons: after a clean-up the old fill
    // rate would tilt every season of the profile into a sawtooth.
    let from = n.saturating_sub(5 * period);
    let diffs: Vec<f64> = (from + lag..n)
        .map(|t| y[t] - y[t - lag])
        .filter(|d| d.is_finite())
        .collect();
    let drift = median(diffs)? / lag as f64;
    // The last five seasons, median per phase: a one-off event (an exhaustion and
    // its clean-up, a volume grown in place) drops out of the profile once three
    // seasons have been seen instead of echoing for a week.
    // Each season's own median level comes off first: a level shift (a volume grown
    // in place, a clean-up, a weekend of clean-ups under a daily profile) then moves
    // whole seasons instead of becoming a step inside the profile that the path would
    // replay as a drop of the same size every day.
    let mut at: Vec<Vec<f64>> = vec![Vec::new(); period];
    let first_season = from / period;
    for k in first_season..=(n - 1) / period {
        let (a, b) = ((k * period).max(from), ((k + 1) * period).min(n));
        let level = median((a..b).map(|t| y[t] - drift * t as f64).collect());
        let Some(level) = level else { continue };
        for t in a..b {
            if y[t].is_finite() {
                at[t % period].push(y[t] - drift * t as f64 - level);
            }
        }
    }
    let mut prof: Vec<f64> = at
        .into_iter()
        .map(|v| median(v).unwrap_or(f64::NAN))
        .collect();
    let known: Vec<f64> = prof.iter().copied().filter(|v| v.is_finite()).collect();
    if known.len() < period / 2 {
        return None;
    }
    let mean = known.iter().sum::<f64>() / known.len() as f64;
    for p in &mut prof {
        *p = if p.is_finite() { *p - mean } else { 0.0 };
    }
    // Taking each season's level off leaves a step where seasons meet whenever the
    // drift is off (a weekly routine read through a daily one: weekend clean-ups
    // pull the median daily difference up, and the profile soaks up each weekday's
    // drain as a ramp that jumps back at midnight). A real routine's step there (a
    // log rotation) is in the data too; a step the data does not take means the
    // profile would hide the drain, and no profile is better than that one.
    let data_step = median(
        (from.max(1)..n)
            .filter(|t| t % period == 0)
            .map(|t| y[t] - y[t - 1] - drift)
            .collect(),
    )?;
    let profile_step = prof[0] - prof[period - 1];
    let amplitude = prof.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - prof.iter().copied().fold(f64::INFINITY, f64::min);
    if (profile_step - data_step).abs() > 0.25 * amplitude {
        return None;
    }
    Some(prof)
}

/// The augurs face of the model: the recent segment's line, plus the daily profile
/// when there are two days of history.
#[derive(Debug, Clone, Copy)]
pub struct Trend {
    /// Season of the profile in steps (a day or a week), if known.
    pub period: Option<usize>,
    /// Lag of the differences the drift is read from (see [`seasonal_profile`]).
    pub lag: usize,
    /// Most recent points the line is searched in.
    pub window: usize,
    /// Shortest segment a change may leave.
    pub min_seg: usize,
    /// History before the segment read for [`FittedTrend::pre_slope`].
    pub pre_window: usize,
    /// Fewest points of it for a `pre_slope`.
    pub pre_min: usize,
}

#[derive(Debug, Clone)]
pub struct FittedTrend {
    /// `line.start` indexes the whole series given to `fit`.
    pub line: LineFit,
    /// Profile and the phase of the step after the last point.
    pub profile: Option<(Vec<f64>, usize)>,
    /// Slope (routine removed) of the history just before the segment: whether the
    /// drain is new or the same one carried on past a jump or a pause. `None` when
    /// the segment starts too close to the first point to tell.
    pub pre_slope: Option<f64>,
}

impl Fit for Trend {
    type Fitted = FittedTrend;
    type Error = ModelFailure;

    fn fit(&self, y: &[f64]) -> Result<FittedTrend, ModelFailure> {
        let profile = self.period.and_then(|p| seasonal_profile(y, p, self.lag));
        let adj = |t: usize| match (&profile, self.period) {
            (Some(prof), Some(p)) => y[t] - prof[t % p],
            _ => y[t],
        };
        let from = y.len().saturating_sub(self.window);
        let adjusted: Vec<f64> = (from..y.len()).map(adj).collect();
        let mut line = fit_recent(&adjusted, self.min_seg)
            .ok_or_else(|| ModelFailure("trend needs more points".into()))?;
        line.start += from;
        let pre: Vec<(f64, f64)> = (line.start.saturating_sub(self.pre_window)..line.start)
            .map(|t| (t as f64, adj(t)))
            .filter(|p| p.1.is_finite())
            .collect();
        let pre_slope = if pre.len() >= self.pre_min.max(2) {
            theil_sen(&pre).map(|(slope, _)| slope)
        } else {
            None
        };
        let next_phase = self.period.map_or(0, |p| y.len() % p);
        if let (Some(prof), Some(p)) = (&profile, self.period) {
            // Back on the series' own scale at its last point.
            line.level += prof[(y.len() - 1) % p];
        }
        Ok(FittedTrend {
            line,
            profile: profile.map(|p| (p, next_phase)),
            pre_slope,
        })
    }
}

impl FittedTrend {
    /// Mean change per step the routine itself made over the last `steps` steps: 0
    /// without a profile.
    pub fn routine_slope(&self, steps: usize) -> f64 {
        match &self.profile {
            Some((prof, next)) if steps > 0 => {
                let p = prof.len();
                let last = (next + p - 1) % p;
                let back = (last + p - steps % p) % p;
                (prof[last] - prof[back]) / steps as f64
            }
            _ => 0.0,
        }
    }

    /// Path of `horizon` steps after the last point, with its standard errors.
    pub fn path(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        let l = &self.line;
        let base = match &self.profile {
            Some((prof, next)) => {
                let p = prof.len();
                l.level - prof[(next + p - 1) % p]
            }
            None => l.level,
        };
        (1..=horizon)
            .map(|h| {
                let season = self
                    .profile
                    .as_ref()
                    .map_or(0.0, |(prof, next)| prof[(next + h - 1) % prof.len()]);
                let hf = h as f64;
                let se = (l.sigma.powi(2) * (1.0 + 1.0 / l.len.max(1) as f64)
                    + (hf * l.slope_se).powi(2))
                .sqrt();
                (base + l.slope * hf + season, se)
            })
            .unzip()
    }
}

impl Predict for FittedTrend {
    type Error = ModelFailure;

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        forecast: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let (point, se) = self.path(horizon);
        forecast.intervals = level.map(|lv| {
            let z = z_for_level(lv);
            ForecastIntervals {
                level: lv,
                lower: point.iter().zip(&se).map(|(p, s)| p - z * s).collect(),
                upper: point.iter().zip(&se).map(|(p, s)| p + z * s).collect(),
            }
        });
        forecast.point = point;
        Ok(())
    }

    fn training_data_size(&self) -> usize {
        self.line.len
    }

    fn predict_in_sample_inplace(
        &self,
        _level: Option<f64>,
        _forecast: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        Err(ModelFailure("trend has no in-sample fit".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trend on a short grid: two days of window, four-step segments.
    fn small(period: Option<usize>, lag: usize) -> Trend {
        Trend {
            period,
            lag,
            window: 48,
            min_seg: 4,
            pre_window: 48,
            pre_min: 4,
        }
    }

    #[test]
    fn steady_line_keeps_its_full_slope() {
        let y: Vec<f64> = (0..100).map(|i| 1000.0 - 3.0 * i as f64).collect();
        let f = fit_recent(&y, 6).unwrap();
        assert!((f.slope + 3.0).abs() < 1e-9, "{f:?}");
        assert!((f.level - (1000.0 - 297.0)).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn a_ramp_that_ended_is_not_extrapolated() {
        let y: Vec<f64> = (0..72)
            .map(|i| if i < 36 { 100.0 - i as f64 } else { 64.0 })
            .map(|v| v + 0.01)
            .collect();
        let f = fit_recent(&y, 6).unwrap();
        assert!(f.slope.abs() < 1e-6, "{f:?}");
        assert_eq!(f.len, 36);
    }

    #[test]
    fn a_fill_that_just_started_is_seen_at_its_own_rate() {
        let y: Vec<f64> = (0..72)
            .map(|i| {
                if i < 60 {
                    500.0
                } else {
                    500.0 - 10.0 * (i - 60) as f64
                }
            })
            .collect();
        let f = fit_recent(&y, 6).unwrap();
        assert!((f.slope + 10.0).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn a_daily_sawtooth_has_no_trend_after_two_days() {
        let p = 24;
        let y: Vec<f64> = (0..24 * 3 + 20)
            .map(|i| {
                100.0
                    - if i % p >= 16 {
                        5.0 * (i % p - 16) as f64
                    } else {
                        0.0
                    }
            })
            .collect();
        let t = small(Some(p), p).fit(&y).unwrap();
        assert!(t.line.slope.abs() < 1e-6, "{:?}", t.line);
        let (path, _) = t.path(48);
        assert!(path.iter().all(|v| *v > 50.0), "{path:?}");
    }

    #[test]
    fn routine_slope_reads_the_profile_before_the_next_phase() {
        // A daily triangle: down 2 a step in the first half of the day, up after.
        let p = 24;
        let y: Vec<f64> = (0..24 * 4 + 6)
            .map(|i| {
                let k = (i % p) as f64;
                50.0 + if k < 12.0 {
                    -2.0 * k
                } else {
                    -2.0 * (24.0 - k)
                }
            })
            .collect();
        let t = small(Some(p), p).fit(&y).unwrap();
        // The series ends at phase 5, on the way down.
        assert!(
            (t.routine_slope(3) + 2.0).abs() < 1e-6,
            "{}",
            t.routine_slope(3)
        );
        let flat = small(None, p).fit(&y).unwrap();
        assert_eq!(flat.routine_slope(3), 0.0);
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    #[test]
    fn a_batch_that_stopped_is_flat() {
        let mut y: Vec<f64> = Vec::new();
        for i in 0..45 {
            let v = if i < 12 {
                47.0
            } else if i < 36 {
                47.0 - 0.5 * (i - 12) as f64
            } else {
                35.0
            };
            y.push(v + 0.03 * ((i * 7919 % 13) as f64 / 6.0 - 1.0));
        }
        let f = fit_recent(&y, 6).unwrap();
        assert!(f.slope.abs() < 0.05, "{f:?}");
    }
}
