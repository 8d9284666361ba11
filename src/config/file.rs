//! The TOML config file: flat keys named like the flags (`"collect.interval" = "15s"`),
//! or the same keys as nested tables (`[collect] interval = "15s"`).

use std::path::Path;

use super::settings::{find, parse as parse_value, Value, ValueKind};

/// One `key = value` of the file: the value as flag text and parsed into its type.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub parsed: Value,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.key == other.key && self.value == other.value
    }
}

/// Why a config file was rejected; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: invalid TOML: {reason}")]
    Syntax { path: String, reason: String },
    #[error("config file {path}: unknown key {key:?}")]
    UnknownKey { path: String, key: String },
    #[error("config file {path}: key {key:?}: {reason}")]
    BadValue {
        path: String,
        key: String,
        reason: String,
    },
}

impl FileError {
    /// The offending key, where there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            FileError::UnknownKey { key, .. } | FileError::BadValue { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Reads, parses and validates a config file. `collectors` are the names accepted
/// under `collector.<name> = true|false`.
pub fn load(path: &Path, collectors: &[&str]) -> Result<Vec<Entry>, FileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown, collectors)
}

pub fn parse(text: &str, shown: &str, collectors: &[&str]) -> Result<Vec<Entry>, FileError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| FileError::Syntax {
            path: shown.into(),
            reason: e.to_string(),
        })?;
    let mut flat = Vec::new();
    flatten("", &table, &mut flat);
    let mut entries = Vec::with_capacity(flat.len());
    for (key, value) in flat {
        let bad = |reason: String| FileError::BadValue {
            path: shown.into(),
            key: key.clone(),
            reason,
        };
        let kind = if let Some(name) = key
            .strip_prefix("collector.")
            .filter(|n| collectors.contains(n))
        {
            let _ = name;
            ValueKind::Switch
        } else if let Some(setting) = find(&key) {
            setting.kind
        } else {
            return Err(FileError::UnknownKey {
                path: shown.into(),
                key,
            });
        };
        let text = match (&value, kind) {
            (toml::Value::Boolean(b), ValueKind::Switch) => b.to_string(),
            (_, ValueKind::Switch) => {
                return Err(bad(format!("expected true or false, got {value}")))
            }
            (toml::Value::String(s), _) => s.clone(),
            (toml::Value::Integer(i), _) => i.to_string(),
            (toml::Value::Float(f), _) => f.to_string(),
            (toml::Value::Array(items), ValueKind::DurationList { .. }) => {
                let parts: Option<Vec<&str>> = items.iter().map(|v| v.as_str()).collect();
                parts
                    .ok_or_else(|| bad("expected a list of duration strings".into()))?
                    .join(",")
            }
            (other, _) => return Err(bad(format!("unsupported value {other}"))),
        };
        let parsed = parse_value(kind, &text).map_err(bad)?;
        entries.push(Entry {
            key,
            value: text,
            parsed,
        });
    }
    Ok(entries)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            other => out.push((key, other.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_nested_keys_are_the_same_setting() {
        let flat = parse("\"collect.interval\" = \"5s\"\n", "f", &["cpu"]).unwrap();
        let nested = parse("[collect]\ninterval = \"5s\"\n", "f", &["cpu"]).unwrap();
        assert_eq!(flat, nested);
        assert_eq!(flat[0].key, "collect.interval");
        assert_eq!(flat[0].value, "5s");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[collect]\nintervall = \"5s\"\n", "f.toml", &["cpu"]).unwrap_err();
        assert_eq!(err.key(), Some("collect.intervall"));
        assert!(err.to_string().contains("f.toml"), "{err}");
    }

    #[test]
    fn bad_value_is_named_with_reason() {
        let err = parse("\"collect.interval\" = \"soon\"\n", "f", &[]).unwrap_err();
        assert_eq!(err.key(), Some("collect.interval"));
        assert!(err.to_string().contains("invalid duration"), "{err}");
        let err = parse("[collector]\ncpu = \"yes\"\n", "f", &["cpu"]).unwrap_err();
        assert_eq!(err.key(), Some("collector.cpu"));
    }

    #[test]
    fn collector_switches_and_lists() {
        let e = parse(
            "[collector]\ncpu = false\n[forecast]\nhorizons = [\"1h\", \"2h\"]\n",
            "f",
            &["cpu"],
        )
        .unwrap();
        let has = |k: &str, v: &str| e.iter().any(|x| x.key == k && x.value == v);
        assert!(has("collector.cpu", "false"));
        assert!(has("forecast.horizons", "1h,2h"));
        assert!(parse("[collector]\nnosuch = true\n", "f", &["cpu"]).is_err());
    }
}
