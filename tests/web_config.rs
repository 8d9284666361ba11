//! The exporter-toolkit web config schema, every key honoured, checked with
//! curl: the example file from the exporter-toolkit documentation and a
//! node_exporter configuration, both unchanged (tests/fixtures/web/). The
//! half-closing TLS client is in tls_auth.rs.
mod common;
use common::*;
mod tls_common;
use tls_common::{curl, write_pki};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/web")
            .join(name),
    )
    .unwrap()
}

/// Starts the agent with `web` as its web config next to the test PKI; waits
/// until `/readyz` answers over TLS (with `probe_args` for curl).
fn start(d: &Path, web: &str, probe_args: &[&str]) -> Agent {
    if !d.join("ca.crt").exists() {
        write_pki(d);
    }
    let cfg = d.join("web.yml");
    std::fs::write(&cfg, web).unwrap();
    let mut flags = fast_flags();
    flags.push(format!("--web.config.file={}", cfg.display()));
    let a = Agent::spawn(&d.join("store"), &flags);
    let url = format!("https://{}/readyz", a.addr);
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        let mut args = probe_args.to_vec();
        args.push(&url);
        let (code, out, err) = curl(&args);
        if code == 0 && out.contains("ready") {
            return a;
        }
        last = format!("curl {code}: {out} {err}");
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("agent never ready ({last}); log:\n{}", a.log_text());
}

fn p(d: &Path, f: &str) -> String {
    d.join(f).display().to_string()
}

/// curl's exit code and `-w` output (status code and HTTP version) for `url`.
fn status(args: &[&str], url: &str) -> (i32, String) {
    let mut a = args.to_vec();
    a.extend(["-o", "/dev/null", "-w", "%{http_code} %{http_version}", url]);
    let (code, out, _) = curl(&a);
    (code, out)
}

#[test]
fn exporter_toolkit_example_file_verbatim() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let ca = p(d, "ca.crt");
    let a = start(
        d,
        &fixture("exporter-toolkit-web-config.yml"),
        &["--cacert", &ca],
    );
    let url = format!("https://{}/metrics", a.addr);
    assert_eq!(status(&["--cacert", &ca], &url).1, "401 2");
    assert_eq!(
        status(&["--cacert", &ca, "-u", "alice:wrong"], &url).1,
        "401 2"
    );
    let health = format!("https://{}/healthz", a.addr);
    assert_eq!(status(&["--cacert", &ca], &health).1, "200 2");
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn node_exporter_config_unchanged_every_key_honoured() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let (ca, crt, key) = (p(d, "ca.crt"), p(d, "client.crt"), p(d, "client.key"));
    let client = ["--cacert", &ca, "--cert", &crt, "--key", &key];
    let a = start(d, &fixture("node_exporter-web-config.yml"), &client);
    let url = format!("https://{}/metrics", a.addr);
    let mut good = client.to_vec();
    good.extend(["-u", "prometheus:scrape-secret"]);

    // http2: true, headers, basic auth, mTLS with an allowed SAN.
    let mut args = good.clone();
    args.extend(["--http2", "-D", "-", &url]);
    let (code, out, err) = curl(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("HTTP/2 200"),
        "{}",
        &out[..out.len().min(300)]
    );
    let head = out.to_ascii_lowercase();
    for h in [
        "strict-transport-security: max-age=31536000; includesubdomains",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "x-xss-protection: 1; mode=block",
        "content-security-policy: default-src 'self'",
    ] {
        assert!(head.contains(h), "missing {h}");
    }
    assert!(out.contains("nodecast_build_info"));
    let (_, s) = status(&client, &url);
    assert_eq!(s, "401 2", "no password");

    // client_allowed_sans: a CA-signed certificate without an allowed SAN is refused.
    let intruder = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "intruder.crt"),
        "--key",
        &p(d, "intruder.key"),
        "-u",
        "prometheus:scrape-secret",
    ];
    assert_ne!(status(&intruder, &url).0, 0, "intruder SAN accepted");
    // RequireAndVerifyClientCert: a self-signed certificate with the right SAN is refused.
    let selfsigned = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "selfsigned.crt"),
        "--key",
        &p(d, "selfsigned.key"),
    ];
    assert_ne!(
        status(&selfsigned, &url).0,
        0,
        "unverified client cert accepted"
    );

    // curve_preferences: P-256 and P-384 only.
    let with = |extra: &[&'static str]| {
        let mut a = good.clone();
        a.extend_from_slice(extra);
        status(&a, &url)
    };
    assert_eq!(with(&["--curves", "P-256"]).1, "200 2");
    assert_ne!(with(&["--curves", "X25519"]).0, 0, "X25519 not configured");
    // cipher_suites (TLS 1.2): listed suites only.
    let tls12 = ["--tlsv1.2", "--tls-max", "1.2", "--ciphers"];
    let mut ok = tls12.to_vec();
    ok.push("ECDHE-ECDSA-AES256-GCM-SHA384");
    assert_eq!(with(&ok).1, "200 2");
    let mut unlisted = tls12.to_vec();
    unlisted.push("ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_ne!(with(&unlisted).0, 0, "unlisted suite negotiated");
    // prefer_server_cipher_suites: the server's order wins over the client's.
    let mut args = good.clone();
    args.extend(tls12);
    args.extend([
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384",
        "-v",
        "-o",
        "/dev/null",
        &url,
    ]);
    let (code, _, err) = curl(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("ECDHE-ECDSA-AES256-GCM-SHA384"),
        "server order not used:\n{err}"
    );
    // min_version TLS12: TLS 1.1 is refused.
    assert_ne!(with(&["--tlsv1.1", "--tls-max", "1.1"]).0, 0);

    // Keys rustls cannot honour fully are named in the log.
    let log = a.log_text();
    for w in ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "CurveP521"] {
        assert!(log.contains(w), "no warning about {w}:\n{log}");
    }
    assert_eq!(a.stop().code(), Some(0));
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

