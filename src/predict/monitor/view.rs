//! What the API, the page and the metrics show of a series' monitor.

use serde::Serialize;

use super::accuracy::WINDOWS;
use super::{MonitorSettings, SeriesMonitor};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Score {
    pub horizon: String,
    pub window: String,
    /// Forecast origins scored in the window.
    pub scored: u32,
    /// `null` until an origin is scored.
    pub mase: Option<f64>,
    pub coverage_ratio: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Promotion {
    pub from: String,
    pub to: String,
    pub champion_mase: f64,
    pub challenger_mase: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MonitorView {
    pub champion: String,
    pub challenger: Option<String>,
    pub pinned: bool,
    /// The exposed forecast's accuracy per horizon and window (24h, 7d).
    pub accuracy: Vec<Score>,
    /// The shadow model's, over the promotion window since the gate restarted.
    pub challenger_accuracy: Vec<Score>,
    /// The exposed model's over the same window and horizons, for comparison.
    pub champion_gate_accuracy: Vec<Score>,
    pub promotions: u64,
    pub last_promotion: Option<Promotion>,
    pub drift_detected: u64,
    pub last_drift_timestamp_seconds: Option<f64>,
    /// After a drift: training starts here (seconds), once two days follow it.
    pub training_from_seconds: Option<f64>,
}

/// `15m`, `1h`, `24h`: the shortest exact spelling, as the `horizon` label has it.
pub fn horizon_label(ms: i64) -> String {
    let s = ms / 1000;
    if s > 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn score(h: i64, window: &str, s: super::accuracy::Summary) -> Score {
    let f = |v: f64| v.is_finite().then_some(v);
    Score {
        horizon: horizon_label(h),
        window: window.to_string(),
        scored: s.n,
        mase: f(s.mase),
        coverage_ratio: f(s.coverage),
    }
}

impl SeriesMonitor {
    pub fn view(&self, now_ms: i64, ms: &MonitorSettings) -> MonitorView {
        let mut accuracy = Vec::new();
        for (i, w) in self.exposed.iter().enumerate() {
            for (name, span) in WINDOWS {
                accuracy.push(score(
                    self.horizons_ms[i],
                    name,
                    w.summary(now_ms, span, None),
                ));
            }
        }
        let span = ms.gate_window.as_millis() as i64;
        // Days read better than hours for a window ("7d", as the accuracy windows).
        let gate_name = if span > 0 && span % 86_400_000 == 0 {
            format!("{}d", span / 86_400_000)
        } else {
            horizon_label(span)
        };
        let since = Some(self.gate_since_ms);
        let gate = self.gate_horizons();
        let challenger_accuracy = self
            .shadow
            .iter()
            .zip(&gate)
            .map(|(w, &i)| {
                score(
                    self.horizons_ms[i],
                    &gate_name,
                    w.summary(now_ms, span, since),
                )
            })
            .collect();
        let champion_gate_accuracy = if self.challenger.is_some() {
            gate.iter()
                .map(|&i| {
                    let s = self.exposed[i].summary(now_ms, span, since);
                    score(self.horizons_ms[i], &gate_name, s)
                })
                .collect()
        } else {
            Vec::new()
        };
        MonitorView {
            champion: self.champion.name().to_string(),
            challenger: self.challenger.map(|c| c.name().to_string()),
            pinned: self.pinned,
            accuracy,
            challenger_accuracy,
            champion_gate_accuracy,
            promotions: self.promotions,
            last_promotion: self.last_promotion.map(|(a, b, x, y)| Promotion {
                from: a.name().into(),
                to: b.name().into(),
                champion_mase: x,
                challenger_mase: y,
            }),
            drift_detected: self.drifts,
            last_drift_timestamp_seconds: self.last_drift_ms.map(|t| t as f64 / 1000.0),
            training_from_seconds: self.train_from_ms.map(|t| t as f64 / 1000.0),
        }
    }
}
