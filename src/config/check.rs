//! Rules that span settings. The store and the forecast loop would reject or choke on
//! these at run time (the store only once it opens, the forecaster hours later);
//! checking them while resolving lets `check-config` see exactly what `run` sees.

use std::time::Duration;

use super::settings::{MAX_DOWNSAMPLED_POINTS, MAX_HORIZON_STEPS, MAX_RAW_POINTS};
use super::value::fmt_duration as fmt;
use super::{Config, ConfigError};

fn steps(span: Duration, step: Duration) -> u128 {
    span.as_millis().div_ceil(step.as_millis().max(1))
}

pub fn across(cfg: &Config) -> Result<(), ConfigError> {
    let s = &cfg.storage;
    let step = cfg.collect_interval;
    if cfg.forecast.stale_after < step {
        return Err(ConfigError::new(
            "forecast.stale-after",
            format!(
                "{} is shorter than --collect.interval {}: every series would be stale between collections",
                fmt(cfg.forecast.stale_after),
                fmt(step)
            ),
        ));
    }
    if s.downsample_step.as_millis() % step.as_millis().max(1) != 0 {
        return Err(ConfigError::new(
            "storage.downsample-step",
            format!(
                "{} is not a multiple of --collect.interval {}",
                fmt(s.downsample_step),
                fmt(step)
            ),
        ));
    }
    if s.raw_retention < step {
        return Err(ConfigError::new(
            "storage.raw-retention",
            format!(
                "{} is shorter than one --collect.interval ({})",
                fmt(s.raw_retention),
                fmt(step)
            ),
        ));
    }
    if s.downsample_retention < s.downsample_step {
        return Err(ConfigError::new(
            "storage.downsample-retention",
            format!(
                "{} is shorter than one --storage.downsample-step ({})",
                fmt(s.downsample_retention),
                fmt(s.downsample_step)
            ),
        ));
    }
    let raw = steps(s.raw_retention, step);
    if raw > MAX_RAW_POINTS as u128 {
        return Err(ConfigError::new(
            "storage.raw-retention",
            format!(
                "{} at --collect.interval {} is {raw} points per series; at most {MAX_RAW_POINTS}",
                fmt(s.raw_retention),
                fmt(step)
            ),
        ));
    }
    let ds = steps(s.downsample_retention, s.downsample_step);
    if ds > MAX_DOWNSAMPLED_POINTS as u128 {
        return Err(ConfigError::new(
            "storage.downsample-retention",
            format!(
                "{} at --storage.downsample-step {} is {ds} points per series, all read by every forecast; at most {MAX_DOWNSAMPLED_POINTS}",
                fmt(s.downsample_retention),
                fmt(s.downsample_step)
            ),
        ));
    }
    let f = &cfg.forecast;
    let h = steps(f.horizon, s.downsample_step);
    if h > MAX_HORIZON_STEPS as u128 {
        return Err(ConfigError::new(
            "forecast.horizon",
            format!(
                "{} at --storage.downsample-step {} is {h} steps; at most {MAX_HORIZON_STEPS}",
                fmt(f.horizon),
                fmt(s.downsample_step)
            ),
        ));
    }
    if let Some(beyond) = f.horizons.iter().find(|x| **x > f.horizon) {
        return Err(ConfigError::new(
            "forecast.horizons",
            format!(
                "{} is beyond --forecast.horizon {}, so it would never have a forecast",
                fmt(*beyond),
                fmt(f.horizon)
            ),
        ));
    }
    match (&cfg.backfill.prometheus_url, &cfg.backfill.selector) {
        (Some(_), None) => Err(ConfigError::new(
            "backfill.prometheus-url",
            "needs --backfill.selector to choose this node's series",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "backfill.selector",
            "needs --backfill.prometheus-url",
        )),
        _ => Ok(()),
    }
}
