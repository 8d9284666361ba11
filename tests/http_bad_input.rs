//! Malformed HTTP never crashes the agent or sticks a worker: garbage, huge
//! headers, long paths and queries, slow clients. After each, a normal scrape works.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn raw(addr: &str, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn status(resp: &str) -> Option<u16> {
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok())
}

#[test]
fn malformed_requests_get_4xx_or_closed_and_agent_survives() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\x01\x02garbage\r\n\r\n".to_vec()),
        ("bad method line", b"GET\r\n\r\n".to_vec()),
        (
            "huge header",
            format!(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(200_000)
            )
            .into_bytes(),
        ),
        ("many headers", {
            let mut r = String::from("GET /metrics HTTP/1.1\r\nHost: x\r\n");
            for i in 0..500 {
                r.push_str(&format!("X-H{i}: v\r\n"));
            }
            r.push_str("\r\n");
            r.into_bytes()
        }),
        (
            "long path",
            format!(
                "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "p".repeat(60_000)
            )
            .into_bytes(),
        ),
        (
            "long query",
            format!(
                "GET /api/v1/forecast?series={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "%41".repeat(15_000)
            )
            .into_bytes(),
        ),
        (
            "bad percent",
            b"GET /api/v1/forecast?series=%ZZ%& HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ),
        (
            "bad content-length",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        ),
        ("http/0.9", b"GET /metrics\r\n".to_vec()),
        (
            "binary tls hello on http",
            vec![
                0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
            ],
        ),
    ];
    for (name, bytes) in &cases {
        let resp = raw(&a.addr, bytes);
        if let Some(code) = status(&resp) {
            assert!((400..500).contains(&code), "{name}: got {code}");
        } // else: the server closed the connection, which is also fine.
        assert_eq!(a.get("/healthz").0, 200, "agent unhealthy after {name}");
    }
    assert!(a.scrape().contains("node_load1"));
    assert_eq!(
        a.stop().code(),
        Some(0),
        "agent must still shut down cleanly"
    );
}

#[test]
fn slow_clients_are_cut_off_and_do_not_block_scrapes() {
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    // The slow clients and the scrapes share 127.0.0.1; lift the per-client cap over both.
    flags.push("--web.max-connections-per-client=100".into());
    let a = Agent::start(&d.path().join("s"), &flags);
    // 50 slow-loris connections that send one header byte and then stall.
    let mut slow: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(&a.addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ").unwrap();
            s
        })
        .collect();
    // Scrapes still succeed while they hang.
    for _ in 0..5 {
        assert!(a.scrape().contains("nodecast_build_info"));
    }
    // The server gives up on them after its header timeout (10 s).
    let start = Instant::now();
    let mut closed = 0;
    for s in slow.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            // EOF, a 408, or a reset: the server let go of it.
            Ok(_) => closed += 1,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => closed += 1,
        }
    }
    assert_eq!(closed, 50);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "slow connections were never closed"
    );
    assert_eq!(a.stop().code(), Some(0));
}

/// Opens a keep-alive connection and completes one request on it, so the server
/// holds it open afterwards.
fn kept_alive(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    s
}

#[test]
fn connections_over_the_per_client_cap_are_closed_and_counted() {
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    flags.push("--web.max-connections-per-client=4".into());
    let a = Agent::start(&d.path().join("s"), &flags);
    let held: Vec<TcpStream> = (0..4).map(|_| kept_alive(&a.addr)).collect();
    // The fifth from the same address is accepted by the kernel, then closed without an answer.
    let resp = raw(&a.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        resp.is_empty(),
        "over the cap: expected a closed connection, got {:?}",
        &resp[..resp.len().min(80)]
    );
    drop(held);
    // Permits come back as the held connections close.
    let deadline = Instant::now() + Duration::from_secs(10);
    let m = loop {
        match http_get(&a.addr, "/metrics") {
            Ok((200, body)) => break body,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("no scrape after the held connections closed: {other:?}"),
        }
    };
    let rejected = sample(
        &m,
        "nodecast_http_connections_rejected_total",
        &["reason=\"per_client\""],
    );
    assert!(rejected.is_some_and(|r| r >= 1.0), "rejected {rejected:?}");
    assert_eq!(a.stop().code(), Some(0));
}

/// hyper keeps an idle HTTP/2 connection open forever; enough of them would hold
/// every connection permit, so the agent closes connections that stay silent.
#[test]
fn idle_http2_connections_are_closed() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let mut s = TcpStream::connect(&a.addr).unwrap();
    // The HTTP/2 client preface and an empty SETTINGS frame, then silence.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue, // the server's SETTINGS and its ACK
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    assert!(closed, "idle HTTP/2 connection still open after 30 s");
    eprintln!("idle HTTP/2 connection closed after {:?}", start.elapsed());
    assert!(a.scrape().contains("nodecast_build_info"));
    assert_eq!(a.stop().code(), Some(0));
}
