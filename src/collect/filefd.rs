//! `filefd`: node_filefd_allocated / node_filefd_maximum from `<procfs>/sys/fs/file-nr`.

use super::util::{parse_err, read_string};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct FileFd;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(FileFd)
}

impl Collector for FileFd {
    fn name(&self) -> &'static str {
        "filefd"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let path = roots.procfs.join("sys/fs/file-nr");
        let text = read_string(&path)?;
        // "allocated  unused  maximum"; unused is always 0 since Linux 2.6.
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [allocated, _unused, maximum] = fields[..] else {
            return Err(parse_err(
                &path,
                format!("expected 3 fields, got {}", fields.len()),
            ));
        };
        let num = |s: &str, what: &str| {
            s.parse::<u64>()
                .map_err(|e| parse_err(&path, format!("{what} {s:?}: {e}")))
        };
        let (allocated, maximum) = (num(allocated, "allocated")?, num(maximum, "maximum")?);
        out.push(Family::single(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
            Kind::Gauge,
            allocated as f64,
        ));
        out.push(Family::single(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
            Kind::Gauge,
            maximum as f64,
        ));
        Ok(())
    }
}