#[test]
fn inline_pem_optional_client_cert_and_http2_off() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    write_pki(d);
    let read = |f: &str| indent(&std::fs::read_to_string(d.join(f)).unwrap());
    let web = format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}  client_ca: |\n{}  client_auth_type: VerifyClientCertIfGiven\nhttp_server_config:\n  http2: false\n",
        read("server.crt"),
        read("server.key"),
        read("ca.crt")
    );
    let ca = p(d, "ca.crt");
    let a = start(d, &web, &["--cacert", &ca]);
    let url = format!("https://{}/metrics", a.addr);
    assert_eq!(status(&["--cacert", &ca, "--http2"], &url).1, "200 1.1");
    let signed = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "intruder.crt"),
        "--key",
        &p(d, "intruder.key"),
    ];
    assert_eq!(status(&signed, &url).1, "200 1.1");
    let unsigned = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "selfsigned.crt"),
        "--key",
        &p(d, "selfsigned.key"),
    ];
    assert_ne!(
        status(&unsigned, &url).0,
        0,
        "a given certificate is verified"
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn require_any_client_cert_with_allowed_sans() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let ca = p(d, "ca.crt");
    let web = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [prometheus.monitoring.svc]\n";
    let own = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "selfsigned.crt"),
        "--key",
        &p(d, "selfsigned.key"),
    ];
    let own: Vec<&str> = own.to_vec();
    let a = start(d, web, &own);
    let url = format!("https://{}/metrics", a.addr);
    assert_eq!(
        status(&own, &url).1,
        "200 2",
        "any certificate with an allowed SAN"
    );
    assert_ne!(
        status(&["--cacert", &ca], &url).0,
        0,
        "a certificate is required"
    );
    let intruder = [
        "--cacert",
        &ca,
        "--cert",
        &p(d, "intruder.crt"),
        "--key",
        &p(d, "intruder.key"),
    ];
    assert_ne!(status(&intruder, &url).0, 0, "SAN not allowed");
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn rate_limit_answers_429_but_not_to_probes() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("web.yml");
    std::fs::write(
        &cfg,
        "rate_limit:\n  interval: 1h\n  burst: 2\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    )
    .unwrap();
    let mut flags = fast_flags();
    flags.push(format!("--web.config.file={}", cfg.display()));
    let a = Agent::start(&d.path().join("s"), &flags);
    let codes: Vec<u16> = (0..4).map(|_| a.get("/metrics").0).collect();
    assert_eq!(codes, [200, 200, 429, 429]);
    assert_eq!(a.get("/healthz").0, 200);
    assert_eq!(a.get("/readyz").0, 200);
    let mut s = TcpStream::connect(&a.addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 429"), "{raw}");
    assert!(
        raw.to_ascii_lowercase()
            .contains("x-frame-options: sameorigin"),
        "{raw}"
    );
    assert_eq!(a.stop().code(), Some(0));
}
