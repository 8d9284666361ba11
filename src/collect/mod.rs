//! Collectors: one file per collector, registered in [`REGISTRY`].
//!
//! Every collector reads below [`Roots`] so that a container with the host's
//! `/proc`, `/sys` and `/` bind-mounted elsewhere reports the host, not itself.

use std::path::PathBuf;

/// Where the host's procfs, sysfs and root filesystem are visible to us.
#[derive(Clone, Debug)]
pub struct Roots {
    pub procfs: PathBuf,
    pub sysfs: PathBuf,
    pub rootfs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots { procfs: "/proc".into(), sysfs: "/sys".into(), rootfs: "/".into() }
    }
}

/// Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One sample of a family: its labels (in exposition order) and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// One metric family, named exactly as node_exporter names it
/// (counters include their `_total` suffix).
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// Why a collector produced nothing this cycle.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{0}")]
    Other(String),
}

/// Options some collectors take (node_exporter's `--collector.<name>.<option>` flags).
#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Mount points the filesystem collector skips (regex, anchored).
    pub fs_mount_points_exclude: String,
    /// Filesystem types the filesystem collector skips (regex, anchored).
    pub fs_types_exclude: String,
    /// Network devices the netdev collector skips (regex, anchored).
    pub netdev_device_exclude: String,
    /// Block devices the diskstats collector skips (regex, anchored).
    pub diskstats_device_exclude: String,
}

pub trait Collector: Send {
    /// The collector's name as used in `--collector.<name>`.
    fn name(&self) -> &'static str;
    /// Append this cycle's families to `out`. On error nothing partial should be relied upon.
    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError>;
}

/// One entry of the collector registry.
pub struct Registration {
    pub name: &'static str,
    pub default_enabled: bool,
    pub help: &'static str,
    pub build: fn(&CollectOptions) -> Box<dyn Collector>,
}

/// Every collector, in one place. `--collector.<name>` / `--no-collector.<name>` refer to these names.
pub const REGISTRY: &[Registration] = &[];
