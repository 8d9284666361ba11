//! Per-model score accumulation and the table/JSON report.

use std::io::Write;

use crate::forecast::{score, ModelKind};

/// Running totals for one model over many series (or origins).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub smape: f64,
    pub mase: f64,
    pub coverage: f64,
    pub secs: f64,
    pub scored: usize,
    pub failed: usize,
    /// How often `auto` settled on each model, by name.
    pub chosen: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// Adds one forecast scored against `actual` (NaN actuals are skipped).
    pub fn add(
        &mut self,
        insample_scale: f64,
        actual: &[f64],
        point: &[f64],
        lower: &[f64],
        upper: &[f64],
        secs: f64,
    ) {
        let keep: Vec<usize> = (0..actual.len())
            .filter(|&i| actual[i].is_finite())
            .collect();
        if keep.is_empty() || insample_scale.is_nan() || insample_scale <= 0.0 {
            return;
        }
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (a, p) = (pick(actual), pick(point));
        self.smape += score::smape(&a, &p);
        let mae = a.iter().zip(&p).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
        self.mase += mae / insample_scale;
        self.coverage += score::coverage(&a, &pick(lower), &pick(upper));
        self.secs += secs;
        self.scored += 1;
    }

    fn mean(&self, v: f64) -> f64 {
        v / self.scored.max(1) as f64
    }
}

/// One output row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub model: String,
    /// Part of the development protocol the row scores (None: not split).
    pub part: Option<super::protocol::Part>,
    pub smape: f64,
    pub mase: f64,
    pub owa: f64,
    pub coverage: f64,
    pub secs_per_series: f64,
    pub scored: usize,
    pub failed: usize,
    pub chosen: std::collections::BTreeMap<String, usize>,
}

pub fn rows(models: &[ModelKind], tallies: &[Tally], naive2: &Tally) -> Vec<Row> {
    let (s2, m2) = (naive2.mean(naive2.smape), naive2.mean(naive2.mase));
    models
        .iter()
        .zip(tallies)
        .map(|(m, t)| {
            let (s, ma) = (t.mean(t.smape), t.mean(t.mase));
            Row {
                model: m.to_string(),
                part: None,
                smape: s,
                mase: ma,
                owa: score::owa(s, ma, s2, m2),
                coverage: t.mean(t.coverage),
                secs_per_series: t.mean(t.secs),
                scored: t.scored,
                failed: t.failed,
                chosen: t.chosen.clone(),
            }
        })
        .collect()
}

pub fn print(rows: &[Row], json: bool, level: f64, out: &mut impl Write) -> std::io::Result<()> {
    if json {
        let s = serde_json::to_string_pretty(rows).map_err(std::io::Error::other)?;
        return writeln!(out, "{s}");
    }
    writeln!(
        out,
        "{:<23} {:>9} {:>8} {:>7} {:>9} {:>12} {:>7} {:>6}",
        "model",
        "sMAPE",
        "MASE",
        "OWA",
        format!("cov{:.0}%", level * 100.0),
        "s/series",
        "scored",
        "failed"
    )?;
    for r in rows {
        let name = match r.part {
            Some(p) => format!("{} [{p}]", r.model),
            None => r.model.clone(),
        };
        writeln!(
            out,
            "{:<23} {:>9.3} {:>8.3} {:>7.3} {:>9.3} {:>12.6} {:>7} {:>6}",
            name, r.smape, r.mase, r.owa, r.coverage, r.secs_per_series, r.scored, r.failed
        )?;
        if !r.chosen.is_empty() {
            let c: Vec<String> = r.chosen.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            writeln!(out, "                        auto chose {}", c.join(" "))?;
        }
    }
    Ok(())
}
