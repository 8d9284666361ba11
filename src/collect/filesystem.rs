//! `filesystem`: node_filesystem_* {device,fstype,mountpoint} for the host's mounts.
//!
//! Mounts come from `<procfs>/1/mounts` (pid 1's mount namespace is the host's
//! when the host procfs is mounted), each is statvfs'ed at `<rootfs>/<mountpoint>`
//! and labelled with the host path.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;

use super::util::{compile, parse_err, read, under_root, Misconfigured};
use super::{CollectError, CollectOptions, Collector, Family, Kind, Roots};

/// node_exporter's `--collector.filesystem.mount-timeout` default.
pub const MOUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// What statvfs tells us, already in bytes / inodes.
#[derive(Clone, Copy, Debug)]
pub struct FsStats {
    pub size: f64,
    pub free: f64,
    pub avail: f64,
    pub files: f64,
    pub files_free: f64,
}

pub type StatFn = fn(&Path) -> std::io::Result<FsStats>;

pub fn statvfs(path: &Path) -> std::io::Result<FsStats> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` is a plain C struct
    // that statvfs fully initialises on success; we only read it when rc == 0.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Block counts are in f_frsize units; f_bsize is only the preferred I/O size.
    let unit = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    } as f64;
    Ok(FsStats {
        size: st.f_blocks as f64 * unit,
        free: st.f_bfree as f64 * unit,
        avail: st.f_bavail as f64 * unit,
        files: st.f_files as f64,
        files_free: st.f_ffree as f64,
    })
}

pub struct Filesystem {
    mount_exclude: Regex,
    type_exclude: Regex,
    timeout: Duration,
    stat: StatFn,
    /// Paths whose statvfs is still running from an earlier cycle (a hung NFS or
    /// FUSE server). They get device_error=1 without another thread until the
    /// old call returns, so a dead mount costs one blocked thread, not one per scrape.
    in_flight: Arc<Mutex<HashSet<PathBuf>>>,
    /// Helper threads waiting for a statvfs to run. Spawning one per mount per
    /// cycle cost more than the statvfs calls; a helper stuck on a hung mount
    /// is simply not here until its call returns.
    idle: Arc<Mutex<Vec<mpsc::Sender<Job>>>>,
}

/// How long a cycle waits for a mount's statvfs before handing the next mount
/// to another helper: a healthy mount answers in microseconds, so one helper
/// normally serves every mount in turn.
const PATIENCE: Duration = Duration::from_millis(2);

type StatResult = (usize, std::io::Result<FsStats>);

/// One statvfs for a helper; `back` is the helper's own queue, returned to the
/// idle list when the call is done.
struct Job {
    i: usize,
    path: PathBuf,
    stat: StatFn,
    done: mpsc::Sender<StatResult>,
    back: mpsc::Sender<Job>,
}

/// A helper holds the idle list weakly and no sender of its own queue, so it
/// ends once the collector (and with it the idle list) is gone.
fn spawn_helper(
    idle: &Arc<Mutex<Vec<mpsc::Sender<Job>>>>,
    in_flight: &Arc<Mutex<HashSet<PathBuf>>>,
) -> std::io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let (idle, in_flight) = (Arc::downgrade(idle), Arc::clone(in_flight));
    std::thread::Builder::new()
        .name("statvfs".into())
        .spawn(move || {
            for job in rx {
                let r = (job.stat)(&job.path);
                lock(&in_flight).remove(&job.path);
                // Back on the idle list before the result is sent, so a cycle that
                // has its results finds every helper that produced them.
                if let Some(idle) = idle.upgrade() {
                    lock(&idle).push(job.back);
                }
                let _ = job.done.send((job.i, r)); // receiver gone after a timeout: nothing to do
            }
        })?;
    Ok(tx)
}

pub fn build(o: &CollectOptions) -> Box<dyn Collector> {
    match Filesystem::new(o, MOUNT_TIMEOUT, statvfs) {
        Ok(f) => Box::new(f),
        Err(reason) => Box::new(Misconfigured {
            name: "filesystem",
            reason,
        }),
    }
}

struct Mount {
    device: String,
    fstype: String,
    mountpoint: String,
    readonly: bool,
}

/// Undo the kernel's octal escaping of space, tab, newline and backslash in
/// /proc/mounts. procfs-core's parser misses `\040`, which breaks any mount
/// point containing a space, so this file parses the lines itself.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| {
                u8::try_from(d.iter().fold(0u16, |acc, c| acc * 8 + u16::from(c - b'0'))).ok()
            });
        match (b[i], oct) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves a still-usable set.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Filesystem {
    /// `stat` is the statvfs to use; tests pass one that blocks, to exercise the timeout.
    pub fn new(o: &CollectOptions, timeout: Duration, stat: StatFn) -> Result<Filesystem, String> {
        Ok(Filesystem {
            mount_exclude: compile(
                "--collector.filesystem.mount-points-exclude",
                &o.fs_mount_points_exclude,
            )?,
            type_exclude: compile(
                "--collector.filesystem.fs-types-exclude",
                &o.fs_types_exclude,
            )?,
            timeout,
            stat,
            in_flight: Arc::default(),
            idle: Arc::default(),
        })
    }

    fn mounts(&self, roots: &Roots) -> Result<Vec<Mount>, CollectError> {
        let mut path = roots.procfs.join("1/mounts");
        let bytes = match read(&path) {
            // Same fallback as node_exporter when pid 1 is not visible.
            Err(CollectError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                path = roots.procfs.join("self/mounts");
                read(&path)?
            }
            other => other?,
        };
        let text = String::from_utf8_lossy(&bytes);
        // A mount point mounted over keeps its line; the last one is what
        // statvfs sees, so it wins (and the series stays unique).
        let mut by_point: HashMap<String, usize> = HashMap::new();
        let mut out: Vec<Mount> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [device, mountpoint, fstype, options, ..] = f[..] else {
                return Err(parse_err(
                    &path,
                    format!("line {}: expected at least 4 fields: {line:?}", n + 1),
                ));
            };
            let m = Mount {
                device: unescape(device),
                mountpoint: unescape(mountpoint),
                fstype: unescape(fstype),
                readonly: options.split(',').any(|o| o == "ro"),
            };
            if self.mount_exclude.is_match(&m.mountpoint) || self.type_exclude.is_match(&m.fstype) {
                continue;
            }
            match by_point.get(&m.mountpoint) {
                Some(&i) => out[i] = m,
                None => {
                    by_point.insert(m.mountpoint.clone(), out.len());
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    /// statvfs every mount on the helpers, giving up on each after one shared deadline.
    fn stat_all(&self, roots: &Roots, mounts: &[Mount]) -> Vec<Option<FsStats>> {
        let mut results = vec![None; mounts.len()];
        let (tx, rx) = mpsc::channel();
        let mut pending = vec![false; mounts.len()];
        let mut waiting = 0;
        let deadline = Instant::now() + self.timeout;
        let record = |(i, r): StatResult,
                      results: &mut Vec<Option<FsStats>>,
                      pending: &mut Vec<bool>| {
            pending[i] = false;
            match r {
                Ok(s) => results[i] = Some(s),
                Err(e) => {
                    tracing::debug!(mountpoint = %mounts[i].mountpoint, error = %e, "statvfs failed")
                }
            }
        };
        for (i, m) in mounts.iter().enumerate() {
            let path = under_root(&roots.rootfs, &m.mountpoint);
            if !lock(&self.in_flight).insert(path.clone()) {
                tracing::debug!(mountpoint = %m.mountpoint, "statvfs from an earlier cycle still running");
                continue;
            }
            let helper = match lock(&self.idle).pop() {
                Some(h) => Ok(h),
                None => spawn_helper(&self.idle, &self.in_flight),
            };
            let sent = helper.and_then(|h| {
                let job = Job {
                    i,
                    path: path.clone(),
                    stat: self.stat,
                    done: tx.clone(),
                    back: h.clone(),
                };
                h.send(job)
                    .map_err(|_| std::io::Error::other("statvfs helper ended"))
            });
            if let Err(e) = sent {
                lock(&self.in_flight).remove(&path);
                tracing::warn!(mountpoint = %m.mountpoint, error = %e, "cannot start statvfs");
                continue;
            }
            pending[i] = true;
            waiting += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(r) = rx.recv_timeout(PATIENCE.min(left)) {
                record(r, &mut results, &mut pending);
                waiting -= 1;
            }
        }
        while waiting > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(r) => record(r, &mut results, &mut pending),
                Err(_) => {
                    let stuck: Vec<&str> = mounts
                        .iter()
                        .zip(&pending)
                        .filter(|(_, &p)| p)
                        .map(|(m, _)| m.mountpoint.as_str())
                        .collect();
                    tracing::warn!(?stuck, timeout = ?self.timeout, "statvfs timed out; reporting device_error");
                    break;
                }
            }
            waiting -= 1;
        }
        results
    }
}

impl Collector for Filesystem {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let mounts = self.mounts(roots)?;
        let stats = self.stat_all(roots, &mounts);
        let g = |n: &str, h: &str| Family::new(n, h, Kind::Gauge);
        let mut size = g("node_filesystem_size_bytes", "Filesystem size in bytes.");
        let mut free = g(
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
        );
        let mut avail = g(
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        );
        let mut files = g("node_filesystem_files", "Filesystem total file nodes.");
        let mut files_free = g(
            "node_filesystem_files_free",
            "Filesystem total free file nodes.",
        );
        let mut ro = g("node_filesystem_readonly", "Filesystem read-only status.");
        let mut err = g(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
        );
        for (m, s) in mounts.iter().zip(stats) {
            let l = [
                ("device", m.device.as_str()),
                ("fstype", &m.fstype),
                ("mountpoint", &m.mountpoint),
            ];
            ro.push(&l, if m.readonly { 1.0 } else { 0.0 });
            err.push(&l, if s.is_some() { 0.0 } else { 1.0 });
            let Some(s) = s else { continue };
            size.push(&l, s.size);
            free.push(&l, s.free);
            avail.push(&l, s.avail);
            files.push(&l, s.files);
            files_free.push(&l, s.files_free);
        }
        out.extend(
            [size, free, avail, files, files_free, ro, err]
                .into_iter()
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn unescapes_kernel_octal() {
        assert_eq!(unescape(r"/a\040b\011c\134d"), "/a b\tc\\d");
        // Not a valid byte / not octal / truncated: left alone rather than panicking.
        assert_eq!(unescape(r"/x\777y\08z\04"), r"/x\777y\08z\04");
    }
}
