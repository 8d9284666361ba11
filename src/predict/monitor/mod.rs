//! Online monitoring of each forecast series: accuracy of what was exposed
//! ([`accuracy`]), a shadow challenger and its promotion gate ([`challenger`]),
//! and drift of the residuals ([`drift`]). One [`SeriesMonitor`] per series holds
//! about 2 KiB; forecast paths waiting for their actuals live in the store
//! ([`PathStore`]), written once and read once. [`run::assess_monitored`] wraps
//! [`crate::predict::series::assess_series`] with it, for the daemon, the tests
//! and the benchmarks alike.

pub mod accuracy;
pub mod challenger;
pub mod codec;
pub mod drift;
mod events;
pub mod persist;
pub mod run;
pub mod view;

use std::collections::VecDeque;
use std::time::Duration;

use accuracy::{horizon_steps, Pending, Scored, Windowed};
use challenger::{Gate, Verdict};
use drift::{Detector, DriftParams};

use crate::forecast::ModelKind;
use crate::store::Window;

/// Monitoring settings (from `--forecast.*`).
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Exposed horizons: each is scored.
    pub horizons: Vec<Duration>,
    /// The champion until a promotion.
    pub model: ModelKind,
    /// `None`: no shadow model.
    pub challenger: Option<ModelKind>,
    pub gate: Gate,
    pub gate_window: Duration,
    /// Series (keys matching the regexp) that keep this model: no challenger.
    pub pin: Option<(regex::Regex, ModelKind)>,
    /// `None`: drift detection off.
    pub drift: Option<DriftParams>,
}

impl MonitorSettings {
    pub fn from_forecast(f: &crate::config::ForecastSettings) -> MonitorSettings {
        MonitorSettings {
            horizons: f.horizons.clone(),
            model: f.model,
            challenger: f.challenger,
            gate: Gate {
                margin: f.challenger_margin,
                min_samples: f.challenger_min_samples,
            },
            gate_window: f.challenger_window,
            pin: f.pin.clone(),
            drift: f.drift_detection.then_some(DriftParams::DEFAULT),
        }
    }
}

/// Slots of pending paths: the exposed forecast and the shadow model's.
pub const EXPOSED: u8 = 0;
pub const SHADOW: u8 = 1;
/// The shadow is scored at horizons of at least this (it forecasts about hourly,
/// which keeps its cost near a twelfth of a champion's at a 5-minute interval).
pub const SHADOW_MIN_HORIZON_MS: i64 = 3_600_000;
/// Lead time of the residuals the drift detector reads.
pub const DRIFT_LEAD_MS: i64 = 3_600_000;
/// After a change, training starts at it once this much history follows it:
/// two days, so the daily season can still be estimated from the new regime.
pub const RETRAIN_AFTER_MS: i64 = 2 * 86_400_000;
/// Without events, a series' state is written back at most this often.
pub const SAVE_EVERY_MS: i64 = 3_600_000;
/// Most 1-hour-lead forecasts kept for drift (one per bucket).
pub(crate) const LEAD_CAP: usize = 64;
/// The queue's room from the start: an hour of 5-minute forecasts, so it is one
/// allocation made with the state rather than regrown over the first cycles.
pub(crate) const LEAD_HOUR: usize = 16;

/// Due time cache of a slot: not read from the store yet, or nothing pending.
const UNKNOWN: i64 = i64::MIN;
pub(crate) const EMPTY: i64 = i64::MAX;
/// Scored this cycle, its record still in the store: [`SeriesMonitor::end`]
/// overwrites it with the new path, or removes it when there is none. One
/// write per scored path instead of a removal and an insert, each of which
/// makes the store copy the record's leaf.
const SCORED: i64 = i64::MAX - 1;

/// Where pending paths of one series are kept (the store, or a map in tests).
pub trait PathStore {
    fn get(&mut self, slot: u8, horizon_ms: i64) -> Option<Pending>;
    fn put(&mut self, slot: u8, horizon_ms: i64, p: &Pending);
    fn remove(&mut self, slot: u8, horizon_ms: i64);
}

