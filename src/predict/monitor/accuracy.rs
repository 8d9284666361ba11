//! Online accuracy: a forecast path is kept until its actuals have arrived, then
//! scored exactly as `nodecast backtest` scores a rolling origin — MAE over the
//! path's steps divided by the in-sample MAE of the seasonal naive at the daily
//! lag (MASE), and the share of actuals inside the band. Scores go into 6-hour
//! buckets covering 7 days, so the 24 h and 7 d windows cost a fixed few hundred
//! bytes per series and horizon, whatever the forecast interval.

use crate::store::Window;

/// Width of one score bucket: the 24 h window is its last 4 buckets.
pub const BUCKET_MS: i64 = 6 * 3_600_000;
/// Buckets kept: 7 days.
pub const BUCKETS: usize = 28;
/// The windows exposed, with their label.
pub const WINDOWS: [(&str, i64); 2] = [("24h", 86_400_000), ("7d", 7 * 86_400_000)];

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bucket {
    /// Sum of per-origin MASE and of per-origin coverage, and how many origins.
    pub mase: f32,
    pub cover: f32,
    pub n: u16,
}

/// Scores of one horizon over the last [`BUCKETS`] buckets, as a ring.
#[derive(Debug, Clone, PartialEq)]
pub struct Windowed {
    /// Number (time / [`BUCKET_MS`]) of the newest bucket; buckets before
    /// `head − BUCKETS + 1` have been cleared.
    pub head: i64,
    pub ring: [Bucket; BUCKETS],
}

impl Default for Windowed {
    fn default() -> Self {
        Windowed {
            head: 0,
            ring: [Bucket::default(); BUCKETS],
        }
    }
}

/// A window's result. `mase` and `coverage` are NaN without any scored origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: u32,
    pub mase: f64,
    pub coverage: f64,
}

fn bucket_of(t_ms: i64) -> i64 {
    t_ms.div_euclid(BUCKET_MS)
}

impl Windowed {
    fn advance(&mut self, b: i64) {
        if b <= self.head {
            return;
        }
        let gap = (b - self.head).min(BUCKETS as i64);
        for k in 0..gap {
            let i = (b - k).rem_euclid(BUCKETS as i64) as usize;
            self.ring[i] = Bucket::default();
        }
        self.head = b;
    }

    /// Adds one scored origin at `t_ms`. A time older than the ring (clock
    /// stepped back) is dropped rather than landing in a recycled bucket.
    pub fn add(&mut self, t_ms: i64, mase: f64, coverage: f64) {
        let b = bucket_of(t_ms);
        self.advance(b);
        if b <= self.head - BUCKETS as i64 || !mase.is_finite() || !coverage.is_finite() {
            return;
        }
        let x = &mut self.ring[b.rem_euclid(BUCKETS as i64) as usize];
        if x.n == u16::MAX {
            return;
        }
        x.mase += mase as f32;
        x.cover += coverage as f32;
        x.n += 1;
    }

    /// Origins scored in the last `span_ms` before `now_ms` (whole buckets: the
    /// bucket holding `now` and the ones before it, `span / BUCKET_MS` in all),
    /// leaving out buckets that start before `since_ms`.
    pub fn summary(&self, now_ms: i64, span_ms: i64, since_ms: Option<i64>) -> Summary {
        let cur = bucket_of(now_ms);
        let count = (span_ms / BUCKET_MS).clamp(1, BUCKETS as i64);
        let (mut m, mut c, mut n) = (0.0f64, 0.0f64, 0u32);
        for b in (cur - count + 1)..=cur {
            if b > self.head || b <= self.head - BUCKETS as i64 {
                continue;
            }
            if since_ms.is_some_and(|s| b * BUCKET_MS < s) {
                continue;
            }
            let x = &self.ring[b.rem_euclid(BUCKETS as i64) as usize];
            m += f64::from(x.mase);
            c += f64::from(x.cover);
            n += u32::from(x.n);
        }
        let mean = |v: f64| if n == 0 { f64::NAN } else { v / f64::from(n) };
        Summary {
            n,
            mase: mean(m),
            coverage: mean(c),
        }
    }
}

/// One recorded forecast path of `steps` buckets, waiting for its actuals.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// When it was forecast (for the log and the API).
    pub origin_ms: i64,
    /// Start of the first forecast bucket.
    pub start_ms: i64,
    pub step_ms: i64,
    /// MASE scale of the history it was trained on.
    pub scale: f64,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Steps of a horizon on a grid of `step_ms`, rounded up as `backtest --horizon` does.
pub fn horizon_steps(horizon_ms: i64, step_ms: i64) -> usize {
    let step = step_ms.max(1);
    ((horizon_ms + step - 1) / step).max(1) as usize
}

/// What scoring a pending path found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scored {
    /// Its last bucket is not complete yet.
    NotDue,
    /// No actual arrived (or the scale is unusable): dropped unscored, as the
    /// backtest drops a case without actuals.
    Void,
    Done {
        mase: f64,
        coverage: f64,
    },
}

