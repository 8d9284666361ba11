//! Runs the shipped Prometheus alert rules through the real promtool (Debian
//! package `prometheus`), then breaks the rules on purpose to prove that the
//! promtool unit tests notice: a rule test that passes whatever the rules say
//! would be worthless.
//!
//! promtool must be on PATH (or named by $NODECAST_PROMTOOL); the test fails,
//! rather than skips, when it is missing, so a green run always means the
//! rules were checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

const RULES: &str = "deploy/prometheus/rules/nodecast.rules.yml";
const TESTS_DIR: &str = "deploy/prometheus/rules/tests";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn promtool() -> String {
    std::env::var("NODECAST_PROMTOOL").unwrap_or_else(|_| "promtool".to_string())
}

/// Runs promtool, returning (success, stdout + stderr).
fn run_promtool(args: &[&Path], sub: &[&str]) -> Result<(bool, String)> {
    let tool = promtool();
    let out = Command::new(&tool)
        .args(sub)
        .args(args)
        .output()
        .with_context(|| {
            format!("cannot run {tool:?}: install it with `apt-get install prometheus` or set NODECAST_PROMTOOL")
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Unit-test files: every YAML under tests/ except the reference rule files.
fn test_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".yml") && !name.ends_with(".rules.yml") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no promtool test files in {}", dir.display());
    }
    Ok(files)
}

#[test]
fn shipped_rules_pass_promtool_check() -> Result<()> {
    let rules = repo().join(RULES);
    let reference = repo()
        .join(TESTS_DIR)
        .join("node-mixin-reference.rules.yml");
    let (ok, out) = run_promtool(&[&rules, &reference], &["check", "rules"])?;
    if !ok {
        bail!("promtool check rules failed:\n{out}");
    }
    // promtool must load every rule the file declares: a rule lost to a YAML
    // indentation slip (parsed as part of the previous one) shows here.
    let text = std::fs::read_to_string(&rules)?;
    let declared = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- alert:") || t.starts_with("- record:")
        })
        .count();
    if declared < 20 || !out.contains(&format!("SUCCESS: {declared} rules found")) {
        bail!("expected {declared} rules (at least 20) in {RULES}:\n{out}");
    }
    Ok(())
}

#[test]
fn shipped_rules_pass_their_unit_tests() -> Result<()> {
    let files = test_files(&repo().join(TESTS_DIR))?;
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (ok, out) = run_promtool(&refs, &["test", "rules"])?;
    if !ok {
        bail!("promtool test rules failed:\n{out}");
    }
    Ok(())
}

/// Copies the rules tree into a temp dir, rewrites the rules file with
/// `mutate`, and returns the output of the named unit test, which must fail.
fn mutated_run(test_file: &str, mutate: impl Fn(&str) -> Result<String>) -> Result<String> {
    let tmp = tempfile::tempdir()?;
    let rules_dir = tmp.path().join("rules");
    let tests_dir = rules_dir.join("tests");
    fs::create_dir_all(&tests_dir)?;
    let original =
        fs::read_to_string(repo().join(RULES)).with_context(|| format!("reading {RULES}"))?;
    let mutated = mutate(&original)?;
    if mutated == original {
        bail!("mutation changed nothing");
    }
    fs::write(rules_dir.join("nodecast.rules.yml"), mutated)?;
    for entry in fs::read_dir(repo().join(TESTS_DIR))? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, tests_dir.join(name))?;
        }
    }
    let target = tests_dir.join(test_file);
    let (ok, out) = run_promtool(&[&target], &["test", "rules"])?;
    if ok {
        bail!("{test_file} still passes with the mutated rules:\n{out}");
    }
    Ok(out)
}

fn replace_all(text: &str, from: &str, to: &str) -> Result<String> {
    if !text.contains(from) {
        return Err(anyhow!("pattern {from:?} not in {RULES}"));
    }
    Ok(text.replace(from, to))
}

#[test]
fn sawtooth_test_fails_if_our_rule_extrapolates_like_node_mixin() -> Result<()> {
    let out = mutated_run("filesystem_sawtooth.yml", |rules| {
        // Swap the expression of the first (warning) filesystem rule for
        // node-mixin's predict_linear one.
        let head = "- alert: NodecastFilesystemSpaceFillingUp\n        expr: |\n";
        let start = rules
            .find(head)
            .ok_or_else(|| anyhow!("filesystem rule not found"))?
            + head.len();
        let end = start
            + rules[start..]
                .find("        for:")
                .ok_or_else(|| anyhow!("`for:` of filesystem rule not found"))?;
        let linear = "          node_filesystem_avail_bytes / node_filesystem_size_bytes * 100 < 40\n          and predict_linear(node_filesystem_avail_bytes[6h], 24*60*60) < 0\n          and node_filesystem_readonly == 0\n";
        Ok(format!("{}{}{}", &rules[..start], linear, &rules[end..]))
    })?;
    if !out.contains("NodecastFilesystemSpaceFillingUp") {
        bail!("failure is not about our filesystem alert:\n{out}");
    }
    Ok(())
}

