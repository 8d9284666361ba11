//! Collectors: one file per collector, registered in [`REGISTRY`].
//!
//! Every collector reads below [`Roots`] so that a container with the host's
//! `/proc`, `/sys` and `/` bind-mounted elsewhere reports the host, not itself.
//!
//! Names, labels (sorted by name, as node_exporter's client library emits them),
//! units and HELP texts follow node_exporter so node-mixin queries work unchanged.
//! Things to know when deploying:
//! - `netdev` reads `<procfs>/net/dev`, which the kernel resolves through
//!   `self`, i.e. our network namespace: run with host networking to see the host's NICs.
//! - `filesystem` statvfs'es each mount in a helper thread and waits at most
//!   [`filesystem::MOUNT_TIMEOUT`] (5 s, node_exporter's default), so `collect`
//!   may block that long; a mount that hangs reports device_error=1 and is not
//!   retried until its earlier call returns.
//! - `hwmon` and `thermal_zone` return no families (and no error) where sysfs
//!   has no such class, as on VMs; `pressure` fails where the kernel lacks PSI.
//!   `conntrack`, `bonding` and `mdadm` likewise stay empty without the module,
//!   bonds or arrays.
//! - `timex` (adjtimex(2)) and `uname` (uname(2)) are syscalls: they report the
//!   kernel we run on and ignore the roots; `time` reads the clock and only its
//!   clocksources from sysfs.
//! - Every file is read through `util::read`, which refuses files over 16 MiB,
//!   so no input can make a collector allocate without bound.

use std::path::PathBuf;

pub mod bonding;
pub mod build_info;
pub mod conntrack;
pub mod cpu;
pub mod diskstats;
pub mod filefd;
pub mod filesystem;
pub mod hwmon;
pub mod loadavg;
pub mod mdadm;
pub mod meminfo;
pub mod netclass;
pub mod netdev;
pub mod os;
pub mod pressure;
pub mod processes;
pub mod stat;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod uname;
mod util;
pub mod vmstat;

/// Where the host's procfs, sysfs and root filesystem are visible to us.
#[derive(Clone, Debug)]
pub struct Roots {
    pub procfs: PathBuf,
    pub sysfs: PathBuf,
    pub rootfs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            procfs: "/proc".into(),
            sysfs: "/sys".into(),
            rootfs: "/".into(),
        }
    }
}

/// Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// A sample's labels, in exposition order. Shared: the samples of every family
/// about one series (a forecast's point and bounds, the monitor's MASE, coverage
/// and count) hold one set for the series instead of a copy each, which for 512
/// forecast series was most of the published families' heap blocks.
pub type Labels = std::sync::Arc<[(String, String)]>;

/// One sample of a family: its labels and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    /// Labels exposed after `labels` (a forecast's `horizon`, the monitor's
    /// `horizon` and `window`): one set per cycle for every series, so that the
    /// series' own set can be shared by its samples. Collectors leave it `None`.
    pub tail: Option<Labels>,
    pub value: f64,
}

