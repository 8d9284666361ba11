//! The packaged unit is `Type=notify` with `WatchdogSec=`: systemd kills a
//! daemon that never says READY=1 or stops sending WATCHDOG=1. No systemd
//! runs here, so this plays systemd's part with a real notify socket.

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Next notification, or None once the daemon has been silent for `limit`
/// (a bound on a hang, not a speed requirement).
fn next(sock: &UnixDatagram, limit: Duration) -> Option<String> {
    sock.set_read_timeout(Some(limit)).ok()?;
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn sends_ready_then_watchdog_pings_like_the_unit_expects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    let child = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .arg("run")
        .arg("--web.listen-address=127.0.0.1:0")
        .arg(format!(
            "--storage.path={}",
            dir.path().join("store").display()
        ))
        .arg("--collect.interval=1s")
        .env("NOTIFY_SOCKET", &sock_path)
        // 2 s watchdog: the daemon must ping at least every second.
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nodecast");
    let _guard = Daemon(child);

    let mut seen = Vec::new();
    let mut ready_at = None;
    let mut watchdogs_after_ready = 0;
    while watchdogs_after_ready < 3 {
        let Some(msg) = next(&sock, Duration::from_secs(60)) else {
            panic!("daemon went silent; notifications so far: {seen:?}");
        };
        for line in msg.lines() {
            if line == "READY=1" && ready_at.is_none() {
                ready_at = Some(seen.len());
            }
            if line == "WATCHDOG=1" && ready_at.is_some() {
                watchdogs_after_ready += 1;
            }
            seen.push(line.to_string());
        }
    }
    assert!(ready_at.is_some(), "no READY=1 among {seen:?}");
    assert!(
        !seen.iter().any(|l| l.starts_with("STOPPING")),
        "stopped early: {seen:?}"
    );
}
