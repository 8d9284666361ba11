//! Each collector against the small fake proc/sys trees in tests/fixtures/collect.

mod collect_common;
use collect_common::*;

use std::collections::HashMap;
use std::path::Path;

use nodecast::collect::{CollectError, CollectOptions, Kind, Roots, REGISTRY};

#[test]
fn cpu_seconds_per_cpu_and_mode() {
    let f = good("cpu");
    let cpu = &f["node_cpu_seconds_total"];
    assert_eq!(cpu.kind, Kind::Counter);
    // cpu1 is offline in the fixture: the label must say 2, not 1.
    assert_eq!(label_values(cpu, "cpu"), ["0", "2"]);
    assert_eq!(cpu.samples.len(), 16);
    assert_eq!(
        val(
            &f,
            "node_cpu_seconds_total",
            &[("cpu", "2"), ("mode", "user")]
        ),
        2.0
    );
    assert_eq!(
        val(
            &f,
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "idle")]
        ),
        25.0
    );
    assert_eq!(
        val(
            &f,
            "node_cpu_seconds_total",
            &[("cpu", "2"), ("mode", "steal")]
        ),
        0.04
    );
    assert_eq!(
        val(
            &f,
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "softirq")]
        ),
        0.03
    );
    assert!(label_values(cpu, "mode").iter().all(|m| m != "guest"));
}

#[test]
fn cpu_idle_does_not_go_backwards_but_user_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = Roots {
        procfs: dir.path().into(),
        sysfs: dir.path().into(),
        rootfs: dir.path().into(),
    };
    let stat = |idle: u32, user: u32| {
        let text = format!(
            "cpu  {user} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {user} 0 0 {idle} 0 0 0 0 0 0\nctxt 1\nbtime 1\nprocesses 1\n"
        );
        std::fs::write(dir.path().join("stat"), text).expect("write stat");
    };
    let reg = REGISTRY
        .iter()
        .find(|r| r.name == "cpu")
        .expect("cpu registered");
    let mut c = (reg.build)(&CollectOptions::default());
    let mut collect = || {
        let mut out = Vec::new();
        c.collect(&r, &mut out).expect("collect");
        let f: HashMap<_, _> = out.into_iter().map(|f| (f.name.clone(), f)).collect();
        let get = |m| val(&f, "node_cpu_seconds_total", &[("cpu", "0"), ("mode", m)]);
        (get("idle"), get("user"))
    };
    stat(1000, 500);
    assert_eq!(collect(), (10.0, 5.0));
    stat(990, 400);
    assert_eq!(collect(), (10.0, 4.0));
    stat(1100, 400);
    assert_eq!(collect(), (11.0, 4.0));
}

#[test]
fn meminfo_bytes() {
    let f = good("meminfo");
    for (field, kb) in [
        ("MemTotal", 2048000.0),
        ("MemFree", 512000.0),
        ("MemAvailable", 1024000.0),
        ("Buffers", 16000.0),
        ("Cached", 256000.0),
        ("SwapTotal", 100000.0),
        ("SwapFree", 90000.0),
    ] {
        let name = format!("node_memory_{field}_bytes");
        assert_eq!(val(&f, &name, &[]), kb * 1024.0, "{name}");
        assert_eq!(f[&name].kind, Kind::Gauge);
    }
    // node-mixin's instance:node_memory_utilisation:ratio falls back to Slab.
    assert_eq!(val(&f, "node_memory_Slab_bytes", &[]), 338972.0 * 1024.0);
    assert_eq!(
        val(&f, "node_memory_SUnreclaim_bytes", &[]),
        41508.0 * 1024.0
    );
    assert_eq!(
        val(&f, "node_memory_Committed_AS_bytes", &[]),
        782508.0 * 1024.0
    );
    assert_eq!(f.len(), 21);
}

#[test]
fn loadavg_exact_decimals() {
    let f = good("loadavg");
    assert_eq!(val(&f, "node_load1", &[]), 0.43);
    assert_eq!(val(&f, "node_load5", &[]), 1.05);
    assert_eq!(val(&f, "node_load15", &[]), 12.5);
}