/// A path as the assessment publishes it (`mid_ms`: middle of the first bucket).
#[derive(Debug, Clone, Copy)]
pub struct PathRef<'a> {
    pub mid_ms: i64,
    pub step_ms: i64,
    pub mean: &'a [f64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMonitor {
    pub champion: ModelKind,
    pub challenger: Option<ModelKind>,
    pub pinned: bool,
    /// The horizons the windows below belong to (ms).
    pub horizons_ms: Vec<i64>,
    pub exposed: Vec<Windowed>,
    /// Shadow scores, one per [`Self::gate_horizons`] entry.
    pub shadow: Vec<Windowed>,
    /// The gate compares scores from here on (a promotion or a drift restarts it).
    pub gate_since_ms: i64,
    pub drift: Detector,
    /// (bucket start, forecast made [`DRIFT_LEAD_MS`] before it).
    pub lead: VecDeque<(i64, f64)>,
    pub last_drift_ms: Option<i64>,
    pub drifts: u64,
    pub promotions: u64,
    pub last_promotion: Option<(ModelKind, ModelKind, f64, f64)>,
    pub train_from_ms: Option<i64>,
    /// Not persisted: due times of the slots, and the last write-back.
    pub due: Vec<i64>,
    pub saved_ms: i64,
    pub dirty: bool,
}

/// What the monitor decided before this cycle's forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub model: ModelKind,
    pub train_from_ms: Option<i64>,
    /// Run the shadow model this cycle (a slot of it is free).
    pub shadow: Option<ModelKind>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Events {
    /// Onset of a change the detector found this cycle.
    pub drift: Option<i64>,
    /// (from, to, scores) of a promotion this cycle.
    pub promotion: Option<(ModelKind, ModelKind, Verdict)>,
}

impl SeriesMonitor {
    pub fn new(key: &str, ms: &MonitorSettings, now_ms: i64) -> SeriesMonitor {
        let mut m = SeriesMonitor {
            champion: ms.model,
            challenger: None,
            pinned: false,
            horizons_ms: Vec::new(),
            exposed: Vec::new(),
            shadow: Vec::new(),
            gate_since_ms: now_ms,
            drift: Detector::default(),
            lead: VecDeque::with_capacity(LEAD_HOUR),
            last_drift_ms: None,
            drifts: 0,
            promotions: 0,
            last_promotion: None,
            train_from_ms: None,
            due: Vec::new(),
            saved_ms: i64::MIN,
            dirty: true,
        };
        m.reconcile(key, ms, now_ms);
        m
    }

    /// Brings a state (fresh or loaded) in line with the settings: pins, the
    /// configured pair of models, the horizons.
    pub fn reconcile(&mut self, key: &str, ms: &MonitorSettings, now_ms: i64) {
        let horizons: Vec<i64> = ms.horizons.iter().map(|h| h.as_millis() as i64).collect();
        if horizons != self.horizons_ms {
            self.horizons_ms = horizons;
            self.exposed = vec![Windowed::default(); self.horizons_ms.len()];
            self.gate_since_ms = now_ms;
        }
        let pin = ms
            .pin
            .as_ref()
            .filter(|(re, _)| re.is_match(key))
            .map(|p| p.1);
        let (champion, challenger) = match pin {
            Some(m) => (m, None),
            None => {
                let pair = (ms.model, ms.challenger.filter(|c| *c != ms.model));
                // A promotion swapped the configured pair: keep it while the pair holds.
                if pair.1 == Some(self.champion) && self.challenger == Some(pair.0) {
                    (self.champion, self.challenger)
                } else {
                    pair
                }
            }
        };
        if (champion, challenger, pin.is_some()) != (self.champion, self.challenger, self.pinned) {
            self.gate_since_ms = now_ms;
        }
        self.champion = champion;
        self.challenger = challenger;
        self.pinned = pin.is_some();
        let gate = self.gate_horizons().len();
        if self.challenger.is_none() {
            self.shadow.clear();
        } else if self.shadow.len() != gate {
            self.shadow = vec![Windowed::default(); gate];
        }
        let slots = self.exposed.len() + gate;
        if self.due.len() != slots {
            self.due = vec![UNKNOWN; slots];
        }
    }

    /// Indices of the exposed horizons the shadow is scored at: those of at
    /// least an hour, or all when none is.
    pub fn gate_horizons(&self) -> Vec<usize> {
        self.gate_indices().collect()
    }

