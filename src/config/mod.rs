//! Agent configuration: one resolved [`Config`] from flags > environment > file > defaults.
//!
//! [`settings::SETTINGS`] lists every setting; [`file`] reads the TOML file;
//! `crate::cli` turns flags and environment variables into clap matches, and
//! [`Config::from_matches`] reads the final values.

pub mod file;
pub mod settings;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::ArgMatches;

use crate::collect::{CollectOptions, Roots};
use settings::{parse_duration, parse_duration_list};

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
    pub listen_address: String,
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
    match std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several colon-separated directories; the first is ours.
        Some(v) if !v.is_empty() => PathBuf::from(
            v.to_string_lossy()
                .split(':')
                .next()
                .unwrap_or("nodecast-data"),
        ),
        _ => PathBuf::from("nodecast-data"),
    }
}

/// `--forecast.stale-after`, by default four collections but at least a minute, so a
/// loaded host's late collection does not drop forecasts; shorter than one collection
/// would call every series stale between two collections.
fn stale_after(flag: Option<String>, collect: Duration) -> Result<Duration, String> {
    let Some(v) = flag else {
        return Ok((collect * 4).max(Duration::from_secs(60)));
    };
    let d = parse_duration(&v).map_err(|e| format!("--forecast.stale-after: {e}"))?;
    if d < collect {
        return Err(format!(
            "--forecast.stale-after {v:?} is shorter than --collect.interval ({collect:?}): every series would be stale between collections"
        ));
    }
    Ok(d)
}

impl Config {
    /// Reads the final values out of matches produced by `crate::cli` (already validated there).
    pub fn from_matches(m: &ArgMatches) -> Result<Config, String> {
        let text = |k: &str| m.get_one::<String>(k).cloned();
        let req = |k: &str| text(k).ok_or_else(|| format!("--{k} has no value"));
        let dur = |k: &str| parse_duration(&req(k)?).map_err(|e| format!("--{k}: {e}"));
        let num = |k: &str| {
            req(k)?
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("--{k}: {e}"))
        };
        let regex = |k: &str| regex::Regex::new(&req(k)?).map_err(|e| format!("--{k}: {e}"));
        let switch = |k: &str| {
            m.try_get_one::<bool>(k)
                .ok()
                .flatten()
                .copied()
                .unwrap_or(false)
        };

        let mut collectors = BTreeMap::new();
        let disable_defaults = switch("collector.disable-defaults");
        for reg in crate::collect::REGISTRY {
            let on_id = format!("collector.{}", reg.name);
            let off_id = format!("no-collector.{}", reg.name);
            let explicit_on = matches!(
                m.value_source(&on_id),
                Some(
                    clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable
                )
            );
            let enabled = if switch(&off_id) {
                false
            } else if explicit_on {
                switch(&on_id)
            } else {
                reg.default_enabled && !disable_defaults
            };
            collectors.insert(reg.name.to_string(), enabled);
        }

        let level_pct: f64 = req("forecast.level")?
            .trim()
            .parse()
            .map_err(|e| format!("--forecast.level: {e}"))?;
        Ok(Config {
            listen_address: req("web.listen-address")?,
            telemetry_path: req("web.telemetry-path")?,
            web_config_file: text("web.config.file").map(PathBuf::from),
            max_connections: num("web.max-connections")? as usize,
            max_connections_per_client: num("web.max-connections-per-client")? as usize,
            storage: StorageSettings {
                path: text("storage.path")
                    .map(PathBuf::from)
                    .unwrap_or_else(default_storage_path),
                flush_interval: dur("storage.flush-interval")?,
                raw_retention: dur("storage.raw-retention")?,
                downsample_step: dur("storage.downsample-step")?,
                downsample_retention: dur("storage.downsample-retention")?,
                cache_bytes: num("storage.cache-bytes")?,
                max_series: num("storage.max-series")? as usize,
                reset_on_corruption: switch("storage.reset-on-corruption"),
            },
            collect_interval: dur("collect.interval")?,
            collectors,
            collect_options: CollectOptions {
                fs_mount_points_exclude: req("collector.filesystem.mount-points-exclude")?,
                fs_types_exclude: req("collector.filesystem.fs-types-exclude")?,
                netdev_device_exclude: req("collector.netdev.device-exclude")?,
                netclass_ignored_devices: req("collector.netclass.ignored-devices")?,
                diskstats_device_exclude: req("collector.diskstats.device-exclude")?,
            },
            roots: Roots {
                procfs: req("path.procfs")?.into(),
                sysfs: req("path.sysfs")?.into(),
                rootfs: req("path.rootfs")?.into(),
            },
            forecast: ForecastSettings {
                interval: dur("forecast.interval")?,
                horizon: dur("forecast.horizon")?,
                horizons: parse_duration_list(&req("forecast.horizons")?)
                    .map_err(|e| format!("--forecast.horizons: {e}"))?,
                min_history: dur("forecast.min-history")?,
                model: req("forecast.model")?
                    .parse()
                    .map_err(|e| format!("--forecast.model: {e}"))?,
                level: level_pct / 100.0,
                max_series: num("forecast.max-series")? as usize,
                metrics: regex("forecast.metrics")?,
                exclude: regex("forecast.exclude")?,
                stale_after: stale_after(text("forecast.stale-after"), dur("collect.interval")?)?,
            },
            backfill: BackfillSettings {
                prometheus_url: text("backfill.prometheus-url"),
                selector: text("backfill.selector"),
                timeout: dur("backfill.timeout")?,
            },
            log_level: req("log.level")?,
            log_format: if req("log.format")? == "json" {
                LogFormat::Json
            } else {
                LogFormat::Logfmt
            },
        })
    }
}
