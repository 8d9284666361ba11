//! Runs .ci/deploy-checks.sh (systemd unit, Debian package, K3s manifests,
//! Vagrant files) against the binary this `cargo test` built, so the README's
//! single test command covers the deployment files too.

use std::path::Path;
use std::process::Command;

#[test]
fn deployment_files_pass_deploy_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg(root.join(".ci/deploy-checks.sh"))
        .current_dir(root)
        .env("NODECAST_BIN", env!("CARGO_BIN_EXE_nodecast"));
    // As root (CI) the script installs what is missing (vagrant, cargo-deb, ...);
    // elsewhere the tools must already be there and a missing one fails.
    if unsafe { libc::geteuid() } == 0 {
        cmd.arg("--deps");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run .ci/deploy-checks.sh: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "deploy-checks failed; see the FAIL sections above"
    );
}
