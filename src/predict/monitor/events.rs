//! What the monitor does on a drift (reselection, refit from the onset) and
//! at the promotion gate: the state changes of [`SeriesMonitor::begin`].

use super::accuracy::{Summary, Windowed};
use super::challenger::{judge, Verdict};
use super::drift::DriftParams;
use super::{MonitorSettings, PathStore, SeriesMonitor, EMPTY, SHADOW};
use crate::forecast::ModelKind;
use crate::store::Window;

/// Gate horizons whose summaries fit on the stack.
const ON_STACK: usize = 8;

/// `n` summaries: in `stack` when they fit, else in `heap`.
fn summaries<'a>(
    stack: &'a mut [Summary; ON_STACK],
    heap: &'a mut Vec<Summary>,
    n: usize,
) -> &'a mut [Summary] {
    if n <= ON_STACK {
        &mut stack[..n]
    } else {
        heap.resize(n, stack[0]);
        heap
    }
}

impl SeriesMonitor {
    pub(super) fn feed_drift(&mut self, w: &Window, now_ms: i64, p: &DriftParams) -> Option<i64> {
        let step = w.step_ms.max(1);
        let mut fired = None;
        while let Some(&(t, f)) = self.lead.front() {
            if t + step > now_ms {
                break;
            }
            self.lead.pop_front();
            let off = t - w.start_ms;
            if off < 0 || off % step != 0 {
                continue;
            }
            let Some(&y) = w.values.get((off / step) as usize) else {
                continue;
            };
            if let Some(onset) = self.drift.observe(t, y, y - f, p) {
                fired = Some(onset);
            }
        }
        let onset = fired?;
        self.drifts += 1;
        self.last_drift_ms = Some(now_ms);
        self.train_from_ms = Some(onset);
        // Reselection: the gate judges the new regime only.
        self.gate_since_ms = now_ms;
        self.dirty = true;
        Some(onset)
    }

    pub(super) fn run_gate(
        &mut self,
        now_ms: i64,
        ms: &MonitorSettings,
        paths: &mut dyn PathStore,
    ) -> Option<(ModelKind, ModelKind, Verdict)> {
        let challenger = self.challenger.filter(|_| !self.pinned)?;
        let span = ms.gate_window.as_millis() as i64;
        let since = Some(self.gate_since_ms);
        // The gate runs for every series every cycle: its summaries go on the
        // stack unless there are more horizons than the default's few.
        let none = Summary {
            n: 0,
            mase: f64::NAN,
            coverage: f64::NAN,
        };
        let (n_champ, n_chal) = (self.gate_indices().count(), self.shadow.len());
        let (mut a, mut b) = ([none; ON_STACK], [none; ON_STACK]);
        let (mut va, mut vb) = (Vec::new(), Vec::new());
        let champ = summaries(&mut a, &mut va, n_champ);
        for (s, i) in champ.iter_mut().zip(self.gate_indices()) {
            *s = self.exposed[i].summary(now_ms, span, since);
        }
        let chal = summaries(&mut b, &mut vb, n_chal);
        for (s, w) in chal.iter_mut().zip(&self.shadow) {
            *s = w.summary(now_ms, span, since);
        }
        let v = judge(champ, chal, &ms.gate)?;
        if !v.promote {
            return None;
        }
        let gate = self.gate_horizons();
        let from = self.champion;
        self.champion = challenger;
        self.challenger = Some(from);
        self.promotions += 1;
        self.last_promotion = Some((from, challenger, v.champion, v.challenger));
        self.gate_since_ms = now_ms;
        self.shadow = vec![Windowed::default(); gate.len()];
        let base = self.exposed.len();
        for (j, &i) in gate.iter().enumerate() {
            paths.remove(SHADOW, self.horizons_ms[i]);
            self.due[base + j] = EMPTY;
        }
        self.dirty = true;
        Some((from, challenger, v))
    }
}
