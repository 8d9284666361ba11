//! The static checks of what we ship besides the binary (rules, dashboard,
//! manifests, unit files) run as part of `cargo test`, so the README's one test
//! command covers them. Each script prints what it checked and exits non-zero on
//! the first failure.
use std::path::Path;
use std::process::Command;

fn run_script(name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join(".ci").join(name);
    assert!(script.exists(), "{} missing", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(root)
        .env("NODECAST_BIN", env!("CARGO_BIN_EXE_nodecast"))
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{name} failed:\n{text}");
}

#[test]
fn rules_and_dashboard_checks() {
    run_script("rules-checks.sh");
}
