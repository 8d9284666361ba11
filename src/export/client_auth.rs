//! Client certificates for `tls_server_config.client_auth_type`, as Go's
//! `tls.ClientAuthType` values behave, plus `client_allowed_sans`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::client_sans::AllowedSans;
use super::tls_build::{certs, nonempty, pem_source};
use super::webconfig::TlsServerConfig;

pub fn client_verifier(
    t: &TlsServerConfig,
    base: &Path,
    provider: &Arc<CryptoProvider>,
    warnings: &mut Vec<String>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let ca = pem_source(
        base,
        "client_ca_file",
        &t.client_ca_file,
        "client_ca",
        &t.client_ca,
        warnings,
    )?;
    let auth = nonempty(&t.client_auth_type).unwrap_or("NoClientCert");
    let roots = || -> Result<Arc<rustls::RootCertStore>, String> {
        let (what, pem) = ca
            .as_ref()
            .ok_or_else(|| format!("client_auth_type {auth} needs client_ca_file or client_ca"))?;
        let mut roots = rustls::RootCertStore::empty();
        for c in certs(what, pem)? {
            roots.add(c).map_err(|e| format!("{what}: {e}"))?;
        }
        Ok(Arc::new(roots))
    };
    let algs = provider.signature_verification_algorithms;
    let v: Arc<dyn ClientCertVerifier> = match auth {
        "NoClientCert" => {
            if ca.is_some() {
                return Err("client CA's have been configured without a Client Auth Policy (client_auth_type)".into());
            }
            if t.client_allowed_sans.is_some() {
                return Err(sans_needs_cert());
            }
            return Ok(None);
        }
        "RequestClientCert" => Arc::new(AnyCert {
            mandatory: false,
            algs,
        }),
        "RequireAnyClientCert" | "RequireClientCert" => Arc::new(AnyCert {
            mandatory: true,
            algs,
        }),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let b = WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone());
            let b = if auth == "VerifyClientCertIfGiven" {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build().map_err(|e| e.to_string())?
        }
        other => return Err(format!("unknown client_auth_type {other:?}")),
    };
    match &t.client_allowed_sans {
        None => Ok(Some(v)),
        Some(_) if !v.client_auth_mandatory() => Err(sans_needs_cert()),
        Some(allowed) => Ok(Some(Arc::new(AllowedSans {
            inner: v,
            allowed: allowed.clone(),
        }))),
    }
}

fn sans_needs_cert() -> String {
    "client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert".into()
}

/// Go's RequestClientCert / RequireAnyClientCert: a certificate is asked for
/// (and with `mandatory`, required) but not checked against a CA; the
/// handshake signature still proves the client holds its key.
#[derive(Debug)]
struct AnyCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
