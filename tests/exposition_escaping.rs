//! Label values reach `/metrics` from outside the process (a mount point, a sensor
//! name), so no value may break the exposition: one bad line makes Prometheus drop
//! the whole scrape and every alert of the node goes quiet.
//!
//! 1. Property: arbitrary label values, rendered in both formats, parse back to the
//!    same values with the reference parsers (Python's prometheus_client for 0.0.4
//!    and OpenMetrics, and promtool, Prometheus' own Go parser).
//! 2. End to end: a real Prometheus scrapes an agent with a tmpfs mounted at a
//!    directory named `we"ird\dir` (and one with a newline) and sees `up == 1` and
//!    the series with the exact mount point.
mod common;
use common::*;

use std::path::Path;
use std::time::{Duration, Instant};

use nodecast::collect::{Family, Kind, Sample};
use nodecast::export::exposition::{render, shared_families, FamiliesCollector};
use prometheus_client::registry::Registry;
use proptest::prelude::*;

fn registry_with(families: Vec<Family>) -> Registry {
    let shared = shared_families();
    nodecast::snapshot::publish(&shared, families);
    let mut r = Registry::default();
    r.register_collector(Box::new(FamiliesCollector(shared)));
    r
}

/// Families with one sample per value, each value in label `v`, numbered by `i`.
fn families(values: &[String]) -> Vec<Family> {
    let samples = |offset: f64| -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                labels: [("i".into(), i.to_string()), ("v".into(), v.clone())].into(),
                tail: None,
                value: i as f64 + offset,
            })
            .collect()
    };
    vec![
        Family {
            name: "test_gauge_bytes".into(),
            help: "Help with \\ backslash and\nnewline".into(),
            kind: Kind::Gauge,
            samples: samples(0.5),
        },
        Family {
            name: "test_events_total".into(),
            help: "A counter.".into(),
            kind: Kind::Counter,
            samples: samples(1.0),
        },
    ]
}

/// Parses `text` with Python's prometheus_client and prints `name\tlabels-json\tvalue` lines.
const PY_PARSER: &str = r#"
import json, sys
fmt = sys.argv[1]
if fmt == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.buffer.read().decode("utf-8")
out = []
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        out.append([s.name, s.labels, s.value])
json.dump(out, sys.stdout)
"#;

fn python_parse(
    text: &str,
    format: &str,
) -> Vec<(String, std::collections::BTreeMap<String, String>, f64)> {
    let (code, out, err) = pipe_through(
        Path::new("python3"),
        &["-c", PY_PARSER, format],
        text.as_bytes(),
    );
    assert_eq!(
        code,
        Some(0),
        "python prometheus_client ({format}) rejected the exposition: {err}\n{text}"
    );
    serde_json::from_str(&out).expect("parser output")
}

fn promtool_accepts(text: &str) -> Result<(), String> {
    let (code, out, err) = pipe_through(
        &require_tool("promtool"),
        &["check", "metrics"],
        text.as_bytes(),
    );
    let report = out + &err;
    // Lint findings (exit 3) are style; exit 1 is a parse error.
    if code == Some(1) || report.contains("error while linting") {
        return Err(report);
    }
    Ok(())
}

fn check_round_trip(values: &[String]) {
    let reg = registry_with(families(values));
    for openmetrics in [false, true] {
        let (_, text) = render(&reg, openmetrics).unwrap();
        let format = if openmetrics { "openmetrics" } else { "text" };
        let parsed = python_parse(&text, format);
        for (name, offset) in [("test_gauge_bytes", 0.5), ("test_events_total", 1.0)] {
            for (i, v) in values.iter().enumerate() {
                let hit = parsed.iter().find(|(n, l, _)| {
                    n == name && l.get("i").map(String::as_str) == Some(&i.to_string())
                });
                let (_, labels, value) =
                    hit.unwrap_or_else(|| panic!("{format}: {name} #{i} missing in\n{text}"));
                assert_eq!(
                    labels.get("v"),
                    Some(v),
                    "{format}: label value of {name} #{i}"
                );
                assert_eq!(*value, i as f64 + offset, "{format}: value of {name} #{i}");
            }
        }
        if !openmetrics {
            promtool_accepts(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
        }
    }
}

#[test]
fn kernel_style_mount_points_round_trip() {
    // What the filesystem collector produces after decoding \040, \011, \012, \134.
    check_round_trip(&[
        "/tmp/we\"ird\\dir".into(),
        "/mnt/new\nline".into(),
        "/mnt/tab\there and space".into(),
        "/mnt/trailing\\".into(),
        "/mnt/\\n-literal".into(),
        "".into(),
        "/mnt/ünïcødé/😀".into(),
    ]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_label_values_round_trip(
        values in prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "[\\\\\"\n{}=, a-z\t\r#]{0,24}",
            ],
            1..12,
        )
    ) {
        check_round_trip(&values);
    }
}

#[test]
fn prometheus_scrapes_a_node_with_odd_mount_points() {
    let dir = tempfile::tempdir().unwrap();
    let weird = dir.path().join("we\"ird\\dir");
    let newline = dir.path().join("new\nline");
    let _m1 = Tmpfs::mount(&weird, "4m");
    let _m2 = Tmpfs::mount(&newline, "4m");
    let agent = Agent::start(&dir.path().join("store"), &fast_flags());

    let body = agent.scrape();
    promtool_accepts(&body).unwrap_or_else(|e| panic!("promtool on the agent's scrape: {e}"));

    let prom = Prometheus::start(
        dir.path(),
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['{}']}}]\n",
            agent.addr
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = (false, Vec::new());
    while Instant::now() < deadline {
        let up = prom.query("up{job=\"node\"}");
        let up_ok = up
            .first()
            .and_then(|r| r["value"][1].as_str())
            .is_some_and(|v| v == "1");
        let mounts: Vec<String> = prom
            .query("node_filesystem_avail_bytes{fstype=\"tmpfs\"}")
            .iter()
            .filter_map(|r| r["metric"]["mountpoint"].as_str().map(str::to_string))
            .collect();
        seen = (up_ok, mounts);
        let want = [weird.to_str().unwrap(), newline.to_str().unwrap()];
        if seen.0 && want.iter().all(|w| seen.1.iter().any(|m| m == w)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "Prometheus did not see up == 1 and both odd mount points: up={}, mountpoints={:?}",
        seen.0, seen.1
    );
}
