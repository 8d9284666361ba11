//! `--web.config.file` in the Prometheus exporter-toolkit format: TLS certificate
//! and key, optional client CA for mutual TLS, and bcrypt basic-auth users.
//! Unknown keys are errors, as in exporter-toolkit, so a typo cannot silently
//! turn authentication off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
    /// user → bcrypt hash.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {reason}")]
pub struct WebConfigError {
    pub path: String,
    pub reason: String,
}

impl WebConfig {
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| WebConfigError {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks `text` as if read from `path` (which names it in errors and
    /// anchors relative certificate paths).
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        let err = |reason: String| WebConfigError {
            path: path.display().to_string(),
            reason,
        };
        let cfg: WebConfig = if text.trim().is_empty() {
            WebConfig::default()
        } else {
            serde_norway::from_str(text).map_err(|e| err(e.to_string()))?
        };
        for (user, hash) in &cfg.basic_auth_users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(err(format!("basic_auth_users.{user}: not a bcrypt hash")));
            }
        }
        // Relative files are relative to the web config, as in exporter-toolkit.
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(t) = &cfg.tls_server_config {
            build_tls(t, base).map_err(err)?;
        }
        Ok(cfg)
    }

    /// The rustls config, if TLS is configured (files are resolved against `base`).
    pub fn rustls(&self, base: &Path) -> Result<Option<Arc<ServerConfig>>, String> {
        self.tls_server_config
            .as_ref()
            .map(|t| build_tls(t, base))
            .transpose()
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn build_tls(t: &TlsServerConfig, base: &Path) -> Result<Arc<ServerConfig>, String> {
    let cert_path = resolve(base, &t.cert_file);
    let key_path = resolve(base, &t.key_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect())
        .map_err(|e| format!("cert_file {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "cert_file {}: no certificate found",
            cert_path.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("key_file {}: {e}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        match (t.min_version.as_deref(), t.max_version.as_deref()) {
            (Some("TLS13"), _) => vec![&rustls::version::TLS13],
            (_, Some("TLS12")) => vec![&rustls::version::TLS12],
            (None | Some("TLS12") | Some("TLS10") | Some("TLS11"), None | Some("TLS13")) => {
                vec![&rustls::version::TLS12, &rustls::version::TLS13]
            }
            (min, max) => return Err(format!("unsupported TLS versions min={min:?} max={max:?}")),
        };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" | "RequireAnyClientCert" => {
            let ca = t
                .client_ca_file
                .as_ref()
                .ok_or_else(|| format!("client_auth_type {auth} needs client_ca_file"))?;
            let ca = resolve(base, ca);
            let mut roots = rustls::RootCertStore::empty();
            let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&ca)
                .and_then(|it| it.collect())
                .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?;
            for c in cas {
                roots
                    .add(c)
                    .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let v = if auth == "VerifyClientCertIfGiven" {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
        }
        other => return Err(format!("unknown client_auth_type {other:?}")),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<WebConfig, WebConfigError> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("web.yml");
        std::fs::write(&p, text).unwrap();
        WebConfig::load(&p)
    }

    #[test]
    fn unknown_keys_and_bad_hashes_are_rejected() {
        let e = load_str("basic_auth_user:\n  a: x\n").unwrap_err();
        assert!(e.reason.contains("basic_auth_user"), "{e}");
        let e = load_str("basic_auth_users:\n  alice: plaintext\n").unwrap_err();
        assert!(
            e.reason.contains("alice") && e.reason.contains("bcrypt"),
            "{e}"
        );
        let e = load_str(
            "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
        )
        .unwrap_err();
        assert!(e.reason.contains("/nonexistent.crt"), "{e}");
    }

    #[test]
    fn users_load() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let c = load_str(&format!("basic_auth_users:\n  alice: '{hash}'\n")).unwrap();
        assert_eq!(c.basic_auth_users.len(), 1);
        assert!(c.tls_server_config.is_none());
        assert!(load_str("").unwrap().basic_auth_users.is_empty());
    }
}
