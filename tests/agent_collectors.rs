//! A scrape of the real agent on this machine carries every collector's series with
//! plausible values (collectors whose source this machine lacks report nothing, not errors).
mod common;
use common::*;
use std::path::Path;

#[test]
fn scrape_has_every_collector_with_plausible_values() {
    let d = tempfile::tempdir().unwrap();
    let a = Agent::start(&d.path().join("s"), &fast_flags());
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let m = a.scrape();
    let get = |name: &str, labels: &[&str]| {
        sample(&m, name, labels).unwrap_or_else(|| panic!("{name}{labels:?} missing"))
    };

    assert!(get("node_cpu_seconds_total", &["mode=\"idle\""]) > 0.0);
    assert!(get("node_cpu_seconds_total", &["mode=\"user\""]) > 0.0);
    let total = get("node_memory_MemTotal_bytes", &[]);
    let avail = get("node_memory_MemAvailable_bytes", &[]);
    assert!(
        total > 64.0 * 1048576.0 && avail > 0.0 && avail <= total,
        "{avail} / {total}"
    );
    for n in [
        "node_memory_MemFree_bytes",
        "node_memory_Buffers_bytes",
        "node_memory_Cached_bytes",
        "node_memory_SwapTotal_bytes",
        "node_memory_SwapFree_bytes",
    ] {
        assert!(get(n, &[]) >= 0.0);
    }
    let size = get("node_filesystem_size_bytes", &["mountpoint=\"/\""]);
    let favail = get("node_filesystem_avail_bytes", &["mountpoint=\"/\""]);
    assert!(size > 0.0 && favail <= size);
    assert!(
        get("node_filesystem_files", &["mountpoint=\"/\""])
            >= get("node_filesystem_files_free", &["mountpoint=\"/\""])
    );
    assert!(samples(&m, "node_filesystem_size_bytes")
        .iter()
        .all(|l| !l.contains("fstype=\"proc\"") && !l.contains("mountpoint=\"/sys\"")));
    assert!(
        !samples(&m, "node_disk_read_bytes_total").is_empty()
            || !Path::new("/proc/diskstats").exists()
    );
    assert!(samples(&m, "node_network_receive_bytes_total")
        .iter()
        .all(|l| !l.contains("device=\"lo\"")));
    assert!(get("node_load1", &[]) >= 0.0 && get("node_load15", &[]) >= 0.0);
    if Path::new("/proc/pressure/cpu").exists() {
        assert!(get("node_pressure_cpu_waiting_seconds_total", &[]) >= 0.0);
        assert!(get("node_pressure_io_stalled_seconds_total", &[]) >= 0.0);
    }
    assert!(get("node_filefd_allocated", &[]) <= get("node_filefd_maximum", &[]));
    assert!(get("node_processes_threads", &[]) >= 1.0);
    assert!(get("node_processes_max_processes", &[]) >= 1024.0);
    assert!(get("node_boot_time_seconds", &[]) > 1e9);
    assert!(get("node_context_switches_total", &[]) > 0.0);
    assert!(get("node_vmstat_pgfault", &[]) > 0.0);
    assert!(get("node_timex_tick_seconds", &[]) > 0.0);
    assert!(get("node_time_seconds", &[]) > 1e9);
    assert_eq!(get("node_uname_info", &["sysname=\"Linux\""]), 1.0);
    assert!(samples(&m, "node_network_up")
        .iter()
        .all(|l| !l.contains("device=\"lo\"") && !l.contains("device=\"veth")));
    if std::fs::read_dir("/sys/class/hwmon")
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
    {
        assert!(!samples(&m, "node_hwmon_temp_celsius").is_empty());
    }
    // Every enabled collector ran and succeeded, or (pressure, hwmon, thermal) lacks its source.
    for c in [
        "cpu",
        "meminfo",
        "filesystem",
        "diskstats",
        "netdev",
        "loadavg",
        "filefd",
        "processes",
        "stat",
        "vmstat",
        "netclass",
        "conntrack",
        "timex",
        "time",
        "uname",
        "os",
        "bonding",
        "mdadm",
        "build_info",
    ] {
        assert_eq!(
            sample(
                &m,
                "nodecast_collector_success",
                &[&format!("collector=\"{c}\"")]
            ),
            Some(1.0),
            "collector {c}"
        );
    }
    // Self-metrics.
    assert!(get("nodecast_store_samples_stored_total", &[]) > 0.0);
    assert!(get("nodecast_store_series", &[]) > 10.0);
    assert_eq!(
        get("nodecast_store_retention_seconds", &["tier=\"raw\""]),
        172800.0
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn disabled_collector_and_failing_collector_are_handled() {
    let d = tempfile::tempdir().unwrap();
    // An empty procfs: every /proc collector fails, is counted, and the agent keeps serving.
    let empty = d.path().join("emptyproc");
    std::fs::create_dir_all(&empty).unwrap();
    let mut flags = fast_flags();
    flags.extend([
        "--no-collector.cpu".to_string(),
        format!("--path.procfs={}", empty.display()),
    ]);
    let a = Agent::start(&d.path().join("s"), &flags);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let m = a.scrape();
    assert!(
        samples(&m, "node_cpu_seconds_total").is_empty(),
        "cpu was disabled"
    );
    assert!(sample(&m, "nodecast_collector_success", &["collector=\"cpu\""]).is_none());
    assert_eq!(
        sample(&m, "nodecast_collector_success", &["collector=\"meminfo\""]),
        Some(0.0)
    );
    assert!(
        sample(
            &m,
            "nodecast_collector_errors_total",
            &["collector=\"meminfo\""]
        )
        .unwrap()
            >= 2.0
    );
    let warnings = a
        .log_text()
        .lines()
        .filter(|l| l.contains("collector failed") && l.contains("meminfo"))
        .count();
    assert_eq!(
        warnings, 1,
        "a failing collector logs once, not every cycle"
    );
    assert_eq!(a.stop().code(), Some(0));
}

#[test]
fn dropped_samples_are_counted_by_reason() {
    let d = tempfile::tempdir().unwrap();
    let mut flags = fast_flags();
    flags.push("--storage.max-series=5".to_string());
    let a = Agent::start(&d.path().join("s"), &flags);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let m = a.scrape();
    let dropped = |reason: &str| {
        sample(
            &m,
            "nodecast_store_samples_dropped_total",
            &[&format!("reason=\"{reason}\"")],
        )
        .unwrap_or_else(|| panic!("no dropped counter for {reason}"))
    };
    // Far more than 5 series per cycle: all but 5 are refused every cycle.
    assert!(dropped("series_limit") > 50.0, "{m}");
    assert_eq!(get_or_zero(&m, "nodecast_store_series"), 5.0);
    // The other reasons exist at 0, so rate() and alerts see them.
    for r in ["out_of_order", "store_error", "clock_step"] {
        assert_eq!(dropped(r), 0.0, "{r}");
    }
    assert_eq!(a.stop().code(), Some(0));
}

fn get_or_zero(m: &str, name: &str) -> f64 {
    sample(m, name, &[]).unwrap_or(0.0)
}