#[test]
fn diskstats_default_exclude_and_units() {
    let f = good("diskstats");
    assert_eq!(
        label_values(&f["node_disk_read_bytes_total"], "device"),
        ["nvme0n1", "sda"]
    );
    let d = [("device", "sda")];
    assert_eq!(val(&f, "node_disk_reads_completed_total", &d), 1000.0);
    assert_eq!(val(&f, "node_disk_writes_completed_total", &d), 400.0);
    assert_eq!(val(&f, "node_disk_read_bytes_total", &d), 20000.0 * 512.0);
    assert_eq!(val(&f, "node_disk_written_bytes_total", &d), 8000.0 * 512.0);
    assert_eq!(val(&f, "node_disk_io_time_seconds_total", &d), 1.5);
    assert_eq!(val(&f, "node_disk_io_time_weighted_seconds_total", &d), 0.8);
    assert_eq!(
        val(
            &f,
            "node_disk_io_time_seconds_total",
            &[("device", "nvme0n1")]
        ),
        2.5
    );

    let opts = CollectOptions {
        diskstats_device_exclude: "^$".into(),
        ..CollectOptions::default()
    };
    let all = run_with("diskstats", &roots("good"), &opts).expect("diskstats");
    assert_eq!(all["node_disk_reads_completed_total"].samples.len(), 6);
}

#[test]
fn netdev_counters_without_lo_and_container_interfaces() {
    let f = good("netdev");
    // lo, a veth and a 15-hex-digit CNI host end are excluded by default (kube-prometheus).
    assert_eq!(
        label_values(&f["node_network_receive_bytes_total"], "device"),
        ["eth0", "wlan0"]
    );
    let e = [("device", "eth0")];
    assert_eq!(val(&f, "node_network_receive_bytes_total", &e), 75201471.0);
    assert_eq!(val(&f, "node_network_transmit_bytes_total", &e), 397256.0);
    assert_eq!(val(&f, "node_network_receive_errs_total", &e), 3.0);
    assert_eq!(val(&f, "node_network_receive_drop_total", &e), 4.0);
    assert_eq!(val(&f, "node_network_transmit_errs_total", &e), 5.0);
    assert_eq!(val(&f, "node_network_transmit_drop_total", &e), 6.0);
    assert_eq!(val(&f, "node_network_receive_packets_total", &e), 4965.0);
    assert_eq!(val(&f, "node_network_transmit_packets_total", &e), 3896.0);
    assert_eq!(f["node_network_receive_packets_total"].kind, Kind::Counter);
    assert_eq!(
        val(
            &f,
            "node_network_receive_bytes_total",
            &[("device", "wlan0")]
        ),
        1e12
    );

    let opts = CollectOptions {
        netdev_device_exclude: "^eth".into(),
        ..CollectOptions::default()
    };
    let f = run_with("netdev", &roots("good"), &opts).expect("netdev");
    assert_eq!(
        label_values(&f["node_network_receive_bytes_total"], "device"),
        ["a1b2c3d4e5f6a7b", "lo", "veth1a2b3c4", "wlan0"]
    );
}

#[test]
fn pressure_seconds() {
    let f = good("pressure");
    assert_eq!(
        val(&f, "node_pressure_cpu_waiting_seconds_total", &[]),
        10.376102
    );
    assert_eq!(
        val(&f, "node_pressure_memory_waiting_seconds_total", &[]),
        3.268304
    );
    assert_eq!(
        val(&f, "node_pressure_memory_stalled_seconds_total", &[]),
        2.860154
    );
    assert_eq!(val(&f, "node_pressure_io_waiting_seconds_total", &[]), 0.5);
    assert_eq!(val(&f, "node_pressure_io_stalled_seconds_total", &[]), 0.25);
}

#[test]
fn filefd_and_processes() {
    let f = good("filefd");
    assert_eq!(val(&f, "node_filefd_allocated", &[]), 2048.0);
    assert_eq!(val(&f, "node_filefd_maximum", &[]), 9223372036854775807.0);
    let p = good("processes");
    assert_eq!(val(&p, "node_processes_pids", &[]), 2.0);
    assert_eq!(val(&p, "node_processes_threads", &[]), 6.0);
    assert_eq!(val(&p, "node_processes_max_threads", &[]), 192729.0);
    assert_eq!(val(&p, "node_processes_max_processes", &[]), 4194304.0);
}

