//! Our collectors next to the real node_exporter (Debian's
//! prometheus-node-exporter) on the same machine: same family names, TYPE,
//! HELP and label names, the same series, and values that agree.
//!
//! Skipped (with a message) where the binary is not installed.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nodecast::collect::{CollectOptions, Family, Kind, Roots, REGISTRY};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One scraped family: TYPE, HELP and series (labels → value).
#[derive(Default, Debug)]
struct Scraped {
    kind: String,
    help: String,
    series: HashMap<Vec<(String, String)>, f64>,
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((k, v)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = v.char_indices();
        let mut end = v.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => val.push('\n'),
                    Some((_, o)) => val.push(o),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        out.push((k.trim_start_matches(',').to_string(), val));
        rest = &v[end..];
    }
    out
}

fn scrape(port: u16) -> HashMap<String, Scraped> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("send");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    let mut fams: HashMap<String, Scraped> = HashMap::new();
    for line in body
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
        .lines()
    {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            fams.entry(name.into()).or_default().help = help.into();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            fams.entry(name.into()).or_default().kind = kind.into();
        } else if !line.is_empty() && !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, parse_labels(l.trim_end_matches('}'))),
                None => (series, Vec::new()),
            };
            let v: f64 = value.parse().expect("sample value");
            fams.entry(name.into())
                .or_default()
                .series
                .insert(labels, v);
        }
    }
    fams
}

fn ours() -> HashMap<String, Family> {
    let (roots, opts) = (Roots::default(), CollectOptions::default());
    let mut out = Vec::new();
    for reg in REGISTRY {
        let mut c = (reg.build)(&opts);
        if let Err(e) = c.collect(&roots, &mut out) {
            eprintln!("our {} failed: {e}", reg.name);
        }
    }
    out.into_iter().map(|f| (f.name.clone(), f)).collect()
}

fn series(f: &Family) -> HashMap<Vec<(String, String)>, f64> {
    f.samples
        .iter()
        .map(|s| (s.labels.to_vec(), s.value))
        .collect()
}

/// Families whose values can be compared and how: exact (configuration and
/// capacities) or sandwiched between our reading before and after the scrape
/// (counters that only grow). Everything else is compared by name and series only.
fn exact(name: &str) -> bool {
    matches!(
        name,
        "node_memory_MemTotal_bytes"
            | "node_memory_SwapTotal_bytes"
            | "node_filefd_maximum"
            | "node_processes_max_threads"
            | "node_processes_max_processes"
            | "node_filesystem_size_bytes"
            | "node_filesystem_files"
            | "node_filesystem_readonly"
            | "node_filesystem_device_error"
            | "node_boot_time_seconds"
            | "node_nf_conntrack_entries_limit"
            | "node_timex_sync_status"
            | "node_timex_status"
            | "node_timex_tick_seconds"
            | "node_timex_loop_time_constant"
            | "node_timex_tai_offset_seconds"
            | "node_time_zone_offset_seconds"
            | "node_time_clocksource_available_info"
            | "node_time_clocksource_current_info"
            | "node_uname_info"
            | "node_os_info"
            | "node_os_version"
            | "node_network_up"
            | "node_network_info"
            | "node_network_carrier"
            | "node_network_mtu_bytes"
            | "node_network_speed_bytes"
            | "node_memory_CommitLimit_bytes"
    )
}

fn sandwiched(name: &str, labels: &[(String, String)]) -> bool {
    // idle and iowait may step back in the kernel (we hold them, node_exporter 1.5 does not).
    let jittery = labels
        .iter()
        .any(|(k, v)| k == "mode" && (v == "idle" || v == "iowait"));
    (name.starts_with("node_cpu_seconds_total") && !jittery)
        || name.starts_with("node_disk_")
        || name.starts_with("node_network_")
        || name.starts_with("node_pressure_")
        || name.starts_with("node_vmstat_")
        || matches!(
            name,
            "node_context_switches_total"
                | "node_forks_total"
                | "node_intr_total"
                | "node_time_seconds"
        )
}

/// Collectors node_exporter does not have (ours alone).
const OURS_ONLY: [&str; 1] = ["build_info"];

/// Starts node_exporter on a free port and waits until it listens (bounded, so a
/// broken start fails rather than hangs); returns it with the port. `free_port`
/// releases the port before node_exporter binds it, so the test beside this one
/// can be handed the same port: the one that loses exits on its bind error, and a
/// connect would then reach (and later be reset by) the other's node_exporter.
/// So a start counts only while our process is still running, else a new port.
fn start_node_exporter(args: &[String]) -> (Killed, u16) {
    for _ in 0..10 {
        let port = free_port();
        let child = Command::new(NODE_EXPORTER)
            .args(args)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut guard = Killed(child.expect("start node_exporter"));
        let mut running = || matches!(guard.0.try_wait(), Ok(None));
        let up = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(25));
            !running() || TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        std::thread::sleep(Duration::from_millis(50));
        if up && running() {
            return (guard, port);
        }
    }
    panic!("node_exporter did not start listening on any of 10 free ports");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Collectors whose input this machine lacks (bonds, RAID, conntrack) or whose
