//! Forecast results as metric families. The source series' labels are kept so a
//! Grafana panel can overlay `node_…` and `nodecast_forecast{metric="node_…"}`.

use std::time::Duration;

use crate::collect::{Family, Kind, Labels, Sample};
use crate::config::ForecastSettings;
use crate::predict::SeriesForecast;

/// `15m`, `1h`, `24h`: the spelling the monitor's `horizon` label has too.
pub fn horizon_label(d: Duration) -> String {
    crate::predict::monitor::view::horizon_label(d.as_millis().min(i64::MAX as u128) as i64)
}

fn gauge(name: &str, help: &str) -> Family {
    Family {
        name: name.into(),
        help: help.into(),
        kind: Kind::Gauge,
        samples: Vec::new(),
    }
}

fn with(first: &[(&str, &str)], source: &[(String, String)], last: &[(&str, &str)]) -> Labels {
    // Collected straight into the shared set: one block, no Vec to copy from.
    first
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(source.iter().cloned())
        .chain(last.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// Value of a forecast path at `offset` after now (nearest step).
fn at(path: &[f64], f: &SeriesForecast, now_ms: i64, offset: Duration) -> Option<f64> {
    let target = now_ms + offset.as_millis() as i64;
    let idx = ((target - f.start_ms) as f64 / f.step_ms as f64).round();
    (idx >= 0.0)
        .then(|| path.get(idx as usize).copied())
        .flatten()
        .filter(|v| v.is_finite())
}

pub fn families_for(results: &[SeriesForecast], s: &ForecastSettings) -> Vec<Family> {
    families_for_at(results, s, super::collect_loop::now_ms())
}

/// [`families_for`] at `now` (Unix ms): the forecast points are read at `now + horizon`.
pub fn families_for_at(results: &[SeriesForecast], s: &ForecastSettings, now: i64) -> Vec<Family> {
    let mut point = gauge(
        "nodecast_forecast",
        "Forecast of the series named by label metric, at now + horizon, in its own units",
    );
    let mut lower = gauge(
        "nodecast_forecast_lower",
        "Lower bound of the forecast's prediction interval (see nodecast_forecast_level_ratio)",
    );
    let mut upper = gauge(
        "nodecast_forecast_upper",
        "Upper bound of the forecast's prediction interval (see nodecast_forecast_level_ratio)",
    );
    let mut level = gauge(
        "nodecast_forecast_level_ratio",
        "Coverage of the prediction intervals",
    );
    let mut tte = gauge(
        "nodecast_time_to_exhaustion_seconds",
        "Seconds until the resource is forecast to run out: 0 when exhausted, +Inf when not within the horizon",
    );
    let mut prob = gauge(
        "nodecast_exhaustion_probability_ratio",
        "Probability that the resource runs out within the forecast horizon",
    );
    let mut model = gauge(
        "nodecast_forecast_model_info",
        "Model used for each forecast series",
    );
    let mut history = gauge(
        "nodecast_forecast_history_seconds",
        "History the forecast of each series was trained on",
    );
    let mut imputed = gauge(
        "nodecast_forecast_imputed_ratio",
        "Share of that history filled in by gap filling",
    );
    let mut anomaly = gauge(
        "nodecast_anomaly_score",
        "How far the series' latest downsampled buckets fell from the forecast made an hour before, in robust standard errors, sustained (8th largest of the last 12; docs/anomaly.md)",
    );
    level.samples.push(Sample::new(Labels::from([]), s.level));
    let mut tails = Tails::default();
    let horizons: Vec<Labels> = s
        .horizons
        .iter()
        .map(|h| tails.get(&[("horizon", &horizon_label(*h))]))
        .collect();
    // Each series' own labels, one set for all its samples here and in the
    // monitor's families.
    let mut sets = Vec::with_capacity(results.len());
    for f in results {
        let id = [("metric", f.metric.as_str())];
        let series = with(&id, &f.labels, &[]);
        for (h, tail) in s.horizons.iter().zip(&horizons) {
            for (fam, path) in [
                (&mut point, &f.mean),
                (&mut lower, &f.lower),
                (&mut upper, &f.upper),
            ] {
                if let Some(v) = at(path, f, now, *h) {
                    fam.samples.push(Sample {
                        labels: series.clone(),
                        tail: Some(tail.clone()),
                        value: v,
                    });
                }
            }
        }
        if let (Some(r), Some(t), Some(p)) = (
            &f.resource,
            f.time_to_exhaustion_seconds,
            f.exhaustion_probability,
        ) {
            let labels = with(&[("resource", r)], &f.labels, &[]);
            tte.samples.push(Sample::new(labels.clone(), t));
            prob.samples.push(Sample::new(labels, p));
        }
        if let Some(v) = f.anomaly_score.filter(|v| v.is_finite()) {
            anomaly.samples.push(Sample::new(series.clone(), v));
        }
        model.samples.push(Sample {
            labels: series.clone(),
            tail: Some(tails.get(&[("model", &f.model)])),
            value: 1.0,
        });
        history
            .samples
            .push(Sample::new(series.clone(), f.history_seconds));
        imputed
            .samples
            .push(Sample::new(series.clone(), f.imputed_ratio));
        sets.push(series);
    }
    let mut out = vec![
        point, lower, upper, level, tte, prob, model, history, imputed, anomaly,
    ];
    out.extend(super::monitor_metrics::monitor_families(
        results, &sets, &mut tails,
    ));
    out
}

/// Label tails of one cycle: a handful of distinct sets (horizons, windows,
/// models) that every series' samples share.
#[derive(Default)]
pub(super) struct Tails(Vec<Labels>);

impl Tails {
    pub(super) fn get(&mut self, pairs: &[(&str, &str)]) -> Labels {
        let same = |t: &Labels| {
            t.len() == pairs.len() && t.iter().zip(pairs).all(|((a, b), (c, d))| a == c && b == d)
        };
        if let Some(t) = self.0.iter().find(|t| same(t)) {
            return t.clone();
        }
        let t: Labels = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0.push(t.clone());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizon_labels() {
        assert_eq!(horizon_label(Duration::from_secs(900)), "15m");
        assert_eq!(horizon_label(Duration::from_secs(86400)), "24h");
        assert_eq!(horizon_label(Duration::from_secs(90)), "90s");
    }
}
