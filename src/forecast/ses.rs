//! Simple exponential smoothing fitted by least squares, as R's `ets(y, "ANN", opt.crit = "mse")`.
//!
//! For a fixed α the one-step errors are linear in the initial level, so the best level
//! has a closed form and only α needs a search: a coarse grid (SES error surfaces can
//! have more than one dip) refined by Brent's method. This reaches the same optimum as
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
    // While ℓ₀'s weight (1−α)^t still matters; once it would turn subnormal (slow
    // arithmetic, no effect on the sums) the rest runs without it.
    let mut t = 0;
    while t < y.len() && w > 1e-150 {
        let e = y[t] - l;
        see += e * e;
        sew += e * w;
        sww += w * w;
        l += alpha * e;
        w *= b;
        t += 1;
    }
    for &v in &y[t..] {
        let e = v - l;
        see += e * e;
        l += alpha * e;
    }
    let l0 = if sww > 0.0 { sew / sww } else { 0.0 };
    (see - sew * l0, l0)
}

/// SSE for several α in one pass: independent recursions interleave in the pipeline,
/// so the whole grid costs about as much as two single evaluations.
fn profile_grid<const K: usize>(y: &[f64], alphas: [f64; K]) -> [f64; K] {
    let b = alphas.map(|a| 1.0 - a);
    let (mut l, mut w) = ([0.0; K], [1.0; K]);
    let (mut see, mut sew, mut sww) = ([0.0; K], [0.0; K], [0.0; K]);
    for &v in y {
        for k in 0..K {
            let e = v - l[k];
            see[k] += e * e;
            sew[k] += e * w[k];
            sww[k] += w[k] * w[k];
            l[k] += alphas[k] * e;
            // Flush ℓ₀'s weight to zero before it turns subnormal (slow, no effect).
            w[k] = if w[k] > 1e-150 { w[k] * b[k] } else { 0.0 };
        }
    }
    std::array::from_fn(|k| {
        see[k]
            - if sww[k] > 0.0 {
                sew[k] * sew[k] / sww[k]
            } else {
                0.0
            }
    })
}

pub fn fit(y: &[f64]) -> Ses {
    const GRID: [f64; 12] = [
        ALPHA_MIN, 0.003, 0.01, 0.03, 0.07, 0.15, 0.25, 0.4, 0.55, 0.7, 0.85, ALPHA_MAX,
    ];
    let sse = |a: f64| profile(y, a).0;
    let vals = profile_grid(y, GRID);
    let best = (0..GRID.len())
        .min_by(|a, b| vals[*a].total_cmp(&vals[*b]))
        .unwrap_or(0);
    let lo = GRID[best.saturating_sub(1)];
    let hi = GRID[(best + 1).min(GRID.len() - 1)];
    let (mut alpha, mut v) = brent(sse, lo, hi, GRID[best], vals[best]);
    if vals[best] < v {
        (alpha, v) = (GRID[best], vals[best]);
    }
    let (_, l0) = profile(y, alpha);
    let mut level = l0;
    for &x in y {
        level += alpha * (x - level);
    }
    Ses {
        alpha,
        l0,
        level,
        sse: v,
    }
}

/// Brent's minimiser on [a, b] from a known interior point x (golden sections with
/// parabolic steps): about a third of the evaluations of plain golden sections.
fn brent(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, x0: f64, fx0: f64) -> (f64, f64) {
    const CG: f64 = 0.381_966_011_250_105;
    let (mut x, mut w, mut v) = (x0, x0, x0);
    let (mut fx, mut fw, mut fv) = (fx0, fx0, fx0);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    for _ in 0..60 {
        let m = 0.5 * (a + b);
        let tol = 1e-6 * x.abs() + 1e-9;
        if (x - m).abs() <= 2.0 * tol - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < 2.0 * tol || b - u < 2.0 * tol {
                    d = if x < m { tol } else { -tol };
                }
                golden = false;
            }
        }
        if golden {
            e = if x < m { b - x } else { a - x };
            d = CG * e;
        }
        let u = if d.abs() >= tol {
            x + d
        } else {
            x + tol.copysign(d)
        };
        let fu = f(u);
        if fu <= fx {
            if u < x {
                b = x
            } else {
                a = x
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u
            } else {
                b = u
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
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
        let grid = profile_grid(&y, [0.1, 0.5]);
        assert!((grid[0] - profile(&y, 0.1).0).abs() < 1e-9 * grid[0]);
        assert!((grid[1] - profile(&y, 0.5).0).abs() < 1e-9 * grid[1]);
        let direct: f64 = fitted(&y, &s)
            .iter()
            .zip(&y)
            .map(|(f, v)| (v - f).powi(2))
            .sum();
        assert!((direct - s.sse).abs() < 1e-6 * s.sse.max(1.0));
    }
}