/// values we want pinned: both programs on the same fixture trees must agree on
/// every family, series and value.
#[test]
fn matches_real_node_exporter_on_fixture_trees() {
    if !Path::new(NODE_EXPORTER).exists() {
        eprintln!("SKIPPED: {NODE_EXPORTER} not installed");
        return;
    }
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/collect/good");
    let roots = Roots {
        procfs: base.join("proc"),
        sysfs: base.join("sys"),
        rootfs: base.join("root"),
    };
    let collectors = ["mdadm", "bonding", "netclass", "os", "vmstat", "conntrack"];
    let d = CollectOptions::default();
    let mut args: Vec<String> = vec![
        "--collector.disable-defaults".into(),
        format!("--path.procfs={}", roots.procfs.display()),
        format!("--path.sysfs={}", roots.sysfs.display()),
        format!("--path.rootfs={}", roots.rootfs.display()),
        format!(
            "--collector.netclass.ignored-devices={}",
            d.netclass_ignored_devices
        ),
    ];
    args.extend(collectors.iter().map(|c| format!("--collector.{c}")));
    let (_guard, port) = start_node_exporter(&args);
    let theirs = scrape(port);
    let mut compared = 0;
    for name in collectors {
        let reg = REGISTRY
            .iter()
            .find(|r| r.name == name)
            .expect("registered");
        let mut out = Vec::new();
        (reg.build)(&d)
            .collect(&roots, &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!out.is_empty(), "{name} produced nothing on the fixture");
        for f in out {
            let t = theirs
                .get(&f.name)
                .unwrap_or_else(|| panic!("node_exporter has no {}", f.name));
            assert_eq!(t.help, f.help, "{} HELP", f.name);
            assert_eq!(series(&f), t.series, "{} series", f.name);
            compared += t.series.len();
        }
    }
    eprintln!("{compared} series equal to node_exporter's on the fixture trees");
}

#[test]
fn matches_real_node_exporter() {
    if !Path::new(NODE_EXPORTER).exists() {
        eprintln!(
            "SKIPPED: {NODE_EXPORTER} not installed (apt-get install prometheus-node-exporter)"
        );
        return;
    }
    let d = CollectOptions::default();
    let mut args: Vec<String> = vec!["--collector.disable-defaults".into()];
    args.extend(
        REGISTRY
            .iter()
            .filter(|r| !OURS_ONLY.contains(&r.name))
            .map(|r| format!("--collector.{}", r.name)),
    );
    args.push(format!(
        "--collector.netdev.device-exclude={}",
        d.netdev_device_exclude
    ));
    args.push(format!(
        "--collector.netclass.ignored-devices={}",
        d.netclass_ignored_devices
    ));
    args.push(format!(
        "--collector.diskstats.device-exclude={}",
        d.diskstats_device_exclude
    ));
    args.push(format!(
        "--collector.filesystem.mount-points-exclude={}",
        d.fs_mount_points_exclude
    ));
    args.push(format!(
        "--collector.filesystem.fs-types-exclude={}",
        d.fs_types_exclude
    ));
    let (_guard, port) = start_node_exporter(&args);

    let before = ours();
    let theirs = scrape(port);
    let after = ours();
    assert!(before.len() >= 20);
    let mut compared = 0;
    for (name, f) in &before {
        let t = theirs
            .get(name)
            .unwrap_or_else(|| panic!("node_exporter has no {name}"));
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        // node_exporter leaves vmstat untyped; we say gauge (no `_total`, so not counter).
        let untyped_ok = name.starts_with("node_vmstat_") && t.kind == "untyped" && kind == "gauge";
        assert!(
            t.kind == kind || untyped_ok,
            "{name} TYPE: {} vs {kind}",
            t.kind
        );
        assert_eq!(t.help, f.help, "{name} HELP");
        if name == "node_exporter_build_info" {
            continue; // same family, but its labels say nodecast on purpose
        }
        let mine = series(f);
        let later = after.get(name).map(series).unwrap_or_default();
        // Series may come and go between the readings (this sandbox creates
        // network devices per command), so node_exporter's set must lie between
        // what we saw both times and what we saw at either time.
        let ours_then: BTreeSet<_> = mine.keys().collect();
        let ours_later: BTreeSet<_> = later.keys().collect();
        let their_keys: BTreeSet<_> = t.series.keys().collect();
        let both: BTreeSet<_> = ours_then.intersection(&ours_later).copied().collect();
        let either: BTreeSet<_> = ours_then.union(&ours_later).copied().collect();
        assert!(
            both.is_subset(&their_keys),
            "{name}: node_exporter lacks {:?}",
            both.difference(&their_keys)
        );
        assert!(
            their_keys.is_subset(&either),
            "{name}: we lack {:?}",
            their_keys.difference(&either)
        );
        assert!(!both.is_empty(), "{name}: no series seen in both readings");
        for (labels, &v) in &mine {
            let Some(&tv) = t.series.get(labels) else {
                continue;
            };
            if exact(name) {
                assert_eq!(v, tv, "{name}{labels:?}");
                compared += 1;
            } else if sandwiched(name, labels) {
                let hi = later.get(labels).copied().unwrap_or(f64::INFINITY);
                // node_exporter divides PSI µs by 1000 twice; allow that last-bit rounding.
                let ulp = |x: f64| x.abs() * 1e-12;
                assert!(
                    v <= tv + ulp(tv) && tv <= hi + ulp(hi),
                    "{name}{labels:?}: ours {v} then {hi}, node_exporter {tv}"
                );
                compared += 1;
            }
        }
    }
    eprintln!(
        "{} families matched node_exporter; {compared} values compared",
        before.len()
    );
}
