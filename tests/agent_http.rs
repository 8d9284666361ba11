//! The HTTP surface of a running agent: endpoints, content negotiation, promtool lint, shutdown.
mod common;
use common::*;
use std::process::Command;

/// node_exporter's meminfo names are camelCase (node_memory_MemTotal_bytes); promtool
/// flags exactly that, and node-mixin needs those names unchanged. Anything else fails.
fn promtool_problems(body: &str) -> Vec<String> {
    let (_, out, err) = pipe_through(
        &require_tool("promtool"),
        &["check", "metrics"],
        body.as_bytes(),
    );
    let text = out + &err;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !(l.starts_with("node_memory_")
                && l.ends_with("metric names should be written in 'snake_case' not 'camelCase'"))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn metrics_pass_promtool_and_negotiate_format() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let body = a.scrape();
    assert!(body.contains("# TYPE nodecast_build_info gauge"), "{body}");
    assert!(
        !body.contains("# EOF"),
        "classic format must not carry # EOF"
    );
    let problems = promtool_problems(&body);
    assert!(problems.is_empty(), "promtool check metrics: {problems:#?}");

    let (code, om) = http_request(
        &a.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(code, 200);
    assert!(
        om.trim_end().ends_with("# EOF"),
        "OpenMetrics must end with # EOF"
    );
    assert!(
        om.contains("# TYPE nodecast_store_samples_stored counter"),
        "{om}"
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn endpoints_and_api_errors() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    let (code, body) = a.get("/");
    assert_eq!(code, 200);
    assert!(body.contains("href=\"/metrics\""), "{body}");
    assert_eq!(a.get("/healthz").0, 200);
    assert_eq!(a.get("/readyz").0, 200);
    assert_eq!(a.get("/nope").0, 404);
    let (code, body) = a.get("/api/v1/forecast");
    assert_eq!(code, 400);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(v["status"], "error");
    assert!(v["error"].as_str().unwrap().contains("series"));
    let (code, body) = a.get("/api/v1/forecast?series=node_nothing%7B%7D");
    assert_eq!(code, 404, "{body}");
    let (code, body) = a.get("/api/v1/series");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn sigint_also_exits_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    a.signal(libc::SIGINT);
    let mut a = a;
    let st = wait_timeout(&mut a.child, std::time::Duration::from_secs(20));
    assert_eq!(st.code(), Some(0));
    assert!(a.log_text().contains("SIGINT received"), "{}", a.log_text());
}

#[test]
fn port_in_use_fails_with_message() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.path={}", d.path().join("s").display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}
