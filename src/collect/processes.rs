//! `processes`: thread/pid counts and their limits, as node_exporter's processes collector.
//!
//! On a real procfs the thread count of a process is taken from the link count
//! of its `task` directory (one stat(2) per process); elsewhere (fixtures) from
//! field 20 of its `stat` record. The kernel fills both from get_nr_threads().

use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::util::{parse_err, read_i64, read_io};
use super::{CollectError, Collector, Family, Kind, Roots};

/// What one `[pid]/stat` read gets; a record that fills it is read again whole
/// (through `read_io`, with its size cap). Real records are under 400 bytes.
const STAT_BUF: usize = 4096;

/// Keeps its buffers across cycles: this collector opens every process's stat
/// file each cycle, by far the most files of any collector.
#[derive(Default)]
pub struct Processes {
    buf: Vec<u8>,
    path: PathBuf,
}

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Processes::default())
}

/// `num_threads` (field 20) of a `pid (comm) state ...` record. The comm may
/// hold spaces and parentheses, so fields are counted after the last `)`.
fn num_threads(bytes: &[u8]) -> Result<u64, String> {
    let head = || {
        let h: String = String::from_utf8_lossy(bytes).chars().take(60).collect();
        format!("expected \"pid (comm) state ...\", got {h:?}")
    };
    let t = bytes.trim_ascii();
    let (Some(open), Some(close)) = (
        t.iter().position(|&b| b == b'('),
        t.iter().rposition(|&b| b == b')'),
    ) else {
        return Err(head());
    };
    let pid_ok = open >= 2 && t[open - 1] == b' ' && t[..open - 1].iter().all(u8::is_ascii_digit);
    if !pid_ok || close < open || t.get(close + 1) != Some(&b' ') {
        return Err(head());
    }
    let mut rest = t[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    // state, then ppid .. nice (fields 4-19), then num_threads.
    let field = rest
        .nth(17)
        .ok_or_else(|| format!("missing num_threads: {}", head()))?;
    let text = std::str::from_utf8(field).unwrap_or("");
    match text.parse::<i64>() {
        Ok(n) => u64::try_from(n).map_err(|_| format!("negative num_threads {n}")),
        Err(_) => Err(format!("num_threads: {text:?} is not an integer")),
    }
}

/// The process exited between readdir and our look at it.
fn gone(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// Whether `dir` is a real procfs (not a copy of one, as in the fixtures).
fn is_procfs(dir: &Path) -> bool {
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is NUL-terminated and `st` a plain C struct statfs fills on success.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type as u64 == PROC_SUPER_MAGIC
}

impl Processes {
    /// Read `path` into `self.buf`: one read for a normal record.
    fn read_stat(&mut self, path: &Path) -> std::io::Result<()> {
        self.buf.clear();
        self.buf.resize(STAT_BUF, 0);
        let mut f = std::fs::File::open(path)?;
        let n = loop {
            match f.read(&mut self.buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        // procfs hands a seq_file record that fits over in one read, and a
        // regular file (fixtures) reads short only at its end.
        if n < STAT_BUF {
            self.buf.truncate(n);
        } else {
            self.buf = read_io(path)?;
        }
        Ok(())
    }

    /// Count pids and sum their threads over `<procfs>/[pid]/stat`.
    fn count(&mut self, roots: &Roots) -> Result<(u64, u64), CollectError> {
        let dir = &roots.procfs;
        let entries = std::fs::read_dir(dir).map_err(|source| CollectError::Io {
            path: dir.clone(),
            source,
        })?;
        let on_procfs = is_procfs(dir);
        let (mut pids, mut threads) = (0u64, 0u64);
        let mut path = std::mem::take(&mut self.path);
        for entry in entries {
            let entry = entry.map_err(|source| CollectError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if !name.as_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            path.clone_from(dir);
            path.push(&name);
            if on_procfs {
                path.push("task");
                match std::fs::metadata(&path) {
                    // procfs gives a task directory 2 + the process's thread count
                    // links, the same get_nr_threads() that stat's field 20 prints:
                    // one stat(2) instead of open, read and close of a record the
                    // kernel formats 52 fields for.
                    Ok(m) if m.nlink() >= 3 => {
                        pids += 1;
                        threads += m.nlink() - 2;
                        continue;
                    }
                    Err(e) if gone(&e) => continue,
                    // Anything else: read the record, which reports errors properly.
                    _ => {}
                }
                path.pop();
            }
            path.push("stat");
            match self.read_stat(&path) {
                Ok(()) => {}
                // The process exited between readdir and open; node_exporter skips these too.
                Err(e) if gone(&e) => continue,
                Err(source) => return Err(CollectError::Io { path, source }),
            }
            let n = num_threads(&self.buf).map_err(|why| parse_err(&path, why))?;
            pids += 1;
            threads += n;
        }
        self.path = path;
        Ok((pids, threads))
    }
}

impl Collector for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let (pids, threads) = self.count(roots)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const REST: &str = "S 1 42 42 0 -1 4194560 100 200 10 20 30 40 50 60 20 0 7 0 10 170000000";

    #[test]
    fn num_threads_counts_fields_after_the_last_paren() {
        assert_eq!(
            num_threads(format!("42 (a) b) ({REST}\n").as_bytes()),
            Ok(7)
        );
        assert!(num_threads(b"42 (a) S 1 2 3\n")
            .unwrap_err()
            .contains("missing num_threads"));
        let neg = REST.replace(" 7 ", " -7 ");
        assert!(num_threads(format!("1 (a) {neg}").as_bytes())
            .unwrap_err()
            .contains("negative"));
        assert!(num_threads(format!("x1 (a) {REST}").as_bytes()).is_err());
    }

    #[test]
    fn task_links_and_stat_records_agree_on_this_process() {
        assert!(is_procfs(Path::new("/proc")));
        assert!(!is_procfs(Path::new(env!("CARGO_MANIFEST_DIR"))));
        let own = Path::new("/proc/self");
        let _helper = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(2)));
        let links = || {
            std::fs::metadata(own.join("task"))
                .expect("task dir")
                .nlink()
                - 2
        };
        // Other tests start and end threads meanwhile, even between two equal link
        // counts; a wrong count would never agree, a race only sometimes.
        for _ in 0..200 {
            let before = links();
            let stat = num_threads(&std::fs::read(own.join("stat")).expect("stat"));
            if links() == before && stat == Ok(before) {
                assert!(before >= 2, "the test thread and its helper");
                return;
            }
        }
        panic!("task link count and num_threads never agreed on this process");
    }

    #[test]
    fn task_links_and_stat_records_agree_on_a_quiet_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .expect("spawn sleep");
        let dir = Path::new("/proc").join(child.id().to_string());
        let links = std::fs::metadata(dir.join("task"))
            .expect("task dir")
            .nlink()
            - 2;
        let stat = num_threads(&std::fs::read(dir.join("stat")).expect("stat"));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!((links, stat), (1, Ok(1)));
    }

    #[test]
    fn a_record_larger_than_one_read_is_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let comm = "c".repeat(2 * STAT_BUF);
        let stat = dir.path().join("1/stat");
        std::fs::create_dir_all(stat.parent().expect("parent")).expect("mkdir");
        std::fs::write(&stat, format!("1 ({comm}) {REST}\n")).expect("write");
        let roots = Roots {
            procfs: dir.path().into(),
            sysfs: dir.path().into(),
            rootfs: dir.path().into(),
        };
        assert_eq!(Processes::default().count(&roots).expect("count"), (1, 7));
    }
}
