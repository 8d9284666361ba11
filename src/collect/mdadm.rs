//! `mdadm`: software RAID state from `<procfs>/mdstat`, as node_exporter's
//! mdadm collector (node-mixin's NodeRAIDDegraded and NodeRAIDDiskFailure).
//! Nothing, and no error, where the md driver is not loaded.

use std::path::Path;

use super::util::{parse_err, read_opt};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Mdadm;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Mdadm)
}

/// One array, as the kernel describes it in mdstat.
#[derive(Debug, Default, PartialEq)]
pub struct Array {
    pub name: String,
    /// active, inactive, recovering, resyncing or checking.
    pub state: String,
    pub disks_active: u64,
    pub disks_total: u64,
    pub disks_failed: u64,
    pub disks_spare: u64,
    pub blocks_total: u64,
    pub blocks_synced: u64,
}

fn num(path: &Path, what: &str, s: &str) -> Result<u64, CollectError> {
    s.parse()
        .map_err(|_| parse_err(path, format!("{what}: {s:?} is not an unsigned integer")))
}

/// `N blocks ... [total/active] [UU_]`: (total, active). raid0 and linear
/// arrays have no such part; all their member disks count as active.
fn status(path: &Path, dev_line: &str, status_line: &str) -> Result<(u64, u64), CollectError> {
    if dev_line.contains("raid0") || dev_line.contains("linear") {
        let n = dev_line.matches('[').count() as u64;
        return Ok((n, n));
    }
    if dev_line.contains("inactive") {
        return Ok((0, 0));
    }
    let counts = status_line
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
        .find_map(|w| w.split_once('/'))
        .ok_or_else(|| parse_err(path, format!("no [total/active] in {status_line:?}")))?;
    Ok((
        num(path, "disks total", counts.0)?,
        num(path, "disks active", counts.1)?,
    ))
}

/// Parse mdstat text (procfs's rules, which node_exporter uses).
pub fn parse(path: &Path, text: &str) -> Result<Vec<Array>, CollectError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut arrays = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with('\t')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[1] != ":" {
            return Err(parse_err(
                path,
                format!("line {}: expected \"mdN : state ...\", got {line:?}", i + 1),
            ));
        }
        let Some(status_line) = lines.get(i + 1) else {
            return Err(parse_err(path, format!("{}: no status line", f[0])));
        };
        let blocks = status_line.split_whitespace().next().unwrap_or("");
        let blocks_total = num(path, &format!("{} blocks", f[0]), blocks)?;
        let (disks_total, disks_active) = status(path, line, status_line)?;
        let mut state = f[2].to_string();
        let mut blocks_synced = blocks_total;
        let mut sync_idx = i + 2;
        if lines.get(sync_idx).is_some_and(|l| l.contains("bitmap")) {
            sync_idx += 1;
        }
        let sync = lines.get(sync_idx).copied().unwrap_or("");
        let syncing = [
            ("recovery", "recovering"),
            ("check", "checking"),
            ("resync", "resyncing"),
        ]
        .into_iter()
        .find(|(word, _)| sync.contains(word));
        if let Some((_, s)) = syncing {
            state = s.to_string();
            blocks_synced = if sync.contains("PENDING") || sync.contains("DELAYED") {
                0
            } else {
                // "[==>....]  recovery = 12.6% (37888/302592) finish=..."
                let done = sync
                    .split('(')
                    .nth(1)
                    .and_then(|r| r.split_once('/'))
                    .map(|(d, _)| d)
                    .ok_or_else(|| parse_err(path, format!("no (done/total) in {sync:?}")))?;
                num(path, &format!("{} synced blocks", f[0]), done)?
            };
        }
        arrays.push(Array {
            name: f[0].to_string(),
            state,
            disks_active,
            disks_total,
            disks_failed: line.matches("(F)").count() as u64,
            disks_spare: line.matches("(S)").count() as u64,
            blocks_total,
            blocks_synced,
        });
    }
    Ok(arrays)
}

impl Collector for Mdadm {
    fn name(&self) -> &'static str {
        "mdadm"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("mdstat");
        let Some(bytes) = read_opt(&path)? else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&bytes);
        let arrays = parse(&path, &text)?;
        let g = |n: &str, h: &str| Family::new(n, h, Kind::Gauge);
        let mut required = g("node_md_disks_required", "Total number of disks of device.");
        let mut disks = g(
            "node_md_disks",
            "Number of active/failed/spare disks of device.",
        );
        let mut state = g("node_md_state", "Indicates the state of md-device.");
        let mut blocks = g("node_md_blocks", "Total number of blocks on device.");
        let mut synced = g(
            "node_md_blocks_synced",
            "Number of blocks synced on device.",
        );
        for a in &arrays {
            let d = a.name.as_str();
            required.push(&[("device", d)], a.disks_total as f64);
            for (s, v) in [
                ("active", a.disks_active),
                ("failed", a.disks_failed),
                ("spare", a.disks_spare),
            ] {
                disks.push(&[("device", d), ("state", s)], v as f64);
            }
            for (label, s) in [
                ("active", "active"),
                ("inactive", "inactive"),
                ("recovering", "recovering"),
                ("resync", "resyncing"),
                ("check", "checking"),
            ] {
                let on = f64::from(u8::from(a.state == s));
                state.push(&[("device", d), ("state", label)], on);
            }
            blocks.push(&[("device", d)], a.blocks_total as f64);
            synced.push(&[("device", d)], a.blocks_synced as f64);
        }
        out.extend(
            [blocks, synced, disks, required, state]
                .into_iter()
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}
