//! Small helpers shared by the collectors: reading files under a root,
//! turning parser failures into [`CollectError`]s that name the file,
//! and building families.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::{CollectError, Collector, Family, Kind, Roots, Sample};

/// Largest file a collector reads. The biggest real inputs (mounts of a busy
/// Kubernetes node, /proc/stat of a many-core host) are a few MiB; anything
/// larger is not a kernel file we understand and must not exhaust memory.
pub(crate) const MAX_FILE_BYTES: u64 = 16 << 20;

/// Read a whole file, at most [`MAX_FILE_BYTES`] (a larger one is `InvalidData`).
pub(crate) fn read_io(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    // Room for nearly every procfs/sysfs file up front: read_to_end into an
    // empty Vec first probes with a 32-byte read and then grows the Vec, three
    // or more syscalls and reallocations per file, for files that report size 0.
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes; not a kernel file we understand"),
        ));
    }
    Ok(buf)
}

/// [`read_io`] for text, like `std::fs::read_to_string`.
pub(crate) fn read_to_string(path: impl AsRef<Path>) -> std::io::Result<String> {
    String::from_utf8(read_io(path.as_ref())?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Read a whole file; a missing, unreadable or oversized file is an `Io` error naming it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CollectError> {
    read_io(path).map_err(|source| CollectError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Read an optional file: `Ok(None)` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, CollectError> {
    match read(path) {
        Ok(b) => Ok(Some(b)),
        Err(CollectError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Parse one unsigned integer field, naming `what` in the error.
pub(crate) fn parse_u64(path: &Path, what: &str, s: &str) -> Result<u64, CollectError> {
    s.parse::<u64>()
        .map_err(|_| parse_err(path, format!("{what}: {s:?} is not an unsigned integer")))
}

/// Read a file that must be UTF-8 text (sysfs attributes, procfs sysctls).
pub(crate) fn read_string(path: &Path) -> Result<String, CollectError> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|e| parse_err(path, format!("not UTF-8: {e}")))
}

pub(crate) fn parse_err(path: &Path, reason: impl Display) -> CollectError {
    CollectError::Parse {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Read `path` and parse it with one of procfs-core's parsers. We read the file
/// ourselves (rather than `procfs::...::current()`) so the path honours the roots.
///
/// `bad_line` vets every line first and says what is wrong with it (`None` if
/// fine). This gives errors naming line and field, which procfs-core's do not,
/// and keeps input away from its parsers' byte slicing, which can panic on
/// malformed text (e.g. `Meminfo` slicing off a key's last byte).
pub(crate) fn parse_file<T: procfs::FromRead>(
    path: &Path,
    bad_line: impl Fn(&str) -> Option<String>,
) -> Result<T, CollectError> {
    let bytes = read(path)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| parse_err(path, format!("not UTF-8: {e}")))?;
    if let Some((n, why)) = text
        .lines()
        .enumerate()
        .find_map(|(n, l)| bad_line(l).map(|why| (n + 1, why)))
    {
        return Err(parse_err(path, format!("line {n}: {why}")));
    }
    T::from_read(&bytes[..]).map_err(|e| parse_err(path, procfs_reason(&e)))
}

/// procfs-core reports malformed input as an "internal error ... please report
/// this procfs bug" with its source location; keep only the actual reason.
pub(crate) fn procfs_reason(e: &procfs::ProcError) -> String {
    let msg = e.to_string();
    let last = msg.lines().last().unwrap_or_default();
    let mut reason = last;
    while let Some(rest) = reason.strip_prefix("Internal Unwrap Error: ") {
        reason = rest;
    }
    if reason == "NoneError" {
        "missing field".to_string()
    } else {
        reason.to_string()
    }
}

/// Check that `fields` are all unsigned integers, naming the first that is not.
pub(crate) fn non_numeric(fields: &[&str], what: &str) -> Option<String> {
    fields
        .iter()
        .find(|f| f.parse::<u64>().is_err())
        .map(|f| format!("{what}: {f:?} is not an unsigned integer"))
}

/// Parse a file holding one integer (sysfs attributes, sysctls).
pub(crate) fn read_i64(path: &Path) -> Result<i64, CollectError> {
    let text = read_string(path)?;
    let t = text.trim();
    t.parse::<i64>()
        .map_err(|e| parse_err(path, format!("expected an integer, got {t:?}: {e}")))
}

/// `root` joined with an absolute host path such as `/var/lib` (the leading
/// `/` would otherwise make `Path::join` discard the root).
pub(crate) fn under_root(root: &Path, host_path: &str) -> PathBuf {
    let rel = host_path.trim_start_matches('/');
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    }
}

/// Compile an exclude regex anchored like node_exporter's flags are used
/// (the defaults are already anchored; user values are matched as given).
pub(crate) fn compile(flag: &str, re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("invalid regex for {flag} ({re:?}): {e}"))
}

impl Family {
    pub fn new(name: &str, help: &str, kind: Kind) -> Family {
        Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Append a sample; `labels` in exposition order.
    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples.push(Sample {
            labels,
            tail: None,
            value,
        });
    }

    /// A family with one unlabelled sample.
    pub fn single(name: &str, help: &str, kind: Kind, value: f64) -> Family {
        let mut f = Family::new(name, help, kind);
        f.push(&[], value);
        f
    }
}

/// Stand-in for a collector whose options were invalid: it fails every cycle
/// with the reason, so a bad flag shows up in the logs instead of a panic.
pub(crate) struct Misconfigured {
    pub name: &'static str,
    pub reason: String,
}

impl Collector for Misconfigured {
    fn name(&self) -> &'static str {
        self.name
    }
    fn collect(&mut self, _roots: &Roots, _out: &mut Vec<Family>) -> Result<(), CollectError> {
        Err(CollectError::Other(format!(
            "collector {}: {}",
            self.name, self.reason
        )))
    }
}
