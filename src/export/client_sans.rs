//! `client_allowed_sans`: a client certificate is accepted only if one of its
//! Subject Alternative Names (DNS, e-mail, IP or URI, as exporter-toolkit
//! reads them) equals an allowed entry exactly. The certificate bytes come
//! from the network, so the DER reader below checks every length and gives up
//! on anything malformed (the certificate is then refused).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// One DER element: (tag, content, what follows).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, b) = b.split_first()?;
    let (len, b) = if first < 0x80 {
        (usize::from(first), b)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |l, &x| (l << 8) | usize::from(x));
        (len, &b[n..])
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

const SEQUENCE: u8 = 0x30;
const OID_SUBJECT_ALT_NAME: [u8; 3] = [0x55, 0x1d, 0x11];

/// The Subject Alternative Names of a DER certificate as strings (IPs in
/// their usual text form); `None` if the certificate cannot be read.
pub fn subject_alt_names(cert: &[u8]) -> Option<Vec<String>> {
    let (SEQUENCE, cert, _) = tlv(cert)? else {
        return None;
    };
    let (SEQUENCE, mut fields, _) = tlv(cert)? else {
        return None;
    };
    while !fields.is_empty() {
        let (tag, content, rest) = tlv(fields)?;
        fields = rest;
        // extensions [3] EXPLICIT SEQUENCE OF Extension
        if tag != 0xa3 {
            continue;
        }
        let (SEQUENCE, mut exts, _) = tlv(content)? else {
            return None;
        };
        while !exts.is_empty() {
            let (SEQUENCE, ext, rest) = tlv(exts)? else {
                return None;
            };
            exts = rest;
            let (0x06, oid, ext) = tlv(ext)? else {
                return None;
            };
            if oid != OID_SUBJECT_ALT_NAME {
                continue;
            }
            let (mut tag, mut value, rest) = tlv(ext)?;
            if tag == 0x01 {
                (tag, value, _) = tlv(rest)?; // skip `critical`
            }
            if tag != 0x04 {
                return None;
            }
            return general_names(value);
        }
    }
    Some(Vec::new())
}

fn general_names(octets: &[u8]) -> Option<Vec<String>> {
    let (SEQUENCE, mut names, _) = tlv(octets)? else {
        return None;
    };
    let mut out = Vec::new();
    while !names.is_empty() {
        let (tag, v, rest) = tlv(names)?;
        names = rest;
        match tag {
            // rfc822Name [1], dNSName [2], uniformResourceIdentifier [6]: IA5String
            0x81 | 0x82 | 0x86 => out.push(String::from_utf8_lossy(v).into_owned()),
            // iPAddress [7]
            0x87 => match v.len() {
                4 => out.push(Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string()),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(v);
                    out.push(Ipv6Addr::from(a).to_string());
                }
                _ => {}
            },
            _ => {}
        }
    }
    Some(out)
}

/// Wraps a client certificate verifier and then requires an allowed SAN.
#[derive(Debug)]
pub struct AllowedSans {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let sans = subject_alt_names(end_entity).ok_or(rustls::Error::InvalidCertificate(
            CertificateError::BadEncoding,
        ))?;
        if sans.iter().any(|s| self.allowed.contains(s)) {
            Ok(ok)
        } else {
            tracing::debug!(
                ?sans,
                "client certificate has no SAN in client_allowed_sans"
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, SanType};

    #[test]
    fn reads_every_san_kind() {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(vec!["prom.example".to_string(), "10.1.2.3".to_string()])
                .unwrap();
        p.subject_alt_names
            .push(SanType::Rfc822Name("ops@example.org".try_into().unwrap()));
        p.subject_alt_names.push(SanType::URI(
            "spiffe://cluster/prometheus".try_into().unwrap(),
        ));
        p.subject_alt_names
            .push(SanType::IpAddress("2001:db8::1".parse().unwrap()));
        let cert = p.self_signed(&key).unwrap();
        let sans = subject_alt_names(cert.der()).unwrap();
        assert_eq!(
            sans,
            [
                "prom.example",
                "10.1.2.3",
                "ops@example.org",
                "spiffe://cluster/prometheus",
                "2001:db8::1"
            ]
        );
        let none = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(subject_alt_names(none.der()).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["a.example".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().to_vec();
        for n in 0..der.len() {
            let _ = subject_alt_names(&der[..n]);
        }
        for i in 0..der.len() {
            let mut d = der.clone();
            d[i] ^= 0xff;
            let _ = subject_alt_names(&d);
        }
        assert_eq!(
            subject_alt_names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }
}
