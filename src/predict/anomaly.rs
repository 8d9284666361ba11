//! Anomaly score: how unusual a series' latest values are given what nodecast
//! forecast for them an hour earlier. Pure: the daemon's forecast loop,
//! `nodecast anomaly-eval` and the tests feed it the same way, so the evaluated score
//! is the exported one.
//!
//! Per downsampled bucket (definition in docs/anomaly.md):
//! 1. `e = (actual − mean) / σ`, with `σ = (upper − lower) / (2·z_level)` the band of
//!    the first forecast that covered the bucket, made [`EXPECT_BUCKETS`] before it
//!    (its history ends before the bucket, so nothing the bucket contains leaks into
//!    its own expectation, and a refit cannot absorb a shift within the hour);
//! 2. `r = e / ŝ`, `ŝ` a running robust scale of `e`: its median |e| divided by the
//!    normal's (0.674), i.e. a MAD, within [`Params::min_scale`, `Params::max_scale`].
//!    Bands that over- or under-cover a series are corrected by its own residuals;
//! 3. the score is the [`Params::sustain`]-th largest |r| of the last
//!    [`Params::over`] buckets: it exceeds a threshold only when that many of them
//!    did. One wild bucket (a CPU burst) does not alarm; a departure that lasts does.
//!
//! A robust z, not a probability: 0 means "as forecast", 4 means at least 8 of the
//! last 12 buckets were four robust standard errors away or more.

/// The score above which `NodecastSeriesAnomalous` fires (chosen on the tune part of
/// the NAB evaluation at the daemon's cadence, docs/anomaly.md; the rules file
/// states the same number).
pub const ALERT_THRESHOLD: f64 = 4.0;

/// How far ahead a bucket's expectation is made: one hour at the default 5-minute
/// step. The daemon and `anomaly-eval` both pass it to [`Tracker::expect`].
pub const EXPECT_BUCKETS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// How many of the last [`Params::over`] buckets must be this far off for the
    /// score to be: the score is their `sustain`-th largest |r| (1 = the latest).
    pub sustain: usize,
    /// Buckets the score looks back over, at most [`MAX_OVER`].
    pub over: usize,
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
    /// Quantile of |e| the scale tracks, in (0, 1), divided by the same quantile
    /// of a standard normal's |e|: 0.5 makes the scale a MAD.
    pub scale_quantile: f64,
}

/// Longest look-back of the score: its buckets are kept per series.
pub const MAX_OVER: usize = 24;

