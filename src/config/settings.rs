//! The table of every agent setting with its type and bounds. Flags, environment
//! variables, config-file keys, `--help` and the README's configuration reference all
//! derive from it, so a setting cannot exist in one place and be missing in another.

pub use super::value::{parse, parse_duration, Value, ValueKind};

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

const SEC: u64 = 1;
const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

const fn dur(min_secs: u64, max_secs: u64) -> ValueKind {
    ValueKind::Duration {
        min: std::time::Duration::from_secs(min_secs),
        max: std::time::Duration::from_secs(max_secs),
    }
}

/// Longest forecast horizon: the default downsampled retention, so a forecast never
/// reaches further ahead than the history it could have been trained on.
pub const MAX_HORIZON_SECS: u64 = 35 * DAY;
/// Most forecast steps (35 days at 30 s): with the models' per-step vectors this keeps
/// one forecast within a few MiB whatever the step.
pub const MAX_HORIZON_STEPS: u64 = 100_800;
/// Most downsampled points per series (35 days at 10 s). The forecaster reads the whole
/// window: a 1 s step over the default 35 days made an agent ~100 MiB (docs/deploy.md).
pub const MAX_DOWNSAMPLED_POINTS: u64 = 302_400;
/// Most raw points per series (about 11.5 days at 1 s).
pub const MAX_RAW_POINTS: u64 = 1_000_000;
/// sled panics with smaller page caches (below 256 bytes) and thrashes long before that.
pub const MIN_CACHE_BYTES: u64 = 64 << 10;

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
        ListenAddress,
        "Address to listen on for the web interface and telemetry: host:port, [ipv6]:port or :port",
    ),
    s(
        "web.telemetry-path",
        Some("/metrics"),
        TelemetryPath,
        "Path under which to expose metrics: plain segments (letters, digits, - _ . ~), not a built-in endpoint",
    ),
    s(
        "web.max-connections",
        Some("256"),
        Int {
            min: 1,
            max: 65_536,
        },
        "Most open HTTP connections; further ones are closed at once and counted",
    ),
    s(
        "web.max-connections-per-client",
        Some("32"),
        Int {
            min: 1,
            max: 65_536,
        },
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
        dur(SEC, HOUR),
        "How often the store is flushed to disk",
    ),
    s(
        "storage.raw-retention",
        Some("48h"),
        dur(SEC, 35 * DAY),
        "How long raw samples are kept",
    ),
    s(
        "storage.downsample-step",
        Some("5m"),
        dur(SEC, DAY),
        "Step of the downsampled tier the forecaster reads",
    ),
    s(
        "storage.downsample-retention",
        Some("35d"),
        dur(SEC, 366 * DAY),
        "How long downsampled samples are kept",
    ),
    s(
        "storage.cache-bytes",
        Some("524288"),
        Bytes {
            min: MIN_CACHE_BYTES,
            max: 64 << 30,
        },
        "sled page cache size in bytes (or with a KiB, MiB, GiB suffix)",
    ),
    s(
        "storage.max-series",
        Some("4096"),
        Int {
            min: 1,
            max: 1_000_000,
        },
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
        dur(SEC, HOUR),
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
        dur(SEC, DAY),
        "How often every forecastable series is forecast",
    ),
    s(
        "forecast.horizon",
        Some("24h"),
        dur(SEC, MAX_HORIZON_SECS),
        "Forecast horizon; exhaustion probability is within it",
    ),
    s(
        "forecast.horizons",
        Some("15m,1h,6h,24h"),
        DurationList {
            min: std::time::Duration::from_secs(SEC),
            max: std::time::Duration::from_secs(MAX_HORIZON_SECS),
            max_items: 16,
        },
        "Horizons exposed as nodecast_forecast{horizon=…}",
    ),
    s(
        "forecast.min-history",
        Some("6h"),
        dur(SEC, 366 * DAY),
        "History a series needs before it is forecast",
    ),
    s("forecast.model", Some("auto"), Model, "Forecast model"),
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
        Int {
            min: 1,
            max: 100_000,
        },
        "Most series forecast per cycle (bounds the cycle's work)",
    ),
    s(
        "forecast.stale-after",
        None,
        dur(SEC, 35 * DAY),
        "Stop forecasting a series this long after its newest sample [default: 4 x --collect.interval, at least 1m; at least 24h for series this agent has not collected since it started, e.g. backfilled ones]",
    ),
    s(
        "forecast.challenger",
        Some("theta"),
        Text { max_len: 32 },
        "Shadow model forecast alongside each series' model, scored online and promoted when it is better: a model name, or none",
    ),
    s(
        "forecast.challenger-margin",
        Some("10"),
        Percent,
        "Promote the challenger when its MASE is at least this many percent below the champion's",
    ),
    s(
        "forecast.challenger-window",
        Some("7d"),
        dur(6 * HOUR, 7 * DAY),
        "Window over which champion and challenger are compared",
    ),
    s(
        "forecast.challenger-min-samples",
        Some("24"),
        Int { min: 1, max: 10_000 },
        "Scored forecasts each side needs in the window before a promotion",
    ),
    s(
        "forecast.pin",
        None,
        Text { max_len: 4096 },
        "Pin a model on series: MODEL=REGEXP of series keys (name{labels}); they get no challenger",
    ),
    s(
        "forecast.disable-drift-detection",
        None,
        Switch,
        "Do not watch the forecast residuals for drift",
    ),
    s(
        "backfill.prometheus-url",
        None,
        Url,
        "Prometheus to pull this node's history from at start",
    ),
    s(
        "backfill.selector",
        None,
        Text { max_len: 4096 },
        "Label matchers selecting this node, e.g. instance=\"node1:9100\"",
    ),
    s(
        "backfill.timeout",
        Some("30s"),
        dur(SEC, 10 * MINUTE),
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

/// The setting named `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::value::{parse, Value};

    /// The memory benches and tests open stores with `StoreConfig::new`; they
    /// measure the agent only while its cache is the daemon's default.
    #[test]
    fn store_config_new_has_the_default_cache() {
        let s = find("storage.cache-bytes").unwrap();
        let Ok(Value::Int(n)) = parse(s.kind, s.default.unwrap()) else {
            panic!("storage.cache-bytes default does not parse");
        };
        assert_eq!(n, crate::store::StoreConfig::new("/x").cache_bytes);
    }
}
