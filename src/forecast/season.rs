//! Seasonality: candidate periods, the M4/thetaf ACF test, and classical decomposition.

/// z for a one-sided 95% quantile: the test is at 90% two-sided, as in M4 and `thetaf`.
const Z_90: f64 = 1.644_853_626_951_472_2;

/// Candidate periods (in steps) for a series sampled every `step_secs`: one day, and
/// one week once at least three weeks are available (fewer weeks make the weekly
/// indices too noisy to beat the daily ones).
pub fn candidate_periods(step_secs: f64, len: usize) -> Vec<usize> {
    if !(step_secs.is_finite() && step_secs > 0.0) {
        return Vec::new();
    }
    let day = (86_400.0 / step_secs).round() as usize;
    let mut out = Vec::new();
    if day >= 2 && len >= 2 * day {
        out.push(day);
        if len >= 3 * 7 * day {
            out.push(7 * day);
        }
    }
    out
}

/// A period hinted by augurs' Welch periodogram, for series whose step gives no daily
/// season (odd steps, or explicit seasons absent); the ACF test still decides whether
/// a model uses it.
pub fn periodogram_hint(y: &[f64]) -> Option<usize> {
    use augurs::seasons::{Detector as _, PeriodogramDetector};
    if y.len() < 32 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max = (y.len() / 3).min(u32::MAX as usize) as u32;
    let detector = PeriodogramDetector::builder()
        .min_period(2)
        .max_period(max)
        .build();
    // The strongest peak may be a harmonic (a period of 12 often shows as 4 or 6): the
    // period is the shortest multiple of it at which the series repeats about as well
    // as at any multiple.
    let p = (*detector.detect(y).first()? as usize).max(2);
    let multiples: Vec<usize> = (1..=12)
        .map(|k| k * p)
        .filter(|q| *q <= y.len() / 3)
        .collect();
    let r = acf(y, *multiples.last()?);
    let best = multiples
        .iter()
        .map(|q| r[q - 1])
        .fold(f64::NEG_INFINITY, f64::max);
    multiples
        .into_iter()
        .find(|q| r[q - 1] >= best - 0.05)
        .filter(|q| is_seasonal(y, *q))
}

/// Sample autocorrelations r_1..=r_max_lag, with R's `acf` normalisation (sums over n).
pub fn acf(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0 = super::stats::dot(&d, &d);
    let lags = max_lag.min(n.saturating_sub(1));
    if c0 == 0.0 {
        return vec![0.0; lags];
    }
    // Lag by lag costs n·lags: on 35 days at 5 minutes with a weekly lag that is 2·10⁷
    // products per test, and `auto` runs the test in every validation fit. Through the
    // FFT it is O(n log n); the direct sum stays for short lags, where it is cheaper.
    if lags > FFT_MIN_LAGS {
        return acf_fft(&d, lags).into_iter().map(|c| c / c0).collect();
    }
    (1..=lags)
        .map(|k| super::stats::dot(&d[..n - k], &d[k..]) / c0)
        .collect()
}

/// Fewest lags for which the FFT beats the direct sums.
const FFT_MIN_LAGS: usize = 32;

// Planning a transform costs more than running it, so the planner caches its plans per
// length for the thread; the callers drop them between batches (see `drop_fft_plans`).
thread_local! {
    static PLANNER: std::cell::RefCell<rustfft::FftPlanner<f64>> =
        std::cell::RefCell::new(rustfft::FftPlanner::new());
}

/// Frees this thread's cached FFT plans. A plan for 35 days at 5 minutes holds
/// twiddle tables of 0.25 MiB per direction and length, about 0.8 MiB in all, which
/// a forecast cycle needs for a few seconds every 5 minutes; planning again once per
/// cycle costs far less than keeping them resident in between.
pub fn drop_fft_plans() {
    PLANNER.with(|p| *p.borrow_mut() = rustfft::FftPlanner::new());
}

/// Σ_t d_t·d_{t+k} for k = 1..=lags, as the inverse transform of the power spectrum of
/// `d` zero-padded to at least n + lags (no wrap-around).
fn acf_fft(d: &[f64], lags: usize) -> Vec<f64> {
    use rustfft::num_complex::Complex;
    let len = (d.len() + lags + 1).next_power_of_two();
    let mut buf: Vec<Complex<f64>> = d
        .iter()
        .map(|v| Complex::new(*v, 0.0))
        .chain(std::iter::repeat(Complex::new(0.0, 0.0)))
        .take(len)
        .collect();
    let (forward, inverse) = PLANNER.with(|p| {
        let mut p = p.borrow_mut();
        (p.plan_fft_forward(len), p.plan_fft_inverse(len))
    });
    forward.process(&mut buf);
    for c in &mut buf {
        *c = Complex::new(c.norm_sqr(), 0.0);
    }
    inverse.process(&mut buf);
    buf[1..=lags].iter().map(|c| c.re / len as f64).collect()
}

