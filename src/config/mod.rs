//! Agent configuration: one resolved [`Config`] from flags > environment > file > defaults.
//!
//! [`settings::SETTINGS`] lists every setting with its type and bounds; [`value::parse`]
//! is the one parser every source goes through (clap's value parser for flags and
//! environment, [`file`] for the TOML file); [`Config::resolve`] picks each setting's
//! winning source and [`check`] applies the rules that span settings. `run` and
//! `check-config` both go through [`Config::resolve`], so they accept the same values.

pub mod addr;
pub mod check;
pub mod file;
mod resolve;
pub mod settings;
pub mod value;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::collect::{CollectOptions, Roots};

#[derive(Clone, Debug)]
pub struct StorageSettings {
    pub path: PathBuf,
    pub flush_interval: Duration,
    pub raw_retention: Duration,
    pub downsample_step: Duration,
    pub downsample_retention: Duration,
    pub cache_bytes: u64,
    pub max_series: usize,
    pub reset_on_corruption: bool,
}

#[derive(Clone, Debug)]
pub struct ForecastSettings {
    pub interval: Duration,
    pub horizon: Duration,
    pub horizons: Vec<Duration>,
    pub min_history: Duration,
    pub model: crate::forecast::ModelKind,
    /// Interval level as a fraction, e.g. 0.95.
    pub level: f64,
    pub max_series: usize,
    pub metrics: regex::Regex,
    pub exclude: regex::Regex,
    /// See [`crate::predict::select`].
    pub stale_after: Duration,
    /// Shadow model (`None`: off), promotion margin (fraction), window, samples.
    pub challenger: Option<crate::forecast::ModelKind>,
    pub challenger_margin: f64,
    pub challenger_window: Duration,
    pub challenger_min_samples: u32,
    /// Series keys matching the regexp keep the model.
    pub pin: Option<(regex::Regex, crate::forecast::ModelKind)>,
    pub drift_detection: bool,
}

#[derive(Clone, Debug)]
pub struct BackfillSettings {
    pub prometheus_url: Option<String>,
    pub selector: Option<String>,
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    pub web_config_file: Option<PathBuf>,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub storage: StorageSettings,
    pub collect_interval: Duration,
    /// Collector name → enabled.
    pub collectors: BTreeMap<String, bool>,
    pub collect_options: CollectOptions,
    pub roots: Roots,
    pub forecast: ForecastSettings,
    pub backfill: BackfillSettings,
    pub log_level: String,
    pub log_format: LogFormat,
}

/// The store directory when none is configured: systemd's StateDirectory, else `./nodecast-data`.
pub fn default_storage_path() -> PathBuf {
    // systemd may pass several colon-separated directories; the first is ours. An empty
    // one would put the store into the working directory.
    std::env::var_os("STATE_DIRECTORY")
        .and_then(|v| {
            v.to_string_lossy()
                .split(':')
                .next()
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("nodecast-data"))
}

/// A bad setting: the key (flag name, also the file key) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}
