//! What the monitor does on a drift (reselection, refit from the onset) and
//! at the promotion gate: the state changes of [`SeriesMonitor::begin`].

use super::accuracy::Windowed;
use super::challenger::{judge, Verdict};
use super::drift::DriftParams;
use super::{MonitorSettings, PathStore, SeriesMonitor, EMPTY, SHADOW};
use crate::forecast::ModelKind;
use crate::store::Window;

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
        let gate = self.gate_horizons();
        let champ: Vec<_> = gate
            .iter()
            .map(|&i| self.exposed[i].summary(now_ms, span, since))
            .collect();
        let chal: Vec<_> = self
            .shadow
            .iter()
            .map(|w| w.summary(now_ms, span, since))
            .collect();
        let v = judge(&champ, &chal, &ms.gate)?;
        if !v.promote {
            return None;
        }
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
