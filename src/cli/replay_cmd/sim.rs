//! Input files and the simulated daemon: samples go through a real store (same
//! tiers and downsampling as the agent) and every forecast interval the daemon's own
//! [`assess_series`] runs on what the store returns, on a simulated clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::predict::monitor::run::{assess_monitored, MemPaths};
use crate::predict::monitor::view::Score;
use crate::predict::monitor::{challenger::Gate, MonitorSettings, SeriesMonitor};
use crate::predict::series::{History, Settings, FAST_WINDOW};
use crate::store::{series_key, Agg, Store, StoreConfig, Tier};

/// One history of one resource's remaining quantity.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub resource: String,
    /// (unix ms, remaining, capacity), time-ordered.
    pub samples: Vec<(i64, f64, f64)>,
}

/// What one forecast cycle exported.
#[derive(Debug, Clone, Copy)]
pub struct Cycle {
    pub t_ms: i64,
    pub tte: Option<f64>,
    pub prob: Option<f64>,
    /// Time to exhaustion per view (seasonal, trend, fast); +Inf when it sees none.
    pub views: [f64; 3],
}

/// Reads `timestamp,value[,capacity]` (unix seconds; `# resource=NAME` and other `#`
/// lines are comments). `capacity` falls back to `default_capacity`.
pub fn read_input(
    path: &Path,
    default_resource: &str,
    default_capacity: Option<f64>,
) -> Result<Input, String> {
    let name = path
        .file_stem()
        .map_or("input".into(), |s| s.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut resource = default_resource.to_string();
    let mut samples: Vec<(i64, f64, f64)> = Vec::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let at = |why: String| format!("{}:{}: {why}", path.display(), i + 1);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            if let Some(r) = c
                .split_whitespace()
                .find_map(|w| w.strip_prefix("resource="))
            {
                resource = r.to_string();
            }
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            if cells.first().is_some_and(|c| c.parse::<f64>().is_err()) {
                if cells.get(..2) != Some(&["timestamp", "value"][..]) {
                    return Err(at(format!(
                        "header must start with timestamp,value, got {line:?}"
                    )));
                }
                continue;
            }
        }
        let num = |k: usize, what: &str| -> Result<Option<f64>, String> {
            match cells.get(k).filter(|c| !c.is_empty()) {
                None => Ok(None),
                Some(c) => c
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| at(format!("{what} {c:?} is not a finite number"))),
            }
        };
        let ts = num(0, "timestamp")?.ok_or_else(|| at("missing timestamp".into()))?;
        let Some(v) = num(1, "value")? else {
            continue; // an empty value is a gap
        };
        let cap = match num(2, "capacity")?.or(default_capacity) {
            Some(c) if c > 0.0 => c,
            _ => return Err(at("no capacity: add a capacity column or --capacity".into())),
        };
        let ms = (ts * 1000.0).round() as i64;
        if samples.last().is_some_and(|p| p.0 >= ms) {
            return Err(at(format!("timestamp {ts} is not after the previous one")));
        }
        samples.push((ms, v, cap));
    }
    if samples.len() < 2 {
        return Err(format!("{}: fewer than two samples", path.display()));
    }
    if crate::predict::series::resource_of(metric_for(&resource)).is_none() {
        return Err(format!(
            "{}: unknown resource {resource:?} (filesystem_space, filesystem_inodes, memory, swap, file_descriptors, pids)",
            path.display()
        ));
    }
    Ok(Input {
        name,
        resource,
        samples,
    })
}

/// The metric a resource is exported from (inverse of `resource_of`).
pub fn metric_for(resource: &str) -> &'static str {
    match resource {
        "filesystem_space" => "node_filesystem_avail_bytes",
        "filesystem_inodes" => "node_filesystem_files_free",
        "memory" => "node_memory_MemAvailable_bytes",
        "swap" => "node_memory_SwapFree_bytes",
        "file_descriptors" => "node_filefd_available",
        "pids" => "node_processes_available",
        _ => "",
    }
}

/// Sample spacing: the median gap, which must divide the 5-minute downsampling step.
pub fn raw_step(input: &Input) -> Result<Duration, String> {
    let mut gaps: Vec<i64> = input.samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_unstable();
    let g = gaps[gaps.len() / 2].max(1000);
    let g = (g + 500) / 1000 * 1000;
    if 300_000 % g != 0 {
        return Err(format!(
            "{}: samples every {} s; replay needs a spacing that divides 300 s",
            input.name,
            g / 1000
        ));
    }
    Ok(Duration::from_millis(g as u64))
}

