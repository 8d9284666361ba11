//! Anomaly score: how unusual a series' latest values are given what the previous
//! forecast expected of them. Pure: the daemon's forecast loop, `nodecast anomaly-eval`
//! and the tests feed it the same way, so the evaluated score is the exported one.
//!
//! Per downsampled bucket (definition in docs/anomaly.md):
//! 1. `e = (actual − mean) / σ`, with `σ = (upper − lower) / (2·z_level)` the band of
//!    the latest forecast made *before* the bucket began (its history ends before it),
//!    so nothing the bucket contains leaks into its own expectation;
//! 2. `r = e / ŝ`, `ŝ` a running robust scale of `e`: its 99th percentile of |e|
//!    divided by the normal's (2.576), at least [`Params::min_scale`]. Bands that
//!    over- or under-cover a series, or a series whose residuals are heavy-tailed,
//!    are corrected by its own recent residuals;
//! 3. the score is `|EWMA(r)|`, weight [`Params::alpha`], each `r` clipped to
//!    [`Params::clip`]: one wild bucket raises it, a level shift keeps it up,
//!    alternating noise cancels.
//!
//! A robust z, not a probability: 0 means "as forecast", 4 means four standard
//! errors away, and it does not saturate, so thresholds stay tunable.

/// The score above which `NodecastSeriesAnomalous` fires (chosen on the tune part of
/// the NAB evaluation, docs/anomaly.md; the rules file states the same number).
pub const ALERT_THRESHOLD: f64 = 3.0;

/// How far ahead a bucket's expectation is made: one hour at the default 5-minute
/// step. The daemon and `anomaly-eval` both pass it to [`Tracker::expect`].
pub const EXPECT_BUCKETS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Weight of the newest bucket in the score's EWMA (1 = no smoothing).
    pub alpha: f64,
    /// Step of the scale's quantile tracker, in log units per bucket.
    pub scale_gain: f64,
    /// Largest |e| and score: one absurd value cannot hold the score up for hours.
    pub clip: f64,
    /// The robust scale never shrinks the band's σ below this fraction of itself:
    /// a flat stretch would otherwise make the next ordinary wiggle an anomaly.
    pub min_scale: f64,
    /// Nor widens it beyond this multiple: a badly fitted first day (no season yet)
    /// would otherwise inflate the quantile for weeks and hide later anomalies.
    pub max_scale: f64,
    /// Per-bucket pull of log(scale) back towards the band (0 = none): a 99%
    /// tracker otherwise needs ~100 quiet buckets to undo one exceedance.
    pub scale_reversion: f64,
    /// Quantile of |e| the scale tracks, in (0, 1): heavy-tailed residuals (bursty
    /// CPU) raise it, so only bursts larger than the series' usual ones score high.
    pub scale_quantile: f64,
}

/// The defaults the daemon uses (see docs/anomaly.md for how they were chosen).
pub const DEFAULT: Params = Params {
    alpha: 0.3,
    // Below the quantile q shrinks by 0.1% a bucket: halved in about 2.4 days
    // at 5 minutes; each exceedance raises it by about 10%.
    scale_gain: 0.1,
    clip: 20.0,
    min_scale: 0.5,
    max_scale: 3.0,
    scale_reversion: 0.0,
    scale_quantile: 0.99,
};

/// What a forecast expected of one bucket, its real time the bucket's middle.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    t_ms: i64,
    mean: f64,
    sigma: f64,
}

/// A forecast path as `Assessment`/`SeriesForecast` publish it.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    pub start_ms: i64,
    pub step_ms: i64,
    pub mean: &'a [f64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
    /// Coverage of `lower..upper`, in (0, 1).
    pub level: f64,
}

