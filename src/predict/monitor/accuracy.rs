//! Online accuracy: a forecast path is kept until its actuals have arrived, then
//! scored exactly as `nodecast backtest` scores a rolling origin — MAE over the
//! path's steps divided by the in-sample MAE of the seasonal naive at the daily
//! lag (MASE), and the share of actuals inside the band. Scores go into the
//! last four 6-hour buckets (the 24 h window) and, once older, into day
//! buckets covering the rest of 7 days, so the 24 h and 7 d windows cost about
//! 150 bytes per series and horizon, whatever the forecast interval.

use crate::store::Window;

/// Width of a fine bucket: the 24 h window is the last [`FINE`] of them.
pub const BUCKET_MS: i64 = 6 * 3_600_000;
/// Fine buckets kept: 24 h.
pub const FINE: usize = 4;
/// Width of a coarse bucket: a fine bucket leaving the fine ring is added to
/// the day it belongs to.
pub const DAY_MS: i64 = 86_400_000;
/// Day buckets kept: with the fine ring, 7 days.
pub const DAYS: usize = 7;
/// The longest window a summary covers, in fine buckets: 7 days.
pub const BUCKETS: usize = 28;
const PER_DAY: i64 = DAY_MS / BUCKET_MS;
/// The windows exposed, with their label.
pub const WINDOWS: [(&str, i64); 2] = [("24h", 86_400_000), ("7d", 7 * 86_400_000)];

/// Sum of per-origin MASE and of per-origin coverage, and how many origins.
/// Packed to 10 bytes: a series keeps 77 of them at the default horizons.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, packed(2))]
pub struct Bucket {
    pub mase: f32,
    pub cover: f32,
    pub n: u16,
}

impl Bucket {
    /// Adds another bucket's origins, or none when `n` would overflow.
    fn merge(&mut self, o: Bucket) {
        let (n, on) = (self.n, o.n);
        let Some(sum) = n.checked_add(on) else {
            return;
        };
        let (m, c, om, oc) = (self.mase, self.cover, o.mase, o.cover);
        *self = Bucket {
            mase: m + om,
            cover: c + oc,
            n: sum,
        };
    }
}

/// Scores of one horizon: the last [`FINE`] 6-hour buckets as a ring, and the
/// [`DAYS`] days before them (only buckets that left the fine ring) as another.
#[derive(Debug, Clone, PartialEq)]
pub struct Windowed {
    /// Number (time / [`BUCKET_MS`]) of the newest fine bucket; those before
    /// `head − FINE + 1` have moved to their day.
    pub head: i64,
    pub fine: [Bucket; FINE],
    /// Number (time / [`DAY_MS`]) of the newest day bucket; days before
    /// `day_head − DAYS + 1` have been cleared.
    pub day_head: i64,
    pub days: [Bucket; DAYS],
}

