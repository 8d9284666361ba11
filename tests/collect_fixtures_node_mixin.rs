//! The collectors added for node-mixin parity (stat, vmstat, conntrack, mdadm,
//! netclass, bonding, time, os, timex, uname, build_info) against the fake trees
//! in tests/fixtures/collect, or against this machine where the source is a syscall.

mod collect_common;
use collect_common::*;

use nodecast::collect::timex::{families, Reading};
use nodecast::collect::{CollectOptions, Kind};

#[test]
fn stat_counters_and_gauges() {
    let f = good("stat");
    assert_eq!(val(&f, "node_intr_total", &[]), 12345.0);
    assert_eq!(val(&f, "node_context_switches_total", &[]), 1000.0);
    assert_eq!(val(&f, "node_forks_total", &[]), 50.0);
    assert_eq!(val(&f, "node_boot_time_seconds", &[]), 1_700_000_000.0);
    assert_eq!(val(&f, "node_procs_running", &[]), 1.0);
    assert_eq!(val(&f, "node_procs_blocked", &[]), 0.0);
    assert_eq!(f["node_context_switches_total"].kind, Kind::Counter);
    assert_eq!(f["node_boot_time_seconds"].kind, Kind::Gauge);
}

#[test]
fn vmstat_default_fields_only() {
    let f = good("vmstat");
    for (k, v) in [
        ("pgpgin", 1190765.0),
        ("pgpgout", 9445340.0),
        ("pswpin", 3.0),
        ("pswpout", 7.0),
        ("pgfault", 29058312.0),
        ("pgmajfault", 1019.0),
        ("oom_kill", 2.0),
    ] {
        assert_eq!(val(&f, &format!("node_vmstat_{k}"), &[]), v, "{k}");
    }
    // nr_free_pages, pgalloc_normal and pgrefill are not in node_exporter's default set.
    assert_eq!(f.len(), 7, "{:?}", f.keys());
}

#[test]
fn conntrack_entries_and_limit() {
    let f = good("conntrack");
    assert_eq!(val(&f, "node_nf_conntrack_entries", &[]), 1234.0);
    assert_eq!(val(&f, "node_nf_conntrack_entries_limit", &[]), 262144.0);
}

#[test]
fn mdadm_healthy_degraded_recovering_raid0_and_inactive_arrays() {
    let f = good("mdadm");
    let disks =
        |dev: &str, state: &str| val(&f, "node_md_disks", &[("device", dev), ("state", state)]);
    let req = |dev: &str| val(&f, "node_md_disks_required", &[("device", dev)]);
    let state = |dev: &str, s: &str| val(&f, "node_md_state", &[("device", dev), ("state", s)]);
    // md0 healthy raid1 with a bitmap line.
    assert_eq!((req("md0"), disks("md0", "active")), (2.0, 2.0));
    assert_eq!(state("md0", "active"), 1.0);
    // md1 lost a disk: node-mixin's NodeRAIDDegraded is required - active > 0.
    assert_eq!((req("md1"), disks("md1", "active")), (2.0, 1.0));
    assert_eq!(disks("md1", "failed"), 1.0);
    // md2 rebuilds onto a new disk, with a spare.
    assert_eq!(state("md2", "recovering"), 1.0);
    assert_eq!(state("md2", "active"), 0.0);
    assert_eq!(disks("md2", "spare"), 1.0);
    assert_eq!(val(&f, "node_md_blocks", &[("device", "md2")]), 302592.0);
    assert_eq!(
        val(&f, "node_md_blocks_synced", &[("device", "md2")]),
        37888.0
    );
    // raid0 has no [n/m]: every member counts as active and required.
    assert_eq!((req("md3"), disks("md3", "active")), (2.0, 2.0));
    assert_eq!(state("md4", "inactive"), 1.0);
    assert_eq!(req("md4"), 0.0);
    assert_eq!(
        label_values(&f["node_md_state"], "state"),
        ["active", "check", "inactive", "recovering", "resync"]
    );
}

