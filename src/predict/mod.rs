//! Predict: what the forecasts mean for the node — time to exhaustion of a
//! resource and the chance it runs out within the horizon.

pub mod anomaly;
pub mod exhaustion;
pub mod monitor;
pub mod select;
pub mod series;
pub mod warmup;

use serde::Serialize;

/// One series' forecast as the daemon publishes it (API and metrics).
#[derive(Clone, Debug, Serialize)]
pub struct SeriesForecast {
    /// Canonical store key of the forecast series.
    pub series: String,
    pub metric: String,
    pub labels: Vec<(String, String)>,
    pub model: String,
    /// Timestamp (ms) of the first forecast step.
    pub start_ms: i64,
    pub step_ms: i64,
    pub level: f64,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub history_seconds: f64,
    pub imputed_ratio: f64,
    /// Set for series that measure how much of a resource is left.
    pub resource: Option<String>,
    pub time_to_exhaustion_seconds: Option<f64>,
    pub exhaustion_probability: Option<f64>,
    /// Online accuracy, shadow challenger and drift of this series.
    pub monitor: Option<monitor::view::MonitorView>,
    /// How unusual the latest buckets were given the previous forecast
    /// ([`anomaly`]); `None` until one was compared.
    pub anomaly_score: Option<f64>,
}

/// The latest forecast cycle's results, replaced wholesale each cycle.
pub type SharedForecasts = crate::snapshot::Shared<Vec<SeriesForecast>>;

pub fn shared_forecasts() -> SharedForecasts {
    crate::snapshot::shared()
}

pub use crate::snapshot::get as snapshot;
