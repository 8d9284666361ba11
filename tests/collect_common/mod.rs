//! Shared by the collector fixture tests: run one registered collector against
//! the fake proc/sys trees in tests/fixtures/collect and look at its families.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nodecast::collect::{CollectError, CollectOptions, Family, Roots, REGISTRY};

pub fn base(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/collect")
        .join(case)
}

pub fn roots(case: &str) -> Roots {
    let b = base(case);
    Roots {
        procfs: b.join("proc"),
        sysfs: b.join("sys"),
        rootfs: b.join("root"),
    }
}

pub fn run_with(
    name: &str,
    roots: &Roots,
    opts: &CollectOptions,
) -> Result<HashMap<String, Family>, CollectError> {
    let reg = REGISTRY
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not registered"));
    let mut c = (reg.build)(opts);
    let mut out = Vec::new();
    c.collect(roots, &mut out)?;
    Ok(out.into_iter().map(|f| (f.name.clone(), f)).collect())
}

pub fn run(name: &str, case: &str) -> Result<HashMap<String, Family>, CollectError> {
    run_with(name, &roots(case), &CollectOptions::default())
}

pub fn good(name: &str) -> HashMap<String, Family> {
    run(name, "good").unwrap_or_else(|e| panic!("{name} on good fixture: {e}"))
}

/// The value of the sample with exactly these labels.
pub fn val(fams: &HashMap<String, Family>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let f = fams
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing; have {:?}", fams.keys()));
    let want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    f.samples
        .iter()
        .find(|s| *s.labels == *want)
        .unwrap_or_else(|| panic!("{name}{labels:?} missing; have {:?}", f.samples))
        .value
}

pub fn label_values(f: &Family, key: &str) -> Vec<String> {
    let mut v: Vec<String> = f
        .samples
        .iter()
        .flat_map(|s| {
            s.labels
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Roots all pointing at one temporary directory.
pub fn roots_at(dir: &Path) -> Roots {
    Roots {
        procfs: dir.into(),
        sysfs: dir.into(),
        rootfs: dir.into(),
    }
}