#[test]
fn netclass_properties_and_default_ignored_devices() {
    let f = good("netclass");
    // lo and the veth are ignored by default; bond0, eth0 and eth1 stay.
    assert_eq!(
        label_values(&f["node_network_up"], "device"),
        ["bond0", "eth0", "eth1"]
    );
    let d = |dev| [("device", dev)];
    assert_eq!(val(&f, "node_network_up", &d("eth0")), 1.0);
    assert_eq!(val(&f, "node_network_up", &d("eth1")), 0.0);
    assert_eq!(val(&f, "node_network_carrier", &d("eth0")), 1.0);
    assert_eq!(val(&f, "node_network_mtu_bytes", &d("eth1")), 9000.0);
    assert_eq!(
        val(&f, "node_network_speed_bytes", &d("eth0")),
        125_000_000.0
    );
    // Unknown speed stays -1 Mbit/s, as node_exporter reports it.
    assert_eq!(val(&f, "node_network_speed_bytes", &d("eth1")), -125_000.0);
    // Properties node-mixin does not read are not stored per interface.
    assert!(!f.contains_key("node_network_carrier_changes_total"));
    // A down link's driver refuses carrier: no sample rather than a made-up 0.
    assert_eq!(
        label_values(&f["node_network_carrier"], "device"),
        ["bond0", "eth0"]
    );
    let info = [
        ("address", "02:fc:00:00:00:01"),
        ("broadcast", "ff:ff:ff:ff:ff:ff"),
        ("device", "eth0"),
        ("duplex", "full"),
        ("ifalias", "uplink"),
        ("operstate", "up"),
    ];
    assert_eq!(val(&f, "node_network_info", &info), 1.0);

    let opts = CollectOptions {
        netclass_ignored_devices: "^$".into(),
        ..CollectOptions::default()
    };
    let all = run_with("netclass", &roots("good"), &opts).expect("netclass");
    assert_eq!(
        label_values(&all["node_network_up"], "device"),
        ["bond0", "eth0", "eth1", "lo", "veth9f8e7d"]
    );
}

#[test]
fn bonding_counts_configured_and_up_slaves() {
    let f = good("bonding");
    assert_eq!(val(&f, "node_bonding_slaves", &[("master", "bond0")]), 2.0);
    assert_eq!(val(&f, "node_bonding_active", &[("master", "bond0")]), 1.0);
}

#[test]
fn time_now_zone_and_clocksources() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let f = good("time");
    let t = val(&f, "node_time_seconds", &[]);
    assert!(t >= before && t < before + 60.0, "{t} vs {before}");
    assert_eq!(f["node_time_zone_offset_seconds"].samples.len(), 1);
    assert_eq!(
        label_values(&f["node_time_clocksource_available_info"], "clocksource"),
        ["acpi_pm", "hpet", "tsc"]
    );
    let cur = [("clocksource", "tsc"), ("device", "0")];
    assert_eq!(val(&f, "node_time_clocksource_current_info", &cur), 1.0);
}

