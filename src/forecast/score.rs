//! Accuracy measures as defined for the M4 competition.

/// Symmetric MAPE in percent: mean of 200·|y − f| / (|y| + |f|).
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    let n = actual.len().min(forecast.len());
    let s: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let d = a.abs() + f.abs();
            if d == 0.0 {
                0.0
            } else {
                200.0 * (a - f).abs() / d
            }
        })
        .sum();
    s / n as f64
}

/// In-sample MAE of the seasonal naive at lag `m`: MASE's scale. Pairs with a gap
/// (NaN) on either side are left out.
pub fn mase_scale(insample: &[f64], m: usize) -> f64 {
    let m = m.max(1);
    let (mut s, mut c) = (0.0, 0usize);
    for (a, b) in insample.iter().skip(m).zip(insample) {
        let d = (a - b).abs();
        if d.is_finite() {
            s += d;
            c += 1;
        }
    }
    if c == 0 {
        f64::NAN
    } else {
        s / c as f64
    }
}

/// Mean absolute scaled error against the in-sample seasonal naive at lag `m`.
pub fn mase(insample: &[f64], actual: &[f64], forecast: &[f64], m: usize) -> f64 {
    let n = actual.len().min(forecast.len());
    let mae: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / n as f64;
    mae / mase_scale(insample, m)
}

/// Fraction of actuals inside [lower, upper].
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let n = actual.len().min(lower.len()).min(upper.len());
    let inside = (0..n)
        .filter(|&i| actual[i] >= lower[i] && actual[i] <= upper[i])
        .count();
    inside as f64 / n as f64
}

/// Overall weighted average against Naive2, from sMAPE and MASE averaged over series.
pub fn owa(smape: f64, mase: f64, smape_naive2: f64, mase_naive2: f64) -> f64 {
    0.5 * (smape / smape_naive2 + mase / mase_naive2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_measures() {
        let a = [100.0, 200.0];
        let f = [110.0, 180.0];
        let expect = (200.0 * 10.0 / 210.0 + 200.0 * 20.0 / 380.0) / 2.0;
        assert!((smape(&a, &f) - expect).abs() < 1e-12);
        // Scale: |3-1| and |4-2| → 2; MAE 15 → MASE 7.5.
        assert!((mase(&[1.0, 2.0, 3.0, 4.0], &a, &f, 2) - 7.5).abs() < 1e-12);
        assert_eq!(coverage(&a, &[90.0, 190.0], &[105.0, 250.0]), 1.0);
        assert_eq!(coverage(&a, &[101.0, 190.0], &[105.0, 250.0]), 0.5);
        assert!((owa(10.0, 1.0, 20.0, 2.0) - 0.5).abs() < 1e-12);
    }
}
