//! Physical bounds of a series and the one place forecasts are clipped to them.
//!
//! A model extrapolates numbers; it does not know that a ratio stops at 1 or that
//! free memory cannot exceed the memory installed. With a few minutes of history a
//! trend fitted to a steep start runs far outside (a CPU ratio of 31, pressure of
//! −15, MemAvailable twice MemTotal), so every forecast is clipped, points and
//! interval bounds alike. The policy is a pure function of the metric name, its
//! labels and the current values of related series; the table is in docs/forecast.md.

use augurs::Forecast;

/// Closed range a series' values can physically take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub lower: f64,
    pub upper: f64,
}

impl Bounds {
    pub const NONE: Bounds = Bounds {
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
    };
    pub const NON_NEGATIVE: Bounds = Bounds {
        lower: 0.0,
        upper: f64::INFINITY,
    };
    pub const RATIO: Bounds = Bounds {
        lower: 0.0,
        upper: 1.0,
    };

    /// Non-negative and at most `total` when the total is known, positive and finite
    /// (a total of 0, e.g. no swap, would clip everything to 0: left unbounded above).
    pub fn at_most(total: Option<f64>) -> Bounds {
        match total.filter(|t| t.is_finite() && *t > 0.0) {
            Some(t) => Bounds {
                lower: 0.0,
                upper: t,
            },
            None => Bounds::NON_NEGATIVE,
        }
    }

    /// Clips the point forecast and both interval bounds into the range.
    pub fn clip(&self, f: &mut Forecast) {
        match f.intervals.as_mut() {
            Some(iv) => self.clip_path(&mut f.point, &mut iv.lower, &mut iv.upper),
            None => self.clip_path(&mut f.point, &mut [], &mut []),
        }
    }

    /// Clips a forecast path given as three slices (mean, lower, upper).
    pub fn clip_path(&self, mean: &mut [f64], lower: &mut [f64], upper: &mut [f64]) {
        let (lo, hi) = (self.lower, self.upper);
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return;
        }
        let c = |v: &mut f64| {
            if v.is_finite() {
                *v = v.clamp(lo, hi);
            }
        };
        mean.iter_mut()
            .chain(lower.iter_mut())
            .chain(upper.iter_mut())
            .for_each(c);
    }
}

/// Labels of a series, as the store and collectors carry them.
pub type Labels = [(String, String)];

/// Bounds of `metric{labels}`. `current(name, labels)` returns the latest value of a
/// related series (the total an "available" quantity is part of), if it is known.
pub fn bounds_for(
    metric: &str,
    labels: &Labels,
    current: &dyn Fn(&str, &Labels) -> Option<f64>,
) -> Bounds {
    let same = |name: &str| current(name, labels);
    let global = |name: &str| current(name, &[]);
    match metric {
        "node_memory_MemAvailable_bytes"
        | "node_memory_MemFree_bytes"
        | "node_memory_Cached_bytes"
        | "node_memory_Buffers_bytes" => Bounds::at_most(global("node_memory_MemTotal_bytes")),
        "node_memory_SwapFree_bytes" => Bounds::at_most(global("node_memory_SwapTotal_bytes")),
        "node_filesystem_avail_bytes" | "node_filesystem_free_bytes" => {
            Bounds::at_most(same("node_filesystem_size_bytes"))
        }
        "node_filesystem_files_free" => Bounds::at_most(same("node_filesystem_files")),
        "node_filefd_available" | "node_filefd_allocated" => {
            Bounds::at_most(global("node_filefd_maximum"))
        }
        "node_processes_pids" => Bounds::at_most(global("node_processes_max_processes")),
        "node_processes_threads" => Bounds::at_most(global("node_processes_max_threads")),
        // The derived series is the smaller of the two limits minus the threads.
        "node_processes_available" => {
            let limit = [
                global("node_processes_max_processes"),
                global("node_processes_max_threads"),
            ]
            .into_iter()
            .flatten()
            .reduce(f64::min);
            Bounds::at_most(limit)
        }
        m if m.ends_with("_ratio") => Bounds::RATIO,
        m if is_non_negative(m) => Bounds::NON_NEGATIVE,
        _ => Bounds::NONE,
    }
}

