//! The table of every agent setting. Flags, environment variables, config-file
//! keys, `--help` and the README's configuration reference all derive from it,
//! so a setting cannot exist in one place and be missing in another.

use std::time::Duration;

/// How a setting's text value is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Path,
    Duration,
    Bytes,
    Percent,
    Regex,
    DurationList,
    LogLevel,
    LogFormat,
    Model,
    /// A switch: present or not (file value `true`/`false`).
    Switch,
}

/// One agent setting.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The flag name without dashes, also the config-file key.
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub kind: ValueKind,
    pub help: &'static str,
}

const fn s(
    name: &'static str,
    default: Option<&'static str>,
    kind: ValueKind,
    help: &'static str,
) -> Setting {
    Setting {
        name,
        default,
        kind,
        help,
    }
}

use ValueKind::*;

/// Port 9847: the exporter range on the Prometheus wiki is fully allocated, and
/// no exporter in common use (node, blackbox, process, cadvisor, …) listens there.
pub const DEFAULT_LISTEN: &str = ":9847";

use crate::collect::{
    DEFAULT_DISKSTATS_DEVICE_EXCLUDE, DEFAULT_FS_MOUNT_POINTS_EXCLUDE, DEFAULT_FS_TYPES_EXCLUDE,
    DEFAULT_NETCLASS_IGNORED_DEVICES, DEFAULT_NETDEV_DEVICE_EXCLUDE,
};

/// Resources that run out, plus the load and pressure signals operators watch.
pub const DEFAULT_FORECAST_METRICS: &str = "^(node_filesystem_avail_bytes|node_filesystem_files_free|node_memory_MemAvailable_bytes|node_memory_SwapFree_bytes|node_filefd_available|node_processes_available|node_cpu_utilisation_ratio|node_load1_per_cpu|node_pressure_(cpu|memory|io)_waiting_ratio|node_hwmon_temp_celsius|node_thermal_zone_temp)$";

pub const SETTINGS: &[Setting] = &[
    s(
        "web.listen-address",
        Some(DEFAULT_LISTEN),
        Text,
        "Address to listen on for the web interface and telemetry",
    ),
    s(
        "web.telemetry-path",
        Some("/metrics"),
        Text,
        "Path under which to expose metrics",
    ),
    s(
        "web.max-connections",
        Some("256"),
        Bytes,
        "Most open HTTP connections; further ones are closed at once and counted",
    ),
    s(
        "web.max-connections-per-client",
        Some("32"),
        Bytes,
        "Most open HTTP connections from one client address (IPv6: one /64); further ones are closed at once and counted",
    ),
    s(
        "web.config.file",
        None,
        Path,
        "Exporter-toolkit web config file (TLS, basic auth)",
    ),
    s(
        "storage.path",
        None,
        Path,
        "Store directory [default: $STATE_DIRECTORY, else ./nodecast-data]",
    ),
    s(
        "storage.flush-interval",
        Some("60s"),
        Duration,
        "How often the store is flushed to disk",
    ),
    s(
        "storage.raw-retention",
        Some("48h"),
        Duration,
        "How long raw samples are kept",
    ),
    s(
        "storage.downsample-step",
        Some("5m"),
        Duration,
        "Step of the downsampled tier the forecaster reads",
    ),
    s(
        "storage.downsample-retention",
        Some("35d"),
        Duration,
        "How long downsampled samples are kept",
    ),
    s(
        "storage.cache-bytes",
        Some("4194304"),
        Bytes,
        "sled page cache size in bytes",
    ),
    s(
        "storage.max-series",
        Some("4096"),
        Bytes,
        "Most series the store accepts; samples of further series are dropped and counted",
    ),
    s(
        "storage.reset-on-corruption",
        None,
        Switch,
        "Move a corrupted store aside (renamed, never deleted) and start fresh",
    ),
    s(
        "collect.interval",
        Some("15s"),
        Duration,
        "Collection interval, also the raw store's grid step",
    ),
    s(
        "collector.filesystem.mount-points-exclude",
        Some(DEFAULT_FS_MOUNT_POINTS_EXCLUDE),
        Regex,
        "Regexp of mount points to exclude",
    ),
    s(
        "collector.filesystem.fs-types-exclude",
        Some(DEFAULT_FS_TYPES_EXCLUDE),
        Regex,
        "Regexp of filesystem types to exclude",
    ),
    s(
        "collector.netdev.device-exclude",
        Some(DEFAULT_NETDEV_DEVICE_EXCLUDE),
        Regex,
        "Regexp of network devices to exclude",
    ),
    s(
        "collector.netclass.ignored-devices",
        Some(DEFAULT_NETCLASS_IGNORED_DEVICES),
        Regex,
        "Regexp of net devices to ignore for netclass collector",
    ),
    s(
        "collector.diskstats.device-exclude",
        Some(DEFAULT_DISKSTATS_DEVICE_EXCLUDE),
        Regex,
        "Regexp of block devices to exclude",
    ),
    s(
        "collector.disable-defaults",
        None,
        Switch,
        "Disable every collector not enabled explicitly",
    ),
    s("path.procfs", Some("/proc"), Path, "procfs mountpoint"),
    s("path.sysfs", Some("/sys"), Path, "sysfs mountpoint"),
    s(
        "path.rootfs",
        Some("/"),
        Path,
        "Root of the host filesystem (for filesystem metrics)",
    ),
    s(
        "forecast.interval",
        Some("5m"),
        Duration,
        "How often every forecastable series is forecast",
    ),
    s(
        "forecast.horizon",
        Some("24h"),
        Duration,
        "Forecast horizon; exhaustion probability is within it",
    ),
    s(
        "forecast.horizons",
        Some("15m,1h,6h,24h"),
        DurationList,
        "Horizons exposed as nodecast_forecast{horizon=…}",
    ),
    s(
        "forecast.min-history",
        Some("6h"),
        Duration,
        "History a series needs before it is forecast",
    ),
    s(
        "forecast.model",
        Some("auto"),
        Model,
        "Model: auto, snaive, theta, naive2, …",
    ),
    s(
        "forecast.level",
        Some("95"),
        Percent,
        "Prediction interval level in percent",
    ),
    s(
        "forecast.metrics",
        Some(DEFAULT_FORECAST_METRICS),
        Regex,
        "Regexp of metric names that are forecast",
    ),
    s(
        "forecast.exclude",
        Some("^$"),
        Regex,
        "Regexp of series (name{labels}, labels sorted) not to forecast",
    ),
    s(
        "forecast.max-series",
        Some("512"),
        Bytes,
        "Most series forecast per cycle (bounds the cycle's work)",
    ),
    s(
        "forecast.stale-after",
        None,
        Duration,
        "Stop forecasting a series this long after its newest sample [default: 4 x --collect.interval, at least 1m; at least 24h for series this agent has not collected since it started, e.g. backfilled ones]",
    ),
    s(
        "backfill.prometheus-url",
        None,
        Text,
        "Prometheus to pull this node's history from at start",
    ),
    s(
        "backfill.selector",
        None,
        Text,
        "Label matchers selecting this node, e.g. instance=\"node1:9100\"",
    ),
    s(
        "backfill.timeout",
        Some("30s"),
        Duration,
        "Timeout of one backfill query",
    ),
    s(
        "log.level",
        Some("info"),
        LogLevel,
        "Only log messages with the given severity or above: debug, info, warn, error",
    ),
    s(
        "log.format",
        Some("logfmt"),
        LogFormat,
        "Output format of log messages: logfmt or json",
    ),
];

