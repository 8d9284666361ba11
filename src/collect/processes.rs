//! `processes`: thread/pid counts and their limits, as node_exporter's processes collector.

use std::io::ErrorKind;

use procfs::process::Stat;
use procfs::FromRead;

use super::util::{parse_err, procfs_reason, read_i64};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Processes;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Processes)
}

/// procfs-core's `Stat` slices around the parentheses with byte offsets that
/// panic (underflow, reversed range, non-char boundary) unless the line looks
/// like `pid (comm) rest`; check that shape first.
fn stat_shape_ok(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim().as_bytes();
    let (Some(open), Some(close)) = (
        t.iter().position(|&b| b == b'('),
        t.iter().rposition(|&b| b == b')'),
    ) else {
        return false;
    };
    open >= 2 && t[open - 1] == b' ' && close > open && t.get(close + 1) == Some(&b' ')
}

/// Count pids and sum their threads over `<procfs>/[pid]/stat`.
fn count(roots: &Roots) -> Result<(u64, u64), CollectError> {
    let dir = &roots.procfs;
    let entries = std::fs::read_dir(dir).map_err(|source| CollectError::Io {
        path: dir.clone(),
        source,
    })?;
    let (mut pids, mut threads) = (0u64, 0u64);
    for entry in entries {
        let entry = entry.map_err(|source| CollectError::Io {
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = entry.path().join("stat");
        let bytes = match super::util::read_io(&path) {
            Ok(b) => b,
            // The process exited between readdir and open; node_exporter skips these too.
            Err(e) if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
                continue
            }
            Err(source) => return Err(CollectError::Io { path, source }),
        };
        if !stat_shape_ok(&bytes) {
            let head: String = String::from_utf8_lossy(&bytes).chars().take(60).collect();
            return Err(parse_err(
                &path,
                format!("expected \"pid (comm) state ...\", got {head:?}"),
            ));
        }
        let stat = Stat::from_read(&bytes[..]).map_err(|e| {
            let head: String = String::from_utf8_lossy(&bytes).chars().take(60).collect();
            parse_err(&path, format!("{} in {head:?}", procfs_reason(&e)))
        })?;
        pids += 1;
        threads += u64::try_from(stat.num_threads)
            .map_err(|_| parse_err(&path, format!("negative num_threads {}", stat.num_threads)))?;
    }
    Ok((pids, threads))
}

impl Collector for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let (pids, threads) = count(roots)?;
        let max_threads = read_i64(&roots.procfs.join("sys/kernel/threads-max"))?;
        let max_pids = read_i64(&roots.procfs.join("sys/kernel/pid_max"))?;
        let g = |name: &str, help: &str, v: f64| Family::single(name, help, Kind::Gauge, v);
        out.push(g(
            "node_processes_threads",
            "Allocated threads in system",
            threads as f64,
        ));
        out.push(g(
            "node_processes_max_threads",
            "Limit of threads in the system",
            max_threads as f64,
        ));
        out.push(g("node_processes_pids", "Number of PIDs", pids as f64));
        out.push(g(
            "node_processes_max_processes",
            "Number of max PIDs limit",
            max_pids as f64,
        ));
        Ok(())
    }
}