/// Quantities that cannot go below zero: sizes, counters, counts and load. Not
/// `_seconds` in general (clock offsets are signed) nor temperatures.
fn is_non_negative(m: &str) -> bool {
    const SUFFIXES: [&str; 9] = [
        "_bytes",
        "_total",
        "_files",
        "_files_free",
        "_available",
        "_allocated",
        "_maximum",
        "_count",
        "_per_cpu",
    ];
    SUFFIXES.iter().any(|s| m.ends_with(s))
        || m.starts_with("node_load")
        || m.starts_with("node_processes_")
        || m.starts_with("node_procs_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use augurs::ForecastIntervals;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A node with 25.3 GB of memory and one 100 GB filesystem on `/`.
    fn node(name: &str, labels: &Labels) -> Option<f64> {
        let root = labels.iter().any(|(k, v)| k == "mountpoint" && v == "/");
        match name {
            "node_memory_MemTotal_bytes" => Some(25.3e9),
            "node_memory_SwapTotal_bytes" => Some(0.0),
            "node_filesystem_size_bytes" if root => Some(100e9),
            "node_filefd_maximum" => Some(1e6),
            "node_processes_max_processes" => Some(4_194_304.0),
            "node_processes_max_threads" => Some(126_000.0),
            _ => None,
        }
    }

    #[test]
    fn policy_table() {
        let b = |m: &str, labels: &Labels| bounds_for(m, labels, &node);
        let root = l(&[("device", "/dev/sda1"), ("mountpoint", "/")]);
        let other = l(&[("mountpoint", "/data")]);
        assert_eq!(b("node_cpu_utilisation_ratio", &[]), Bounds::RATIO);
        assert_eq!(b("node_pressure_io_waiting_ratio", &[]), Bounds::RATIO);
        assert_eq!(b("node_load1_per_cpu", &[]), Bounds::NON_NEGATIVE);
        assert_eq!(b("node_load15", &[]), Bounds::NON_NEGATIVE);
        assert_eq!(b("node_memory_MemAvailable_bytes", &[]).upper, 25.3e9);
        assert_eq!(b("node_filesystem_avail_bytes", &root).upper, 100e9);
        // The size of another filesystem is unknown: only non-negative.
        assert_eq!(
            b("node_filesystem_avail_bytes", &other),
            Bounds::NON_NEGATIVE
        );
        // No swap configured: a total of 0 must not clip SwapFree to 0.
        assert_eq!(b("node_memory_SwapFree_bytes", &[]), Bounds::NON_NEGATIVE);
        assert_eq!(b("node_processes_available", &[]).upper, 126_000.0);
        assert_eq!(b("node_filefd_available", &[]).upper, 1e6);
        assert_eq!(b("node_hwmon_temp_celsius", &[]), Bounds::NONE);
        assert_eq!(b("node_timex_offset_seconds", &[]), Bounds::NONE);
    }

    #[test]
    fn clip_reaches_points_and_both_bounds() {
        let mut f = Forecast {
            point: vec![-0.2, 0.5, 31.3, f64::NAN],
            intervals: Some(ForecastIntervals {
                level: 0.95,
                lower: vec![-15.0, 0.1, 20.0, f64::NAN],
                upper: vec![0.3, 1.2, 40.0, f64::NAN],
            }),
        };
        Bounds::RATIO.clip(&mut f);
        let iv = f.intervals.as_ref().unwrap();
        assert_eq!(&f.point[..3], &[0.0, 0.5, 1.0]);
        assert_eq!(&iv.lower[..3], &[0.0, 0.1, 1.0]);
        assert_eq!(&iv.upper[..3], &[0.3, 1.0, 1.0]);
        // A gap stays a gap rather than becoming a bound.
        assert!(f.point[3].is_nan());
        let mut g = f.clone();
        Bounds::NONE.clip(&mut g);
        assert_eq!(format!("{g:?}"), format!("{f:?}"));
    }
}
