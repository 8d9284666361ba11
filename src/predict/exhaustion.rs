//! Time to exhaustion and probability of exhaustion, from a forecast of how much
//! of a resource is left. Pure: numbers in, numbers out.

/// What a forecast says about a resource running out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exhaustion {
    /// Seconds until the point forecast reaches zero: 0 when already exhausted,
    /// +Inf when the forecast never reaches zero within its horizon.
    pub time_to_exhaustion_seconds: f64,
    /// Probability that the resource runs out within the forecast horizon.
    pub probability: f64,
}

/// Assesses a forecast of the *remaining* quantity (bytes free, inodes free, …).
///
/// `current` is the last observed value; `mean`, `lower`, `upper` the forecast path,
/// whose step `i` lies `(i + 1) * step_secs` after the last observation; `level` the
/// central coverage of `[lower, upper]` (e.g. 0.95).
///
/// The probability is the largest per-step probability of being at or below zero,
/// with each step's spread read off its interval as a normal distribution. It is a
/// lower bound of the first-passage probability, and close to it for resources that
/// drain steadily — which is what an alert needs: it never claims more certainty
/// than the intervals carry.
pub fn assess(
    current: f64,
    mean: &[f64],
    lower: &[f64],
    upper: &[f64],
    step_secs: f64,
    level: f64,
) -> Exhaustion {
    if current <= 0.0 {
        // An exhausted resource must stay alerting: never report "unknown" or "later".
        return Exhaustion {
            time_to_exhaustion_seconds: 0.0,
            probability: 1.0,
        };
    }
    let z = crate::forecast::stats::z_for_level(level);
    let mut prev = current;
    let mut tte = f64::INFINITY;
    let mut prob: f64 = 0.0;
    for (i, &m) in mean.iter().enumerate() {
        if !m.is_finite() {
            continue;
        }
        if tte.is_infinite() && m <= 0.0 {
            // Linear interpolation inside the step where the forecast crosses zero.
            let frac = if prev > m { prev / (prev - m) } else { 1.0 };
            tte = (i as f64 + frac.clamp(0.0, 1.0)) * step_secs;
        }
        prev = m;
        let (lo, hi) = (
            lower.get(i).copied().unwrap_or(m),
            upper.get(i).copied().unwrap_or(m),
        );
        let sigma = (hi - lo) / (2.0 * z);
        let p = if sigma.is_finite() && sigma > 0.0 {
            normal_cdf(-m / sigma)
        } else if m <= 0.0 {
            1.0
        } else {
            0.0
        };
        prob = prob.max(p);
    }
    Exhaustion {
        time_to_exhaustion_seconds: tte,
        probability: prob.clamp(0.0, 1.0),
    }
}

/// One point of a forecast path at its real time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathPoint {
    pub t_ms: i64,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// [`assess`] on a path with real timestamps, counted from `now_ms`, against a
/// `floor` (the exhaustion margin) instead of zero. Points at or before `now` are
/// skipped: the path is anchored at `current`, measured now or just before.
pub fn assess_timed(
    now_ms: i64,
    current: f64,
    path: &[PathPoint],
    floor: f64,
    level: f64,
) -> Exhaustion {
    if current <= floor {
        return Exhaustion {
            time_to_exhaustion_seconds: 0.0,
            probability: 1.0,
        };
    }
    let z = crate::forecast::stats::z_for_level(level);
    let (mut prev_t, mut prev) = (now_ms as f64, current - floor);
    let mut tte = f64::INFINITY;
    let mut prob: f64 = 0.0;
    for p in path.iter().filter(|p| p.t_ms > now_ms) {
        let m = p.mean - floor;
        if !m.is_finite() {
            continue;
        }
        if tte.is_infinite() && m <= 0.0 {
            let frac = if prev > m { prev / (prev - m) } else { 1.0 };
            let t = prev_t + frac.clamp(0.0, 1.0) * (p.t_ms as f64 - prev_t);
            tte = (t - now_ms as f64) / 1000.0;
        }
        (prev_t, prev) = (p.t_ms as f64, m);
        let sigma = (p.upper - p.lower) / (2.0 * z);
        let pr = if sigma.is_finite() && sigma > 0.0 {
            normal_cdf(-m / sigma)
        } else if m <= 0.0 {
            1.0
        } else {
            0.0
        };
        prob = prob.max(pr);
    }
    Exhaustion {
        time_to_exhaustion_seconds: tte,
        probability: prob.clamp(0.0, 1.0),
    }
}

/// Standard normal CDF via the complementary error function (Numerical Recipes
/// erfc, relative error below 1.2e-7 everywhere).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions() {
        assert!((normal_cdf(1.644854) - 0.95).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn exhausted_now_is_zero_and_certain() {
        let e = assess(0.0, &[10.0], &[5.0], &[15.0], 60.0, 0.95);
        assert_eq!(
            e,
            Exhaustion {
                time_to_exhaustion_seconds: 0.0,
                probability: 1.0
            }
        );
    }

    #[test]
    fn steady_drain_crosses_zero_between_steps() {
        // 100 left, 30 fewer per 60 s step: zero at 200 s.
        let mean: Vec<f64> = (1..=10).map(|i| 100.0 - 30.0 * i as f64).collect();
        let lower: Vec<f64> = mean.iter().map(|m| m - 10.0).collect();
        let upper: Vec<f64> = mean.iter().map(|m| m + 10.0).collect();
        let e = assess(100.0, &mean, &lower, &upper, 60.0, 0.95);
        assert!((e.time_to_exhaustion_seconds - 200.0).abs() < 1e-9, "{e:?}");
        assert!(e.probability > 0.999, "{e:?}");
    }

    #[test]
    fn flat_resource_never_runs_out() {
        let mean = vec![50.0; 24];
        let lower = vec![40.0; 24];
        let upper = vec![60.0; 24];
        let e = assess(50.0, &mean, &lower, &upper, 3600.0, 0.95);
        assert!(e.time_to_exhaustion_seconds.is_infinite());
        assert!(e.probability < 1e-6, "{e:?}");
    }

    #[test]
    fn probability_reads_the_interval() {
        // At the last step the mean is exactly one interval half-width above zero:
        // P(X <= 0) = 1 - 0.975 = 0.025 for a 95% interval.
        let e = assess(10.0, &[5.0], &[0.0], &[10.0], 60.0, 0.95);
        assert!((e.probability - 0.025).abs() < 1e-4, "{e:?}");
        assert!(e.time_to_exhaustion_seconds.is_infinite());
    }
}
