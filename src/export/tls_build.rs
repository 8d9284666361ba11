//! `tls_server_config` → a rustls `ServerConfig`. Names are Go's (what
//! exporter-toolkit accepts); a name Go does not know is an error, as in
//! exporter-toolkit; a Go cipher suite or curve that rustls does not implement
//! (the CBC suites, P-521) and TLS 1.0/1.1 are skipped with a warning, so a
//! node_exporter file is reusable unchanged and the server is never weaker
//! than configured. If nothing usable remains the config is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as cs, kx_group};
use rustls::crypto::SupportedKxGroup;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, SupportedCipherSuite};

use super::webconfig::TlsServerConfig;

/// Go's TLS 1.2 suite names rustls implements.
const TLS12_SUITES: [(&str, SupportedCipherSuite); 6] = [
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Go's TLS 1.3 suite names: accepted and, as in Go, not configurable (all stay on).
const TLS13_NAMES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Suites Go's `tls.CipherSuites()` lists that rustls lacks.
const GO_ONLY_SUITES: [&str; 8] = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

fn tls12_suite(name: &str) -> Option<SupportedCipherSuite> {
    // Go also has the constants without the _SHA256 suffix for the ChaCha suites.
    let canonical = match name {
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        n => n,
    };
    TLS12_SUITES
        .iter()
        .find(|(n, _)| *n == canonical)
        .map(|(_, s)| *s)
}

fn curve(name: &str) -> Result<Option<&'static dyn SupportedKxGroup>, String> {
    match name {
        "X25519" => Ok(Some(kx_group::X25519)),
        "CurveP256" => Ok(Some(kx_group::SECP256R1)),
        "CurveP384" => Ok(Some(kx_group::SECP384R1)),
        "CurveP521" => Ok(None),
        other => Err(format!(
            "curve_preferences: unknown curve {other:?} (known: X25519, CurveP256, CurveP384, CurveP521)"
        )),
    }
}

fn version_rank(field: &str, v: Option<&str>, default: u8) -> Result<u8, String> {
    match v.unwrap_or("") {
        "" => Ok(default),
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err(format!(
            "{field}: unknown TLS version {other:?} (TLS10..TLS13)"
        )),
    }
}

fn nonempty_path(p: &Option<PathBuf>) -> Option<&PathBuf> {
    p.as_ref().filter(|p| !p.as_os_str().is_empty())
}

pub(super) fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// PEM text from `<name>_file` (wins, as in exporter-toolkit) or inline `<name>`.
pub(super) fn pem_source(
    base: &Path,
    file_key: &str,
    file: &Option<PathBuf>,
    inline_key: &str,
    inline: &Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<(String, Vec<u8>)>, String> {
    match (nonempty_path(file), nonempty(inline)) {
        (Some(f), inline) => {
            if inline.is_some() {
                warnings.push(format!(
                    "{file_key} and {inline_key} are both set; {file_key} is used"
                ));
            }
            let p = resolve(base, f);
            let bytes =
                std::fs::read(&p).map_err(|e| format!("{file_key} {}: {e}", p.display()))?;
            Ok(Some((format!("{file_key} {}", p.display()), bytes)))
        }
        (None, Some(text)) => Ok(Some((inline_key.to_string(), text.as_bytes().to_vec()))),
        (None, None) => Ok(None),
    }
}

pub(super) fn certs(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no PEM certificate found"));
    }
    Ok(certs)
}