#[test]
fn steady_fill_test_fails_without_the_already_full_clause() -> Result<()> {
    let out = mutated_run("filesystem_steady_fill.yml", |rules| {
        replace_all(
            rules,
            "nodecast_time_to_exhaustion_seconds{resource=\"filesystem_space\"} == 0",
            "nodecast_time_to_exhaustion_seconds{resource=\"filesystem_space\"} < 0",
        )
    })?;
    if !out.contains("already full") {
        bail!("the already-full case did not fail:\n{out}");
    }
    Ok(())
}

#[test]
fn steady_fill_test_fails_when_read_only_filesystems_are_not_excluded() -> Result<()> {
    let out = mutated_run("filesystem_steady_fill.yml", |rules| {
        replace_all(
            rules,
            "node_filesystem_readonly == 0",
            "node_filesystem_readonly >= 0",
        )
    })?;
    if !out.contains("read-only") {
        bail!("the read-only case did not fail:\n{out}");
    }
    Ok(())
}

#[test]
fn hysteresis_tests_fail_without_keep_firing_for() -> Result<()> {
    let strip = |rules: &str| -> Result<String> {
        let kept: Vec<&str> = rules
            .lines()
            .filter(|l| !l.trim_start().starts_with("keep_firing_for:"))
            .collect();
        Ok(kept.join("\n") + "\n")
    };
    let fs_out = mutated_run("filesystem_steady_fill.yml", strip)?;
    if !fs_out.contains("keep_firing_for") {
        bail!("the hovering-forecast case did not fail:\n{fs_out}");
    }
    let down_out = mutated_run("agent.yml", strip)?;
    if !down_out.contains("NodecastDown") {
        bail!("the agent-down recovery case did not fail:\n{down_out}");
    }
    Ok(())
}

#[test]
fn resource_tests_fail_without_the_probability_gate() -> Result<()> {
    let out = mutated_run("resources.yml", |rules| {
        let r = replace_all(
            rules,
            "_ratio{resource=\"memory\"} >= 0.5",
            "_ratio{resource=\"memory\"} >= 0",
        )?;
        replace_all(
            &r,
            "_ratio{resource=\"pids\"} >= 0.5",
            "_ratio{resource=\"pids\"} >= 0",
        )
    })?;
    for alert in [
        "NodecastMemoryExhaustionPredicted",
        "NodecastPidsExhaustionPredicted",
    ] {
        if !out.contains(alert) {
            bail!("{alert} did not fail without its probability gate:\n{out}");
        }
    }
    Ok(())
}

#[test]
fn pipeline_tests_fail_when_a_single_error_pages() -> Result<()> {
    let out = mutated_run("agent.yml", |rules| {
        replace_all(
            rules,
            "expr: increase(nodecast_forecast_errors_total[15m]) > 0\n        for: 30m",
            "expr: increase(nodecast_forecast_errors_total[15m]) > 0\n        for: 0s",
        )
    })?;
    if !out.contains("NodecastForecastPipelineUnhealthy") {
        bail!("the forecast-errors case did not fail:\n{out}");
    }
    Ok(())
}

#[test]
fn store_corrupt_test_fails_without_the_already_counted_clause() -> Result<()> {
    let out = mutated_run("store_corrupt.yml", |rules| {
        replace_all(
            rules,
            "          or\n          (\n            nodecast_store_corrupt_chunks_total > 0\n            unless\n            nodecast_store_corrupt_chunks_total offset 6h\n          )\n",
            "",
        )
    })?;
    if !out.contains("node3:9847") {
        bail!("the counter-already-above-zero case did not fail:\n{out}");
    }
    Ok(())
}

#[test]
fn series_limit_test_fails_when_any_drop_reason_or_a_burst_pages() -> Result<()> {
    for (from, to) in [
        (
            "nodecast_store_samples_dropped_total{reason=\"series_limit\"}[5m])) > 0\n        for: 15m",
            "nodecast_store_samples_dropped_total[5m])) > 0\n        for: 15m",
        ),
        (
            "nodecast_store_samples_dropped_total{reason=\"series_limit\"}[5m])) > 0\n        for: 15m",
            "nodecast_store_samples_dropped_total{reason=\"series_limit\"}[5m])) > 0\n        for: 0s",
        ),
    ] {
        let out = mutated_run("series_limit.yml", |rules| replace_all(rules, from, to))?;
        if !out.contains("NodecastSeriesLimitReached") {
            bail!("the series-limit case did not fail:\n{out}");
        }
    }
    Ok(())
}

#[test]
fn runaway_fill_test_fails_when_the_critical_waits_15_minutes() -> Result<()> {
    let out = mutated_run("filesystem_runaway_fill.yml", |rules| {
        replace_all(
            rules,
            "        for: 5m\n        keep_firing_for: 30m\n        labels:\n          severity: critical\n        annotations:\n          summary: 'Filesystem",
            "        for: 15m\n        keep_firing_for: 30m\n        labels:\n          severity: critical\n        annotations:\n          summary: 'Filesystem",
        )
    })?;
    if !out.contains("90 minutes") {
        bail!("the runaway fill case did not fail:\n{out}");
    }
    Ok(())
}
