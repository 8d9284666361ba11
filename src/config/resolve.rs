//! Picks each setting's winning source (flag or environment, then file, then default)
//! out of values that are already parsed, and builds the [`Config`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::ArgMatches;

use super::value::Value;
use super::{
    check, default_storage_path, file, BackfillSettings, Config, ConfigError, ForecastSettings,
    LogFormat, StorageSettings,
};
use crate::collect::{CollectOptions, Roots};

/// Where each setting's value comes from: matches hold flags, environment and
/// defaults (already parsed by clap with [`value::parse`]); file entries fill in
/// what no flag or variable set.
struct Sources<'a> {
    m: &'a ArgMatches,
    file: &'a [file::Entry],
}

impl Sources<'_> {
    fn explicit(&self, id: &str) -> bool {
        matches!(
            self.m.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    }

    fn file_value(&self, key: &str) -> Option<&Value> {
        // A key given twice (flat and nested) resolves to the last one, as TOML tables merge.
        self.file
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| &e.parsed)
    }

    fn get(&self, key: &str) -> Option<Value> {
        if self.explicit(key) {
            return self.m.try_get_one::<Value>(key).ok().flatten().cloned();
        }
        if let Some(v) = self.file_value(key) {
            return Some(v.clone());
        }
        self.m.try_get_one::<Value>(key).ok().flatten().cloned()
    }

    fn switch(&self, key: &str) -> bool {
        let flag = self.m.try_get_one::<bool>(key).ok().flatten().copied();
        if self.explicit(key) {
            return flag.unwrap_or(false);
        }
        match self.file_value(key) {
            Some(Value::Switch(b)) => *b,
            _ => flag.unwrap_or(false),
        }
    }

    fn req(&self, key: &str) -> Result<Value, ConfigError> {
        self.get(key)
            .ok_or_else(|| ConfigError::new(key, "has no value"))
    }

    fn duration(&self, key: &str) -> Result<Duration, ConfigError> {
        match self.req(key)? {
            Value::Duration(d) => Ok(d),
            other => Err(wrong(key, &other)),
        }
    }

    fn int(&self, key: &str) -> Result<u64, ConfigError> {
        match self.req(key)? {
            Value::Int(n) => Ok(n),
            other => Err(wrong(key, &other)),
        }
    }

    fn text(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(other) => Err(wrong(key, &other)),
        }
    }

    fn req_text(&self, key: &str) -> Result<String, ConfigError> {
        self.text(key)?
            .ok_or_else(|| ConfigError::new(key, "has no value"))
    }

    fn path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Path(p)) => Ok(Some(p)),
            Some(other) => Err(wrong(key, &other)),
        }
    }

    fn req_path(&self, key: &str) -> Result<PathBuf, ConfigError> {
        self.path(key)?
            .ok_or_else(|| ConfigError::new(key, "has no value"))
    }

    fn regex(&self, key: &str) -> Result<regex::Regex, ConfigError> {
        match self.req(key)? {
            Value::Regex(r) => Ok(r),
            other => Err(wrong(key, &other)),
        }
    }
}

/// A value of the wrong type can only come from a bug in the settings table.
fn wrong(key: &str, v: &Value) -> ConfigError {
    ConfigError::new(key, format!("internal: unexpected value {v:?}"))
}

/// `MODEL=REGEXP`: the first `=` ends the model name (regexps may hold `=`).
fn parse_pin(t: &str) -> Result<(regex::Regex, crate::forecast::ModelKind), ConfigError> {
    let err = |why: String| ConfigError::new("forecast.pin", why);
    let (m, re) = t
        .split_once('=')
        .ok_or_else(|| err(format!("{t:?} is not MODEL=REGEXP")))?;
    let model = m.trim().parse().map_err(|e: String| err(e))?;
    let re = regex::Regex::new(re).map_err(|e| err(format!("bad regexp: {e}")))?;
    Ok((re, model))
}