    /// [`Self::gate_horizons`] without a heap block: `begin`, `end` and `view`
    /// ask for it for every series every cycle.
    pub(crate) fn gate_indices(&self) -> impl Iterator<Item = usize> + '_ {
        let h = &self.horizons_ms;
        let any_long = h.iter().any(|&x| x >= SHADOW_MIN_HORIZON_MS);
        (0..h.len()).filter(move |&i| !any_long || h[i] >= SHADOW_MIN_HORIZON_MS)
    }

    /// Slots in use: the exposed ones, then the shadow's when there is a challenger.
    fn slot_count(&self) -> usize {
        let shadow = match self.challenger {
            Some(_) => self.gate_indices().count(),
            None => 0,
        };
        self.exposed.len() + shadow
    }

    /// (slot, horizon ms) of slot `d`, which is also its index into `due`.
    fn slot(&self, d: usize) -> (u8, i64) {
        let base = self.exposed.len();
        if d < base {
            return (EXPOSED, self.horizons_ms[d]);
        }
        let i = self.gate_indices().nth(d - base).unwrap_or(0);
        (SHADOW, self.horizons_ms[i])
    }

    /// Scores what is due, feeds the drift detector, runs the gate; says which
    /// model forecasts now and on what history.
    pub fn begin(
        &mut self,
        w: &Window,
        now_ms: i64,
        ms: &MonitorSettings,
        paths: &mut dyn PathStore,
    ) -> (Plan, Events) {
        let mut ev = Events::default();
        for d in 0..self.slot_count() {
            let (slot, h) = self.slot(d);
            // Left by a cycle whose end() did not run (its forecast panicked).
            if self.due[d] == SCORED {
                paths.remove(slot, h);
                self.due[d] = EMPTY;
            }
            if self.due[d] == EMPTY || (self.due[d] != UNKNOWN && self.due[d] > now_ms) {
                continue;
            }
            let Some(p) = paths.get(slot, h) else {
                self.due[d] = EMPTY;
                continue;
            };
            match p.score(w, now_ms) {
                Scored::NotDue => {
                    self.due[d] = p.due_ms();
                    continue;
                }
                Scored::Done { mase, coverage } => {
                    let hi = self.horizons_ms.iter().position(|&x| x == h).unwrap_or(0);
                    let target = if slot == EXPOSED {
                        self.exposed.get_mut(hi)
                    } else {
                        let j = self.gate_indices().position(|i| i == hi);
                        j.and_then(|j| self.shadow.get_mut(j))
                    };
                    if let Some(t) = target {
                        t.add(now_ms, mase, coverage);
                    }
                }
                Scored::Void => {}
            }
            self.due[d] = SCORED;
        }
        if let Some(p) = &ms.drift {
            ev.drift = self.feed_drift(w, now_ms, p);
        }
        if ev.drift.is_none() {
            ev.promotion = self.run_gate(now_ms, ms, paths);
        }
        let train_from_ms = self
            .train_from_ms
            .filter(|&c| now_ms - c >= RETRAIN_AFTER_MS && c > w.start_ms);
        let shadow = self.challenger.filter(|_| {
            let base = self.exposed.len();
            self.due[base..]
                .iter()
                .any(|&d| d == EMPTY || d == UNKNOWN || d == SCORED)
        });
        let plan = Plan {
            model: self.champion,
            train_from_ms,
            shadow,
        };
        (plan, ev)
    }

    /// Records this cycle's exposed path (and the shadow's, when it ran) in the
    /// free slots, and the 1-hour-lead point for drift. The MASE scale comes
    /// from `history` (the series' whole window, as the backtest scales by the
    /// whole training set).
    pub fn end(
        &mut self,
        history: &Window,
        exposed: Option<PathRef>,
        shadow: Option<PathRef>,
        now_ms: i64,
        ms: &MonitorSettings,
        paths: &mut dyn PathStore,
    ) {
        let mut scale = None;
        for d in 0..self.slot_count() {
            let (slot, h) = self.slot(d);
            // begin() looked every slot up: UNKNOWN is left only without a begin().
            let scored = self.due[d] == SCORED;
            if self.due[d] != EMPTY && !scored {
                continue;
            }
            let path = if slot == EXPOSED { exposed } else { shadow };
            let fresh = path.and_then(|path| {
                let sc = *scale.get_or_insert_with(|| scale_of(history));
                let steps = horizon_steps(h, path.step_ms);
                Pending::from_path(
                    now_ms,
                    path.mid_ms,
                    path.step_ms,
                    sc,
                    path.mean,
                    path.lower,
                    path.upper,
                    steps,
                )
            });
            match fresh {
                Some(p) => {
                    paths.put(slot, h, &p);
                    self.due[d] = p.due_ms();
                }
                None if scored => {
                    paths.remove(slot, h);
                    self.due[d] = EMPTY;
                }
                None => {}
            }
        }
        if let (Some(_), Some(path)) = (&ms.drift, exposed) {
            let k = horizon_steps(DRIFT_LEAD_MS, path.step_ms) - 1;
            let t = path.mid_ms - path.step_ms / 2 + k as i64 * path.step_ms;
            if let Some(&f) = path.mean.get(k).filter(|f| f.is_finite()) {
                if self.lead.back().is_none_or(|b| b.0 < t) {
                    // Room first: pushing a 65th would double the queue's capacity.
                    while self.lead.len() >= LEAD_CAP {
                        self.lead.pop_front();
                    }
                    self.lead.push_back((t, f));
                }
            }
        }
    }

    /// Write the state back now: after an event, or once per [`SAVE_EVERY_MS`].
    pub fn needs_save(&self, now_ms: i64) -> bool {
        self.dirty || now_ms.saturating_sub(self.saved_ms) >= SAVE_EVERY_MS
    }
}

