//! Bounded values of the `forecast` and `backtest` flags, parsed once by clap.
//!
//! A horizon is a number of steps of the input's grid (`288`) or a duration (`24h`)
//! rounded up to whole steps; either way at most 35 days and
//! [`MAX_HORIZON_STEPS`] steps, the same bounds as the agent's `--forecast.horizon`.

use std::time::Duration;

use crate::config::settings::{MAX_HORIZON_SECS, MAX_HORIZON_STEPS};
use crate::config::value::{fmt_duration, parse_bounded_duration};

/// A horizon as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    Steps(usize),
    Span(Duration),
}

const MAX_HORIZON: Duration = Duration::from_secs(MAX_HORIZON_SECS);

/// Clap value parser of `--horizon`.
pub fn parse_horizon(s: &str) -> Result<Horizon, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n = count(t, 1, MAX_HORIZON_STEPS)?;
        return Ok(Horizon::Steps(n));
    }
    parse_bounded_duration(t, Duration::from_secs(1), MAX_HORIZON)
        .map(Horizon::Span)
        .map_err(|e| format!("{e} (or give a number of steps)"))
}

impl Horizon {
    /// Steps of `step_secs` covering the horizon; errors when it exceeds the bounds.
    pub fn steps(self, step_secs: f64) -> Result<usize, String> {
        if !(step_secs.is_finite() && step_secs > 0.0) {
            return Err(format!("grid step {step_secs} s is not positive"));
        }
        let n = match self {
            Horizon::Steps(n) => n as f64,
            Horizon::Span(d) => (d.as_secs_f64() / step_secs).ceil().max(1.0),
        };
        if n > MAX_HORIZON_STEPS as f64 {
            return Err(format!(
                "--horizon is {n} steps of {step_secs} s; at most {MAX_HORIZON_STEPS}"
            ));
        }
        if n * step_secs > MAX_HORIZON_SECS as f64 {
            return Err(format!(
                "--horizon of {n} steps of {step_secs} s reaches beyond {}",
                fmt_duration(MAX_HORIZON)
            ));
        }
        Ok(n as usize)
    }
}

/// A whole number in `min..=max`, with an error that states the range.
pub fn count(s: &str, min: u64, max: u64) -> Result<usize, String> {
    let t = s.trim();
    let n: u64 = t
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number in {min}..={max}"))?;
    if n < min || n > max {
        return Err(format!("{n} is outside {min}..={max}"));
    }
    usize::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// A finite number in `min..=max`.
pub fn number(s: &str, min: f64, max: f64) -> Result<f64, String> {
    let x: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !(x.is_finite() && x >= min && x <= max) {
        return Err(format!("{s} is outside {min}..={max}"));
    }
    Ok(x)
}

/// An interval level in percent, strictly between 0 and 100.
pub fn level(s: &str) -> Result<f64, String> {
    let x = number(s, 0.0, 100.0)?;
    if x <= 0.0 || x >= 100.0 {
        return Err(format!("{s} must be strictly between 0 and 100"));
    }
    Ok(x)
}

/// A season length in steps: a period needs at least two points.
pub fn season(s: &str) -> Result<usize, String> {
    count(s, 2, crate::cli::backtest_cmd::data::MAX_GRID_POINTS as u64)
        .map_err(|e| format!("season {e}: a season is at least 2 steps"))
}

/// A grid step of whole seconds (the CSV timestamps' unit), up to 35 days.
pub fn step(s: &str) -> Result<Duration, String> {
    let d = parse_bounded_duration(s, Duration::from_secs(1), MAX_HORIZON)?;
    if d.subsec_nanos() != 0 {
        return Err(format!("step {s:?} must be whole seconds"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_are_bounded() {
        assert_eq!(parse_horizon("48"), Ok(Horizon::Steps(48)));
        assert_eq!(
            parse_horizon("24h"),
            Ok(Horizon::Span(Duration::from_secs(86_400)))
        );
        for bad in [
            "0",
            "18446744073709551615",
            "1e12",
            "1e8",
            "-1",
            "",
            "NaN",
            "36d",
            "100801",
        ] {
            assert!(parse_horizon(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(parse_horizon("24h").unwrap().steps(300.0), Ok(288));
        assert_eq!(parse_horizon("90m").unwrap().steps(3600.0), Ok(2));
        assert!(Horizon::Steps(288).steps(86_400.0).is_err());
        assert!(Horizon::Steps(100_800).steps(1.0).is_ok());
    }
}
