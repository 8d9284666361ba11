//! A newcomer's first minutes: the APIs explain an empty forecast list and a
//! 404, `nodecast status` prints the table with the right exit code (also over
//! TLS with basic auth), and `nodecast plot` draws SVG from a CSV and from a
//! running agent's series.
mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn nodecast(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run nodecast");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn json(agent: &Agent, path: &str) -> (u16, serde_json::Value) {
    let (code, body) = agent.get(path);
    (
        code,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")),
    )
}

#[test]
fn warm_up_is_explained_then_status_and_plot_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    flags.extend([
        "--storage.downsample-step=1s".into(),
        "--storage.downsample-retention=1h".into(),
        "--forecast.min-history=20s".into(),
    ]);
    let agent = Agent::start(&dir.path().join("store"), &flags);
    let addr = format!("http://{}", agent.addr);

    // Before the first forecast: every selected series is listed as warming up, with a time.
    let (_, v) = json(&agent, "/api/v1/series");
    let warming = v["warming_up"].as_array().expect("warming_up list");
    let mem = warming
        .iter()
        .find(|w| w["series"] == "node_memory_MemAvailable_bytes")
        .unwrap_or_else(|| panic!("memory not warming up: {v}"));
    let due_in = mem["first_forecast_due_in_seconds"].as_f64().unwrap();
    assert!(due_in > 0.0 && due_in <= 30.0, "due in {due_in} s");
    assert!(mem["reason"]
        .as_str()
        .unwrap()
        .contains("--backfill.prometheus-url"));
    assert_eq!(v["needed_history_seconds"], 20.0);

    // 404s say why.
    let (code, v) = json(
        &agent,
        "/api/v1/forecast?series=node_memory_MemAvailable_bytes",
    );
    assert_eq!(
        (code, v["reason"].as_str()),
        (404, Some("warming_up")),
        "{v}"
    );
    assert!(v["expected_timestamp"].as_f64().is_some());
    let (code, v) = json(&agent, "/api/v1/forecast?series=no_such_metric");
    assert_eq!(
        (code, v["reason"].as_str()),
        (404, Some("unknown_series")),
        "{v}"
    );
    let (code, v) = json(&agent, "/api/v1/forecast?series=node_load15");
    assert_eq!((code, v["reason"].as_str()), (404, Some("excluded")), "{v}");

    let (code, out, err) = nodecast(&["status", "--address", &addr]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("warming up; first forecasts in"), "{out}");

    // Once forecasts exist: the table, and a plot of a live series.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, _) = agent.get("/api/v1/forecast?series=node_memory_MemAvailable_bytes");
        if code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no forecast after 60 s");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (code, out, err) = nodecast(&["status", "--address", &addr]);
    assert!(code == 0 || code == 1, "{code}: {err}");
    assert!(out.lines().any(|l| l.starts_with("memory ")), "{out}");
    let (_, v) = json(&agent, "/api/v1/series");
    let runs_out = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["time_to_exhaustion_seconds"].is_number());
    assert_eq!(
        code,
        i32::from(runs_out),
        "exit code must say whether a resource runs out:\n{out}"
    );
    let (code, out, _) = nodecast(&["status", "--address", &addr, "--format", "json"]);
    assert!(code <= 1 && out.contains("\"warming_up\""));

    let svg = dir.path().join("mem.svg");
    let (code, _, err) = nodecast(&[
        "plot",
        "--address",
        &addr,
        "--series",
        "node_memory_MemAvailable_bytes",
        "--output",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg")
            && text.contains("<polygon")
            && text.matches("<polyline").count() == 2
    );

    let (code, _, err) = nodecast(&["plot", "--address", &addr, "--series", "nope"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("unknown series"), "{err}");
    drop(agent);

    // A stopped agent: exit 3 with the address in the message.
    let (code, _, err) = nodecast(&["status", "--address", &addr, "--timeout", "2s"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(&addr), "{err}");
}

#[test]
fn plot_from_csv() {
    let csv = data_dir().join("nab/ec2_cpu_utilization_24ae8d.csv");
    let (code, out, err) =
        nodecast(&["plot", "--input", csv.to_str().unwrap(), "--horizon", "24h"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("<svg") && out.contains("<polygon"),
        "{}",
        &out[..out.len().min(300)]
    );
    let (code, _, err) = nodecast(&["plot", "--input", "/nonexistent.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent.csv"), "{err}");
}

fn pki(dir: &Path) {
    use rcgen::{CertificateParams, KeyPair};
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

#[test]
fn status_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  ops: '{hash}'\n"
        ),
    )
    .unwrap();
    std::fs::write(d.join("pw"), "s3cret\n").unwrap();
    std::fs::write(d.join("bad"), "wrong\n").unwrap();
    let mut flags = fast_flags();
    flags.push(format!("--web.config.file={}", d.join("web.yml").display()));
    let agent = Agent::spawn(&d.join("store"), &flags);
    let addr = format!("https://{}", agent.addr);
    let ca = d.join("server.crt").display().to_string();
    let pw = d.join("pw").display().to_string();
    let base = [
        "status",
        "--address",
        &addr,
        "--tls.ca-file",
        &ca,
        "--basic-auth.username",
        "ops",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    let (code, out, err) = loop {
        let mut args = base.to_vec();
        args.extend(["--basic-auth.password-file", &pw]);
        let r = nodecast(&args);
        if r.0 != 3 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("RESOURCE"), "{out}");
    let bad = d.join("bad").display().to_string();
    let mut args = base.to_vec();
    args.extend(["--basic-auth.password-file", &bad]);
    let (code, _, err) = nodecast(&args);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("401"), "{err}");
    // Without the CA the server certificate is refused.
    let (code, _, err) = nodecast(&["status", "--address", &addr, "--timeout", "5s"]);
    assert_eq!(code, 3, "{err}");
}
