//! The command line: bad flags, bad config values and unknown keys exit 2 naming them.
mod common;
use common::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_flag_exits_2_naming_it() {
    let (code, _, err) = run_cli(&["--web.listen-adress=:1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--web.listen-adress"), "{err}");
}

#[test]
fn bad_flag_value_exits_2_naming_flag_and_value() {
    let (code, _, err) = run_cli(&["--collect.interval=fast"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--collect.interval") && err.contains("fast"),
        "{err}"
    );
    let (code, _, err) = run_cli(&["--forecast.level=150"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--forecast.level"), "{err}");
}

#[test]
fn config_unknown_key_and_bad_value_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let unknown = write(&d, "a.toml", "[collect]\nintervall = \"5s\"\n");
    let (code, _, err) = run_cli(&["check-config", &unknown]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("collect.intervall") && err.contains("a.toml"),
        "{err}"
    );
    let (code, _, err) = run_cli(&["--config", &unknown]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("collect.intervall"), "{err}");

    let bad = write(&d, "b.toml", "\"storage.raw-retention\" = \"forever\"\n");
    let (code, _, err) = run_cli(&["check-config", &bad]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("storage.raw-retention") && err.contains("forever"),
        "{err}"
    );

    let syntax = write(&d, "c.toml", "collect = [\n");
    let (code, _, err) = run_cli(&["check-config", &syntax]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("c.toml") && err.contains("TOML"), "{err}");

    let (code, _, err) = run_cli(&["check-config", "/nonexistent/nodecast.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/nodecast.toml"), "{err}");
}

#[test]
fn good_config_passes_check() {
    let d = tempfile::tempdir().unwrap();
    let good = write(
        &d,
        "good.toml",
        "[web]\n\"listen-address\" = \":9999\"\n[collect]\ninterval = \"30s\"\n[collector]\ncpu = false\n[forecast]\nhorizons = [\"1h\", \"6h\"]\n",
    );
    let (code, out, err) = run_cli(&["check-config", &good]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (4 settings)"), "{out}");
}

#[test]
fn version_and_completions() {
    let (code, out, _) = run_cli(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    let (code, out, _) = run_cli(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--web.listen-address") && out.contains("check-config"),
        "completion script lacks flags"
    );
}

/// Precedence flag > env > file > default, observed on a running agent's listen address.
#[test]
fn precedence_flag_env_file_default() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write(
        &d,
        "p.toml",
        "\"web.telemetry-path\" = \"/from-file\"\n\"log.level\" = \"nonsense\"\n",
    );
    // The file's bad value is reported even though a flag would override a valid one.
    let (code, _, err) = run_cli(&["check-config", &cfg]);
    assert_eq!(code, 2, "{err}");
    let cfg = write(
        &d,
        "q.toml",
        "\"web.telemetry-path\" = \"/from-file\"\n\"forecast.model\" = \"theta\"\n",
    );
    let store = d.path().join("store");
    let env_agent = {
        let mut cmd_env = vec![format!("--config={cfg}")];
        cmd_env.extend(fast_flags());
        Agent::start_env(
            &store,
            &cmd_env,
            &[("NODECAST_WEB_TELEMETRY_PATH", "/from-env")],
        )
    };
    assert_eq!(env_agent.get("/from-env").0, 200, "env beats file");
    assert_eq!(env_agent.get("/from-file").0, 404);
    assert_eq!(env_agent.stop().code(), Some(0));

    let mut flags = vec![
        format!("--config={cfg}"),
        "--web.telemetry-path=/from-flag".to_string(),
    ];
    flags.extend(fast_flags());
    let a = Agent::start(&store, &flags);
    assert_eq!(a.get("/from-flag").0, 200, "flag beats file");
    assert_eq!(a.get("/from-file").0, 404);
    assert_eq!(a.stop().code(), Some(0));

    let mut flags = vec![format!("--config={cfg}")];
    flags.extend(fast_flags());
    let a = Agent::start(&store, &flags);
    assert_eq!(a.get("/from-file").0, 200, "file beats default");
    assert_eq!(a.get("/metrics").0, 404);
    assert_eq!(a.stop().code(), Some(0));
}

/// The README's configuration reference names every setting the binary has.
#[test]
fn readme_documents_every_flag() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let missing: Vec<&str> = nodecast::config::settings::SETTINGS
        .iter()
        .map(|s| s.name)
        .filter(|n| !readme.contains(&format!("`--{n}`")) && !readme.contains(&format!("--{n}`")))
        .collect();
    assert!(missing.is_empty(), "README lacks: {missing:?}");
}

/// Runs the agent with `flags` (on a temporary store and a free port) and returns its
/// exit code and stderr; an agent still running after 15 s accepted the flags and is
/// killed (`None`).
fn run_agent_briefly(flags: &[String]) -> (Option<i32>, String) {
    use std::io::Read;
    let d = tempfile::tempdir().unwrap();
    let given = |k: &str| flags.iter().any(|f| f.starts_with(&format!("--{k}=")));
    let mut args = vec!["run".to_string()];
    if !given("storage.path") {
        args.push(format!(
            "--storage.path={}",
            d.path().join("store").display()
        ));
    }
    if !given("web.listen-address") {
        args.push("--web.listen-address=127.0.0.1:0".into());
    }
    args.extend(flags.iter().cloned());
    let mut child = std::process::Command::new(BIN)
        .args(&args)
        .current_dir(d.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st.code().unwrap_or(-1));
        }
        if start.elapsed() > std::time::Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    (code, err)
}

/// Values `run` rejects before it opens the store or binds, and `check-config` rejects
/// the same way: exit 2 with the key and what is wrong; never a panic.
#[test]
fn bad_values_exit_2_naming_the_key_in_run_and_check_config() {
    // (key, value, text the message must contain besides the key, extra flags)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("web.listen-address", ":99999", "65535", &[]),
        ("web.listen-address", "not-an-address", "address", &[]),
        ("web.telemetry-path", "/", "built-in", &[]),
        ("web.telemetry-path", "", "start with", &[]),
        ("web.telemetry-path", "metrics", "start with", &[]),
        ("web.telemetry-path", "/api/v1/series", "built-in", &[]),
        ("web.telemetry-path", "/healthz", "built-in", &[]),
        ("storage.cache-bytes", "255", "minimum of 65536", &[]),
        ("storage.path", "", "empty", &[]),
        ("storage.max-series", "0", "minimum of 1", &[]),
        ("forecast.max-series", "0", "minimum of 1", &[]),
        ("forecast.horizon", "1000000000h", "35d", &[]),
        (
            "forecast.horizon",
            "35d",
            "steps",
            &[
                "--storage.downsample-step=1s",
                "--collect.interval=1s",
                "--storage.downsample-retention=1d",
            ],
        ),
        ("forecast.level", "NaN", "percentage", &[]),
        ("web.max-connections", "-1", "negative", &[]),
        ("collect.interval", "1s 1ns", "milliseconds", &[]),
        (
            "storage.downsample-step",
            "7s",
            "multiple of --collect.interval",
            &["--collect.interval=2s"],
        ),
        (
            "storage.downsample-retention",
            "35d",
            "points",
            &["--collect.interval=1s", "--storage.downsample-step=1s"],
        ),
        (
            "forecast.horizons",
            "1h,48h",
            "beyond --forecast.horizon",
            &[],
        ),
        (
            "backfill.prometheus-url",
            "http://127.0.0.1:9",
            "--backfill.selector",
            &[],
        ),
    ];
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, (key, value, want, extra)) in cases.iter().enumerate() {
        let mut flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        flags.push(format!("--{key}={value}"));
        let (code, err) = run_agent_briefly(&flags);
        if code != Some(2)
            || !err.contains(&format!("--{key}"))
            || !err.contains(want)
            || err.contains("panicked")
        {
            failures.push(format!(
                "run --{key}={value:?}: exit {code:?}, stderr: {err}"
            ));
        }
        // The same values from a file, extra flags as flags.
        let file = write(&d, &format!("c{i}.toml"), &format!("{key:?} = {value:?}\n"));
        let mut args: Vec<&str> = vec!["check-config", &file];
        args.extend(extra.iter().copied());
        let (code, _, err) = run_cli(&args);
        if code != 2 || !err.contains(key) || !err.contains(want) || err.contains("panicked") {
            failures.push(format!(
                "check-config {key} = {value:?}: exit {code}, stderr: {err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A tiny timestamp,value CSV: `n` points `step` seconds apart, a daily wave.
fn csv(dir: &tempfile::TempDir, name: &str, n: usize, step: u64) -> String {
    let mut text = String::from("timestamp,value\n");
    for i in 0..n {
        let t = 1_700_000_000 + i as u64 * step;
        let phase = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
        text.push_str(&format!(
            "{t},{}\n",
            50.0 + 10.0 * phase.sin() + (i % 7) as f64
        ));
    }
    write(dir, name, &text)
}

#[test]
fn forecast_horizon_out_of_bounds_exits_2_without_panic() {
    let d = tempfile::tempdir().unwrap();
    let input = csv(&d, "h.csv", 200, 3600);
    // u64::MAX first: before the bound it panicked in auto.rs; 1e8 steps took 3.9 GB.
    for h in [
        "18446744073709551615",
        "1000000000000",
        "100000000",
        "100801",
        "36d",
        "1000000000h",
        "0",
        "-1",
        "1e12",
        "",
    ] {
        let (code, _, err) = run_cli(&["forecast", "--input", &input, &format!("--horizon={h}")]);
        assert_eq!(code, 2, "--horizon {h:?}: {err}");
        assert!(
            err.contains("--horizon") && !err.contains("panicked"),
            "--horizon {h:?}: {err}"
        );
    }
    // Within the step bound but past 35 days of this hourly grid.
    let (code, _, err) = run_cli(&["forecast", "--input", &input, "--horizon", "841"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--horizon") && err.contains("35d"), "{err}");
}

/// `--step` states the grid; a step count is in steps of that grid and a duration is
/// converted with it, and the summary says which horizon that was.
#[test]
fn forecast_step_states_the_grid_and_the_horizon_meaning() {
    let d = tempfile::tempdir().unwrap();
    let input = csv(&d, "hourly.csv", 24 * 21, 3600);
    let rows = |out: &str| -> Vec<String> { out.lines().skip(1).map(String::from).collect() };
    let ts = |row: &str| humantime::parse_rfc3339(row.split(',').next().unwrap()).unwrap();

    let (code, out, err) = run_cli(&["forecast", "--input", &input, "--horizon", "24h"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&out).len(), 24, "24h on an hourly grid is 24 steps");
    assert!(
        err.contains("step 1h") && err.contains("horizon 24 steps (1d)"),
        "{err}"
    );

    let (code, out, err) = run_cli(&["forecast", "--input", &input, "--horizon", "288"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&out).len(), 288);
    assert!(
        err.contains("horizon 288 steps (12d)"),
        "the summary shows what 288 steps are: {err}"
    );

    // Minute samples on a stated 5-minute grid: 288 steps are one day, not 4.8 hours.
    let minutes = csv(&d, "minutes.csv", 3 * 1440, 60);
    let (code, out, err) = run_cli(&["forecast", "--input", &minutes, "--horizon", "288"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("step 1m") && err.contains("(4h48m)"), "{err}");
    let (code, out5, err) = run_cli(&[
        "forecast",
        "--input",
        &minutes,
        "--step",
        "5m",
        "--horizon",
        "288",
    ]);
    assert_eq!(code, 0, "{err}");
    let (r1, r5) = (rows(&out), rows(&out5));
    assert_eq!((r1.len(), r5.len()), (288, 288));
    let span = |r: &[String]| ts(&r[287]).duration_since(ts(&r[0])).unwrap().as_secs();
    assert_eq!(span(&r1), 287 * 60);
    assert_eq!(span(&r5), 287 * 300, "288 steps of 5 minutes");
    assert!(err.contains("step 5m") && err.contains("(1d)"), "{err}");

    for bad in ["0s", "1ms", "1500ms", "soon", "36d"] {
        let (code, _, err) = run_cli(&[
            "forecast",
            "--input",
            &input,
            "--step",
            bad,
            "--horizon",
            "1",
        ]);
        assert_eq!(code, 2, "--step {bad}: {err}");
        assert!(err.contains("--step"), "{err}");
    }
}

#[test]
fn forecast_help_lists_every_model_and_says_what_season_does() {
    let (code, out, _) = run_cli(&["forecast", "--help"]);
    assert_eq!(code, 0);
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for m in nodecast::forecast::ModelKind::ALL {
        assert!(
            flat.contains(&format!("{m},")) || flat.contains(&format!("{m}.")),
            "forecast --help lacks {m}: {out}"
        );
    }
    assert!(flat.contains("three weeks of history"), "{out}");
    assert!(flat.contains("--step"), "{out}");
}

#[test]
fn forecast_nonsense_seasons_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let input = csv(&d, "s.csv", 100, 3600);
    for s in ["0", "1", "-3", "x", "24,0"] {
        let (code, _, err) = run_cli(&[
            "forecast",
            "--input",
            &input,
            "--horizon",
            "4",
            &format!("--season={s}"),
        ]);
        assert_eq!(code, 2, "--season {s}: {err}");
        assert!(err.contains("--season"), "--season {s}: {err}");
    }
    // Longer than half the history: no model could use it.
    for s in ["51", "100", "5000"] {
        let (code, _, err) = run_cli(&[
            "forecast",
            "--input",
            &input,
            "--horizon",
            "4",
            "--season",
            s,
        ]);
        assert_eq!(code, 2, "--season {s}: {err}");
        assert!(err.contains("--season") && err.contains("history"), "{err}");
    }
    let (code, _, err) = run_cli(&[
        "forecast",
        "--input",
        &input,
        "--horizon",
        "4",
        "--season",
        "24",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// Every bound is in `--help` and in the README's configuration table.
#[test]
fn bounds_are_documented_in_help_and_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, help, _) = run_cli(&["run", "--help"]);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut missing = Vec::new();
    for s in nodecast::config::settings::SETTINGS {
        let Some(b) = s.kind.bounds() else { continue };
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `--{}`", s.name)))
            .unwrap_or("");
        if !row.contains(&format!("`{b}`")) {
            missing.push(format!("README row of --{}: {b}", s.name));
        }
        if !help.contains(&format!("[range: {b}]")) {
            missing.push(format!("--help of --{}: {b}", s.name));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// `run` refuses a broken web config file with exit 2; `check-config` loads it too.
#[test]
fn check_config_loads_the_web_config_like_run() {
    let d = tempfile::tempdir().unwrap();
    let web = write(
        &d,
        "web.yml",
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
    );
    let cfg = write(&d, "w.toml", &format!("\"web.config.file\" = {web:?}\n"));
    let (code, _, err) = run_cli(&["check-config", &cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--web.config.file") && err.contains("missing.crt"),
        "{err}"
    );
    let (code, err) = run_agent_briefly(&[format!("--web.config.file={web}")]);
    assert_eq!(code, Some(2), "{err}");
}
