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
