//! `loadavg`: node_load1/5/15 from `<procfs>/loadavg`.

use procfs::LoadAverage;

use super::util::parse_file;
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct LoadAvg;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(LoadAvg)
}

/// procfs-core parses into f32; widening 0.43f32 directly gives 0.4300000071…,
/// which would show in the exposition. The shortest f32 repr is the kernel's
/// two-decimal text, so go through it.
fn widen(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(x as f64)
}

impl Collector for LoadAvg {
    fn name(&self) -> &'static str {
        "loadavg"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let l: LoadAverage = parse_file(&roots.procfs.join("loadavg"), |l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let bad = f.len() < 5 || f[..3].iter().any(|x| x.parse::<f64>().is_err());
            bad.then(|| format!("expected \"load1 load5 load15 running/total lastpid\", got {l:?}"))
        })?;
        for (name, help, v) in [
            ("node_load1", "1m load average.", l.one),
            ("node_load5", "5m load average.", l.five),
            ("node_load15", "15m load average.", l.fifteen),
        ] {
            out.push(Family::single(name, help, Kind::Gauge, widen(v)));
        }
        Ok(())
    }
}