impl Sample {
    pub fn new(labels: Labels, value: f64) -> Sample {
        Sample {
            labels,
            tail: None,
            value,
        }
    }
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
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
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
    /// Network devices the netclass collector skips (regex, anchored).
    pub netclass_ignored_devices: String,
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
pub const REGISTRY: &[Registration] = &[
    reg("cpu", "Exposes CPU statistics", cpu::build),
    reg("meminfo", "Exposes memory statistics", meminfo::build),
    reg(
        "filesystem",
        "Exposes filesystem statistics, such as disk space used",
        filesystem::build,
    ),
    reg("diskstats", "Exposes disk I/O statistics", diskstats::build),
    reg(
        "netdev",
        "Exposes network interface statistics such as bytes transferred",
        netdev::build,
    ),
    reg("loadavg", "Exposes load average", loadavg::build),
    reg(
        "pressure",
        "Exposes pressure stall statistics from /proc/pressure/",
        pressure::build,
    ),
    reg(
        "filefd",
        "Exposes file descriptor statistics from /proc/sys/fs/file-nr",
        filefd::build,
    ),
    reg(
        "processes",
        "Exposes aggregate process statistics from /proc",
        processes::build,
    ),
    reg(
        "hwmon",
        "Expose hardware monitoring and sensor data from /sys/class/hwmon/",
        hwmon::build,
    ),
    reg(
        "thermal_zone",
        "Exposes thermal zone & cooling device statistics from /sys/class/thermal",
        thermal_zone::build,
    ),
    reg(
        "stat",
        "Exposes various statistics from /proc/stat",
        stat::build,
    ),
    reg(
        "vmstat",
        "Exposes statistics from /proc/vmstat",
        vmstat::build,
    ),
    reg(
        "netclass",
        "Exposes network interface info from /sys/class/net/",
        netclass::build,
    ),
    reg(
        "conntrack",
        "Shows conntrack statistics (does nothing if no /proc/sys/net/netfilter/ present)",
        conntrack::build,
    ),
    reg(
        "timex",
        "Exposes selected adjtimex(2) system call stats",
        timex::build,
    ),
    reg(
        "time",
        "Exposes the current system time",
        time::build,
    ),
    reg(
        "uname",
        "Exposes system information as provided by the uname system call",
        uname::build,
    ),
    reg(
        "os",
        "Expose OS release info",
        os::build,
    ),
    reg(
        "bonding",
        "Exposes the number of configured and active slaves of Linux bonding interfaces",
        bonding::build,
    ),
    reg(
        "mdadm",
        "Exposes statistics about devices in /proc/mdstat (does nothing if no /proc/mdstat present)",
        mdadm::build,
    ),
    reg(
        "build_info",
        "Exposes node_exporter_build_info (version nodecast-…), which node-mixin dashboards list instances by",
        build_info::build,
    ),
];

const fn reg(
    name: &'static str,
    help: &'static str,
    build: fn(&CollectOptions) -> Box<dyn Collector>,
) -> Registration {
    Registration {
        name,
        default_enabled: true,
        help,
        build,
    }
}

/// node_exporter's default `--collector.filesystem.mount-points-exclude`.
pub const DEFAULT_FS_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
/// node_exporter's default `--collector.filesystem.fs-types-exclude`.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";
/// node_exporter's default `--collector.diskstats.device-exclude`.
pub const DEFAULT_DISKSTATS_DEVICE_EXCLUDE: &str =
    r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";
/// kube-prometheus's node-exporter default (`^(veth.*|[a-f0-9]{15})$`: container
/// veths and Calico/Cilium host ends, which would otherwise double a Kubernetes
/// node's series), plus loopback, which carries no node traffic worth forecasting
/// (node_exporter keeps it by default).
pub const DEFAULT_NETDEV_DEVICE_EXCLUDE: &str = "^(lo|veth.*|[a-f0-9]{15})$";
/// The same devices for the netclass collector (`--collector.netclass.ignored-devices`).
pub const DEFAULT_NETCLASS_IGNORED_DEVICES: &str = DEFAULT_NETDEV_DEVICE_EXCLUDE;

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            fs_mount_points_exclude: DEFAULT_FS_MOUNT_POINTS_EXCLUDE.into(),
            fs_types_exclude: DEFAULT_FS_TYPES_EXCLUDE.into(),
            netdev_device_exclude: DEFAULT_NETDEV_DEVICE_EXCLUDE.into(),
            netclass_ignored_devices: DEFAULT_NETCLASS_IGNORED_DEVICES.into(),
            diskstats_device_exclude: DEFAULT_DISKSTATS_DEVICE_EXCLUDE.into(),
        }
    }
}

impl CollectOptions {
    /// Check every regex, so a bad flag fails at startup rather than as a
    /// collector that errors every cycle.
    pub fn validate(&self) -> Result<(), String> {
        util::compile(
            "--collector.filesystem.mount-points-exclude",
            &self.fs_mount_points_exclude,
        )?;
        util::compile(
            "--collector.filesystem.fs-types-exclude",
            &self.fs_types_exclude,
        )?;
        util::compile(
            "--collector.netdev.device-exclude",
            &self.netdev_device_exclude,
        )?;
        util::compile(
            "--collector.netclass.ignored-devices",
            &self.netclass_ignored_devices,
        )?;
        util::compile(
            "--collector.diskstats.device-exclude",
            &self.diskstats_device_exclude,
        )?;
        Ok(())
    }
}

/// Build every registered collector whose name `enabled` accepts, in registry order.
pub fn build_enabled(
    opts: &CollectOptions,
    enabled: impl Fn(&Registration) -> bool,
) -> Vec<Box<dyn Collector>> {
    REGISTRY
        .iter()
        .filter(|r| enabled(r))
        .map(|r| (r.build)(opts))
        .collect()
}
