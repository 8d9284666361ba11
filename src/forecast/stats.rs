//! Small numeric helpers shared by the models.

/// Inverse of the standard normal CDF (Acklam's rational approximation, relative error
/// below 1.2e-9), so interval widths match R's `qnorm` far beyond the 2% tolerance.
pub fn qnorm(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Dot product with eight independent accumulators: a plain iterator sum is one
/// serial chain of additions (the compiler may not reassociate floats), which made the
/// O(n·m) autocorrelation of a 5-minute series the slowest part of Theta.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f64>() + tail
}

/// Two-sided normal multiplier for a central interval at `level` (0.95 → 1.96).
pub fn z_for_level(level: f64) -> f64 {
    qnorm(0.5 + level / 2.0)
}

/// A normal band `point[i] ± z(level)·se(i)` around a path.
pub fn band(point: &[f64], level: f64, se: impl Fn(usize) -> f64) -> augurs::ForecastIntervals {
    let z = z_for_level(level);
    augurs::ForecastIntervals {
        level,
        lower: point
            .iter()
            .enumerate()
            .map(|(i, p)| p - z * se(i))
            .collect(),
        upper: point
            .iter()
            .enumerate()
            .map(|(i, p)| p + z * se(i))
            .collect(),
    }
}

/// A band of constant half-width `z(level)·sigma` (in-sample intervals).
pub fn constant_band(point: &[f64], level: f64, sigma: f64) -> augurs::ForecastIntervals {
    band(point, level, |_| sigma)
}

/// In-sample one-season-ahead fit of a seasonal model: `point_at(t)` for every `t`
/// with a full season before it (NaN before), in a constant band of `sigma`.
pub fn seasonal_in_sample(
    f: &mut augurs::Forecast,
    n: usize,
    period: usize,
    level: Option<f64>,
    sigma: f64,
    point_at: impl Fn(usize) -> f64,
) {
    f.point = (0..n)
        .map(|t| if t >= period { point_at(t) } else { f64::NAN })
        .collect();
    f.intervals = level.map(|level| constant_band(&f.point, level, sigma));
}

/// Slope of the least-squares line of `y` on 0..n−1 (R's `lsfit(0:(n-1), y)`).
pub fn ols_slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    if y.len() < 2 {
        return 0.0;
    }
    let xm = (n - 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - xm;
        sxy += dx * (v - ym);
        sxx += dx * dx;
    }
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasonal_in_sample_starts_after_one_season() {
        let mut f = augurs::Forecast::empty();
        seasonal_in_sample(&mut f, 5, 2, Some(0.95), 1.0, |t| 10.0 * t as f64);
        assert!(f.point[..2].iter().all(|p| p.is_nan()));
        assert_eq!(&f.point[2..], &[20.0, 30.0, 40.0]);
        let iv = f.intervals.expect("band");
        assert!((iv.upper[3] - iv.lower[3] - 2.0 * z_for_level(0.95)).abs() < 1e-12);
    }

    #[test]
    fn qnorm_matches_r() {
        // R: qnorm(0.975), qnorm(0.9), qnorm(0.995)
        assert!((qnorm(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((qnorm(0.9) - 1.281551565544601).abs() < 1e-8);
        assert!((qnorm(0.995) - 2.575829303548901).abs() < 1e-8);
        assert!((qnorm(0.025) + 1.959963984540054).abs() < 1e-8);
    }

    #[test]
    fn slope_of_a_line() {
        let y: Vec<f64> = (0..7).map(|i| 3.0 + 0.5 * i as f64).collect();
        assert!((ols_slope(&y) - 0.5).abs() < 1e-12);
    }
}
