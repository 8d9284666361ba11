//! `--web.config.file` in the Prometheus exporter-toolkit format, the whole
//! current schema: `tls_server_config` (certificates from files or inline,
//! client authentication, allowed client SANs, versions, cipher suites, curves),
//! `http_server_config` (`http2`, `headers`), `basic_auth_users` and
//! `rate_limit`. Unknown keys are errors, as in exporter-toolkit, so a typo
//! cannot silently turn authentication off. How each key maps to rustls:
//! docs/http.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use serde::Deserialize;

use super::tls_build::build_tls;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub tls_server_config: Option<TlsServerConfig>,
    pub http_server_config: Option<HttpServerConfig>,
    /// user → bcrypt hash.
    pub basic_auth_users: Option<BTreeMap<String, String>>,
    pub rate_limit: Option<RateLimitConfig>,
}

/// Empty strings count as unset, as in exporter-toolkit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<String>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<PathBuf>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Option<Vec<String>>,
    pub prefer_server_cipher_suites: Option<bool>,
    pub curve_preferences: Option<Vec<String>>,
}

impl TlsServerConfig {
    /// exporter-toolkit serves TLS when any of these is set.
    fn enabled(&self) -> bool {
        let s = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        let p = |v: &Option<PathBuf>| v.as_ref().is_some_and(|v| !v.as_os_str().is_empty());
        s(&self.cert)
            || s(&self.key)
            || s(&self.client_ca)
            || s(&self.client_auth_type)
            || p(&self.cert_file)
            || p(&self.key_file)
            || p(&self.client_ca_file)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    pub http2: Option<bool>,
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// A Go duration (`"100ms"`, `"1m30s"`) or an integer of nanoseconds.
    pub interval: Option<serde_norway::Value>,
    pub burst: Option<u32>,
}

/// A token bucket: one request per `interval`, bursts of `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// The headers exporter-toolkit lets a config add, with their allowed values
/// where it restricts them.
const HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {reason}")]
pub struct WebConfigError {
    pub path: String,
    pub reason: String,
}

/// A checked web config, ready to serve.
pub struct WebSettings {
    pub tls: Option<Arc<ServerConfig>>,
    pub http2: bool,
    pub users: BTreeMap<String, String>,
    /// Only headers with a value ("unset if blank").
    pub headers: BTreeMap<String, String>,
    pub rate_limit: Option<RateLimit>,
    /// Keys accepted but not fully honoured (e.g. a cipher suite rustls lacks); logged.
    pub warnings: Vec<String>,
}

impl WebConfig {
    /// Reads, parses and checks the file, certificates included.
    pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| WebConfigError {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks `text` as if read from `path` (which names it in errors and
    /// anchors relative certificate paths, as in exporter-toolkit).
    pub fn parse(text: &str, path: &Path) -> Result<WebSettings, WebConfigError> {
        let err = |reason: String| WebConfigError {
            path: path.display().to_string(),
            reason,
        };
        let cfg: WebConfig = if text.trim().is_empty() {
            WebConfig::default()
        } else {
            serde_norway::from_str(text).map_err(|e| err(e.to_string()))?
        };
        let users = cfg.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(err(format!("basic_auth_users.{user}: not a bcrypt hash")));
            }
        }
        let http = cfg.http_server_config.unwrap_or_default();
        let mut headers = BTreeMap::new();
        for (k, v) in http.headers.unwrap_or_default() {
            let Some((_, allowed)) = HEADERS.iter().find(|(name, _)| *name == k) else {
                return Err(err(format!(
                    "http_server_config.headers: header {k:?} can not be configured (allowed: {})",
                    HEADERS.map(|h| h.0).join(", ")
                )));
            };
            if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return Err(err(format!(
                    "http_server_config.headers.{k}: {v:?} is not one of {allowed:?}"
                )));
            }
            if !v.is_empty() {
                headers.insert(k, v);
            }
        }
        let http2 = http.http2.unwrap_or(true);
        let mut warnings = Vec::new();
        let rate_limit = match cfg.rate_limit {
            Some(r) => rate_limit(r, &mut warnings).map_err(err)?,
            None => None,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match cfg.tls_server_config {
            Some(t) if t.enabled() => Some(build_tls(&t, base, http2, &mut warnings).map_err(err)?),
            _ => None,
        };
        Ok(WebSettings {
            tls,
            http2,
            users,
            headers,
            rate_limit,
            warnings,
        })
    }
}

fn rate_limit(r: RateLimitConfig, warnings: &mut Vec<String>) -> Result<Option<RateLimit>, String> {
    let interval = match &r.interval {
        None | Some(serde_norway::Value::Null) => Duration::ZERO,
        Some(serde_norway::Value::Number(n)) => n
            .as_u64()
            .map(Duration::from_nanos)
            .ok_or_else(|| format!("rate_limit.interval: {n} is not a duration"))?,
        Some(serde_norway::Value::String(s)) => {
            go_duration(s).map_err(|e| format!("rate_limit.interval: {e}"))?
        }
        Some(v) => return Err(format!("rate_limit.interval: {v:?} is not a duration")),
    };
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = r.burst.unwrap_or(0);
    if burst == 0 {
        warnings.push(
            "rate_limit.burst is 0: every request but /healthz and /readyz gets 429, as in exporter-toolkit"
                .into(),
        );
    }
    Ok(Some(RateLimit { interval, burst }))
}

/// Go's `time.ParseDuration` syntax: decimal numbers with units ns, us, µs, ms, s, m, h.
pub fn go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like \"1s\" or \"1m30s\"");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let mut rest = t.strip_prefix('+').unwrap_or(t);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<WebSettings, WebConfigError> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("web.yml");
        std::fs::write(&p, text).unwrap();
        WebConfig::load(&p)
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        let e = load_str("basic_auth_user:\n  a: x\n").err().unwrap();
        assert!(e.reason.contains("basic_auth_user"), "{e}");
        let e = load_str("basic_auth_users:\n  alice: plaintext\n")
            .err()
            .unwrap();
        assert!(
            e.reason.contains("alice") && e.reason.contains("bcrypt"),
            "{e}"
        );
        let e = load_str(
            "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
        )
        .err()
        .unwrap();
        assert!(e.reason.contains("/nonexistent.crt"), "{e}");
        let e = load_str("http_server_config:\n  headers:\n    X-Powered-By: me\n")
            .err()
            .unwrap();
        assert!(e.reason.contains("X-Powered-By"), "{e}");
        let e = load_str("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
            .err()
            .unwrap();
        assert!(e.reason.contains("X-Frame-Options"), "{e}");
        let e = load_str("rate_limit:\n  interval: 5 parsecs\n")
            .err()
            .unwrap();
        assert!(e.reason.contains("rate_limit.interval"), "{e}");
        let e = load_str("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n")
            .err()
            .unwrap();
        assert!(e.reason.contains("cert"), "{e}");
    }

    #[test]
    fn users_headers_rate_limit_and_defaults() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let c = load_str(&format!(
            "basic_auth_users:\n  alice: '{hash}'\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-XSS-Protection: ''\nrate_limit:\n  interval: 1m30s\n  burst: 5\n"
        ))
        .unwrap();
        assert_eq!(c.users.len(), 1);
        assert!(c.tls.is_none() && !c.http2);
        assert_eq!(c.headers.len(), 1, "blank headers are unset");
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                interval: Duration::from_secs(90),
                burst: 5
            })
        );
        let empty = load_str("").unwrap();
        assert!(empty.users.is_empty() && empty.http2 && empty.rate_limit.is_none());
        // Present but empty sections, as in many node_exporter configs.
        let c = load_str("tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n").unwrap();
        assert!(c.tls.is_none() && c.users.is_empty());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(go_duration("1h2m3s"), Ok(Duration::from_secs(3723)));
        assert_eq!(go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "1d", "-1s", "s", "1e400s"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }
}
