//! `time`: the system clock, its time zone and clocksources, as node_exporter's
//! time collector (node-mixin's USE dashboards list clusters from node_time_seconds).

use std::time::{SystemTime, UNIX_EPOCH};

use super::util::read_opt;
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Time;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Time)
}

/// The local time zone's abbreviation and offset from UTC, as libc sees it
/// (TZ, else /etc/localtime), which is what Go's `time.Now().Zone()` reports.
fn zone(now: i64) -> (String, f64) {
    let t: libc::time_t = now as libc::time_t;
    // SAFETY: tm is plain old data; localtime_r writes only into it and
    // tm_zone points into static storage owned by libc.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return ("UTC".into(), 0.0);
    }
    let name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (name, tm.tm_gmtoff as f64)
}

impl Collector for Time {
    fn name(&self) -> &'static str {
        "time"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        out.push(Family::single(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            Kind::Gauge,
            now,
        ));
        let (tz, offset) = zone(now as i64);
        let mut z = Family::new(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            Kind::Gauge,
        );
        z.push(&[("time_zone", &tz)], offset);
        out.push(z);

        // Clocksources are optional (absent in some containers); skip quietly.
        let dir = roots.sysfs.join("devices/system/clocksource");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let mut devices: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("clocksource")
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .map(str::to_string)
            })
            .collect();
        devices.sort();
        let mut available = Family::new(
            "node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            Kind::Gauge,
        );
        let mut current = Family::new(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            Kind::Gauge,
        );
        for d in &devices {
            let base = dir.join(format!("clocksource{d}"));
            if let Some(b) = read_opt(&base.join("available_clocksource"))? {
                for cs in String::from_utf8_lossy(&b).split_whitespace() {
                    available.push(&[("clocksource", cs), ("device", d)], 1.0);
                }
            }
            if let Some(b) = read_opt(&base.join("current_clocksource"))? {
                let cs = String::from_utf8_lossy(&b).trim().to_string();
                current.push(&[("clocksource", &cs), ("device", d)], 1.0);
            }
        }
        out.extend(
            [available, current]
                .into_iter()
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}
