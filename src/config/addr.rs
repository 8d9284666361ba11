//! Network-facing values: the listen address, the telemetry path, URLs.

use std::net::SocketAddr;

/// Paths of the built-in endpoints; the telemetry path must not shadow one.
pub const RESERVED_PATHS: &[&str] = &[
    "/",
    "/healthz",
    "/readyz",
    "/api/v1/series",
    "/api/v1/forecast",
];
const MAX_TELEMETRY_PATH_BYTES: usize = 256;

pub fn parse_url(v: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(v.trim()).map_err(|e| format!("invalid URL {v:?}: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!(
            "invalid URL {v:?}: expected http:// or https:// and a host"
        ));
    }
    Ok(v.trim().to_string())
}

/// `:9847` means every address, as in Go's net package that node_exporter users know.
pub fn parse_listen(addr: &str) -> Result<SocketAddr, String> {
    let full = if addr.starts_with(':') {
        format!("[::]{addr}")
    } else {
        addr.to_string()
    };
    if let Some((_, port)) = full.rsplit_once(':') {
        if port.parse::<u64>().is_ok_and(|p| p > 65535) {
            return Err(format!(
                "invalid address {addr:?}: port {port} is above 65535"
            ));
        }
    }
    full.parse().map_err(|_| {
        format!(
            "invalid address {addr:?}: expected host:port, [ipv6]:port or :port with a numeric IP"
        )
    })
}

/// Plain segments only: axum would read `:x`, `{x}` or `*x` as captures, and a path
/// equal to a built-in endpoint makes the router panic at start.
pub fn parse_telemetry_path(v: &str) -> Result<String, String> {
    if !v.starts_with('/') {
        return Err(format!("invalid path {v:?}: must start with '/'"));
    }
    if v.len() > MAX_TELEMETRY_PATH_BYTES {
        return Err(format!(
            "invalid path: longer than {MAX_TELEMETRY_PATH_BYTES} bytes"
        ));
    }
    if RESERVED_PATHS.contains(&v) {
        return Err(format!(
            "invalid path {v:?}: already used by a built-in endpoint ({})",
            RESERVED_PATHS.join(", ")
        ));
    }
    for seg in v[1..].split('/') {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
        if seg.is_empty() || seg == "." || seg == ".." || !seg.chars().all(plain) {
            return Err(format!(
                "invalid path {v:?}: segments must be non-empty and made of letters, digits, '-', '_', '.', '~'"
            ));
        }
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert!(parse_listen(":9847").is_ok());
        assert!(parse_listen("127.0.0.1:0").is_ok());
        assert!(parse_listen("[::1]:80").is_ok());
        assert!(parse_listen(":99999").unwrap_err().contains("65535"));
        assert!(parse_listen("not-an-address").is_err());
        assert!(parse_listen("").is_err());
    }

    #[test]
    fn telemetry_paths() {
        assert!(parse_telemetry_path("/metrics").is_ok());
        assert!(parse_telemetry_path("/a/b-c_d.e~f").is_ok());
        for bad in [
            "",
            "/",
            "metrics",
            "//",
            "/a//b",
            "/a/",
            "/healthz",
            "/readyz",
            "/api/v1/series",
            "/api/v1/forecast",
            "/:x",
            "/{x}",
            "/*x",
            "/a b",
            "/..",
            "/é",
        ] {
            assert!(parse_telemetry_path(bad).is_err(), "{bad:?} accepted");
        }
    }
}
