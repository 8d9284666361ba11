//! What the API, the page and the metrics show of a series' monitor.

use serde::Serialize;

use super::accuracy::WINDOWS;
use super::{MonitorSettings, SeriesMonitor};

/// A short label (`15m`, `24h`, `7d`) held inline. A view has 14 scores with two
/// labels each, kept for every series until the next cycle: as `String`s they
/// were 28 heap blocks per series and cycle, scattered among the cycle's
/// longer-lived allocations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Label {
    len: u8,
    bytes: [u8; 23],
}

impl Label {
    /// `s` cut to 23 bytes at a character boundary (labels here are a number
    /// and a unit: at most 21 bytes).
    pub fn new(s: &str) -> Label {
        let mut n = s.len().min(23);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let mut bytes = [0u8; 23];
        bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
        Label {
            len: n as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        // Built from a &str cut at a character boundary.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Score {
    pub horizon: Label,
    pub window: Label,
    /// Forecast origins scored in the window.
    pub scored: u32,
    /// NaN (`null` in JSON) until an origin is scored: a plain f64 is half an
    /// `Option<f64>`, and every series keeps 14 scores between cycles.
    #[serde(serialize_with = "nan_as_null")]
    pub mase: f64,
    #[serde(serialize_with = "nan_as_null")]
    pub coverage_ratio: f64,
}

fn nan_as_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Promotion {
    pub from: &'static str,
    pub to: &'static str,
    pub champion_mase: f64,
    pub challenger_mase: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MonitorView {
    pub champion: &'static str,
    pub challenger: Option<&'static str>,
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
    short_label(ms).as_str().to_string()
}

/// [`horizon_label`] without a heap block.
fn short_label(ms: i64) -> Label {
    use std::fmt::Write as _;
    let s = ms / 1000;
    let mut l = Label::new("");
    // 20 digits and a unit at most: always fits.
    let _ = if s > 0 && s % 3600 == 0 {
        write!(l, "{}h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        write!(l, "{}m", s / 60)
    } else {
        write!(l, "{s}s")
    };
    l
}

impl std::fmt::Write for Label {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let at = usize::from(self.len);
        let end = at + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[at..end].copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

fn score(h: i64, window: &str, s: super::accuracy::Summary) -> Score {
    let f = |v: f64| if v.is_finite() { v } else { f64::NAN };
    Score {
        horizon: short_label(h),
        window: Label::new(window),
        scored: s.n,
        mase: f(s.mase),
        coverage_ratio: f(s.coverage),
    }
}

impl SeriesMonitor {
    pub fn view(&self, now_ms: i64, ms: &MonitorSettings) -> MonitorView {
        let mut accuracy = Vec::with_capacity(self.exposed.len() * WINDOWS.len());
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
            use std::fmt::Write as _;
            let mut l = Label::new("");
            // 19 digits and a unit at most: always fits.
            let _ = write!(l, "{}d", span / 86_400_000);
            l
        } else {
            short_label(span)
        };
        let since = Some(self.gate_since_ms);
        // Sized exactly: the views stay until the next cycle, and a collect from
        // a filtered iterator would leave room for four.
        let n_gate = self.gate_indices().count();
        let mut challenger_accuracy = Vec::with_capacity(self.shadow.len().min(n_gate));
        challenger_accuracy.extend(self.shadow.iter().zip(self.gate_indices()).map(|(w, i)| {
            score(
                self.horizons_ms[i],
                &gate_name,
                w.summary(now_ms, span, since),
            )
        }));
        let mut champion_gate_accuracy = Vec::new();
        if self.challenger.is_some() {
            champion_gate_accuracy.reserve_exact(n_gate);
            champion_gate_accuracy.extend(self.gate_indices().map(|i| {
                let s = self.exposed[i].summary(now_ms, span, since);
                score(self.horizons_ms[i], &gate_name, s)
            }));
        }
        MonitorView {
            champion: self.champion.name(),
            challenger: self.challenger.map(|c| c.name()),
            pinned: self.pinned,
            accuracy,
            challenger_accuracy,
            champion_gate_accuracy,
            promotions: self.promotions,
            last_promotion: self.last_promotion.map(|(a, b, x, y)| Promotion {
                from: a.name(),
                to: b.name(),
                champion_mase: x,
                challenger_mase: y,
            }),
            drift_detected: self.drifts,
            last_drift_timestamp_seconds: self.last_drift_ms.map(|t| t as f64 / 1000.0),
            training_from_seconds: self.train_from_ms.map(|t| t as f64 / 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::ModelKind;

    #[test]
    fn scores_serialize_as_before_labels_inline_and_null_until_scored() {
        let ms = MonitorSettings::for_tests(&[900, 86_400], Some(ModelKind::Theta));
        let t = 400 * 86_400_000;
        let mut m = SeriesMonitor::new("x", &ms, t);
        m.exposed[0].add(t + 1, 0.5, 1.0);
        let v = serde_json::to_value(m.view(t + 2, &ms)).unwrap();
        assert_eq!(v["champion"], "auto");
        assert_eq!(v["challenger"], "theta");
        let a = &v["accuracy"];
        assert_eq!(
            (&a[0]["horizon"], &a[0]["window"], &a[0]["scored"]),
            (&"15m".into(), &"24h".into(), &1.into())
        );
        assert_eq!(
            (&a[0]["mase"], &a[0]["coverage_ratio"]),
            (&0.5.into(), &1.0.into())
        );
        assert_eq!(
            (&a[3]["horizon"], &a[3]["window"]),
            (&"24h".into(), &"7d".into())
        );
        assert!(a[3]["mase"].is_null() && a[3]["coverage_ratio"].is_null());
        assert_eq!(v["challenger_accuracy"][0]["window"], "7d");
        // The longest label any duration gives still fits; a longer string is
        // cut at a character boundary, never split inside one.
        assert_eq!(short_label(-i64::MAX).as_str(), "-9223372036854775s");
        assert_eq!(Label::new(&"é".repeat(12)).as_str(), "é".repeat(11));
    }
}
