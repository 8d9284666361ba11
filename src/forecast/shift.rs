//! A level shift right before the forecast origin (a deploy, a migrated tenant, a
//! resized instance). Models that anchor on the last day or the last weeks
//! (the seasonal means, the seasonal naive with drift) then forecast the old level for
//! most of the horizon, while a smoothed level (Theta's SES) has already moved: after a
//! break only the estimate that adapts to the post-break data is valid.
//!
//! The test is deliberately strict so that bursts (minutes to a couple of hours of a
//! busy CPU) do not pass: every point of the last eighth of a day must sit beyond 3
//! robust standard deviations of the day before, on the same side, measured against
//! the median of the same phase over the previous 7 days.

/// Seasons in the reference profile.
const PROFILE_SEASONS: usize = 7;
/// Robust standard deviations every recent point must exceed.
const K_SIGMA: f64 = 3.0;

/// Whether the last `day / 8` points (at least 2) of `y` moved away from the daily
/// profile together, compared with how they scattered around it the day before.
/// Points that were filled in (`observed` false) never count as a shift.
pub fn recent_shift(y: &[f64], observed: &[bool], day: usize) -> bool {
    let n = y.len();
    let l = (day / 8).max(2);
    if day < 2 || n < (PROFILE_SEASONS + 1) * day + l {
        return false;
    }
    if !observed.get(n - l..).is_some_and(|o| o.iter().all(|b| *b)) {
        return false;
    }
    let mut buf = Vec::with_capacity(PROFILE_SEASONS.max(day));
    let dev = |t: usize, buf: &mut Vec<f64>| {
        buf.clear();
        buf.extend((1..=PROFILE_SEASONS).map(|j| y[t - j * day]));
        y[t] - median(buf)
    };
    let mut before: Vec<f64> = (n - l - day..n - l).map(|t| dev(t, &mut buf)).collect();
    let centre = median(&mut before);
    let mut spread: Vec<f64> = before.iter().map(|e| (e - centre).abs()).collect();
    let sigma = 1.4826 * median(&mut spread);
    if sigma.is_nan() || sigma <= 0.0 {
        return false;
    }
    let recent: Vec<f64> = (n - l..n).map(|t| dev(t, &mut buf) - centre).collect();
    recent.iter().all(|e| *e > K_SIGMA * sigma) || recent.iter().all(|e| *e < -K_SIGMA * sigma)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten days of a daily cycle with deterministic noise.
    fn days(n_days: usize, day: usize) -> Vec<f64> {
        (0..n_days * day)
            .map(|t| {
                10.0 + 3.0 * (t as f64 * std::f64::consts::TAU / day as f64).sin()
                    + 0.3 * ((t * 7919 % 101) as f64 / 101.0 - 0.5)
            })
            .collect()
    }

    #[test]
    fn a_step_in_the_last_hours_is_a_shift_and_a_burst_is_not() {
        let day = 96;
        let mut y = days(10, day);
        let obs = vec![true; y.len()];
        assert!(!recent_shift(&y, &obs, day));
        let n = y.len();
        let mut burst = y.clone();
        burst[n - 6..].iter_mut().for_each(|v| *v += 20.0);
        assert!(!recent_shift(&burst, &obs, day), "shorter than day/8");
        y[n - 30..].iter_mut().for_each(|v| *v += 8.0);
        assert!(recent_shift(&y, &obs, day));
        let mut filled = obs.clone();
        filled[n - 1] = false;
        assert!(
            !recent_shift(&y, &filled, day),
            "imputed points decide nothing"
        );
    }
}