/// Per-series state between forecast cycles: a few expected points and two EWMAs.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pending: Vec<Expected>,
    /// Middle of the newest bucket scored: a bucket is never scored twice.
    last_ms: Option<i64>,
    smoothed: f64,
    /// Running `scale_quantile`-quantile of |e|; unused until the first bucket.
    abs_q: f64,
    scored: u64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Remembers what a new forecast expects of buckets no earlier forecast covered,
    /// up to `max_points` after its start. A bucket keeps the first expectation made
    /// of it, `max_points` buckets ahead once cycles run every bucket: a forecast
    /// refitted every bucket follows a burst within a bucket or two and would
    /// judge its second hour as ordinary.
    pub fn expect(&mut self, path: &Path, max_points: usize) {
        let z = crate::forecast::stats::z_for_level(path.level);
        let n = path
            .mean
            .len()
            .min(path.lower.len())
            .min(path.upper.len())
            .min(max_points);
        let covered = self.pending.last().map(|e| e.t_ms).max(self.last_ms);
        for i in 0..n {
            let (m, lo, hi) = (path.mean[i], path.lower[i], path.upper[i]);
            if !m.is_finite() {
                continue;
            }
            let half = if lo.is_finite() && hi.is_finite() {
                (hi - lo).abs() / 2.0
            } else {
                0.0
            };
            // A zero-width band (a constant history) still needs a scale; a tiny one
            // relative to the level makes any change large without dividing by zero.
            let sigma = (half / z).max(1e-9 + 1e-6 * m.abs());
            let t_ms = path.start_ms + i as i64 * path.step_ms;
            if covered.is_some_and(|c| t_ms <= c + path.step_ms / 2) {
                continue;
            }
            self.pending.push(Expected {
                t_ms,
                mean: m,
                sigma,
            });
        }
    }

    /// Scores completed buckets `(middle time ms, mean value)`, oldest first, against
    /// the expectations; buckets already scored, without an expectation within half a
    /// step, or NaN are skipped. Returns how many were scored.
    pub fn observe(
        &mut self,
        buckets: impl IntoIterator<Item = (i64, f64)>,
        step_ms: i64,
        p: &Params,
    ) -> usize {
        let half = (step_ms / 2).max(1);
        let mut n = 0;
        for (t, v) in buckets {
            if !v.is_finite() || self.last_ms.is_some_and(|l| t <= l) {
                continue;
            }
            let Some(e) = self.pending.iter().find(|e| (e.t_ms - t).abs() < half) else {
                continue;
            };
            let raw = ((v - e.mean) / e.sigma).clamp(-p.clip, p.clip);
            self.update(raw, p);
            self.last_ms = Some(t);
            n += 1;
        }
        if let Some(l) = self.last_ms {
            self.pending.retain(|e| e.t_ms > l);
        }
        n
    }

    fn update(&mut self, e: f64, p: &Params) {
        let zq = crate::forecast::stats::qnorm((1.0 + p.scale_quantile) / 2.0);
        let q = if self.scored == 0 { zq } else { self.abs_q };
        let scale = (q / zq).clamp(p.min_scale, p.max_scale.max(p.min_scale));
        let r = (e / scale).clamp(-p.clip, p.clip);
        self.smoothed = p.alpha * r + (1.0 - p.alpha) * self.smoothed;
        // Stochastic quantile tracking in log space: up by gain·p on an exceedance,
        // down by gain·(1 − p) otherwise, so P(|e| > q) settles at 1 − p whatever
        // the scale of the series, and one anomaly moves q by a bounded step.
        let hit = if e.abs() > q { 1.0 } else { 0.0 };
        let log_s = (q / zq).ln() * (1.0 - p.scale_reversion.clamp(0.0, 1.0))
            + p.scale_gain * (hit - (1.0 - p.scale_quantile));
        self.abs_q = zq * log_s.exp().clamp(p.min_scale, p.max_scale.max(p.min_scale));
        self.scored += 1;
    }

    /// The current score, `None` before the first bucket was scored.
    pub fn score(&self) -> Option<f64> {
        (self.scored > 0).then_some(self.smoothed.abs())
    }

    /// Expectations held (for tests and the memory bound).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 300_000;

    fn flat_path(
        start_ms: i64,
        mean: f64,
        half: f64,
        n: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, i64) {
        (
            vec![mean; n],
            vec![mean - half; n],
            vec![mean + half; n],
            start_ms,
        )
    }

    /// One forecast cycle per value, from bucket `first` on.
    fn feed(t: &mut Tracker, first: usize, values: &[f64], half: f64) -> Vec<f64> {
        let mut scores = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let start = (first + i) as i64 * STEP;
            let (m, lo, hi, s) = flat_path(start, 10.0, half, 2);
            t.expect(
                &Path {
                    start_ms: s,
                    step_ms: STEP,
                    mean: &m,
                    lower: &lo,
                    upper: &hi,
                    level: 0.95,
                },
                2,
            );
            t.observe([(start, *v)], STEP, &DEFAULT);
            scores.push(t.score().unwrap_or(f64::NAN));
        }
        scores
    }

    #[test]
    fn in_band_values_score_low_and_a_jump_scores_high() {
        let mut t = Tracker::new();
        // Half-width 1.96 at 95%: σ = 1.
        let calm: Vec<f64> = (0..200)
            .map(|i| 10.0 + [0.8, -0.6, 0.3, -1.1][i % 4])
            .collect();
        let s = feed(&mut t, 0, &calm, 1.96);
        assert!(s.iter().all(|x| *x < ALERT_THRESHOLD), "{s:?}");
        let s = feed(&mut t, calm.len(), &[10.0 + 12.0], 1.96);
        assert!(s[0] > ALERT_THRESHOLD, "{s:?}");
    }

    #[test]
    fn a_bucket_is_scored_once_and_only_against_an_expectation() {
        let mut t = Tracker::new();
        assert_eq!(t.observe([(0, 5.0)], STEP, &DEFAULT), 0);
        assert_eq!(t.score(), None);
        let (m, lo, hi, s) = flat_path(0, 10.0, 1.96, 3);
        let path = Path {
            start_ms: s,
            step_ms: STEP,
            mean: &m,
            lower: &lo,
            upper: &hi,
            level: 0.95,
        };
        t.expect(&path, 3);
        assert_eq!(t.pending_len(), 3);
        assert_eq!(t.observe([(0, 10.0), (STEP, 10.0)], STEP, &DEFAULT), 2);
        assert_eq!(t.observe([(STEP, 30.0)], STEP, &DEFAULT), 0);
        assert_eq!(t.pending_len(), 1);
        assert_eq!(t.score(), Some(0.0));
    }

    #[test]
    fn a_bucket_keeps_its_first_expectation_and_a_flat_band_still_scores() {
        let mut t = Tracker::new();
        let (m, lo, hi, s) = flat_path(0, 10.0, 0.0, 4);
        t.expect(
            &Path {
                start_ms: s,
                step_ms: STEP,
                mean: &m,
                lower: &lo,
                upper: &hi,
                level: 0.95,
            },
            4,
        );
        // A later forecast (mean 20) adds only the buckets after the first's.
        let (m2, lo2, hi2, _) = flat_path(STEP, 20.0, 1.96, 4);
        t.expect(
            &Path {
                start_ms: STEP,
                step_ms: STEP,
                mean: &m2,
                lower: &lo2,
                upper: &hi2,
                level: 0.95,
            },
            4,
        );
        assert_eq!(t.pending_len(), 5);
        // Bucket 0 against the flat band: 10.5 is far outside it.
        t.observe([(0, 10.5)], STEP, &DEFAULT);
        assert!(t.score().unwrap() >= DEFAULT.clip * DEFAULT.alpha * 0.99);
        // Bucket 1 is still judged by the first forecast (10, flat): 20 is far off.
        t.observe([(STEP, 20.0)], STEP, &DEFAULT);
        assert!(t.score().unwrap() > ALERT_THRESHOLD);
        assert!(t.score().unwrap().is_finite());
        assert_eq!(t.pending_len(), 3);
    }
}
