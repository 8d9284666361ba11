//! `conntrack`: netfilter connection-tracking table use and limit from
//! `<procfs>/sys/net/netfilter/nf_conntrack_{count,max}` (node-mixin's
//! NodeHighNumberConntrackEntriesUsed). Nothing, and no error, where the
//! nf_conntrack module is not loaded, as node_exporter.

use super::util::{parse_err, read, read_opt};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Conntrack;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Conntrack)
}

fn value(path: &std::path::Path, bytes: &[u8]) -> Result<f64, CollectError> {
    let t = String::from_utf8_lossy(bytes);
    let t = t.trim();
    t.parse::<u64>()
        .map(|v| v as f64)
        .map_err(|_| parse_err(path, format!("expected an unsigned integer, got {t:?}")))
}

impl Collector for Conntrack {
    fn name(&self) -> &'static str {
        "conntrack"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let dir = roots.procfs.join("sys/net/netfilter");
        let count_path = dir.join("nf_conntrack_count");
        let Some(count) = read_opt(&count_path)? else {
            return Ok(());
        };
        let count = value(&count_path, &count)?;
        let max_path = dir.join("nf_conntrack_max");
        let max = read(&max_path)?;
        let max = value(&max_path, &max)?;
        out.push(Family::single(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            Kind::Gauge,
            count,
        ));
        out.push(Family::single(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
            Kind::Gauge,
            max,
        ));
        Ok(())
    }
}
