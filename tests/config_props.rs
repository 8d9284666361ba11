//! No flag value panics: random values for every flag of `run` and `check-config`
//! (in process, through the same parse-and-validate function the binary uses), and of
//! `forecast` and `backtest` (the real binary on a small CSV).
mod common;

use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nodecast::cli::{parse_agent_config, EXIT_USAGE};
use nodecast::config::settings::SETTINGS;
use proptest::prelude::*;

/// Values that broke flags before, plus edge cases of every type.
const NASTY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1",
    "255",
    "256",
    "65536",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1e12",
    "1e8",
    "100000000",
    "NaN",
    "inf",
    "-inf",
    "0.0",
    "99.999999",
    "100",
    "1e-300",
    "0s",
    "1ns",
    "1s 1ns",
    "1ms",
    "1000000000h",
    "18446744073709551615s",
    "584942417355y",
    "-5m",
    "1h30m",
    "35d",
    "36d",
    "366d",
    "24h",
    "5m",
    ":",
    ":0",
    ":99999",
    "[::1]:80",
    "not-an-address",
    "/",
    "//",
    "/metrics",
    "/healthz",
    "/api/v1/series",
    "/:x",
    "/{x}",
    "/*x",
    "metrics",
    "(",
    "a{99999}{99999}",
    "^$",
    ".*",
    "auto",
    "snaive-drift",
    "theta",
    "debug",
    "json",
    "http://",
    "http://h:1",
    "ftp://x",
    "\u{0}",
    "é",
    "1KiB",
    "64GiB",
    "65GiB",
    "1,2,3",
    "15m,1h,6h,24h,48h",
    "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(NASTY).prop_map(String::from),
        2 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
        1 => any::<i128>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|x| x.to_string()),
        2 => (any::<u64>(), prop::sample::select(&["ns", "ms", "s", "m", "h", "d", "w", "y", ""][..]))
            .prop_map(|(n, u)| format!("{n}{u}")),
        1 => (0u64..100_000, prop::sample::select(&["s", "m", "h", "d"][..]))
            .prop_map(|(n, u)| format!("{n}{u}")),
    ]
}

fn flag_names() -> Vec<String> {
    let mut names: Vec<String> = SETTINGS.iter().map(|s| s.name.to_string()).collect();
    for r in nodecast::collect::REGISTRY {
        names.push(format!("collector.{}", r.name));
        names.push(format!("no-collector.{}", r.name));
    }
    names
}

fn is_switch(name: &str) -> bool {
    let collector = |n: &str| nodecast::collect::REGISTRY.iter().any(|r| r.name == n);
    name.strip_prefix("no-collector.").is_some_and(collector)
        || name.strip_prefix("collector.").is_some_and(collector)
        || SETTINGS
            .iter()
            .any(|s| s.name == name && s.kind == nodecast::config::settings::ValueKind::Switch)
}

/// Errors are exit 2 and name a flag; clap's own messages name the flag they reject.
fn check_outcome(
    r: Result<nodecast::config::Config, (i32, String)>,
    given: &[String],
) -> Result<(), TestCaseError> {
    if let Err((code, msg)) = r {
        prop_assert_eq!(code, EXIT_USAGE, "{}", msg);
        let named = SETTINGS.iter().any(|s| msg.contains(s.name))
            || given.iter().any(|g| msg.contains(g.as_str()));
        prop_assert!(named, "error names no key: {}", msg);
    }
    Ok(())
}

fn args(cmd: &[&str], flags: &[(String, String)]) -> (Vec<OsString>, Vec<String>) {
    let mut argv: Vec<OsString> = vec!["nodecast".into()];
    argv.extend(cmd.iter().map(OsString::from));
    let mut names = Vec::new();
    for (k, v) in flags {
        names.push(k.clone());
        if is_switch(k) {
            argv.push(format!("--{k}").into());
        } else {
            argv.push(format!("--{k}={v}").into());
        }
    }
    (argv, names)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// `run`'s parse and validation over 1–4 random flags: no panic, exit 2 naming a key.
    #[test]
    fn run_flags_never_panic(flags in prop::collection::vec(
        (prop::sample::select(flag_names()), value()), 1..5)) {
        let (argv, names) = args(&["run"], &flags);
        let r = catch_unwind(AssertUnwindSafe(|| parse_agent_config(&argv)));
        prop_assert!(r.is_ok(), "panicked on {:?}", argv);
        check_outcome(r.unwrap(), &names)?;
    }

    /// `check-config` on a file holding random values, plus random flags.
    #[test]
    fn check_config_never_panics(
        file in prop::collection::vec((prop::sample::select(flag_names()), value()), 0..4),
        flags in prop::collection::vec((prop::sample::select(flag_names()), value()), 0..2),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut table = toml::Table::new();
        for (k, v) in &file {
            let k = k.trim_start_matches("no-").to_string();
            let val = if is_switch(&k) { toml::Value::Boolean(v.len() % 2 == 0) } else { toml::Value::String(v.clone()) };
            table.insert(k, val);
        }
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        let p = path.display().to_string();
        let (argv, mut names) = args(&["check-config", &p], &flags);
        names.extend(file.iter().map(|(k, _)| k.trim_start_matches("no-").to_string()));
        names.push(p.clone());
        let r = catch_unwind(AssertUnwindSafe(|| parse_agent_config(&argv)));
        prop_assert!(r.is_ok(), "panicked on {:?} with {}", argv, toml::to_string(&table).unwrap());
        check_outcome(r.unwrap(), &names)?;
    }

    /// Whatever telemetry path the config accepts, the router builds (axum panics on a
    /// route that overlaps another).
    #[test]
    fn accepted_telemetry_paths_build_the_router(v in value()) {
        let argv: Vec<OsString> = vec!["nodecast".into(), format!("--web.telemetry-path={v}").into()];
        if let Ok(cfg) = parse_agent_config(&argv) {
            let state = nodecast::export::http::AppState {
                exposition: std::sync::Arc::new(nodecast::export::scrape_cache::Exposition {
                    live: Default::default(),
                    parts: Vec::new(),
                }),
                ready: Default::default(),
                forecasts: nodecast::predict::shared_forecasts(),
                telemetry_path: cfg.telemetry_path.clone(),
                view: std::sync::Arc::new(nodecast::export::view::AgentView {
                    store: shared_store(),
                    forecast: cfg.forecast.clone(),
                    raw_step_ms: 15_000,
                    downsample_step_ms: 300_000,
                    collectors: Vec::new(),
                    backfill_configured: false,
                    started_ms: 0,
                    last_forecast_cycle: Default::default(),
                }),
            };
            let r = catch_unwind(AssertUnwindSafe(|| nodecast::export::http::router(state)));
            prop_assert!(r.is_ok(), "router panicked on {:?}", cfg.telemetry_path);
        }
    }
}

