//! Gap filling for regular-grid series with NaN gaps.
//!
//! Leading gaps are trimmed (there is nothing to anchor them). Short interior gaps are
//! interpolated linearly with augurs' `LinearInterpolator`: over a few steps the daily
//! shape barely moves. Longer gaps repeat the last season before the gap, shifted
//! to meet the level after it, because node metrics in an outage keep their cycle but
//! not necessarily their level. A trailing gap is filled the same way from
//! its left side only so that forecasts still start at the end of the grid.

use augurs::forecaster::transforms::{interpolate::Interpolater, LinearInterpolator};

#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    pub values: Vec<f64>,
    /// Points filled in (not counting the trimmed leading gap).
    pub imputed: usize,
    /// Leading missing points removed.
    pub trimmed: usize,
    /// Whether each point of `values` was observed (false: filled in).
    pub observed: Vec<bool>,
}

impl Filled {
    pub fn imputed_fraction(&self) -> f64 {
        if self.values.is_empty() {
            0.0
        } else {
            self.imputed as f64 / self.values.len() as f64
        }
    }
}

/// Longest gap (in steps) bridged by a straight line when a season is known: 1/12 of
/// it, i.e. two hours of a daily cycle.
pub fn default_max_linear(season: Option<usize>) -> usize {
    season.map_or(usize::MAX, |m| (m / 12).max(1))
}

/// Fills `values`; `season` is the period used for seasonal imputation.
pub fn fill(values: &[f64], season: Option<usize>, max_linear: usize) -> Filled {
    let start = values
        .iter()
        .position(|v| v.is_finite())
        .unwrap_or(values.len());
    let mut y: Vec<f64> = values[start..].to_vec();
    let observed: Vec<bool> = y.iter().map(|v| v.is_finite()).collect();
    let n = y.len();
    let mut imputed = 0;
    let mut t = 0;
    while t < n {
        if observed[t] {
            t += 1;
            continue;
        }
        let a = t;
        let b = (a..n).find(|&i| observed[i]).unwrap_or(n);
        imputed += b - a;
        let seasonal = season.filter(|m| *m >= 2 && a >= *m);
        match seasonal {
            Some(m) if b == n || b - a > max_linear => seasonal_fill(&mut y, &observed, a, b, m),
            _ if b == n => {
                let last = y[a - 1];
                y[a..].fill(last);
            }
            _ => {
                let interp = LinearInterpolator::new();
                let line: Vec<f64> = interp.interpolate(y[a - 1], y[b], b - a + 1).collect();
                y[a..b].copy_from_slice(&line[1..]);
            }
        }
        t = b;
    }
    Filled {
        values: y,
        imputed,
        trimmed: start,
        observed,
    }
}

/// Repeats the last full season before the gap, shifted by `c` per season elapsed, where
/// `c` is the per-season change that makes the repeat meet the data after the gap (zero
/// for a trailing gap: no evidence of a level change yet).
fn seasonal_fill(y: &mut [f64], observed: &[bool], a: usize, b: usize, m: usize) {
    let n = y.len();
    let donor = |t: usize| a - m + (t - a) % m;
    let seasons_back = |t: usize| ((t - a) / m + 1) as f64;
    let (mut s, mut c) = (0.0, 0usize);
    for i in (b..(b + m).min(n)).filter(|&i| observed[i]) {
        s += (y[i] - y[donor(i)]) / seasons_back(i);
        c += 1;
    }
    let shift = if c > 0 { s / c as f64 } else { 0.0 };
    for t in a..b {
        y[t] = y[donor(t)] + shift * seasons_back(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_leading_and_interpolates_short_gaps() {
        let nan = f64::NAN;
        let f = fill(&[nan, nan, 1.0, nan, 3.0, 4.0], None, 5);
        assert_eq!(f.values, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!((f.trimmed, f.imputed), (2, 1));
    }

    #[test]
    fn long_gap_follows_the_season_at_the_new_level() {
        // Period-4 cycle, level rising by 10 per cycle; cut one whole cycle.
        let truth: Vec<f64> = (0..24)
            .map(|t| [0.0, 5.0, 2.0, 7.0][t % 4] + 10.0 * (t / 4) as f64)
            .collect();
        let mut holed = truth.clone();
        for v in &mut holed[12..16] {
            *v = f64::NAN;
        }
        let f = fill(&holed, Some(4), 1);
        for (t, (got, want)) in f.values.iter().zip(&truth).enumerate().skip(12).take(4) {
            assert!((got - want).abs() < 1e-9, "t={t}: {got} vs {want}");
        }
        assert!((f.imputed_fraction() - 4.0 / 24.0).abs() < 1e-12);
    }

    #[test]
    fn trailing_gap_keeps_the_grid_length() {
        let y = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, f64::NAN, f64::NAN];
        let f = fill(&y, Some(2), 1);
        assert_eq!(f.values, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    }
}
