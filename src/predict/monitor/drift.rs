//! Drift: a two-sided CUSUM (Page's) on the residuals of the exposed 1-hour
//! forecast, each standardised by a running mean absolute residual.
//!
//! Why these choices (docs/forecast.md, "Drift"):
//! * residuals at a 1-hour lead, not one step: the models refit every cycle and
//!   absorb a level shift within a few steps, so one-step residuals are large only
//!   briefly; a forecast made an hour earlier keeps missing for an hour;
//! * CUSUM rather than a two-sample test: it needs O(1) state, reacts to a small
//!   persistent shift as well as a large one, and its delay for a shift of δ
//!   (in residual units) is about `threshold / (δ − slack)` steps;
//! * the scale is learnt from the series' own residuals (mean |e|, a day's EWMA):
//!   interval widths are calibrated on validation windows, not on 1-hour leads,
//!   and would make the alarm rate depend on the model;
//! * each standardised residual is clipped, so one burst cannot fire it alone,
//!   and after a detection the detector is quiet for a cooldown and relearns
//!   the scale: the models need time to adapt, and their errors meanwhile are
//!   the same change, not a new one.

/// Tuning of the detector (defaults in [`DriftParams::DEFAULT`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftParams {
    /// Allowance per residual, in residual units.
    pub slack: f64,
    /// Alarm when a cumulative sum exceeds this.
    pub threshold: f64,
    /// Standardised residuals are clipped to ±clip.
    pub clip: f64,
    /// EWMA weight of the scale per residual.
    pub alpha: f64,
    /// Residuals that only learn the scale (at start and after an alarm).
    pub warmup: u32,
    /// No alarm this long after the previous one.
    pub cooldown_ms: i64,
}

impl DriftParams {
    pub const DEFAULT: DriftParams = DriftParams {
        slack: 1.0,
        threshold: 16.0,
        clip: 3.0,
        alpha: 1.0 / 288.0,
        warmup: 36,
        cooldown_ms: 24 * 3_600_000,
    };
}

/// State of one series' detector: a few numbers, persisted with the series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Detector {
    /// Running mean absolute residual.
    pub scale: f64,
    pub seen: u32,
    pub pos: f64,
    pub neg: f64,
    /// Time of the residual where each sum last left zero: the change's onset.
    pub pos_from_ms: i64,
    pub neg_from_ms: i64,
    pub quiet_until_ms: i64,
}

/// A mean absolute residual below this share of the value is numerical noise
/// (a constant series forecast exactly), not a scale to standardise by.
const SCALE_FLOOR: f64 = 1e-4;

impl Detector {
    /// Feeds the residual `actual − forecast` of the bucket at `t_ms`; returns
    /// the estimated onset of a change when it fires.
    pub fn observe(
        &mut self,
        t_ms: i64,
        actual: f64,
        residual: f64,
        p: &DriftParams,
    ) -> Option<i64> {
        if !residual.is_finite() || !actual.is_finite() {
            return None;
        }
        let floor = (SCALE_FLOOR * actual.abs()).max(1e-12);
        let e = residual.abs();
        if self.seen < p.warmup {
            // Plain mean while warming up, then the EWMA carries on from it.
            self.seen += 1;
            self.scale += (e - self.scale) / f64::from(self.seen);
            return None;
        }
        // Normal residuals have mean |e| = 0.8 σ: z is in standard deviations.
        let sd = 1.25 * self.scale.max(floor);
        let z = (residual / sd).clamp(-p.clip, p.clip);
        self.scale += p.alpha * ((e.min(p.clip * sd)) - self.scale);
        if t_ms < self.quiet_until_ms {
            return None;
        }
        if self.pos == 0.0 {
            self.pos_from_ms = t_ms;
        }
        if self.neg == 0.0 {
            self.neg_from_ms = t_ms;
        }
        self.pos = (self.pos + z - p.slack).max(0.0);
        self.neg = (self.neg - z - p.slack).max(0.0);
        let onset = if self.pos > p.threshold {
            self.pos_from_ms
        } else if self.neg > p.threshold {
            self.neg_from_ms
        } else {
            return None;
        };
        *self = Detector {
            quiet_until_ms: t_ms + p.cooldown_ms,
            ..Detector::default()
        };
        Some(onset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: &mut u64) -> f64 {
        // Sum of uniforms: close enough to normal for a unit test.
        (0..12)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 11) as f64 / (1u64 << 53) as f64
            })
            .sum::<f64>()
            - 6.0
    }

    #[test]
    fn fires_on_a_shift_and_not_on_noise() {
        let p = DriftParams::DEFAULT;
        let mut d = Detector::default();
        let mut seed = 7u64;
        let step = 300_000;
        let mut fired = Vec::new();
        // Four weeks of noise, then a shift of 3 σ.
        let n = 4 * 2016;
        for i in 0..n + 100 {
            let e = noise(&mut seed) + if i >= n { 3.0 } else { 0.0 };
            if let Some(on) = d.observe(i as i64 * step, 100.0, e, &p) {
                fired.push((i, on));
            }
        }
        assert_eq!(fired.len(), 1, "{fired:?}");
        let (i, onset) = fired[0];
        assert!(i >= n && i < n + 16, "fired at step {i}");
        assert!(onset >= (n as i64 - 3) * step && onset <= i as i64 * step);
        // Quiet during the cooldown even though the shift persists.
        assert!(d.quiet_until_ms > (n as i64 + 100) * step);
    }

    #[test]
    fn constant_series_and_garbage_do_not_fire() {
        let p = DriftParams::DEFAULT;
        let mut d = Detector::default();
        for i in 0..5000 {
            assert_eq!(d.observe(i * 300_000, 5e9, 0.0, &p), None);
            assert_eq!(d.observe(i * 300_000, f64::NAN, 1.0, &p), None);
        }
    }
}