/// `NODECAST_` plus the flag name in upper snake case.
pub fn env_name(flag: &str) -> String {
    let mut out = String::from("NODECAST_");
    out.extend(flag.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be greater than zero"));
    }
    Ok(d)
}

pub fn parse_duration_list(s: &str) -> Result<Vec<Duration>, String> {
    let list: Result<Vec<_>, _> = s.split(',').map(parse_duration).collect();
    let list = list?;
    if list.is_empty() {
        return Err("empty list".into());
    }
    Ok(list)
}

/// Checks a text value for the given kind, returning the reason it is bad.
pub fn validate(kind: ValueKind, v: &str) -> Result<(), String> {
    match kind {
        Text | Path | Switch => Ok(()),
        Duration => parse_duration(v).map(|_| ()),
        DurationList => parse_duration_list(v).map(|_| ()),
        Bytes => v
            .trim()
            .parse::<u64>()
            .map(|_| ())
            .map_err(|e| format!("invalid number {v:?}: {e}")),
        Percent => match v.trim().parse::<f64>() {
            Ok(p) if p > 0.0 && p < 100.0 => Ok(()),
            _ => Err(format!(
                "invalid level {v:?}: expected a percentage between 0 and 100"
            )),
        },
        Regex => regex::Regex::new(v)
            .map(|_| ())
            .map_err(|e| format!("invalid regex {v:?}: {e}")),
        LogLevel => match v {
            "debug" | "info" | "warn" | "error" => Ok(()),
            _ => Err(format!(
                "invalid log level {v:?}: expected debug, info, warn or error"
            )),
        },
        LogFormat => match v {
            "logfmt" | "json" => Ok(()),
            _ => Err(format!("invalid log format {v:?}: expected logfmt or json")),
        },
        Model => v
            .parse::<crate::forecast::ModelKind>()
            .map(|_| ())
            .map_err(|e| format!("invalid model {v:?}: {e}")),
    }
}