impl Default for Windowed {
    fn default() -> Self {
        Windowed {
            head: 0,
            fine: [Bucket::default(); FINE],
            day_head: 0,
            days: [Bucket::default(); DAYS],
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

fn slot(b: i64, len: usize) -> usize {
    b.rem_euclid(len as i64) as usize
}

impl Windowed {
    /// Adds a fine bucket's origins to its day; a day older than the day ring
    /// is dropped.
    fn fold_into_day(&mut self, b: i64, x: Bucket) {
        if x.n == 0 {
            return;
        }
        let d = b.div_euclid(PER_DAY);
        self.advance_days(d);
        if d > self.day_head - DAYS as i64 {
            self.days[slot(d, DAYS)].merge(x);
        }
    }

    fn advance_days(&mut self, d: i64) {
        if d <= self.day_head {
            return;
        }
        let gap = (d - self.day_head).min(DAYS as i64);
        for k in 0..gap {
            self.days[slot(d - k, DAYS)] = Bucket::default();
        }
        self.day_head = d;
    }

    fn advance(&mut self, b: i64) {
        if b <= self.head {
            return;
        }
        // Oldest first, so the day ring advances in order.
        let first = (self.head - FINE as i64 + 1).max(b - FINE as i64 - DAYS as i64 * PER_DAY);
        for x in first..=(b - FINE as i64).min(self.head) {
            let i = slot(x, FINE);
            let kept = std::mem::take(&mut self.fine[i]);
            self.fold_into_day(x, kept);
        }
        let gap = (b - self.head).min(FINE as i64);
        for k in 0..gap {
            self.fine[slot(b - k, FINE)] = Bucket::default();
        }
        self.head = b;
        // Days follow the fine ring even when nothing left it, so a long pause
        // clears them too.
        self.advance_days((b - FINE as i64).div_euclid(PER_DAY));
    }

    /// Adds one scored origin at `t_ms`. A time older than the fine ring (clock
    /// stepped back) goes to its day, or is dropped when older than that.
    pub fn add(&mut self, t_ms: i64, mase: f64, coverage: f64) {
        if !mase.is_finite() || !coverage.is_finite() {
            return;
        }
        self.merge(
            bucket_of(t_ms),
            Bucket {
                mase: mase as f32,
                cover: coverage as f32,
                n: 1,
            },
        );
    }

    /// Adds the origins of fine bucket number `b` (a record of the previous
    /// format is read this way, bucket by bucket).
    pub fn merge(&mut self, b: i64, x: Bucket) {
        self.advance(b);
        if b <= self.head - FINE as i64 {
            self.fold_into_day(b, x);
        } else {
            self.fine[slot(b, FINE)].merge(x);
        }
    }

    /// Origins scored in the last `span_ms` before `now_ms`: the fine buckets
    /// from the one holding `now` back, `span / BUCKET_MS` in all, and before
    /// the fine ring the days that lie wholly inside that span; buckets that
    /// start before `since_ms` are left out.
    pub fn summary(&self, now_ms: i64, span_ms: i64, since_ms: Option<i64>) -> Summary {
        let cur = bucket_of(now_ms);
        let count = (span_ms / BUCKET_MS).clamp(1, BUCKETS as i64);
        let first = cur - count + 1;
        let after = |start_ms: i64| since_ms.is_none_or(|s| start_ms >= s);
        let (mut m, mut c, mut n) = (0.0f64, 0.0f64, 0u32);
        let mut sum = |x: Bucket| {
            let (xm, xc, xn) = (x.mase, x.cover, x.n);
            m += f64::from(xm);
            c += f64::from(xc);
            n += u32::from(xn);
        };
        for b in first..=cur {
            if b > self.head || b <= self.head - FINE as i64 || !after(b * BUCKET_MS) {
                continue;
            }
            sum(self.fine[slot(b, FINE)]);
        }
        // Days hold only buckets that left the fine ring: none is counted twice.
        let first_day = first.div_euclid(PER_DAY) + i64::from(first.rem_euclid(PER_DAY) != 0);
        for d in first_day..=cur.div_euclid(PER_DAY) {
            if d > self.day_head || d <= self.day_head - DAYS as i64 || !after(d * DAY_MS) {
                continue;
            }
            sum(self.days[slot(d, DAYS)]);
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
    fn days_hold_what_left_the_fine_ring_once() {
        let h = 3_600_000;
        let t0 = 400 * DAY_MS;
        let mut w = Windowed::default();
        // One origin an hour for 9 days, scores 1, 2, 3, ... per day.
        for k in 0..9 * 24 {
            w.add(t0 + k * h, (k / 24 + 1) as f64, 1.0);
        }
        let now = t0 + 9 * 24 * h - 1;
        let day = w.summary(now, WINDOWS[0].1, None);
        assert_eq!((day.n, day.mase), (24, 9.0));
        // 7 d: the fine ring (day 9) and days 3..=8, each counted once.
        let week = w.summary(now, WINDOWS[1].1, None);
        assert_eq!(week.n, 7 * 24);
        assert!((week.mase - 6.0).abs() < 1e-6, "{}", week.mase);
        // A 2-day gate window since the middle of day 8: its second half only.
        let since = t0 + 7 * 24 * h + 12 * h;
        let gate = w.summary(now, 2 * DAY_MS, Some(since));
        assert_eq!(gate.n, 24);
        // Since the start of day 8: that whole day counts again.
        let gate = w.summary(now, 2 * DAY_MS, Some(t0 + 7 * 24 * h));
        assert_eq!(gate.n, 48);
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