pub fn build_tls(
    t: &TlsServerConfig,
    base: &Path,
    http2: bool,
    warnings: &mut Vec<String>,
) -> Result<Arc<ServerConfig>, String> {
    let (cert_what, cert_pem) =
        pem_source(base, "cert_file", &t.cert_file, "cert", &t.cert, warnings)?
            .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let (key_what, key_pem) = pem_source(base, "key_file", &t.key_file, "key", &t.key, warnings)?
        .ok_or("tls_server_config: missing one of key or key_file")?;
    let chain = certs(&cert_what, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| format!("{key_what}: {e}"))?;

    let mut provider = rustls::crypto::ring::default_provider();
    let min = version_rank("min_version", t.min_version.as_deref(), 12)?;
    let max = version_rank("max_version", t.max_version.as_deref(), 13)?;
    if min < 12 {
        warnings.push(format!(
            "min_version TLS{min}: rustls has no TLS 1.0/1.1, the minimum is TLS 1.2"
        ));
    }
    let mut tls12 = min <= 12 && max >= 12;
    let tls13 = max >= 13;
    if let Some(names) = &t.cipher_suites {
        let mut chosen = Vec::new();
        for name in names {
            if let Some(s) = tls12_suite(name) {
                chosen.push(s);
            } else if GO_ONLY_SUITES.contains(&name.as_str()) {
                warnings.push(format!(
                    "cipher_suites: {name} is not implemented by rustls; skipped"
                ));
            } else if !TLS13_NAMES.contains(&name.as_str()) {
                return Err(format!("cipher_suites: unknown cipher {name:?}"));
            }
        }
        if chosen.is_empty() && tls12 && !names.is_empty() {
            warnings
                .push("cipher_suites: no TLS 1.2 suite rustls implements; TLS 1.2 is off".into());
            tls12 = false;
        }
        if !names.is_empty() {
            // TLS 1.3 suites first (Go never lets them be configured), then the list in order.
            provider
                .cipher_suites
                .retain(|s| s.version() == &rustls::version::TLS13);
            provider.cipher_suites.extend(chosen);
        }
    }
    if let Some(names) = &t.curve_preferences {
        let mut groups = Vec::new();
        for name in names {
            match curve(name)? {
                Some(g) => groups.push(g),
                None => warnings.push(format!(
                    "curve_preferences: {name} is not implemented by rustls; skipped"
                )),
            }
        }
        if groups.is_empty() && !names.is_empty() {
            return Err("curve_preferences: none of the curves is implemented by rustls (X25519, CurveP256, CurveP384)".into());
        }
        if !groups.is_empty() {
            provider.kx_groups = groups;
        }
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        tls12.then_some(&rustls::version::TLS12),
        tls13.then_some(&rustls::version::TLS13),
    ]
    .into_iter()
    .flatten()
    .collect();
    if versions.is_empty() {
        return Err(format!(
            "no TLS version left: min_version {:?}, max_version {:?} (rustls serves TLS 1.2 and 1.3)",
            t.min_version, t.max_version
        ));
    }
    let provider = Arc::new(provider);
    let verifier = super::client_auth::client_verifier(t, base, &provider, warnings)?;
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("s.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("s.key"), key.serialize_pem()).unwrap();
    }

    fn build(extra: &str) -> Result<(Arc<ServerConfig>, Vec<String>), String> {
        let d = tempfile::tempdir().unwrap();
        files(d.path());
        let t: TlsServerConfig =
            serde_norway::from_str(&format!("cert_file: s.crt\nkey_file: s.key\n{extra}")).unwrap();
        let mut w = Vec::new();
        build_tls(&t, d.path(), true, &mut w).map(|c| (c, w))
    }

    #[test]
    fn suites_curves_and_versions_map_to_rustls() {
        let (c, w) = build(
            "cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA]\ncurve_preferences: [CurveP384, X25519, CurveP521]\nprefer_server_cipher_suites: false\n",
        )
        .unwrap();
        let tls12: Vec<_> = c
            .crypto_provider()
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            [rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
        );
        let groups: Vec<_> = c
            .crypto_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(
            groups,
            [rustls::NamedGroup::secp384r1, rustls::NamedGroup::X25519]
        );
        assert!(!c.ignore_client_order);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("CBC") && w[1].contains("CurveP521"), "{w:?}");
        assert_eq!(c.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn what_cannot_be_served_is_an_error() {
        for (extra, needle) in [
            ("cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", "unknown cipher"),
            ("curve_preferences: [CurveP521]\n", "none of the curves"),
            ("curve_preferences: [Curve25519x]\n", "unknown curve"),
            ("max_version: TLS11\n", "no TLS version"),
            ("min_version: TLS14\n", "unknown TLS version"),
            ("client_auth_type: Sometimes\n", "client_auth_type"),
            ("client_auth_type: RequireAndVerifyClientCert\n", "client_ca"),
            ("client_ca: 'x'\n", "without a Client Auth Policy"),
            ("client_auth_type: VerifyClientCertIfGiven\nclient_ca_file: s.crt\nclient_allowed_sans: [a]\n", "client_allowed_sans"),
            ("max_version: TLS12\ncipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n", "no TLS version"),
        ] {
            let e = build(extra).err().unwrap_or_else(|| panic!("{extra} accepted"));
            assert!(e.contains(needle), "{extra}: {e}");
        }
        let (_, w) = build("min_version: TLS10\n").unwrap();
        assert!(w[0].contains("TLS 1.2"), "{w:?}");
    }
}
