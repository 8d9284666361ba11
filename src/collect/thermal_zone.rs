//! `thermal_zone`: node_thermal_zone_temp{type,zone} from `<sysfs>/class/thermal/thermal_zone*`.

use std::io::ErrorKind;

use super::util::{parse_err, read_string};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct ThermalZone;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(ThermalZone)
}

/// Errors a zone's `temp` gives when the sensor is asleep or unsupported; the
/// Go procfs library (and so node_exporter) skips such zones.
fn sensor_unavailable(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::NotFound
        || matches!(
            e.raw_os_error(),
            Some(libc::ENODATA) | Some(libc::EAGAIN) | Some(libc::EINVAL) | Some(libc::EIO)
        )
}

impl Collector for ThermalZone {
    fn name(&self) -> &'static str {
        "thermal_zone"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let dir = roots.sysfs.join("class/thermal");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // No thermal class (VMs, containers without /sys): nothing to report.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(CollectError::Io { path: dir, source }),
        };
        let mut zones = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CollectError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(zone) = name.strip_prefix("thermal_zone") else {
                continue;
            };
            let temp_path = entry.path().join("temp");
            let raw = match super::util::read_to_string(&temp_path) {
                Ok(s) => s,
                Err(e) if sensor_unavailable(&e) => continue,
                Err(source) => {
                    return Err(CollectError::Io {
                        path: temp_path,
                        source,
                    })
                }
            };
            let milli: i64 = raw.trim().parse().map_err(|e| {
                parse_err(
                    &temp_path,
                    format!("expected millidegrees, got {:?}: {e}", raw.trim()),
                )
            })?;
            let kind = read_string(&entry.path().join("type"))?.trim().to_string();
            zones.push((zone.to_string(), kind, milli as f64 / 1000.0));
        }
        zones.sort_by_key(|(z, _, _)| z.parse::<u64>().unwrap_or(u64::MAX));
        let mut fam = Family::new(
            "node_thermal_zone_temp",
            "Zone temperature in Celsius",
            Kind::Gauge,
        );
        for (zone, kind, temp) in &zones {
            fam.push(&[("type", kind), ("zone", zone)], *temp);
        }
        if !fam.samples.is_empty() {
            out.push(fam);
        }
        Ok(())
    }
}