/// One store for every router the property test builds (the router only holds it).
fn shared_store() -> std::sync::Arc<nodecast::store::Store> {
    static STORE: std::sync::OnceLock<(tempfile::TempDir, std::sync::Arc<nodecast::store::Store>)> =
        std::sync::OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = nodecast::store::Store::open(nodecast::store::StoreConfig::new(dir.path()))
                .expect("open store");
            (dir, std::sync::Arc::new(store))
        })
        .1
        .clone()
}

/// Runs the binary with a 30 s limit; returns (exit code, stderr).
fn run_bin(args: &[String]) -> (i32, String) {
    use std::io::Read;
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn nodecast {args:?}: {e}"));
    let mut err = String::new();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = pipe.read_to_string(&mut err);
        err
    });
    let start = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code().unwrap_or(-1);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nodecast {args:?} ran over 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (code, reader.join().unwrap())
}

fn small_csv(dir: &tempfile::TempDir) -> String {
    let mut text = String::from("timestamp,value\n");
    for i in 0..600u64 {
        let v = 40.0 + 10.0 * ((i % 288) as f64 / 288.0 * std::f64::consts::TAU).sin();
        text.push_str(&format!("{},{v}\n", 1_700_000_000 + i * 300));
    }
    let p = dir.path().join("s.csv");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn cli_value(flag: &'static str) -> BoxedStrategy<String> {
    let typical: &'static [&'static str] = match flag {
        "horizon" => &["1", "12", "288", "24h", "35d", "100800", "2016"],
        "step" => &["5m", "1m", "1h", "300s"],
        "model" | "models" => &[
            "auto",
            "theta",
            "snaive-drift",
            "mstl",
            "theta-week",
            "snaive,auto",
        ],
        "season" => &["2", "12", "288", "12,288", "300"],
        "format" => &["csv", "json", "table"],
        "origins" => &["1", "3", "1000"],
        "drop-fraction" => &["0", "0.1", "1"],
        "outage" => &["0", "5", "599", "600"],
        _ => &["1", "95", "80"],
    };
    // Values at and past each bound, where overflow and huge allocations hide.
    let edge: &'static [&'static str] = &[
        "0",
        "-1",
        "18446744073709551615",
        "9223372036854775808",
        "100000000",
        "100801",
        "1e12",
        "NaN",
        "inf",
        "36d",
        "1000000000h",
        "1ns",
        "",
    ];
    prop_oneof![
        2 => prop::sample::select(typical).prop_map(String::from),
        2 => prop::sample::select(edge).prop_map(String::from),
        // argv cannot carry a NUL byte; the in-process tests above cover those.
        1 => value().prop_map(|v| v.replace('\0', "")),
    ]
    .boxed()
}

/// Cases run here start the real binary: a few dozen, not hundreds, to stay lean.
fn cli_cases(sub: &'static str, flags: &'static [&'static str]) {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_csv(&dir);
    let strategy = prop::collection::vec(
        prop::sample::select(flags).prop_flat_map(|f| (Just(f), cli_value(f))),
        1..4,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |chosen| {
            let mut argv = vec![sub.to_string(), "--input".into(), csv.clone()];
            if sub == "forecast" && !chosen.iter().any(|(f, _)| *f == "horizon") {
                argv.push("--horizon=12".into());
            }
            for (f, v) in &chosen {
                argv.push(format!("--{f}={v}"));
            }
            let (code, err) = run_bin(&argv);
            prop_assert!(
                !err.contains("panicked") && code != 101 && code >= 0,
                "{:?}: exit {}: {}",
                argv,
                code,
                err
            );
            prop_assert!(matches!(code, 0..=2), "{:?}: exit {}: {}", argv, code, err);
            if code == 2 {
                let named = err.contains("--") || err.contains(&csv);
                prop_assert!(named, "{:?}: exit 2 naming nothing: {}", argv, err);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn forecast_flags_never_panic() {
    cli_cases(
        "forecast",
        &["horizon", "step", "model", "level", "season", "format"],
    );
}

#[test]
fn backtest_flags_never_panic() {
    cli_cases(
        "backtest",
        &[
            "horizon",
            "season",
            "models",
            "origins",
            "level",
            "format",
            "limit",
            "drop-fraction",
            "outage",
            "seed",
        ],
    );
}
