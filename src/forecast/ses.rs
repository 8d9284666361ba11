//! Simple exponential smoothing fitted by least squares, as R's `ets(y, "ANN", opt.crit = "mse")`.
//!
//! For a fixed α the one-step errors are linear in the initial level, so the best level
//! has a closed form and only α needs a search: a coarse grid (SES error surfaces can
//! have more than one dip) refined by golden section. This reaches the same optimum as
//! R's Nelder–Mead over (α, ℓ₀) at a fraction of the cost.

/// R's "usual" bounds for α.
pub const ALPHA_MIN: f64 = 1e-4;
pub const ALPHA_MAX: f64 = 0.9999;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ses {
    pub alpha: f64,
    pub l0: f64,
    /// Level after the last observation: the flat SES forecast.
    pub level: f64,
    /// Sum of squared one-step errors.
    pub sse: f64,
}

/// SSE and optimal ℓ₀ for a given α, in one pass.
fn profile(y: &[f64], alpha: f64) -> (f64, f64) {
    let b = 1.0 - alpha;
    let (mut l, mut w) = (0.0, 1.0);
    let (mut see, mut sew, mut sww) = (0.0, 0.0, 0.0);
    for &v in y {
        let e = v - l;
        see += e * e;
        sew += e * w;
        sww += w * w;
        l += alpha * e;
        w *= b;
    }
    let l0 = if sww > 0.0 { sew / sww } else { 0.0 };
    (see - sew * l0, l0)
}

pub fn fit(y: &[f64]) -> Ses {
    const GRID: [f64; 17] = [
        ALPHA_MIN, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
        0.9, ALPHA_MAX,
    ];
    let sse = |a: f64| profile(y, a).0;
    let mut best = 0;
    let mut best_v = f64::INFINITY;
    for (i, a) in GRID.iter().enumerate() {
        let v = sse(*a);
        if v < best_v {
            best_v = v;
            best = i;
        }
    }
    let mut lo = GRID[best.saturating_sub(1)];
    let mut hi = GRID[(best + 1).min(GRID.len() - 1)];
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = hi - g * (hi - lo);
    let mut d = lo + g * (hi - lo);
    let (mut fc, mut fd) = (sse(c), sse(d));
    while hi - lo > 1e-7 * (1.0 + lo) {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = sse(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = sse(d);
        }
    }
    let mut alpha = 0.5 * (lo + hi);
    if sse(alpha) > best_v {
        alpha = GRID[best];
    }
    let (sse_v, l0) = profile(y, alpha);
    let mut level = l0;
    for &v in y {
        level += alpha * (v - level);
    }
    Ses { alpha, l0, level, sse: sse_v }
}

/// One-step-ahead fitted values of a fitted SES.
pub fn fitted(y: &[f64], s: &Ses) -> Vec<f64> {
    let mut l = s.l0;
    y.iter()
        .map(|v| {
            let f = l;
            l += s.alpha * (v - l);
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_profile_minimum() {
        // A noisy level shift: the best α is interior; nearby α must not do better.
        let y: Vec<f64> = (0..200)
            .map(|t| if t < 100 { 10.0 } else { 20.0 } + ((t * 7919) % 13) as f64 / 13.0)
            .collect();
        let s = fit(&y);
        for da in [-0.01, 0.01] {
            let a = (s.alpha + da).clamp(ALPHA_MIN, ALPHA_MAX);
            assert!(profile(&y, a).0 >= s.sse - 1e-9);
        }
        let direct: f64 = fitted(&y, &s).iter().zip(&y).map(|(f, v)| (v - f).powi(2)).sum();
        assert!((direct - s.sse).abs() < 1e-6 * s.sse.max(1.0));
    }
}
