//! Test certificates and a curl wrapper for the TLS tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// Writes into `dir`: ca.crt; server.crt/key (localhost, 127.0.0.1); client.crt/key
/// (SAN prometheus.monitoring.svc); intruder.crt/key (same CA, SAN intruder.example);
/// selfsigned.crt/key (no CA).
pub fn write_pki(dir: &Path) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "nodecast test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = |sans: &[&str], usage: ExtendedKeyUsagePurpose, name: &str, signed: bool| {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.extended_key_usages = vec![usage];
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = if signed {
            p.signed_by(&key, &ca_cert, &ca_key).unwrap()
        } else {
            p.self_signed(&key).unwrap()
        };
        (cert.pem(), key.serialize_pem())
    };
    use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    let files = [
        (
            "server",
            leaf(&["localhost", "127.0.0.1"], ServerAuth, "server", true),
        ),
        (
            "client",
            leaf(
                &["prometheus.monitoring.svc"],
                ClientAuth,
                "prometheus",
                true,
            ),
        ),
        (
            "intruder",
            leaf(&["intruder.example"], ClientAuth, "intruder", true),
        ),
        (
            "selfsigned",
            leaf(&["prometheus.monitoring.svc"], ClientAuth, "self", false),
        ),
    ];
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    for (name, (crt, key)) in files {
        std::fs::write(dir.join(format!("{name}.crt")), crt).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key).unwrap();
    }
}

/// Runs curl: (exit code, stdout, stderr).
pub fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl (installed by .ci/run)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
