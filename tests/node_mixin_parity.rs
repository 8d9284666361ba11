//! node-mixin parity: every metric node-mixin's rules and Node Exporter
//! dashboards read (tests/fixtures/node-mixin/metrics.txt) is served by the real
//! agent with the labels the queries use, or listed in README.md, "Not served",
//! with a reason. Served means: in a scrape of the binary running on this
//! machine's /proc and /sys, or, for what depends on hardware this machine lacks
//! (bonds, RAID, conntrack), on the fixture trees in tests/fixtures/collect/good.
mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (metric, labels the queries use).
fn wanted() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/node-mixin/metrics.txt"))
        .expect("read metrics.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next().expect("name").to_string();
            let labels = match f.next().expect("labels column") {
                "-" => Vec::new(),
                s => s.split(',').map(str::to_string).collect(),
            };
            (name, labels)
        })
        .collect()
}

/// The README's "Not served" table: metric → reason.
fn not_served() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme
        .find("**Not served**")
        .expect("README has a **Not served** list");
    readme[start..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// Metric name → label names, from a scrape (text format 0.0.4).
fn served(body: &str, into: &mut BTreeMap<String, BTreeSet<String>>) {
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let names = into.entry(name.to_string()).or_default();
        // Label values here are plain (no `",` inside), which is enough to split on.
        for pair in labels.trim_end_matches('}').split("\",") {
            if let Some((k, _)) = pair.split_once("=\"") {
                names.insert(k.trim_start_matches(',').to_string());
            }
        }
    }
}

fn scrape_with(extra: &[String]) -> String {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(
        &d.path().join("s"),
        &[fast_flags(), extra.to_vec()].concat(),
    );
    let body = a.scrape();
    assert_eq!(a.stop().code(), Some(0));
    body
}

#[test]
fn every_node_mixin_metric_is_served_or_listed_as_not_served() {
    let mut got = BTreeMap::new();
    served(&scrape_with(&[]), &mut got);
    let fx = root().join("tests/fixtures/collect/good");
    served(
        &scrape_with(&[
            format!("--path.procfs={}", fx.join("proc").display()),
            format!("--path.sysfs={}", fx.join("sys").display()),
            format!("--path.rootfs={}", fx.join("root").display()),
        ]),
        &mut got,
    );
    let excluded = not_served();
    let mut problems = Vec::new();
    for (name, labels) in wanted() {
        match (got.get(&name), excluded.get(&name)) {
            (Some(_), Some(_)) => problems.push(format!(
                "{name} is served but README lists it as not served"
            )),
            (None, None) => problems.push(format!(
                "{name} is neither served nor in README's \"Not served\" list"
            )),
            (None, Some(why)) if why.len() < 20 => {
                problems.push(format!("{name}: README gives no real reason ({why:?})"))
            }
            (Some(have), None) => {
                for l in labels.iter().filter(|l| !have.contains(*l)) {
                    problems.push(format!("{name} lacks label {l} (has {have:?})"));
                }
            }
            (None, Some(_)) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let all = wanted();
    let n_served = all.iter().filter(|(n, _)| got.contains_key(n)).count();
    eprintln!(
        "{} node-mixin metrics: {n_served} served, {} listed as not served",
        all.len(),
        all.len() - n_served
    );
}
