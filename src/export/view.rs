//! What the page and the JSON API need to explain the agent beyond its last
//! forecasts: which series are still warming up and until when, why a series has
//! no forecast, its stored history, and the agent's own health figures.

use std::sync::Arc;

use crate::config::ForecastSettings;
use crate::predict::warmup::{first_forecast_due_ms, needed_history_ms, NoForecast};
use crate::store::{parse_series_key, Agg, Store, Tier, Window};

/// Most slots one history answer holds (35 days at 5 minutes): bounded work and
/// bounded responses whatever the tiers' steps.
pub const MAX_HISTORY_POINTS: i64 = 10_080;

pub struct AgentView {
    pub store: Arc<Store>,
    pub forecast: ForecastSettings,
    pub raw_step_ms: i64,
    pub downsample_step_ms: i64,
    pub collectors: Vec<&'static str>,
    pub backfill_configured: bool,
    pub started_ms: i64,
    /// The forecast loop's `nodecast_forecast_cycle_last_run_timestamp_seconds` (shared).
    pub last_forecast_cycle:
        prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
}

/// A series that will be forecast once it has enough history.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WarmingUp {
    pub series: String,
    pub metric: String,
    pub labels: std::collections::HashMap<String, String>,
    pub history_seconds: f64,
    pub needed_history_seconds: f64,
    pub first_forecast_due_timestamp: f64,
    pub first_forecast_due_in_seconds: f64,
    pub reason: String,
}

impl AgentView {
    /// End of the latest forecast cycle (Unix ms), if one ran.
    pub fn last_cycle_ms(&self) -> Option<i64> {
        let v = self.last_forecast_cycle.get();
        (v > 0.0).then_some((v * 1000.0) as i64)
    }

    pub fn needed_history_ms(&self) -> i64 {
        needed_history_ms(
            self.forecast.min_history.as_millis() as i64,
            self.downsample_step_ms,
        )
    }

    /// The latest slots of a tier, at most [`MAX_HISTORY_POINTS`] of them.
    pub fn history(&self, key: &str, tier: Tier, now_ms: i64) -> Option<Window> {
        let step = match tier {
            Tier::Raw => self.raw_step_ms,
            Tier::Downsampled => self.downsample_step_ms,
        }
        .max(1);
        let start = now_ms - MAX_HISTORY_POINTS * step;
        self.store
            .read(key, tier, Agg::Mean, start, now_ms + step)
            .ok()
    }

    /// Time of the oldest stored sample within the forecast's reach.
    fn first_sample_ms(&self, key: &str, now_ms: i64) -> Option<i64> {
        [Tier::Downsampled, Tier::Raw].iter().find_map(|&tier| {
            let w = self.history(key, tier, now_ms)?;
            let i = w.values.iter().position(|v| v.is_finite())?;
            Some(w.timestamp(i))
        })
    }

    fn selected(&self, key: &str) -> Result<(), NoForecast> {
        let (metric, _) = parse_series_key(key).ok_or(NoForecast::Unknown)?;
        if !self.forecast.metrics.is_match(&metric) {
            return Err(NoForecast::NotSelected);
        }
        if self.forecast.exclude.is_match(key) {
            return Err(NoForecast::Excluded);
        }
        Ok(())
    }

    /// Why `key` has no forecast right now.
    pub fn no_forecast(&self, key: &str, now_ms: i64, last_cycle_ms: Option<i64>) -> NoForecast {
        if self.store.series_id(key).is_none() {
            return NoForecast::Unknown;
        }
        if let Err(reason) = self.selected(key) {
            return reason;
        }
        let interval = self.forecast.interval.as_millis() as i64;
        let next_cycle_ms = last_cycle_ms.map_or(now_ms + interval, |l| (l + interval).max(now_ms));
        let Some(first) = self.first_sample_ms(key, now_ms) else {
            return NoForecast::Pending { next_cycle_ms };
        };
        let needed = self.needed_history_ms();
        let due = first_forecast_due_ms(
            first,
            needed,
            self.downsample_step_ms,
            interval,
            last_cycle_ms,
        );
        if due > now_ms {
            NoForecast::WarmingUp {
                history_ms: now_ms - first,
                due_ms: due,
            }
        } else {
            NoForecast::Pending { next_cycle_ms }
        }
    }

    /// Selected series without a forecast that are still gathering history,
    /// soonest first; `has_forecast` tells which series already have one.
    pub fn warming_up(
        &self,
        has_forecast: impl Fn(&str) -> bool,
        now_ms: i64,
        last_cycle_ms: Option<i64>,
    ) -> Vec<WarmingUp> {
        let needed = self.needed_history_ms();
        let mut out: Vec<WarmingUp> = self
            .store
            .series_keys()
            .into_iter()
            .filter(|k| !has_forecast(k) && self.selected(k).is_ok())
            .take(self.forecast.max_series)
            .filter_map(|key| {
                let reason = self.no_forecast(&key, now_ms, last_cycle_ms);
                let NoForecast::WarmingUp { history_ms, due_ms } = reason else {
                    return None;
                };
                let (metric, labels) = parse_series_key(&key)?;
                Some(WarmingUp {
                    reason: reason.explain(now_ms),
                    series: key,
                    metric,
                    labels: labels.into_iter().collect(),
                    history_seconds: history_ms as f64 / 1000.0,
                    needed_history_seconds: needed as f64 / 1000.0,
                    first_forecast_due_timestamp: due_ms as f64 / 1000.0,
                    first_forecast_due_in_seconds: (due_ms - now_ms).max(0) as f64 / 1000.0,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            a.first_forecast_due_timestamp
                .total_cmp(&b.first_forecast_due_timestamp)
                .then_with(|| a.series.cmp(&b.series))
        });
        out
    }
}

/// One exposition sample: (name, labels, value).
pub type SelfSample = (String, Vec<(String, String)>, f64);

/// The agent's own `nodecast_*` health series, read back from its exposition so
/// the page shows exactly what Prometheus scrapes: (name, labels, value).
pub fn self_samples(exposition: &str) -> Vec<SelfSample> {
    const HEALTH: &[&str] = &[
        "nodecast_collector_",
        "nodecast_store_",
        "nodecast_forecast_cycle",
        "nodecast_forecast_errors",
        "nodecast_forecast_series",
        "nodecast_http_",
        "nodecast_clock_",
        "nodecast_backfill_",
        "nodecast_build_info",
    ];
    exposition
        .lines()
        .filter(|l| HEALTH.iter().any(|p| l.starts_with(p)))
        .filter_map(parse_simple_sample)
        .collect()
}

/// `name{a="x",b="y"} value` for our own label values, which never hold quotes,
/// backslashes or commas.
fn parse_simple_sample(line: &str) -> Option<SelfSample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => {
            let body = rest.strip_suffix('}')?;
            let labels = body
                .split(',')
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.to_string(), v.trim_matches('"').to_string()))
                })
                .collect();
            (name, labels)
        }
        None => (head, Vec::new()),
    };
    Some((name.to_string(), labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_health_samples_only() {
        let text = "# HELP x y\nnodecast_collector_success{collector=\"cpu\"} 1\nnode_load1 0.5\nnodecast_store_size_bytes 4096\nnodecast_forecast{metric=\"m\"} 3\n";
        let got = self_samples(text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "nodecast_collector_success");
        assert_eq!(got[0].1, vec![("collector".into(), "cpu".into())]);
        assert_eq!(got[1].2, 4096.0);
    }
}