/// `stat -f` (coreutils) on the same directory: block size × blocks, and inodes.
fn coreutils_statfs(dir: &Path) -> (f64, f64) {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%S %b %c"])
        .arg(dir)
        .output()
        .expect("run stat");
    let s = String::from_utf8(out.stdout).expect("utf8");
    let n: Vec<f64> = s
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    (n[0] * n[1], n[2])
}

#[test]
fn filesystem_mounts_excludes_dedupe_and_errors() {
    let f = good("filesystem");
    let err = &f["node_filesystem_device_error"];
    assert_eq!(
        label_values(err, "mountpoint"),
        ["/", "/data", "/gone", "/space dir"]
    );
    let gone = [
        ("device", "server:/export"),
        ("fstype", "nfs4"),
        ("mountpoint", "/gone"),
    ];
    assert_eq!(val(&f, "node_filesystem_device_error", &gone), 1.0);
    assert!(label_values(&f["node_filesystem_size_bytes"], "mountpoint")
        .iter()
        .all(|m| m != "/gone"));
    // The later mount over /data is the visible one.
    let data = [
        ("device", "/dev/vdd"),
        ("fstype", "xfs"),
        ("mountpoint", "/data"),
    ];
    assert_eq!(val(&f, "node_filesystem_readonly", &data), 1.0);
    assert_eq!(val(&f, "node_filesystem_device_error", &data), 0.0);
    assert_eq!(f["node_filesystem_size_bytes"].samples.len(), 3);

    let root = [
        ("device", "/dev/vda1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ];
    let (size, files) = coreutils_statfs(&base("good").join("root"));
    assert_eq!(val(&f, "node_filesystem_size_bytes", &root), size);
    assert_eq!(val(&f, "node_filesystem_files", &root), files);
    assert!(
        val(&f, "node_filesystem_avail_bytes", &root)
            <= val(&f, "node_filesystem_free_bytes", &root)
    );
    assert_eq!(val(&f, "node_filesystem_readonly", &root), 0.0);
}

#[test]
fn hwmon_chip_names_and_temperatures() {
    let f = good("hwmon");
    let t = "node_hwmon_temp_celsius";
    assert_eq!(
        val(
            &f,
            t,
            &[("chip", "platform_coretemp_0"), ("sensor", "temp1")]
        ),
        45.0
    );
    assert_eq!(
        val(
            &f,
            t,
            &[("chip", "platform_coretemp_0"), ("sensor", "temp2")]
        ),
        47.5
    );
    assert_eq!(
        val(&f, t, &[("chip", "acpi_thermal_zone"), ("sensor", "temp1")]),
        -5.0
    );
    assert_eq!(f[t].samples.len(), 3);
    let c = [("chip", "platform_coretemp_0"), ("sensor", "temp1")];
    assert_eq!(val(&f, "node_hwmon_temp_max_celsius", &c), 100.0);
    assert_eq!(val(&f, "node_hwmon_temp_crit_celsius", &c), 105.0);
    assert_eq!(f["node_hwmon_temp_max_celsius"].samples.len(), 1);
    assert_eq!(
        val(
            &f,
            "node_hwmon_chip_names",
            &[("chip", "platform_coretemp_0"), ("chip_name", "coretemp")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &f,
            "node_hwmon_chip_names",
            &[
                ("chip", "acpi_thermal_zone"),
                ("chip_name", "acpi_thermal_zone")
            ]
        ),
        1.0
    );
    let l = [
        ("chip", "platform_coretemp_0"),
        ("label", "Package id 0"),
        ("sensor", "temp1"),
    ];
    assert_eq!(val(&f, "node_hwmon_sensor_label", &l), 1.0);
    assert_eq!(f["node_hwmon_sensor_label"].samples.len(), 1);
}

#[test]
fn thermal_zone_skips_unreadable_zone() {
    let f = good("thermal_zone");
    let z = &f["node_thermal_zone_temp"];
    assert_eq!(z.samples.len(), 1);
    assert_eq!(
        val(
            &f,
            "node_thermal_zone_temp",
            &[("type", "x86_pkg_temp"), ("zone", "0")]
        ),
        51.0
    );
}

#[test]
fn malformed_files_are_parse_errors_naming_the_file() {
    // The reason must say where and what, not just "parse error".
    for (name, file, says) in [
        ("cpu", "proc/stat", "line 2: cpu0: \"three\""),
        ("meminfo", "proc/meminfo", "line 1: key MemTotal: \"lots\""),
        ("loadavg", "proc/loadavg", "line 1: expected"),
        (
            "diskstats",
            "proc/diskstats",
            "line 1: expected at least 14 fields, got 6",
        ),
        (
            "netdev",
            "proc/net/dev",
            "line 3: interface eth0: expected 16 counters, got 3",
        ),
        ("pressure", "proc/pressure/cpu", "line 1: truncated record"),
        ("filefd", "proc/sys/fs/file-nr", "expected 3 fields, got 2"),
        ("processes", "proc/7/stat", "garbage without parens"),
        (
            "filesystem",
            "proc/1/mounts",
            "line 2: expected at least 4 fields",
        ),
        ("hwmon", "sys/class/hwmon/hwmon0/temp1_input", "\"warm\""),
        (
            "thermal_zone",
            "sys/class/thermal/thermal_zone0/temp",
            "\"hot\"",
        ),
        ("stat", "proc/stat", "missing lines: intr, procs_running"),
        ("vmstat", "proc/vmstat", "line 2: pgmajfault: \"lots\""),
        (
            "conntrack",
            "proc/sys/net/netfilter/nf_conntrack_count",
            "\"-5\"",
        ),
        ("mdadm", "proc/mdstat", "md0 blocks: \"lots\""),
        ("netclass", "sys/class/net/eth0/mtu", "\"lots\""),
        ("bonding", "sys/class/net/bonding_masters", "\"../x\""),
        (
            "os",
            "root/etc/os-release",
            "line 1: unterminated quote in NAME",
        ),
    ] {
        match run(name, "bad") {
            Err(CollectError::Parse { path, reason }) => {
                assert_eq!(path, base("bad").join(file), "{name}: {reason}");
                assert!(
                    reason.contains(says),
                    "{name}: reason {reason:?} lacks {says:?}"
                );
                assert!(!reason.contains("procfs bug"), "{name}: {reason}");
            }
            other => panic!("{name}: expected Parse error for {file}, got {other:?}"),
        }
    }
    // A meminfo lacking lines procfs needs names them.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("meminfo"),
        "MemTotal: 5 kB\nMemFree: 1 kB\nMemAvailable: 2 kB\n",
    )
    .expect("write");
    let r = Roots {
        procfs: dir.path().into(),
        sysfs: dir.path().into(),
        rootfs: dir.path().into(),
    };
    match run_with("meminfo", &r, &CollectOptions::default()) {
        Err(CollectError::Parse { reason, .. }) => {
            assert!(reason.contains("Buffers, Cached"), "{reason}")
        }
        other => panic!("expected Parse error for short meminfo, got {other:?}"),
    }
    // pid_max is read after the (valid-free) process scan, so check it alone.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("sys/kernel")).expect("mkdir");
    std::fs::write(dir.path().join("sys/kernel/threads-max"), "100\n").expect("write");
    std::fs::write(dir.path().join("sys/kernel/pid_max"), "many\n").expect("write");
    let r = Roots {
        procfs: dir.path().into(),
        sysfs: dir.path().into(),
        rootfs: dir.path().into(),
    };
    match run_with("processes", &r, &CollectOptions::default()) {
        Err(CollectError::Parse { path, .. }) => {
            assert_eq!(path, dir.path().join("sys/kernel/pid_max"))
        }
        other => panic!("expected Parse error for pid_max, got {other:?}"),
    }
}

#[test]
fn missing_files_are_io_errors_naming_the_file() {
    for (name, file) in [
        ("cpu", "proc/stat"),
        ("meminfo", "proc/meminfo"),
        ("loadavg", "proc/loadavg"),
        ("diskstats", "proc/diskstats"),
        ("netdev", "proc/net/dev"),
        ("pressure", "proc/pressure/cpu"),
        ("filefd", "proc/sys/fs/file-nr"),
        ("processes", "proc"),
        ("filesystem", "proc/self/mounts"),
        ("stat", "proc/stat"),
        ("vmstat", "proc/vmstat"),
        ("netclass", "sys/class/net"),
    ] {
        match run(name, "absent") {
            Err(CollectError::Io { path, source }) => {
                assert_eq!(path, base("absent").join(file), "{name}");
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{name}: expected Io error for {file}, got {other:?}"),
        }
    }
    // Hardware or modules this node may lack: nothing, and no error.
    for name in ["hwmon", "thermal_zone", "conntrack", "bonding", "mdadm"] {
        let f = run(name, "absent")
            .unwrap_or_else(|e| panic!("{name} must not fail without sysfs: {e}"));
        assert!(f.is_empty(), "{name} emitted {f:?}");
    }
}

#[test]
fn invalid_exclude_regex_is_reported_not_panicked() {
    let opts = CollectOptions {
        netdev_device_exclude: "(".into(),
        ..CollectOptions::default()
    };
    assert!(opts.validate().is_err());
    assert!(CollectOptions::default().validate().is_ok());
    match run_with("netdev", &roots("good"), &opts) {
        Err(CollectError::Other(msg)) => assert!(msg.contains("netdev"), "{msg}"),
        other => panic!("expected Other error, got {other:?}"),
    }
}

#[test]
fn pressure_cpu_without_full_line_as_before_linux_5_13() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("pressure");
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::write(
        p.join("cpu"),
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n",
    )
    .expect("write");
    for f in ["memory", "io"] {
        std::fs::copy(base("good").join("proc/pressure").join(f), p.join(f)).expect("copy");
    }
    let r = Roots {
        procfs: dir.path().into(),
        sysfs: dir.path().into(),
        rootfs: dir.path().into(),
    };
    let f = run_with("pressure", &r, &CollectOptions::default()).expect("pressure");
    assert_eq!(val(&f, "node_pressure_cpu_waiting_seconds_total", &[]), 2.0);
    // memory and io must still have their full line.
    std::fs::write(
        p.join("io"),
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
    )
    .expect("write");
    match run_with("pressure", &r, &CollectOptions::default()) {
        Err(CollectError::Parse { path, .. }) => assert_eq!(path, p.join("io")),
        other => panic!("expected Parse error for io, got {other:?}"),
    }
}

/// Inputs that would make procfs-core's parsers slice out of bounds or off a
/// character boundary: each must come back as a Parse error, not a panic.
#[test]
fn hostile_input_is_a_parse_error_not_a_panic() {
    let cases: &[(&str, &str, &str)] = &[
        ("meminfo", "meminfo", "MemTotalé 5 kB\n"),
        ("meminfo", "meminfo", "MemTotal:\n"),
        ("pressure", "pressure/cpu", "someé avg10=0.00\n"),
        ("processes", "1/stat", ") 1 (\n"),
        ("processes", "1/stat", "(x) S 1\n"),
        ("processes", "1/stat", "1 (x)\n"),
        ("processes", "1/stat", "é(x) S 1\n"),
        ("filesystem", "1/mounts", "a b c\n"),
        ("loadavg", "loadavg", "\n"),
        ("diskstats", "diskstats", "8 0\n"),
        ("netdev", "net/dev", "h|\nh|\nlo: 1 2\n"),
        ("cpu", "stat", "cpu\n"),
        ("stat", "stat", "ctxt\nbtime 1\n"),
        ("stat", "stat", "intr 1é\n"),
        ("vmstat", "vmstat", "pgmajfault\n"),
        ("vmstat", "vmstat", "pgmajfault 1 2\n"),
        ("vmstat", "vmstat", "pgé 1\n"),
        ("vmstat", "vmstat", "nr_free_pages 1\n"),
        ("mdadm", "mdstat", "md0 : active raid1 sda1[0]\n"),
        ("mdadm", "mdstat", "md0\n"),
        (
            "mdadm",
            "mdstat",
            "md0 : active raid1 sda1[0]\n      5 blocks [2/\n",
        ),
        (
            "mdadm",
            "mdstat",
            "md0 : active raid1 sda1[0]\n      5 blocks [2/1] [U_]\n      recovery = 1% (\n",
        ),
        ("os", "etc/os-release", "NAME='x\n"),
        ("os", "etc/os-release", "garbage\n"),
        ("conntrack", "sys/net/netfilter/nf_conntrack_count", "é\n"),
    ];
    for (name, file, content) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        let r = Roots {
            procfs: dir.path().into(),
            sysfs: dir.path().into(),
            rootfs: dir.path().into(),
        };
        match run_with(name, &r, &CollectOptions::default()) {
            Err(CollectError::Parse { path: p, .. }) => assert_eq!(p, path, "{name} {content:?}"),
            other => panic!("{name} on {content:?}: expected Parse error, got {other:?}"),
        }
    }
}
