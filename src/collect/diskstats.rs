//! `diskstats`: node_disk_* counters {device} from `<procfs>/diskstats`.

use procfs::DiskStats as ProcDiskStats;
use regex::Regex;

use super::util::{compile, non_numeric, parse_file, Misconfigured};
use super::{CollectError, CollectOptions, Collector, Family, Kind, Roots};

/// The kernel counts sectors in 512-byte units regardless of the device's own
/// sector size (see Documentation/block/stat.rst).
const SECTOR_BYTES: f64 = 512.0;

pub struct DiskStats {
    exclude: Regex,
}

pub fn build(o: &CollectOptions) -> Box<dyn Collector> {
    match compile(
        "--collector.diskstats.device-exclude",
        &o.diskstats_device_exclude,
    ) {
        Ok(exclude) => Box::new(DiskStats { exclude }),
        Err(reason) => Box::new(Misconfigured {
            name: "diskstats",
            reason,
        }),
    }
}

impl Collector for DiskStats {
    fn name(&self) -> &'static str {
        "diskstats"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let ProcDiskStats(disks) = parse_file(&roots.procfs.join("diskstats"), |l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 14 {
                return Some(format!("expected at least 14 fields, got {}", f.len()));
            }
            non_numeric(&f[3..], &format!("device {}", f[2]))
        })?;
        let mut fams = [
            (
                "node_disk_reads_completed_total",
                "The total number of reads completed successfully.",
            ),
            (
                "node_disk_read_bytes_total",
                "The total number of bytes read successfully.",
            ),
            (
                "node_disk_writes_completed_total",
                "The total number of writes completed successfully.",
            ),
            (
                "node_disk_written_bytes_total",
                "The total number of bytes written successfully.",
            ),
            (
                "node_disk_io_time_seconds_total",
                "Total seconds spent doing I/Os.",
            ),
            (
                "node_disk_io_time_weighted_seconds_total",
                "The weighted # of seconds spent doing I/Os.",
            ),
        ]
        .map(|(n, h)| Family::new(n, h, Kind::Counter));
        for d in disks.iter().filter(|d| !self.exclude.is_match(&d.name)) {
            let values = [
                d.reads as f64,
                d.sectors_read as f64 * SECTOR_BYTES,
                d.writes as f64,
                d.sectors_written as f64 * SECTOR_BYTES,
                d.time_in_progress as f64 / 1000.0,
                // ms spent with I/O queued, times the queue length (aqu-sz × time).
                d.weighted_time_in_progress as f64 / 1000.0,
            ];
            for (f, v) in fams.iter_mut().zip(values) {
                f.push(&[("device", &d.name)], v);
            }
        }
        out.extend(fams.into_iter().filter(|f| !f.samples.is_empty()));
        Ok(())
    }
}
