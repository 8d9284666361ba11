//! Probes cannot be starved: `/healthz` and `/readyz` stay answered while one
//! address floods the agent with idle or reconnecting connections, and while
//! the global cap is full; half-closed clients get their whole response.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// Lifts the soft open-file limit towards `want` (the agent inherits it).
fn raise_nofile(want: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < want {
            r.rlim_cur = want.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// A TCP connection to `addr` from the loopback address `src` (all of 127/8 is local).
fn connect_from(src: &str, addr: &str) -> std::io::Result<TcpStream> {
    let dst: SocketAddr = addr.parse().unwrap();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SocketAddr::new(src.parse().unwrap(), 0).into())?;
    s.connect_timeout(&dst.into(), Duration::from_secs(10))?;
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    Ok(s)
}

/// One GET on a fresh connection from `src`: the status, or 0 if the connection was closed.
fn get_from(src: &str, addr: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = connect_from(src, addr) else {
        return (0, String::new());
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

/// Probes `/healthz` and `/readyz` alternately from 127.0.0.2; the number answered 200.
fn probe_successes(addr: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let path = if i % 2 == 0 { "/healthz" } else { "/readyz" };
            std::thread::sleep(Duration::from_millis(20));
            get_from("127.0.0.2", addr, path).0 == 200
        })
        .count()
}

fn rejected(addr: &str, reason: &str) -> f64 {
    let (code, body) = get_from("127.0.0.3", addr, "/metrics");
    assert_eq!(code, 200, "{body}");
    sample(
        &body,
        "nodecast_http_connections_rejected_total",
        &[&format!("reason=\"{reason}\"")],
    )
    .unwrap_or_else(|| panic!("no rejected counter with reason {reason}:\n{body}"))
}

#[test]
fn a_thousand_idle_connections_from_one_address_do_not_starve_probes() {
    raise_nofile(8192);
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| connect_from("127.0.0.1", &a.addr).ok())
        .collect();
    assert!(idle.len() >= 990, "only {} connections opened", idle.len());
    let ok = probe_successes(&a.addr, 50);
    assert_eq!(ok, 50, "probes answered while 1000 connections idle");
    assert!(rejected(&a.addr, "per_client") >= 1.0);
    drop(idle);
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn a_client_reconnecting_in_a_tight_loop_does_not_starve_probes() {
    raise_nofile(8192);
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let flood = {
        let (stop, made, addr) = (stop.clone(), made.clone(), a.addr.clone());
        std::thread::spawn(move || {
            // Keeps the newest 300 connections open and replaces the oldest without pause.
            let mut open = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = connect_from("127.0.0.1", &addr) {
                    open.push_back(s);
                    made.fetch_add(1, Ordering::Relaxed);
                }
                if open.len() > 300 {
                    open.pop_front();
                }
            }
        })
    };
    // Probe only once the flood holds more connections than the whole cap of one client.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while made.load(Ordering::Relaxed) < 400 {
        assert!(
            std::time::Instant::now() < deadline,
            "the flood never got going"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let ok = probe_successes(&a.addr, 50);
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    eprintln!(
        "flooding client opened {} connections in all",
        made.load(Ordering::Relaxed)
    );
    assert_eq!(ok, 50, "probes answered while one client reconnects");
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn probes_get_reserved_slots_when_the_cap_is_full() {
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    flags.push("--web.max-connections=4".into());
    let a = Agent::start(&d.path().join("s"), &flags);
    // Four clients, one connection each: the cap is full, no client is over its own limit.
    let held: Vec<TcpStream> = (4..8)
        .map(|i| {
            let mut s = connect_from(&format!("127.0.0.{i}"), &a.addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            s
        })
        .collect();
    assert_eq!(probe_successes(&a.addr, 10), 10);
    let (code, text) = get_from("127.0.0.2", &a.addr, "/metrics");
    assert_eq!(code, 503, "a reserved slot serves only probes: {text}");
    // Idle connections from four more addresses take the 8 reserve slots (2 each);
    // connections beyond them are refused for the global cap.
    let idle: Vec<TcpStream> = (10..15)
        .flat_map(|i| (0..2).map(move |_| i))
        .filter_map(|i| connect_from(&format!("127.0.0.{i}"), &a.addr).ok())
        .collect();
    // The agent admits connections on its own tasks, so on a loaded machine it
    // may not have taken the idle ones yet: a probe still finds a reserve slot
    // until it has. Once it has, the next connection is refused at once
    // (closed unanswered, status 0); the idle ones stay for 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let mut answered = 0;
    while get_from("127.0.0.20", &a.addr, "/healthz").0 != 0 {
        answered += 1;
        assert!(
            std::time::Instant::now() < deadline,
            "probes kept being answered with cap and reserve full ({answered} times)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop((held, idle));
    eprintln!(
        "probe refused with the reserve full, after {answered} answered while the agent caught up"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while get_from("127.0.0.3", &a.addr, "/metrics").0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "slots never came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(rejected(&a.addr, "global") >= 1.0);
    assert_eq!(a.stop().code(), Some(0));
}

/// Sends `req`, shuts down the sending side, reads until the server closes.
fn half_closed(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn half_closed_clients_get_their_whole_response() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let whole = (0..20)
        .filter(|_| {
            let r = half_closed(&a.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            r.starts_with("HTTP/1.1 200") && r.contains("nodecast_build_info")
        })
        .count();
    assert_eq!(whole, 20, "half-closed clients answered in full");
    assert_eq!(a.stop().code(), Some(0));

    // A response that is not ready at once (bcrypt runs on a blocking thread)
    // always sees the client's EOF first: without half-close it was never sent.
    let cfg = d.path().join("web.yml");
    let hash = bcrypt::hash("right", 4).unwrap();
    std::fs::write(&cfg, format!("basic_auth_users:\n  u: '{hash}'\n")).unwrap();
    let mut flags = fast_flags();
    flags.push(format!("--web.config.file={}", cfg.display()));
    let a = Agent::start(&d.path().join("s2"), &flags);
    use base64::Engine;
    let creds = base64::engine::general_purpose::STANDARD.encode("u:wrong");
    let req = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {creds}\r\n\r\n");
    let whole = (0..20)
        .filter(|_| {
            let r = half_closed(&a.addr, &req);
            r.starts_with("HTTP/1.1 401") && r.ends_with("unauthorized\n")
        })
        .count();
    assert_eq!(
        whole, 20,
        "half-closed clients answered in full while bcrypt ran"
    );
    assert_eq!(a.stop().code(), Some(0));
}