/// The defaults the daemon uses (see docs/anomaly.md for how they were chosen).
pub const DEFAULT: Params = Params {
    // 8 of 12: two thirds of the last hour at the default 5-minute step.
    sustain: 8,
    over: 12,
    // The median moves by ±0.5% a bucket: a doubled spread is learnt once about
    // 140 more residuals fell above the median than below it (half a day or more).
    scale_gain: 0.01,
    clip: 20.0,
    min_scale: 0.5,
    max_scale: 3.0,
    scale_reversion: 0.0,
    // The median of |e|: a MAD, the classical robust scale, unmoved by the
    // anomalies themselves as long as they are fewer than half the residuals.
    scale_quantile: 0.5,
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

/// Per-series state between forecast cycles: a few expected points, the scale and
/// the last few |r|.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pending: Vec<Expected>,
    /// Middle of the newest bucket scored: a bucket is never scored twice.
    last_ms: Option<i64>,
    /// |r| of the last `Params::over` buckets scored, oldest first.
    recent: std::collections::VecDeque<f64>,
    /// `Params::sustain` when the score was last updated.
    sustain: usize,
    /// Running `scale_quantile`-quantile of |e|; unused until the first bucket.
    abs_q: f64,
    scored: u64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// A forecast cycle of one series, as the daemon runs it: scores the newest
    /// `expect_points + 1` buckets of `window` (at their middles, `step_ms` apart)
    /// against the expectations of earlier forecasts, then takes `forecast`'s;
    /// returns the score.
    pub fn cycle(
        &mut self,
        window: &crate::store::Window,
        step_ms: i64,
        forecast: &Path,
        expect_points: usize,
    ) -> Option<f64> {
        let n = window.values.len();
        let tail = n.saturating_sub(expect_points + 1);
        self.observe(
            (tail..n).map(|i| (window.timestamp(i) + step_ms / 2, window.values[i])),
            step_ms,
            &DEFAULT,
        );
        self.expect(forecast, expect_points);
        self.score()
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
        // Between cycles it holds about `max_points` and the one being scored
        // (more only while actuals are missing): room for that, once, rather
        // than doubling past it for good.
        let room = max_points + 1;
        if self.pending.capacity() < room {
            self.pending
                .reserve_exact(room.saturating_sub(self.pending.len()));
        }
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
        let over = p.over.clamp(1, MAX_OVER);
        while self.recent.len() >= over {
            self.recent.pop_front();
        }
        if self.recent.capacity() < over {
            self.recent.reserve_exact(over - self.recent.len());
        }
        self.recent.push_back(r.abs());
        self.sustain = p.sustain.clamp(1, over);
        // Stochastic quantile tracking in log space: up by gain·p on an exceedance,
        // down by gain·(1 − p) otherwise, so P(|e| > q) settles at 1 − p whatever
        // the scale of the series, and one anomaly moves q by a bounded step.
        let hit = if e.abs() > q { 1.0 } else { 0.0 };
        let log_s = (q / zq).ln() * (1.0 - p.scale_reversion.clamp(0.0, 1.0))
            + p.scale_gain * (hit - (1.0 - p.scale_quantile));
        self.abs_q = zq * log_s.exp().clamp(p.min_scale, p.max_scale.max(p.min_scale));
        self.scored += 1;
    }

    /// The current score, `None` before the first bucket was scored: the
    /// `sustain`-th largest |r| of the recent buckets (0 while fewer were scored).
    pub fn score(&self) -> Option<f64> {
        if self.scored == 0 {
            return None;
        }
        // On the stack: `recent` holds at most MAX_OVER values, and a heap block
        // per series and cycle was the tracker's only allocation.
        let mut buf = [0.0f64; MAX_OVER];
        let n = self.recent.len().min(MAX_OVER);
        let v = &mut buf[..n];
        for (d, s) in v.iter_mut().zip(&self.recent) {
            *d = *s;
        }
        v.sort_unstable_by(|a, b| b.total_cmp(a));
        Some(v.get(self.sustain.max(1) - 1).copied().unwrap_or(0.0))
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
    fn in_band_values_score_low_and_a_lasting_jump_scores_high() {
        let mut t = Tracker::new();
        // Half-width 1.96 at 95%: σ = 1.
        let calm: Vec<f64> = (0..200)
            .map(|i| 10.0 + [0.8, -0.6, 0.3, -1.1][i % 4])
            .collect();
        let s = feed(&mut t, 0, &calm, 1.96);
        assert!(s.iter().all(|x| *x < ALERT_THRESHOLD), "{s:?}");
        // One wild bucket, even two in a row, is not yet an anomaly.
        let s = feed(&mut t, calm.len(), &[22.0, 22.0, 10.3, 9.4], 1.96);
        assert!(s.iter().all(|x| *x < ALERT_THRESHOLD), "{s:?}");
        // Eight of the last twelve buckets 12σ off are.
        let n = calm.len() + 4;
        let s = feed(&mut t, n, &[22.0; 8], 1.96);
        assert!(s[..5].iter().all(|x| *x < ALERT_THRESHOLD), "{s:?}");
        assert!(s[5] > ALERT_THRESHOLD, "{s:?}");
        // And it falls back once they are fewer than eight.
        let s = feed(&mut t, n + 8, &[10.0; 6], 1.96);
        assert!(s[5] < ALERT_THRESHOLD, "{s:?}");
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
        // The latest bucket alone is the score.
        let p = Params {
            sustain: 1,
            over: 1,
            ..DEFAULT
        };
        // Bucket 0 against the flat band: 10.5 is far outside it.
        t.observe([(0, 10.5)], STEP, &p);
        assert!(t.score().unwrap() >= p.clip / p.max_scale * 0.99);
        // Bucket 1 is still judged by the first forecast (10, flat): 20 is far off.
        t.observe([(STEP, 20.0)], STEP, &p);
        assert!(t.score().unwrap() > ALERT_THRESHOLD);
        assert!(t.score().unwrap().is_finite());
        assert_eq!(t.pending_len(), 3);
    }
}