/// Answers of [`is_seasonal`] for one series (its values bit for bit), by period.
#[derive(Debug, Default)]
pub struct Seasonality {
    values: Vec<f64>,
    answers: Vec<(usize, bool)>,
}

/// What [`is_seasonal`] does besides testing (per thread).
enum Memo {
    /// Keeps the answers for the last series tested.
    Record(Seasonality),
    /// Answers from these when the series and the period are the same.
    Reuse(Seasonality),
}

thread_local! {
    static MEMO: std::cell::RefCell<Option<Memo>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `memo` set, and gives back the memo it left; the outer one
/// comes back even when `f` panics.
fn with_memo<R>(memo: Memo, f: impl FnOnce() -> R) -> (R, Option<Memo>) {
    struct Restore(Option<Memo>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            MEMO.with(|m| *m.borrow_mut() = outer);
        }
    }
    let restore = Restore(MEMO.with(|m| m.borrow_mut().replace(memo)));
    let r = f();
    let left = MEMO.with(|m| m.borrow_mut().take());
    drop(restore);
    (r, left)
}

/// Runs `f` and keeps the answers of its longest [`is_seasonal`] series: a
/// monitored cycle's champion, whose Theta member (`theta-add`) tests the history
/// the shadow Theta is about to test, for [`reusing_seasonality`].
pub fn recording_seasonality<R>(f: impl FnOnce() -> R) -> (R, Seasonality) {
    let (r, left) = with_memo(Memo::Record(Seasonality::default()), f);
    let kept = match left {
        Some(Memo::Record(s)) | Some(Memo::Reuse(s)) => s,
        None => Seasonality::default(),
    };
    (r, kept)
}

/// Runs `f` with `known` answers: the test (an autocorrelation by FFT) is about a
/// third of a Theta fit. An answer is reused only for the same period and the
/// same values, bit for bit, so it is the one the test would give.
pub fn reusing_seasonality<R>(known: Seasonality, f: impl FnOnce() -> R) -> R {
    with_memo(Memo::Reuse(known), f).0
}

/// The seasonality test of `thetaf` and the M4 benchmarks:
/// |r_m| > 1.645·√((1 + 2·Σ_{k<m} r_k²)/n).
pub fn is_seasonal(x: &[f64], m: usize) -> bool {
    let same =
        |y: &[f64]| y.len() == x.len() && y.iter().zip(x).all(|(a, b)| a.to_bits() == b.to_bits());
    let known = MEMO.with(|memo| match &*memo.borrow() {
        Some(Memo::Reuse(s)) => {
            let answer = s.answers.iter().find(|a| a.0 == m)?.1;
            same(&s.values).then_some(answer)
        }
        _ => None,
    });
    if let Some(answer) = known {
        return answer;
    }
    let answer = test_seasonal(x, m);
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let Some(Memo::Record(s)) = memo.as_mut() else {
            return;
        };
        // The longest series tested is the whole history, the one the shadow
        // tests; the backtest's shorter ones are neither compared nor copied.
        let n = s.values.len();
        if x.len() < n || (x.len() == n && !same(&s.values)) {
            return;
        }
        if x.len() > n {
            s.values.clear();
            s.values.extend_from_slice(x);
            s.answers.clear();
        }
        if s.answers.iter().all(|a| a.0 != m) {
            s.answers.push((m, answer));
        }
    });
    answer
}

fn test_seasonal(x: &[f64], m: usize) -> bool {
    let n = x.len();
    if m < 2 || n <= 2 * m || is_constant(x) {
        return false;
    }
    let r = acf(x, m);
    if r.len() < m {
        return false;
    }
    let s: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let limit = Z_90 * ((1.0 + 2.0 * s) / n as f64).sqrt();
    r[m - 1].abs() > limit
}

pub fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|v| *v == x[0])
}