/// MASE scale of a history: in-sample seasonal naive at the daily lag, as the
/// backtest computes it (gaps left out); the naive at one step while there is
/// not a day of history yet (or it repeats exactly), so a young series is
/// scored too.
pub fn scale_of(w: &Window) -> f64 {
    let step = w.step_ms.max(1);
    let day = ((86_400_000 + step / 2) / step).max(1) as usize;
    let first = w.values.iter().position(|v| v.is_finite());
    let last = w.values.iter().rposition(|v| v.is_finite());
    let (Some(a), Some(b)) = (first, last) else {
        return f64::NAN;
    };
    let v = &w.values[a..=b];
    let s = crate::forecast::score::mase_scale(v, day);
    if s.is_finite() && s > 0.0 {
        s
    } else {
        crate::forecast::score::mase_scale(v, 1)
    }
}

#[cfg(test)]
impl MonitorSettings {
    /// The tests' settings: `auto` champion, a 10% gate over 24 samples and 7 days, no
    /// pin and no drift detector, with these horizons (seconds) and challenger.
    pub(crate) fn for_tests(horizons: &[u64], challenger: Option<ModelKind>) -> MonitorSettings {
        MonitorSettings {
            horizons: horizons.iter().map(|s| Duration::from_secs(*s)).collect(),
            model: ModelKind::Auto,
            challenger,
            gate: Gate {
                margin: 0.1,
                min_samples: 24,
            },
            gate_window: Duration::from_secs(7 * 86_400),
            pin: None,
            drift: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::run::MemPaths;
    use super::*;

    #[test]
    fn a_scored_path_is_replaced_by_the_next_or_removed_without_one() {
        let ms = MonitorSettings::for_tests(&[900], None);
        let step = 300_000;
        let w = |n: usize| Window {
            start_ms: 0,
            step_ms: step,
            values: (0..n).map(|i| (i % 7) as f64).collect(),
        };
        let mean = vec![3.0; 6];
        let path = |now: i64| PathRef {
            mid_ms: now + step / 2,
            step_ms: step,
            mean: &mean,
            lower: &mean,
            upper: &mean,
        };
        let mut m = SeriesMonitor::new("x", &ms, 0);
        let mut paths = MemPaths::default();
        let (t0, t1, t2) = (300 * step, 303 * step, 306 * step);
        m.begin(&w(300), t0, &ms, &mut paths);
        m.end(&w(300), Some(path(t0)), None, t0, &ms, &mut paths);
        assert_eq!(paths.0[&(EXPOSED, 900_000)].origin_ms, t0);
        // Due at t1: scored, and its record overwritten by the new path.
        m.begin(&w(303), t1, &ms, &mut paths);
        assert_eq!(paths.0.len(), 1, "kept until end() writes the next one");
        m.end(&w(303), Some(path(t1)), None, t1, &ms, &mut paths);
        assert_eq!(paths.0[&(EXPOSED, 900_000)].origin_ms, t1);
        assert_eq!(m.exposed[0].summary(t1, 86_400_000, None).n, 1);
        // Scored again with no new path: the record goes.
        m.begin(&w(306), t2, &ms, &mut paths);
        m.end(&w(306), None, None, t2, &ms, &mut paths);
        assert!(paths.0.is_empty());
        // A cycle whose end() did not run leaves the record to the next begin(),
        // which removes it instead of scoring it twice.
        m.end(&w(306), Some(path(t2)), None, t2, &ms, &mut paths);
        let t3 = 309 * step;
        m.begin(&w(309), t3, &ms, &mut paths);
        let later = 312 * step;
        m.begin(&w(312), later, &ms, &mut paths);
        assert!(paths.0.is_empty());
        assert_eq!(m.exposed[0].summary(later, 86_400_000, None).n, 3);
    }
}
