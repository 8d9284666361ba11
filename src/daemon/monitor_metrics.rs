//! The forecast monitor's families: online accuracy per horizon and window,
//! the shadow challenger's, promotions and drift. Same identifying labels as
//! the forecasts (`metric` and the source series' labels).

use crate::collect::{Family, Kind, Sample};
use crate::predict::SeriesForecast;

fn family(name: &str, kind: Kind, help: &str) -> Family {
    Family {
        name: name.into(),
        help: help.into(),
        kind,
        samples: Vec::new(),
    }
}

fn labels(f: &SeriesForecast, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut l = vec![("metric".to_string(), f.metric.clone())];
    l.extend(f.labels.iter().cloned());
    l.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    l
}

pub fn monitor_families(results: &[SeriesForecast]) -> Vec<Family> {
    let mut mase = family(
        "nodecast_forecast_mase",
        Kind::Gauge,
        "Online MASE of the exposed forecast up to each horizon over the window (scaled like nodecast backtest: by the in-sample seasonal naive at one day)",
    );
    let mut cover = family(
        "nodecast_forecast_coverage_ratio",
        Kind::Gauge,
        "Share of actuals inside the exposed prediction interval, per horizon and window (compare with nodecast_forecast_level_ratio)",
    );
    let mut scored = family(
        "nodecast_forecast_scored_forecasts",
        Kind::Gauge,
        "Forecasts scored per horizon in the window",
    );
    let mut shadow = family(
        "nodecast_forecast_challenger_mase",
        Kind::Gauge,
        "Online MASE of the shadow challenger over the promotion window since the last promotion or drift",
    );
    let mut promotions = family(
        "nodecast_forecast_promotions_total",
        Kind::Counter,
        "Times the challenger replaced the series' model",
    );
    let mut drift = family(
        "nodecast_forecast_drift_detected_total",
        Kind::Counter,
        "Times the residuals of the series' forecast drifted (reselection and refit followed)",
    );
    let mut last_drift = family(
        "nodecast_forecast_last_drift_timestamp_seconds",
        Kind::Gauge,
        "When the series' residuals last drifted",
    );
    for f in results {
        let Some(m) = &f.monitor else { continue };
        for s in &m.accuracy {
            let l = labels(f, &[("horizon", &s.horizon), ("window", &s.window)]);
            for (fam, v) in [(&mut mase, s.mase), (&mut cover, s.coverage_ratio)] {
                if let Some(v) = v {
                    fam.samples.push(Sample {
                        labels: l.clone(),
                        value: v,
                    });
                }
            }
            scored.samples.push(Sample {
                labels: l,
                value: f64::from(s.scored),
            });
        }
        if let Some(c) = &m.challenger {
            for s in &m.challenger_accuracy {
                if let Some(v) = s.mase {
                    let l = [
                        ("model", c.as_str()),
                        ("horizon", &s.horizon),
                        ("window", &s.window),
                    ];
                    shadow.samples.push(Sample {
                        labels: labels(f, &l),
                        value: v,
                    });
                }
            }
        }
        promotions.samples.push(Sample {
            labels: labels(f, &[]),
            value: m.promotions as f64,
        });
        drift.samples.push(Sample {
            labels: labels(f, &[]),
            value: m.drift_detected as f64,
        });
        if let Some(t) = m.last_drift_timestamp_seconds {
            last_drift.samples.push(Sample {
                labels: labels(f, &[]),
                value: t,
            });
        }
    }
    vec![mase, cover, scored, shadow, promotions, drift, last_drift]
}
