//! `pressure`: PSI totals from `<procfs>/pressure/{cpu,memory,io}`, µs → seconds.

use procfs::PressureRecord;

use super::util::{parse_err, read_string};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Pressure;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Pressure)
}

/// The `some` and (if present) `full` records of one PSI file. The cpu file has
/// no `full` line before Linux 5.13, so it is optional here.
fn read_psi(
    path: &std::path::Path,
) -> Result<(PressureRecord, Option<PressureRecord>), CollectError> {
    let text = read_string(path)?;
    let mut some = None;
    let mut full = None;
    for (n, line) in text.lines().enumerate() {
        // procfs-core slices `line[5..]` after checking the prefix, so a bare
        // "some" (or a multi-byte character there) would panic inside it.
        if line.len() <= 5 || !line.is_char_boundary(5) {
            return Err(parse_err(
                path,
                format!("line {}: truncated record {line:?}", n + 1),
            ));
        }
        let rec = procfs::parse_pressure_record(line)
            .map_err(|e| parse_err(path, format!("line {}: {e}", n + 1)))?;
        if line.starts_with("some") {
            some = Some(rec);
        } else {
            full = Some(rec);
        }
    }
    let some = some.ok_or_else(|| parse_err(path, "no \"some\" record"))?;
    Ok((some, full))
}

fn secs(r: &PressureRecord) -> f64 {
    r.total as f64 / 1e6
}

impl Collector for Pressure {
    fn name(&self) -> &'static str {
        "pressure"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let dir = roots.procfs.join("pressure");
        let (cpu, _) = read_psi(&dir.join("cpu"))?;
        let (mem_some, mem_full) = read_psi(&dir.join("memory"))?;
        let (io_some, io_full) = read_psi(&dir.join("io"))?;
        let need_full = |f: Option<PressureRecord>, file: &str| {
            f.ok_or_else(|| parse_err(&dir.join(file), "no \"full\" record"))
        };
        let (mem_full, io_full) = (need_full(mem_full, "memory")?, need_full(io_full, "io")?);
        let fams = [
            (
                "node_pressure_cpu_waiting_seconds_total",
                "Total time in seconds that processes have waited for CPU time",
                &cpu,
            ),
            (
                "node_pressure_memory_waiting_seconds_total",
                "Total time in seconds that processes have waited for memory",
                &mem_some,
            ),
            (
                "node_pressure_memory_stalled_seconds_total",
                "Total time in seconds no process could make progress due to memory congestion",
                &mem_full,
            ),
            (
                "node_pressure_io_waiting_seconds_total",
                "Total time in seconds that processes have waited due to IO congestion",
                &io_some,
            ),
            (
                "node_pressure_io_stalled_seconds_total",
                "Total time in seconds no process could make progress due to IO congestion",
                &io_full,
            ),
        ];
        for (name, help, rec) in fams {
            out.push(Family::single(name, help, Kind::Counter, secs(rec)));
        }
        Ok(())
    }
}