/// Seasonal indices of R's `decompose(type = "multiplicative")` (or additive), one per
/// position modulo `m`, counted from the start of `x` (R's `decompose` is start-agnostic).
/// Multiplicative indices average to 1, additive ones to 0.
pub fn decompose_indices(x: &[f64], m: usize, multiplicative: bool) -> Vec<f64> {
    let n = x.len();
    let trend = centred_moving_average(x, m);
    let mut sum = vec![0.0; m];
    let mut count = vec![0usize; m];
    for t in 0..n {
        if let Some(tr) = trend[t] {
            let s = if multiplicative { x[t] / tr } else { x[t] - tr };
            if s.is_finite() {
                sum[t % m] += s;
                count[t % m] += 1;
            }
        }
    }
    let mut fig: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, c)| {
            if *c > 0 {
                s / *c as f64
            } else if multiplicative {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mean = fig.iter().sum::<f64>() / m as f64;
    for f in &mut fig {
        if multiplicative {
            *f /= mean;
        } else {
            *f -= mean;
        }
    }
    fig
}

/// Index (position modulo m) of the seasonal factor that applies `h` steps
/// (1-based) after the last of `n` observations.
pub fn index_after(n: usize, m: usize, h: usize) -> usize {
    (n + h - 1) % m
}

/// R's `filter(x, c(0.5, rep(1, m - 1), 0.5) / m)` for even m, or `rep(1, m) / m`
/// for odd m, centred; `None` where the window runs off either end.
fn centred_moving_average(x: &[f64], m: usize) -> Vec<Option<f64>> {
    let n = x.len();
    let mut out = vec![None; n];
    let half = m / 2;
    if n < m + 1 {
        return out;
    }
    if m % 2 == 0 {
        // Running sum of the m+1 window with halved ends, updated in O(1) per step.
        let inner = |t: usize| -> f64 { x[t - half + 1..t + half].iter().sum() };
        let mut s = inner(half);
        for t in half..n - half {
            if t > half {
                s += x[t + half - 1] - x[t - half];
            }
            out[t] = Some((s + 0.5 * (x[t - half] + x[t + half])) / m as f64);
        }
    } else {
        let mut s: f64 = x[..m].iter().sum();
        for t in half..n - half {
            if t > half {
                s += x[t + half] - x[t - half - 1];
            }
            out[t] = Some(s / m as f64);
        }
    }
    out
}

/// Divide (or subtract) the seasonal indices out of `x`.
pub fn adjust(x: &[f64], idx: &[f64], multiplicative: bool) -> Vec<f64> {
    let m = idx.len();
    x.iter()
        .enumerate()
        .map(|(t, v)| {
            if multiplicative {
                v / idx[t % m]
            } else {
                v - idx[t % m]
            }
        })
        .collect()
}

/// Put the seasonal indices back onto a forecast of `h` steps after `n` observations.
pub fn reseasonalise(y: &mut [f64], n: usize, idx: &[f64], multiplicative: bool) {
    let m = idx.len();
    for (i, v) in y.iter_mut().enumerate() {
        let s = idx[index_after(n, m, i + 1)];
        if multiplicative {
            *v *= s;
        } else {
            *v += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_even_matches_hand_computation() {
        let x: Vec<f64> = (0..10).map(|i| (i * i) as f64).collect();
        let ma = centred_moving_average(&x, 4);
        // t=2: (0.5*0 + 1 + 4 + 9 + 0.5*16)/4
        assert_eq!(ma[2], Some((0.0 + 1.0 + 4.0 + 9.0 + 8.0) / 4.0));
        assert_eq!(ma[5], Some((4.5 + 16.0 + 25.0 + 36.0 + 24.5) / 4.0));
        assert_eq!(ma[1], None);
        assert_eq!(ma[8], None);
    }

    #[test]
    fn fft_acf_matches_the_direct_sums() {
        let x: Vec<f64> = (0..500)
            .map(|t| (t as f64 * 0.37).sin() * 3.0 + (t % 7) as f64 + (t * t % 11) as f64)
            .collect();
        let fast = acf(&x, 100);
        let mean = x.iter().sum::<f64>() / 500.0;
        let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
        let c0 = crate::forecast::stats::dot(&d, &d);
        for (k, r) in fast.iter().enumerate() {
            let direct = crate::forecast::stats::dot(&d[..499 - k], &d[k + 1..]) / c0;
            assert!((r - direct).abs() < 1e-12, "lag {}: {r} vs {direct}", k + 1);
        }
    }

    #[test]
    fn detects_a_daily_cycle_and_not_noise() {
        let x: Vec<f64> = (0..240)
            .map(|t| 10.0 + (t as f64 * std::f64::consts::TAU / 24.0).sin())
            .collect();
        assert!(is_seasonal(&x, 24));
        let mut s = 1u64;
        let noise: Vec<f64> = (0..240)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        assert!(!is_seasonal(&noise, 24));
        // Recorded by one run and reused by the next: the same answers, for the
        // same values and period only, and nothing kept once a run ends.
        let short = &noise[..200];
        let ((), known) = recording_seasonality(|| {
            assert!(is_seasonal(short, 24) == test_seasonal(short, 24));
            assert!(is_seasonal(&x, 24) && is_seasonal(&x, 5) == test_seasonal(&x, 5));
            assert!(is_seasonal(short, 5) == test_seasonal(short, 5));
        });
        assert_eq!(known.values, x, "the longest series");
        assert_eq!(known.answers.len(), 2, "its periods only");
        reusing_seasonality(known, || {
            assert!(is_seasonal(&x, 24) && !is_seasonal(&noise, 24));
            assert!(is_seasonal(&x, 5) == test_seasonal(&x, 5));
            let mut flat = x.clone();
            flat.iter_mut().skip(1).for_each(|v| *v = x[0]);
            assert!(!is_seasonal(&flat, 24));
        });
        MEMO.with(|m| assert!(m.borrow().is_none()));
    }

    #[test]
    fn periodogram_hints_an_unlabelled_cycle() {
        let x: Vec<f64> = (0..360)
            .map(|t| 5.0 + [0.0, 3.0, 1.0, 4.0, 2.0, 6.0, 1.0, 0.5, 2.5, 3.5, 1.5, 0.2][t % 12])
            .collect();
        assert_eq!(periodogram_hint(&x), Some(12));
    }
}
