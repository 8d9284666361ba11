//! The forecast monitor's families: online accuracy per horizon and window,
//! the shadow challenger's, promotions and drift. Same identifying labels as
//! the forecasts (`metric` and the source series' labels), the very same set:
//! `horizon`, `window` and `model` follow as shared tails.

use super::forecast_metrics::Tails;
use crate::collect::{Family, Kind, Labels, Sample};
use crate::predict::SeriesForecast;

/// `room`: the samples it will hold. Grown by doubling instead, each family's
/// list (tens of kB at 512 series) left a trail of freed blocks every cycle.
fn family(name: &str, kind: Kind, help: &str, room: usize) -> Family {
    Family {
        name: name.into(),
        help: help.into(),
        kind,
        samples: Vec::with_capacity(room),
    }
}

/// `series[i]`: the labels of `results[i]` (`metric` and the source series'),
/// shared with its forecast families; `tails` the cycle's shared tails.
pub(super) fn monitor_families(
    results: &[SeriesForecast],
    series: &[Labels],
    tails: &mut Tails,
) -> Vec<Family> {
    let views = || results.iter().filter_map(|f| f.monitor.as_ref());
    let n_series = views().count();
    let scores: usize = views().map(|m| m.accuracy.len()).sum();
    let shadow_scores: usize = views().map(|m| m.challenger_accuracy.len()).sum();
    let mut mase = family(
        "nodecast_forecast_mase",
        Kind::Gauge,
        "Online MASE of the exposed forecast up to each horizon over the window (scaled like nodecast backtest: by the in-sample seasonal naive at one day)",
        scores,
    );
    let mut cover = family(
        "nodecast_forecast_coverage_ratio",
        Kind::Gauge,
        "Share of actuals inside the exposed prediction interval, per horizon and window (compare with nodecast_forecast_level_ratio)",
        scores,
    );
    let mut scored = family(
        "nodecast_forecast_scored_forecasts",
        Kind::Gauge,
        "Forecasts scored per horizon in the window",
        scores,
    );
    let mut shadow = family(
        "nodecast_forecast_challenger_mase",
        Kind::Gauge,
        "Online MASE of the shadow challenger over the promotion window since the last promotion or drift",
        shadow_scores,
    );
    let mut promotions = family(
        "nodecast_forecast_promotions_total",
        Kind::Counter,
        "Times the challenger replaced the series' model",
        n_series,
    );
    let mut drift = family(
        "nodecast_forecast_drift_detected_total",
        Kind::Counter,
        "Times the residuals of the series' forecast drifted (reselection and refit followed)",
        n_series,
    );
    let mut last_drift = family(
        "nodecast_forecast_last_drift_timestamp_seconds",
        Kind::Gauge,
        "When the series' residuals last drifted",
        0,
    );
    for (f, id) in results.iter().zip(series) {
        let Some(m) = &f.monitor else { continue };
        let sample = |tail: &Labels, value| Sample {
            labels: id.clone(),
            tail: Some(tail.clone()),
            value,
        };
        for s in &m.accuracy {
            let t = tails.get(&[
                ("horizon", s.horizon.as_str()),
                ("window", s.window.as_str()),
            ]);
            for (fam, v) in [(&mut mase, s.mase), (&mut cover, s.coverage_ratio)] {
                if v.is_finite() {
                    fam.samples.push(sample(&t, v));
                }
            }
            scored.samples.push(sample(&t, f64::from(s.scored)));
        }
        if let Some(c) = &m.challenger {
            for s in &m.challenger_accuracy {
                if s.mase.is_finite() {
                    let t = tails.get(&[
                        ("model", *c),
                        ("horizon", s.horizon.as_str()),
                        ("window", s.window.as_str()),
                    ]);
                    shadow.samples.push(sample(&t, s.mase));
                }
            }
        }
        if let Some(t) = m.last_drift_timestamp_seconds {
            last_drift.samples.push(Sample::new(id.clone(), t));
        }
        promotions
            .samples
            .push(Sample::new(id.clone(), m.promotions as f64));
        drift
            .samples
            .push(Sample::new(id.clone(), m.drift_detected as f64));
    }
    vec![mase, cover, scored, shadow, promotions, drift, last_drift]
}
