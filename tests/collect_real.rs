//! Every registered collector against this machine's real /proc, /sys and /.

use std::collections::HashMap;
use std::path::Path;

use nodecast::collect::{CollectOptions, Family, Kind, Roots, REGISTRY};

fn collect_all() -> (HashMap<String, Family>, Vec<String>) {
    let roots = Roots::default();
    let opts = CollectOptions::default();
    let mut by_name = HashMap::new();
    let mut failed = Vec::new();
    for reg in REGISTRY {
        let mut c = (reg.build)(&opts);
        assert_eq!(
            c.name(),
            reg.name,
            "registration name and collector name differ"
        );
        let mut out = Vec::new();
        match c.collect(&roots, &mut out) {
            Ok(()) => {}
            Err(e) => failed.push(format!("{}: {e}", reg.name)),
        }
        for f in out {
            assert!(
                by_name.insert(f.name.clone(), f).is_none(),
                "family emitted twice"
            );
        }
    }
    (by_name, failed)
}

fn one(fams: &HashMap<String, Family>, name: &str) -> f64 {
    let f = fams.get(name).unwrap_or_else(|| panic!("{name} missing"));
    assert_eq!(f.samples.len(), 1, "{name}");
    f.samples[0].value
}

fn label<'a>(s: &'a nodecast::collect::Sample, k: &str) -> &'a str {
    s.labels
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[test]
fn real_roots_are_plausible() {
    let (fams, failed) = collect_all();
    let pressure_present = Path::new("/proc/pressure").is_dir();
    let hwmon_present = Path::new("/sys/class/hwmon").is_dir();
    let thermal_present = std::fs::read_dir("/sys/class/thermal")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        })
        .unwrap_or(false);
    eprintln!(
        "sources: pressure={pressure_present} hwmon={hwmon_present} thermal_zone={thermal_present}"
    );
    // Only pressure may fail, and only where the kernel has no PSI.
    for f in &failed {
        assert!(
            !pressure_present && f.starts_with("pressure:"),
            "collector failed: {f}"
        );
    }

    let total = one(&fams, "node_memory_MemTotal_bytes");
    let avail = one(&fams, "node_memory_MemAvailable_bytes");
    assert!(total > 0.0 && avail <= total && one(&fams, "node_memory_MemFree_bytes") <= total);
    assert!(one(&fams, "node_memory_SwapFree_bytes") <= one(&fams, "node_memory_SwapTotal_bytes"));

    let cpu = &fams["node_cpu_seconds_total"];
    let idle: Vec<f64> = cpu
        .samples
        .iter()
        .filter(|s| label(s, "mode") == "idle")
        .map(|s| s.value)
        .collect();
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    assert!(
        idle.len() >= ncpu,
        "{} idle series for {ncpu} cpus",
        idle.len()
    );
    assert!(idle.iter().all(|&v| v > 0.0));

    let fs = &fams["node_filesystem_size_bytes"];
    let root = fs
        .samples
        .iter()
        .find(|s| label(s, "mountpoint") == "/")
        .expect("no filesystem for /");
    let root_avail = fams["node_filesystem_avail_bytes"]
        .samples
        .iter()
        .find(|s| s.labels == root.labels);
    assert!(root.value > 0.0 && root_avail.map(|s| s.value <= root.value).unwrap_or(false));
    assert!(fs
        .samples
        .iter()
        .all(|s| !label(s, "mountpoint").starts_with("/proc")));

    let fd = one(&fams, "node_filefd_allocated");
    assert!(fd > 0.0 && fd <= one(&fams, "node_filefd_maximum"));
    assert!(one(&fams, "node_processes_max_processes") >= 1024.0);
    let (pids, threads) = (
        one(&fams, "node_processes_pids"),
        one(&fams, "node_processes_threads"),
    );
    assert!(pids >= 1.0 && threads >= pids && threads <= one(&fams, "node_processes_max_threads"));
    for n in ["node_load1", "node_load5", "node_load15"] {
        assert!(one(&fams, n) >= 0.0, "{n}");
    }
    let rx = &fams["node_network_receive_bytes_total"];
    assert!(
        rx.samples.iter().all(|s| label(s, "device") != "lo"),
        "lo not excluded"
    );

    if pressure_present {
        assert!(one(&fams, "node_pressure_cpu_waiting_seconds_total") >= 0.0);
        assert!(
            one(&fams, "node_pressure_io_stalled_seconds_total")
                <= one(&fams, "node_pressure_io_waiting_seconds_total")
        );
    }
    if thermal_present {
        assert!(fams["node_thermal_zone_temp"]
            .samples
            .iter()
            .all(|s| s.value > -50.0 && s.value < 150.0));
    } else {
        assert!(!fams.contains_key("node_thermal_zone_temp"));
    }
    if !hwmon_present {
        assert!(!fams.keys().any(|k| k.starts_with("node_hwmon_")));
    }
}

#[test]
fn every_family_follows_node_exporter_naming() {
    let (fams, _) = collect_all();
    assert!(fams.len() >= 20, "only {} families", fams.len());
    let name_ok = |n: &str| {
        n.starts_with("node_") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    for f in fams.values() {
        assert!(name_ok(&f.name), "{}", f.name);
        match f.kind {
            Kind::Counter => assert!(
                f.name.ends_with("_total"),
                "counter {} lacks _total",
                f.name
            ),
            Kind::Gauge => assert!(
                !f.name.ends_with("_total"),
                "gauge {} ends in _total",
                f.name
            ),
        }
        assert!(!f.help.is_empty(), "{} has no HELP", f.name);
        assert!(!f.samples.is_empty(), "{} emitted with no samples", f.name);
        for s in &f.samples {
            assert!(s.value.is_finite(), "{} {:?}", f.name, s.labels);
            let keys: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            // node_exporter's client library sorts labels by name.
            assert_eq!(keys, sorted, "{} labels out of order", f.name);
        }
        let mut sets: Vec<_> = f.samples.iter().map(|s| &s.labels).collect();
        let n = sets.len();
        sets.sort();
        sets.dedup();
        assert_eq!(sets.len(), n, "{} has duplicate series", f.name);
    }
}
