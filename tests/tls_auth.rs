//! TLS, mutual TLS and basic auth from an exporter-toolkit web config, checked with
//! real clients: curl, a real Prometheus scraping over TLS with basic auth, and a
//! rustls client that half-closes.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod tls_common;
use tls_common::{curl, write_pki};

fn start_with_web_config(d: &Path, web: &str) -> Agent {
    let cfg = d.join("web.yml");
    std::fs::write(&cfg, web).unwrap();
    let mut flags = fast_flags();
    flags.push(format!("--web.config.file={}", cfg.display()));
    let a = Agent::spawn(&d.join("store"), &flags);
    // /readyz needs TLS now; wait for it with curl.
    let ca = d.join("ca.crt").display().to_string();
    let url = format!("https://{}/readyz", a.addr);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let (code, out, _) = curl(&[
            "--cacert",
            &ca,
            "--cert",
            &d.join("client.crt").display().to_string(),
            "--key",
            &d.join("client.key").display().to_string(),
            &url,
        ]);
        if code == 0 && out.contains("ready") {
            return a;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("agent with TLS never ready; log:\n{}", a.log_text());
}

#[test]
fn tls_with_basic_auth_curl_and_prometheus() {
    let d = tempfile::tempdir().unwrap();
    write_pki(d.path());
    let hash = bcrypt::hash("s3cret", 6).unwrap();
    let a = start_with_web_config(
        d.path(),
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let ca = d.path().join("ca.crt").display().to_string();
    let url = format!("https://{}/metrics", a.addr);
    let (code, out, err) = curl(&["--cacert", &ca, "-u", "prometheus:s3cret", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nodecast_build_info"), "{out}");
    let (_, status, _) = curl(&[
        "--cacert",
        &ca,
        "-u",
        "prometheus:wrong",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(status, "401");
    let (_, status, _) = curl(&[
        "--cacert",
        &ca,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(status, "401");
    // Plain HTTP on the TLS port does not get metrics.
    let plain = http_get(&a.addr, "/metrics").map(|(c, _)| c).unwrap_or(0);
    assert_ne!(plain, 200);

    let prom_dir = d.path().join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let job = |name: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n    basic_auth:\n      username: prometheus\n      password: {password}\n    static_configs:\n      - targets: ['{}']\n",
            a.addr
        )
    };
    let prom = Prometheus::start(
        &prom_dir,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n{}{}",
            job("good", "s3cret"),
            job("bad", "wrong")
        ),
    );
    let start = Instant::now();
    let (mut good, mut bad) = (None, None);
    while start.elapsed() < Duration::from_secs(30) && (good != Some(1.0) || bad.is_none()) {
        for r in prom.query("up") {
            let v: f64 = r["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1.0);
            match r["metric"]["job"].as_str() {
                Some("good") => good = Some(v),
                Some("bad") => bad = Some(v),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        good,
        Some(1.0),
        "Prometheus could not scrape over TLS with basic auth"
    );
    assert_eq!(bad, Some(0.0), "a wrong password must not scrape");
    let targets = prom.api("/api/v1/targets");
    let bad_err = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["job"] == "bad")
        .map(|t| t["lastError"].to_string());
    assert!(
        bad_err.unwrap_or_default().contains("401"),
        "bad job should fail with 401"
    );
    let scraped = prom.query("nodecast_build_info{job=\"good\"}");
    assert_eq!(scraped.len(), 1);
}

#[test]
fn mutual_tls_requires_a_client_certificate() {
    let d = tempfile::tempdir().unwrap();
    write_pki(d.path());
    let a = start_with_web_config(
        d.path(),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let p = |n: &str| d.path().join(n).display().to_string();
    let url = format!("https://{}/metrics", a.addr);
    let (code, out, err) = curl(&[
        "--cacert",
        &p("ca.crt"),
        "--cert",
        &p("client.crt"),
        "--key",
        &p("client.key"),
        &url,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nodecast_build_info"));
    // With TLS 1.3 the client learns of the refusal only after its Finished, so
    // curl's message varies (an alert, or a closed connection under HTTP/2).
    let (code, out, err) = curl(&["--cacert", &p("ca.crt"), &url]);
    assert_ne!(
        code, 0,
        "handshake without a client certificate must fail: {err}"
    );
    assert!(!out.contains("nodecast_build_info"), "{out}");
}

#[test]
fn sighup_reloads_users_and_keeps_old_config_on_error() {
    let d = tempfile::tempdir().unwrap();
    write_pki(d.path());
    let web = |pw: &str| {
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  u: '{}'\n",
            bcrypt::hash(pw, 4).unwrap()
        )
    };
    let a = start_with_web_config(d.path(), &web("one"));
    let ca = d.path().join("ca.crt").display().to_string();
    let url = format!("https://{}/metrics", a.addr);
    let status = |pw: &str| {
        curl(&[
            "--cacert",
            &ca,
            "-u",
            &format!("u:{pw}"),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ])
        .1
    };
    assert_eq!(status("one"), "200");
    std::fs::write(d.path().join("web.yml"), web("two")).unwrap();
    a.signal(libc::SIGHUP);
    let start = Instant::now();
    while status("two") != "200" && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status("two"), "200");
    assert_eq!(status("one"), "401");
    // A broken file is rejected and the running config stays.
    std::fs::write(d.path().join("web.yml"), "basic_auth_users: [oops\n").unwrap();
    a.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status("two"), "200");
    assert!(
        a.log_text().contains("web config reload failed"),
        "{}",
        a.log_text()
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn bad_web_config_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("web.yml");
    std::fs::write(&cfg, "basic_auth_users:\n  alice: notahash\n").unwrap();
    let out = Command::new(BIN)
        .arg(format!("--web.config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", d.path().join("s").display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("alice"));
}

/// A rustls client that sends its request, half-closes, and reads the response.
fn tls_half_closed(addr: &str, ca: &Path, close_notify: bool) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    use rustls::pki_types::pem::PemObject;
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    conn.writer()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    if close_notify {
        conn.send_close_notify();
    }
    while conn.wants_write() {
        conn.write_tls(&mut tcp).unwrap();
    }
    tcp.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let mut buf = [0u8; 16384];
    loop {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn tls_half_closed_clients_get_their_whole_response() {
    let d = tempfile::tempdir().unwrap();
    write_pki(d.path());
    let a = start_with_web_config(
        d.path(),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let ca = d.path().join("ca.crt");
    for close_notify in [true, false] {
        let whole = (0..10)
            .filter(|_| {
                let r = tls_half_closed(&a.addr, &ca, close_notify);
                r.starts_with("HTTP/1.1 200") && r.contains("nodecast_build_info")
            })
            .count();
        assert_eq!(whole, 10, "close_notify={close_notify}: whole responses");
    }
    assert_eq!(a.stop().code(), Some(0));
}