/// Scoring only: no challenger and no drift, which would change the forecasts
/// that the replay compares with the rules.
fn scoring_only(settings: &Settings) -> MonitorSettings {
    MonitorSettings {
        horizons: [900, 3600, 6 * 3600, 86_400]
            .iter()
            .map(|s| Duration::from_secs(*s))
            .filter(|h| *h <= settings.horizon)
            .collect(),
        model: settings.model,
        challenger: None,
        gate: Gate {
            margin: 0.1,
            min_samples: u32::MAX,
        },
        gate_window: Duration::from_secs(7 * 86_400),
        pin: None,
        drift: None,
    }
}

/// Runs the daemon's monitored assessment every `interval` over the whole input;
/// returns the cycles and the online accuracy at the end.
pub fn simulate(
    input: &Input,
    settings: &Settings,
    interval: Duration,
    scratch: &Path,
) -> Result<(Vec<Cycle>, Vec<Score>), String> {
    let step = raw_step(input)?;
    let dir: PathBuf = scratch.join(format!("replay-{}-{}", std::process::id(), input.name));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = StoreConfig::new(&dir);
    cfg.step = step;
    cfg.max_series = 4;
    let store = Store::open(cfg.clone()).map_err(|e| format!("store: {e}"))?;
    let key = series_key(
        metric_for(&input.resource),
        &[("mountpoint".into(), "/".into())],
    );
    let iv = interval.as_millis().max(1) as i64;
    let span = (cfg.downsample_retention.as_millis() as i64)
        .min(crate::predict::series::MAX_FORECAST_POINTS * cfg.downsample_step.as_millis() as i64);
    let first = input.samples[0].0;
    let end = input.samples[input.samples.len() - 1].0;
    let mut next = (first / iv + 1) * iv;
    let mut next_flush = first + 3_600_000;
    let mut was = false;
    let ms = scoring_only(settings);
    let mut mon = SeriesMonitor::new(&key, &ms, first);
    let mut paths = MemPaths::default();
    let no_clip = |_: &mut [f64], _: &mut [f64], _: &mut [f64]| {};
    let mut out = Vec::new();
    let mut k = 0;
    while next <= end {
        while k < input.samples.len() && input.samples[k].0 <= next {
            let (t, v, _) = input.samples[k];
            store
                .append(t, &[(key.as_str(), v)])
                .map_err(|e| format!("store: {e}"))?;
            k += 1;
        }
        if next >= next_flush {
            store.flush().map_err(|e| format!("store: {e}"))?;
            next_flush += 3_600_000;
        }
        let read = |tier, from| {
            store
                .read(&key, tier, Agg::Mean, from, next + 1)
                .map_err(|e| format!("store: {e}"))
        };
        let window = read(Tier::Downsampled, next - span)?;
        let raw = read(Tier::Raw, next - FAST_WINDOW.as_millis() as i64)?;
        let latest = raw
            .values
            .iter()
            .rposition(|v| v.is_finite())
            .map(|i| (raw.timestamp(i), raw.values[i]));
        let capacity = input.samples[k.saturating_sub(1)].2;
        let h = History {
            window: &window,
            raw: Some(&raw),
            latest,
            capacity: Some(capacity),
            reuse: None,
        };
        let resource = Some(input.resource.as_str());
        let (a, _) = assess_monitored(
            &mut mon, &h, resource, was, next, settings, &ms, &mut paths, &no_clip,
        );
        let a = a.map_err(|e| format!("{}: assessment at {next}: {e}", input.name))?;
        let e = a.as_ref().and_then(|a| a.exhaustion);
        was = a.as_ref().is_some_and(|a| a.exhausted);
        let mut views = [f64::NAN; 3];
        for (name, v) in a.iter().flat_map(|a| &a.views) {
            let k = ["seasonal", "trend", "fast"].iter().position(|n| n == name);
            if let Some(k) = k {
                views[k] = v.time_to_exhaustion_seconds;
            }
        }
        out.push(Cycle {
            views,
            t_ms: next,
            tte: e.map(|e| e.time_to_exhaustion_seconds),
            prob: e.map(|e| e.probability),
        });
        next += iv;
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let accuracy = mon.view(next - iv, &ms).accuracy;
    Ok((out, accuracy))
}

/// Writes `t,tte_seconds,probability` per cycle (unix seconds; empty = no value).
pub fn write_trace(dir: &Path, input: &Input, cycles: &[Cycle]) -> Result<(), String> {
    use std::fmt::Write as _;
    let mut out =
        String::from("timestamp,tte_seconds,probability,seasonal_tte,trend_tte,fast_tte\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    for c in cycles {
        let v = |x: f64| opt(Some(x).filter(|x| !x.is_nan()));
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            c.t_ms / 1000,
            opt(c.tte),
            opt(c.prob),
            v(c.views[0]),
            v(c.views[1]),
            v(c.views[2])
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.cycles.csv", input.name));
    std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))
}
