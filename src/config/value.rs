//! Setting kinds and their one parser: text in, a typed value out, bounds checked.
//!
//! Flags, environment variables and config-file values all go through [`parse`],
//! so a value that one source accepts no other source rejects. The bounds keep
//! every setting inside what the agent can serve without a panic, an abort or
//! unbounded memory; [`ValueKind::bounds`] renders them for `--help` and README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::addr::{parse_listen, parse_telemetry_path, parse_url};
use crate::forecast::ModelKind;

/// How a setting's text is parsed, with its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text of at most `max_len` bytes, not empty.
    Text {
        max_len: usize,
    },
    /// An `http://` or `https://` URL with a host.
    Url,
    Path,
    /// `host:port`, `[v6]:port` or `:port` (every address, as in node_exporter).
    ListenAddress,
    /// An HTTP path of plain segments that no built-in endpoint uses.
    TelemetryPath,
    Duration {
        min: Duration,
        max: Duration,
    },
    DurationList {
        min: Duration,
        max: Duration,
        max_items: usize,
    },
    Int {
        min: u64,
        max: u64,
    },
    /// Bytes, plain or with a KiB/MiB/GiB suffix.
    Bytes {
        min: u64,
        max: u64,
    },
    /// A percentage strictly between 0 and 100.
    Percent,
    Regex,
    LogLevel,
    LogFormat,
    Model,
    /// A switch: present or not (file value `true`/`false`).
    Switch,
}

/// A parsed setting value.
#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    Path(PathBuf),
    Addr(SocketAddr),
    Duration(Duration),
    Durations(Vec<Duration>),
    Int(u64),
    /// A percentage as a fraction in (0, 1).
    Fraction(f64),
    Regex(regex::Regex),
    Model(ModelKind),
    Switch(bool),
}

const MAX_PATH_BYTES: usize = 4096;
/// Regexps this long are typos or attacks; node_exporter's defaults are under 300 bytes.
const MAX_REGEX_BYTES: usize = 16 * 1024;
/// Compiled-program cap: far above any sane exclusion list, far below memory trouble.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `35d`, `1h30m`, `1500ms`: days at most (humantime's months and years are not whole
/// days), readable back by [`parse_duration`].
pub fn fmt_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= len {
            out.push_str(&format!("{}{unit}", ms / len));
            ms %= len;
        }
    }
    out
}

impl ValueKind {
    /// The bounds as shown in `--help` and the README, e.g. `1s..1h`.
    pub fn bounds(self) -> Option<String> {
        match self {
            ValueKind::Duration { min, max } => {
                Some(format!("{}..{}", fmt_duration(min), fmt_duration(max)))
            }
            ValueKind::DurationList {
                min,
                max,
                max_items,
            } => Some(format!(
                "1..{max_items} of {}..{}",
                fmt_duration(min),
                fmt_duration(max)
            )),
            ValueKind::Int { min, max } | ValueKind::Bytes { min, max } => {
                Some(format!("{min}..{max}"))
            }
            ValueKind::Percent => Some("0..100, exclusive".into()),
            _ => None,
        }
    }

    pub fn value_name(self) -> &'static str {
        match self {
            ValueKind::Duration { .. } => "DURATION",
            ValueKind::DurationList { .. } => "DURATIONS",
            ValueKind::Path => "PATH",
            ValueKind::Int { .. } => "N",
            ValueKind::Bytes { .. } => "BYTES",
            ValueKind::Regex => "REGEX",
            ValueKind::ListenAddress => "ADDRESS",
            ValueKind::Url => "URL",
            ValueKind::Percent => "PERCENT",
            _ => "VALUE",
        }
    }
}