impl Config {
    /// Resolves every setting from clap matches (flags, environment, defaults, parsed
    /// by `crate::cli`) and config-file entries, then checks the rules spanning settings.
    pub fn resolve(m: &ArgMatches, file_entries: &[file::Entry]) -> Result<Config, ConfigError> {
        let src = Sources {
            m,
            file: file_entries,
        };
        let mut collectors = BTreeMap::new();
        let disable_defaults = src.switch("collector.disable-defaults");
        for reg in crate::collect::REGISTRY {
            let on_id = format!("collector.{}", reg.name);
            let off_id = format!("no-collector.{}", reg.name);
            let flag = |id: &str| m.try_get_one::<bool>(id).ok().flatten().copied() == Some(true);
            let enabled = if src.explicit(&off_id) && flag(&off_id) {
                false
            } else if src.explicit(&on_id) {
                flag(&on_id)
            } else if let Some(Value::Switch(b)) = src.file_value(&on_id) {
                *b
            } else {
                reg.default_enabled && !disable_defaults
            };
            collectors.insert(reg.name.to_string(), enabled);
        }
        let listen_address = match src.req("web.listen-address")? {
            Value::Addr(a) => a,
            other => return Err(wrong("web.listen-address", &other)),
        };
        let level = match src.req("forecast.level")? {
            Value::Fraction(f) => f,
            other => return Err(wrong("forecast.level", &other)),
        };
        let horizons = match src.req("forecast.horizons")? {
            Value::Durations(d) => d,
            other => return Err(wrong("forecast.horizons", &other)),
        };
        let model = match src.req("forecast.model")? {
            Value::Model(k) => k,
            other => return Err(wrong("forecast.model", &other)),
        };
        let challenger =
            match src.req_text("forecast.challenger")?.as_str() {
                "none" => None,
                m => Some(m.parse::<crate::forecast::ModelKind>().map_err(|e| {
                    ConfigError::new("forecast.challenger", format!("{e}, or none"))
                })?),
            };
        let challenger_margin = match src.req("forecast.challenger-margin")? {
            Value::Fraction(f) => f,
            other => return Err(wrong("forecast.challenger-margin", &other)),
        };
        let pin = match src.text("forecast.pin")? {
            None => None,
            Some(t) => Some(parse_pin(&t)?),
        };
        let usize_of = |key: &str| {
            src.int(key)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let cfg = Config {
            listen_address,
            telemetry_path: src.req_text("web.telemetry-path")?,
            web_config_file: src.path("web.config.file")?,
            max_connections: usize_of("web.max-connections")?,
            max_connections_per_client: usize_of("web.max-connections-per-client")?,
            storage: StorageSettings {
                path: src
                    .path("storage.path")?
                    .unwrap_or_else(default_storage_path),
                flush_interval: src.duration("storage.flush-interval")?,
                raw_retention: src.duration("storage.raw-retention")?,
                downsample_step: src.duration("storage.downsample-step")?,
                downsample_retention: src.duration("storage.downsample-retention")?,
                cache_bytes: src.int("storage.cache-bytes")?,
                max_series: usize_of("storage.max-series")?,
                reset_on_corruption: src.switch("storage.reset-on-corruption"),
            },
            collect_interval: src.duration("collect.interval")?,
            collectors,
            collect_options: CollectOptions {
                fs_mount_points_exclude: src
                    .regex("collector.filesystem.mount-points-exclude")?
                    .as_str()
                    .to_string(),
                fs_types_exclude: src
                    .regex("collector.filesystem.fs-types-exclude")?
                    .as_str()
                    .to_string(),
                netdev_device_exclude: src
                    .regex("collector.netdev.device-exclude")?
                    .as_str()
                    .to_string(),
                netclass_ignored_devices: src
                    .regex("collector.netclass.ignored-devices")?
                    .as_str()
                    .to_string(),
                diskstats_device_exclude: src
                    .regex("collector.diskstats.device-exclude")?
                    .as_str()
                    .to_string(),
            },
            roots: Roots {
                procfs: src.req_path("path.procfs")?,
                sysfs: src.req_path("path.sysfs")?,
                rootfs: src.req_path("path.rootfs")?,
            },
            forecast: ForecastSettings {
                interval: src.duration("forecast.interval")?,
                horizon: src.duration("forecast.horizon")?,
                horizons,
                min_history: src.duration("forecast.min-history")?,
                model,
                level,
                max_series: usize_of("forecast.max-series")?,
                metrics: src.regex("forecast.metrics")?,
                exclude: src.regex("forecast.exclude")?,
                stale_after: match src.get("forecast.stale-after") {
                    Some(Value::Duration(d)) => d,
                    Some(other) => return Err(wrong("forecast.stale-after", &other)),
                    // Four collections but at least a minute: a loaded host's late
                    // collection must not drop forecasts.
                    None => (src.duration("collect.interval")? * 4).max(Duration::from_secs(60)),
                },
                challenger,
                challenger_margin,
                challenger_window: src.duration("forecast.challenger-window")?,
                challenger_min_samples: u32::try_from(src.int("forecast.challenger-min-samples")?)
                    .unwrap_or(u32::MAX),
                pin,
                drift_detection: !src.switch("forecast.disable-drift-detection"),
            },
            backfill: BackfillSettings {
                prometheus_url: src.text("backfill.prometheus-url")?,
                selector: src.text("backfill.selector")?,
                timeout: src.duration("backfill.timeout")?,
            },
            log_level: src.req_text("log.level")?,
            log_format: if src.req_text("log.format")? == "json" {
                LogFormat::Json
            } else {
                LogFormat::Logfmt
            },
        };
        check::across(&cfg)?;
        Ok(cfg)
    }
}