#[test]
fn os_release_labels_and_version() {
    let f = good("os");
    let info = &f["node_os_info"].samples[0];
    let get = |k: &str| {
        info.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no label {k}"))
    };
    assert_eq!(info.labels.len(), 12);
    assert_eq!(get("pretty_name"), "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(get("version_codename"), "bookworm");
    // Double quotes take \" and \\ escapes, single quotes nothing (as node_exporter).
    assert_eq!(get("variant"), "edge \"box\" \\o/");
    assert_eq!(get("variant_id"), "single \\quoted");
    assert_eq!(get("image_id"), "");
    let v = [
        ("id", "debian"),
        ("id_like", ""),
        ("name", "Debian GNU/Linux"),
    ];
    assert_eq!(val(&f, "node_os_version", &v), 12.0);

    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path().join("usr/lib");
    std::fs::create_dir_all(&lib).expect("mkdir");
    // No etc/os-release: usr/lib/os-release is the fallback.
    for (version_id, want) in [("22.04.3", 22.04), ("rolling", 0.0), ("7", 7.0)] {
        std::fs::write(
            lib.join("os-release"),
            format!("ID=x\nVERSION_ID={version_id}\n"),
        )
        .expect("write");
        let f = run_with("os", &roots_at(dir.path()), &CollectOptions::default()).expect("os");
        let v = [("id", "x"), ("id_like", ""), ("name", "")];
        assert_eq!(val(&f, "node_os_version", &v), want, "{version_id}");
    }
}

#[test]
fn timex_units_follow_adjtimex_notes() {
    let r = Reading {
        state: libc::TIME_ERROR,
        offset: -2_500_000,
        freq: 65536 * 10,
        maxerror: 16_000_000,
        status: libc::STA_NANO | libc::STA_UNSYNC,
        tick: 10_000,
        ..Reading::default()
    };
    let f: std::collections::HashMap<_, _> = families(&r)
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect();
    assert_eq!(val(&f, "node_timex_sync_status", &[]), 0.0);
    // STA_NANO: offset in ns.
    assert_eq!(val(&f, "node_timex_offset_seconds", &[]), -0.0025);
    assert_eq!(val(&f, "node_timex_maxerror_seconds", &[]), 16.0);
    assert_eq!(val(&f, "node_timex_tick_seconds", &[]), 0.01);
    let ratio = val(&f, "node_timex_frequency_adjustment_ratio", &[]);
    assert!((ratio - 1.00001).abs() < 1e-12, "{ratio}");
    let us = Reading {
        state: libc::TIME_OK,
        offset: -2_500,
        status: 0,
        ..r
    };
    let f: std::collections::HashMap<_, _> = families(&us)
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect();
    assert_eq!(val(&f, "node_timex_sync_status", &[]), 1.0);
    // Without STA_NANO: offset in µs.
    assert_eq!(val(&f, "node_timex_offset_seconds", &[]), -0.0025);
    // The real syscall on this machine works unprivileged.
    let live = good("timex");
    assert!(val(&live, "node_timex_tick_seconds", &[]) > 0.0);
}

#[test]
fn uname_matches_the_kernel() {
    let f = good("uname");
    let s = &f["node_uname_info"].samples[0];
    let get = |k: &str| {
        s.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let read = |p: &str| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(get("sysname"), "Linux");
    assert_eq!(get("release"), read("/proc/sys/kernel/osrelease"));
    assert_eq!(get("nodename"), read("/proc/sys/kernel/hostname"));
    assert_eq!(get("version"), read("/proc/sys/kernel/version"));
}

#[test]
fn build_info_says_nodecast() {
    let f = good("build_info");
    let s = &f["node_exporter_build_info"].samples[0];
    let version = s
        .labels
        .iter()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        version,
        Some(concat!("nodecast-", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn oversized_file_is_an_error_not_an_unbounded_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Valid lines, 17 MiB of them: beyond the 16 MiB any kernel file here needs.
    let line = "pgmajfault 1\n";
    let text = line.repeat(17 * 1024 * 1024 / line.len() + 1);
    for file in ["vmstat", "stat", "meminfo"] {
        std::fs::write(dir.path().join(file), &text).expect("write");
    }
    for name in ["vmstat", "stat", "meminfo"] {
        match run_with(name, &roots_at(dir.path()), &CollectOptions::default()) {
            Err(nodecast::collect::CollectError::Io { path, source }) => {
                assert_eq!(path, dir.path().join(name));
                assert_eq!(source.kind(), std::io::ErrorKind::InvalidData, "{source}");
            }
            other => panic!("{name}: expected an Io error, got {other:?}"),
        }
    }
}

/// Whatever bytes a kernel file (or a bind-mounted stand-in) holds, the new
/// collectors return families or an error, never panic.
mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    const FILES: [(&str, &str); 8] = [
        ("stat", "stat"),
        ("vmstat", "vmstat"),
        ("mdadm", "mdstat"),
        ("conntrack", "sys/net/netfilter/nf_conntrack_count"),
        ("os", "etc/os-release"),
        ("bonding", "class/net/bonding_masters"),
        ("netclass", "class/net/eth0/mtu"),
        (
            "time",
            "devices/system/clocksource/clocksource0/current_clocksource",
        ),
    ];

    /// Text shaped like the real files (keys, numbers, brackets, quotes) plus noise.
    fn kernelish() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just("md0 : active raid1 sda1[0](F) ".to_string()),
            Just("1024 blocks [2/1] [U_]".to_string()),
            Just("recovery = 1% (5/10)".to_string()),
            Just("bitmap".to_string()),
            Just("pgmajfault ".to_string()),
            Just("intr ".to_string()),
            Just("NAME=\"".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just("\n".to_string()),
            Just(" ".to_string()),
            "[0-9]{1,25}",
            "\\PC{0,8}",
        ];
        prop::collection::vec(token, 0..30).prop_map(|t| t.concat().into_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn never_panics(which in 0..FILES.len(), bytes in prop_oneof![kernelish(), prop::collection::vec(any::<u8>(), 0..200)]) {
            let (name, file) = FILES[which];
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            if name == "conntrack" {
                std::fs::write(path.with_file_name("nf_conntrack_max"), &bytes).unwrap();
            }
            if name == "bonding" {
                // Slaves of whatever master names the bytes hold.
                std::fs::create_dir_all(dir.path().join("class/net/bond0/bonding")).unwrap();
                std::fs::write(dir.path().join("class/net/bond0/bonding/slaves"), &bytes).unwrap();
            }
            let _ = run_with(name, &roots_at(dir.path()), &CollectOptions::default());
        }
    }
}