/// Parses `v` as `kind`; the error says what is wrong without naming the key (the caller does).
pub fn parse(kind: ValueKind, v: &str) -> Result<Value, String> {
    match kind {
        ValueKind::Switch => match v.trim() {
            "true" => Ok(Value::Switch(true)),
            "false" => Ok(Value::Switch(false)),
            _ => Err(format!("expected true or false, got {v:?}")),
        },
        ValueKind::Text { max_len } => {
            if v.trim().is_empty() {
                Err("must not be empty".into())
            } else if v.len() > max_len {
                Err(format!("longer than {max_len} bytes"))
            } else {
                Ok(Value::Text(v.to_string()))
            }
        }
        ValueKind::Url => parse_url(v).map(Value::Text),
        ValueKind::Path => parse_path(v).map(Value::Path),
        ValueKind::ListenAddress => parse_listen(v).map(Value::Addr),
        ValueKind::TelemetryPath => parse_telemetry_path(v).map(Value::Text),
        ValueKind::Duration { min, max } => {
            parse_bounded_duration(v, min, max).map(Value::Duration)
        }
        ValueKind::DurationList {
            min,
            max,
            max_items,
        } => {
            let parts: Vec<&str> = v.split(',').collect();
            if parts.len() > max_items {
                return Err(format!("{} durations; at most {max_items}", parts.len()));
            }
            let list = parts
                .into_iter()
                .map(|p| parse_bounded_duration(p, min, max))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Durations(list))
        }
        ValueKind::Int { min, max } => {
            let n = parse_u64(v)?;
            check_range(n, min, max, "").map(Value::Int)
        }
        ValueKind::Bytes { min, max } => {
            let n = parse_bytes(v)?;
            check_range(n, min, max, " bytes").map(Value::Int)
        }
        ValueKind::Percent => match v.trim().parse::<f64>() {
            Ok(p) if p > 0.0 && p < 100.0 => Ok(Value::Fraction(p / 100.0)),
            _ => Err(format!(
                "invalid level {v:?}: expected a percentage between 0 and 100, exclusive"
            )),
        },
        ValueKind::Regex => parse_regex(v).map(Value::Regex),
        ValueKind::LogLevel => match v {
            "debug" | "info" | "warn" | "error" => Ok(Value::Text(v.to_string())),
            _ => Err(format!(
                "invalid log level {v:?}: expected debug, info, warn or error"
            )),
        },
        ValueKind::LogFormat => match v {
            "logfmt" | "json" => Ok(Value::Text(v.to_string())),
            _ => Err(format!("invalid log format {v:?}: expected logfmt or json")),
        },
        ValueKind::Model => v
            .parse::<ModelKind>()
            .map(Value::Model)
            .map_err(|e| format!("invalid model {v:?}: {e}")),
    }
}

/// A duration of whole milliseconds (the store's grid unit), not zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be greater than zero"));
    }
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "invalid duration {s:?}: must be a whole number of milliseconds"
        ));
    }
    Ok(d)
}

pub fn parse_bounded_duration(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < min || d > max {
        return Err(format!(
            "duration {s:?} out of range: must be between {} and {}",
            fmt_duration(min),
            fmt_duration(max)
        ));
    }
    Ok(d)
}

fn parse_u64(v: &str) -> Result<u64, String> {
    let t = v.trim();
    if t.starts_with('-') {
        return Err(format!("invalid number {v:?}: must not be negative"));
    }
    t.parse::<u64>()
        .map_err(|e| format!("invalid number {v:?}: {e}"))
}

fn check_range(n: u64, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    if n < min {
        Err(format!("{n}{unit} is below the minimum of {min}{unit}"))
    } else if n > max {
        Err(format!("{n}{unit} is above the maximum of {max}{unit}"))
    } else {
        Ok(n)
    }
}

fn parse_bytes(v: &str) -> Result<u64, String> {
    let t = v.trim();
    let (num, mult) = [("KiB", 1u64 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]
        .iter()
        .find_map(|(sfx, m)| t.strip_suffix(sfx).map(|n| (n.trim(), *m)))
        .unwrap_or((t, 1));
    parse_u64(num)?
        .checked_mul(mult)
        .ok_or_else(|| format!("invalid size {v:?}: too large"))
}

fn parse_path(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        // An empty path would make every file relative to the working directory.
        return Err("must not be empty".into());
    }
    if v.contains('\0') {
        return Err("must not contain a NUL byte".into());
    }
    if v.len() > MAX_PATH_BYTES {
        return Err(format!("longer than {MAX_PATH_BYTES} bytes"));
    }
    Ok(PathBuf::from(v))
}

fn parse_regex(v: &str) -> Result<regex::Regex, String> {
    if v.len() > MAX_REGEX_BYTES {
        return Err(format!("regex longer than {MAX_REGEX_BYTES} bytes"));
    }
    regex::RegexBuilder::new(v)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex {v:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_ints() {
        let k = ValueKind::Bytes {
            min: 256,
            max: 1 << 40,
        };
        assert!(matches!(parse(k, "4MiB"), Ok(Value::Int(4194304))));
        assert!(matches!(parse(k, "4194304"), Ok(Value::Int(4194304))));
        assert!(parse(k, "255").unwrap_err().contains("minimum of 256"));
        assert!(parse(k, "-1").is_err());
        assert!(parse(k, "18446744073709551615GiB").is_err());
    }

    #[test]
    fn durations_are_bounded_whole_milliseconds() {
        let k = ValueKind::Duration {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3600),
        };
        assert!(parse(k, "15s").is_ok());
        assert!(parse(k, "2h").unwrap_err().contains("between 1s and 1h"));
        assert!(parse(k, "1000000000h").is_err());
        assert!(parse(k, "1s 1ns").unwrap_err().contains("milliseconds"));
        assert!(parse(k, "0s").is_err());
        for d in ["35d", "1h30m", "1s500ms", "1d2h3m4s5ms"] {
            assert_eq!(fmt_duration(parse_duration(d).unwrap()), d);
        }
    }
}