impl Pending {
    /// The first `steps` points of a published path (`start_ms` is the middle of
    /// the first bucket, as [`crate::predict::series::Assessment`] gives it).
    /// `None` when the path is shorter or the scale unusable.
    #[allow(clippy::too_many_arguments)]
    pub fn from_path(
        origin_ms: i64,
        mid_ms: i64,
        step_ms: i64,
        scale: f64,
        mean: &[f64],
        lower: &[f64],
        upper: &[f64],
        steps: usize,
    ) -> Option<Pending> {
        if steps == 0 || mean.len() < steps || lower.len() < steps || upper.len() < steps {
            return None;
        }
        if !(scale.is_finite() && scale > 0.0) || step_ms <= 0 {
            return None;
        }
        Some(Pending {
            origin_ms,
            start_ms: mid_ms - step_ms / 2,
            step_ms,
            scale,
            mean: mean[..steps].to_vec(),
            lower: lower[..steps].to_vec(),
            upper: upper[..steps].to_vec(),
        })
    }

    /// When the last bucket is complete.
    pub fn due_ms(&self) -> i64 {
        self.start_ms + self.mean.len() as i64 * self.step_ms
    }

    /// Scores the path against the actuals in `w` (same grid), skipping gaps.
    pub fn score(&self, w: &Window, now_ms: i64) -> Scored {
        if now_ms < self.due_ms() {
            return Scored::NotDue;
        }
        let (mut abs, mut inside, mut n) = (0.0, 0usize, 0usize);
        for (k, &m) in self.mean.iter().enumerate() {
            let t = self.start_ms + k as i64 * self.step_ms;
            let off = t - w.start_ms;
            if w.step_ms != self.step_ms || off < 0 || off % w.step_ms != 0 {
                continue;
            }
            let Some(&y) = w.values.get((off / w.step_ms) as usize) else {
                continue;
            };
            if !y.is_finite() || !m.is_finite() {
                continue;
            }
            abs += (y - m).abs();
            inside += usize::from(y >= self.lower[k] && y <= self.upper[k]);
            n += 1;
        }
        if n == 0 || self.scale.is_nan() || self.scale <= 0.0 {
            return Scored::Void;
        }
        Scored::Done {
            mase: abs / n as f64 / self.scale,
            coverage: inside as f64 / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_24h_and_7d_and_forget_older() {
        let mut w = Windowed::default();
        let h = 3_600_000;
        let t0 = 100 * BUCKET_MS;
        w.add(t0, 1.0, 1.0);
        w.add(t0 + 3 * 24 * h, 3.0, 0.0);
        let now = t0 + 3 * 24 * h + h;
        let day = w.summary(now, WINDOWS[0].1, None);
        assert_eq!((day.n, day.mase, day.coverage), (1, 3.0, 0.0));
        let week = w.summary(now, WINDOWS[1].1, None);
        assert_eq!((week.n, week.mase, week.coverage), (2, 2.0, 0.5));
        // A week later only the newer score is left, then nothing.
        let later = w.summary(t0 + 7 * 24 * h + h, WINDOWS[1].1, None);
        assert_eq!(later.n, 1);
        w.add(t0 + 20 * 24 * h, 5.0, 1.0);
        let s = w.summary(t0 + 20 * 24 * h, WINDOWS[1].1, None);
        assert_eq!((s.n, s.mase), (1, 5.0));
        assert!(w.summary(t0, WINDOWS[1].1, None).mase.is_nan());
        // Since-filter drops buckets that start before it.
        let since = w.summary(t0 + 20 * 24 * h, WINDOWS[1].1, Some(t0 + 21 * 24 * h));
        assert_eq!(since.n, 0);
    }

    #[test]
    fn scores_path_like_the_backtest() {
        let step = 300_000;
        let mid = 10 * step + step / 2;
        let p = Pending::from_path(
            10 * step,
            mid,
            step,
            2.0,
            &[1.0, 2.0, 3.0, 9.0],
            &[0.0, 0.0, 0.0, 0.0],
            &[2.0, 2.0, 2.0, 2.0],
            3,
        )
        .unwrap();
        assert_eq!(p.due_ms(), 13 * step);
        let w = Window {
            start_ms: 0,
            step_ms: step,
            values: (0..13).map(|i| i as f64 - 8.0).collect(),
        };
        // actuals at buckets 10, 11, 12: 2, 3, 4 → |1|,|1|,|1| → MAE 1 / scale 2.
        assert_eq!(p.score(&w, 13 * step - 1), Scored::NotDue);
        match p.score(&w, 13 * step) {
            Scored::Done { mase, coverage } => {
                assert!((mase - 0.5).abs() < 1e-12);
                assert!((coverage - 1.0 / 3.0).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        let gaps = Window {
            start_ms: 0,
            step_ms: step,
            values: vec![f64::NAN; 13],
        };
        assert_eq!(p.score(&gaps, 13 * step), Scored::Void);
        assert!(Pending::from_path(0, mid, step, 0.0, &[1.0], &[1.0], &[1.0], 1).is_none());
        assert_eq!(horizon_steps(900_000, step), 3);
        assert_eq!(horizon_steps(1_000_000, step), 4);
    }
}
