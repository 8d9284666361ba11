//! `hwmon`: node_hwmon_temp_{,max_,crit_}celsius{chip,sensor} from `<sysfs>/class/hwmon`.

use std::io::ErrorKind;
use std::path::Path;

use super::util::parse_err;
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Hwmon;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Hwmon)
}

/// node_exporter's cleanMetricName: lower-case, `[^a-z0-9:_]` → `_`, trim `_`.
fn clean(name: &str) -> String {
    let lower: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    lower.trim_matches('_').to_string()
}

/// node_exporter's hwmonName: `hwmonN` numbering depends on module load order,
/// so prefer the stable device path (`<bus>_<device>`), then the `name` file,
/// then the directory name.
fn chip_name(dir: &Path) -> Option<String> {
    if let Ok(dev) = std::fs::canonicalize(dir.join("device")) {
        let name = dev
            .file_name()
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        let bus = dev
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        match (bus.is_empty(), name.is_empty()) {
            (false, false) => return Some(format!("{bus}_{name}")),
            (true, false) => return Some(name),
            _ => {}
        }
    }
    if let Ok(n) = super::util::read_to_string(dir.join("name")) {
        let n = clean(&n);
        if !n.is_empty() {
            return Some(n);
        }
    }
    let real = std::fs::canonicalize(dir).ok()?;
    let n = clean(&real.file_name()?.to_string_lossy());
    (!n.is_empty()).then_some(n)
}

/// `temp3_max` → ("temp3", "max"); only temperature input/max/crit (and the
/// sensor's label) are exported.
fn split_temp(file: &str) -> Option<(&str, &str)> {
    let (sensor, prop) = file.split_once('_')?;
    let id = sensor.strip_prefix("temp")?;
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && matches!(prop, "input" | "max" | "crit" | "label");
    ok.then_some((sensor, prop))
}

/// Temperatures in `dir` as (sensor, property, °C), and sensor labels. Unreadable
/// attributes are skipped (drivers return EIO/ENODATA for sensors that are off), as node_exporter does.
fn read_temps(
    dir: &Path,
    found: &mut Vec<(String, String, f64)>,
    labels: &mut Vec<(String, String)>,
) -> Result<(), CollectError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((sensor, prop)) = split_temp(&file) else {
            continue;
        };
        let path = entry.path();
        let Ok(raw) = super::util::read_to_string(&path) else {
            continue;
        };
        if prop == "label" {
            labels.push((sensor.to_string(), raw.trim().to_string()));
            continue;
        }
        let milli: i64 = raw.trim().parse().map_err(|e| {
            parse_err(
                &path,
                format!("expected millidegrees, got {:?}: {e}", raw.trim()),
            )
        })?;
        found.push((sensor.to_string(), prop.to_string(), milli as f64 / 1000.0));
    }
    Ok(())
}

impl Collector for Hwmon {
    fn name(&self) -> &'static str {
        "hwmon"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let class = roots.sysfs.join("class/hwmon");
        let entries = match std::fs::read_dir(&class) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(CollectError::Io {
                    path: class,
                    source,
                })
            }
        };
        let mut rows = Vec::new();
        // node_exporter's annotation series: chip → its `name`, (chip, sensor) → its label.
        let mut names = Family::new(
            "node_hwmon_chip_names",
            "Annotation metric for human-readable chip names",
            Kind::Gauge,
        );
        let mut sensor_labels = Family::new(
            "node_hwmon_sensor_label",
            "Label for given chip and sensor",
            Kind::Gauge,
        );
        let mut label_rows = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CollectError::Io {
                path: class.clone(),
                source,
            })?;
            let dir = entry.path();
            let Some(chip) = chip_name(&dir) else {
                continue;
            };
            if let Some(n) = super::util::read_to_string(dir.join("name"))
                .ok()
                .map(|n| clean(&n))
                .filter(|n| !n.is_empty())
            {
                names.push(&[("chip", &chip), ("chip_name", &n)], 1.0);
            }
            let (mut temps, mut labels) = (Vec::new(), Vec::new());
            read_temps(&dir, &mut temps, &mut labels)?;
            // Pre-3.x drivers put their attributes on the parent device instead.
            read_temps(&dir.join("device"), &mut temps, &mut labels)?;
            rows.extend(temps.into_iter().map(|(s, p, v)| (chip.clone(), s, p, v)));
            label_rows.extend(labels.into_iter().map(|(s, l)| (chip.clone(), s, l)));
        }
        rows.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
        let mut fams = [
            (
                "input",
                "node_hwmon_temp_celsius",
                "Hardware monitor for temperature (input)",
            ),
            (
                "max",
                "node_hwmon_temp_max_celsius",
                "Hardware monitor for temperature (max)",
            ),
            (
                "crit",
                "node_hwmon_temp_crit_celsius",
                "Hardware monitor for temperature (crit)",
            ),
        ]
        .map(|(p, n, h)| (p, Family::new(n, h, Kind::Gauge)));
        for (chip, sensor, prop, v) in &rows {
            if let Some((_, f)) = fams.iter_mut().find(|(p, _)| p == prop) {
                f.push(&[("chip", chip), ("sensor", sensor)], *v);
            }
        }
        label_rows.sort();
        label_rows.dedup();
        for (chip, sensor, label) in &label_rows {
            sensor_labels.push(&[("chip", chip), ("label", label), ("sensor", sensor)], 1.0);
        }
        names.samples.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.extend(
            fams.into_iter()
                .map(|(_, f)| f)
                .chain([names, sensor_labels])
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}
