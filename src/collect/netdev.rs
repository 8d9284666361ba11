//! `netdev`: node_network_{receive,transmit}_* counters {device} from `<procfs>/net/dev`.

use procfs::net::InterfaceDeviceStatus;
use regex::Regex;

use super::util::{compile, non_numeric, parse_file, Misconfigured};
use super::{CollectError, CollectOptions, Collector, Family, Kind, Roots};

pub struct NetDev {
    exclude: Regex,
}

pub fn build(o: &CollectOptions) -> Box<dyn Collector> {
    match compile(
        "--collector.netdev.device-exclude",
        &o.netdev_device_exclude,
    ) {
        Ok(exclude) => Box::new(NetDev { exclude }),
        Err(reason) => Box::new(Misconfigured {
            name: "netdev",
            reason,
        }),
    }
}

impl Collector for NetDev {
    fn name(&self) -> &'static str {
        "netdev"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        // `<procfs>/net` links to `self/net`, i.e. the network namespace of this
        // process, not of the host; node_exporter has the same property, which is
        // why its DaemonSet (and ours) runs with hostNetwork.
        let InterfaceDeviceStatus(map) = parse_file(&roots.procfs.join("net/dev"), |l| {
            // Header lines contain '|'; data lines are "name: 16 counters".
            let (name, rest) = l.split_once(':').filter(|_| !l.contains('|'))?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() != 16 {
                return Some(format!(
                    "interface {}: expected 16 counters, got {}",
                    name.trim(),
                    f.len()
                ));
            }
            non_numeric(&f, &format!("interface {}", name.trim()))
        })?;
        let mut devs: Vec<_> = map
            .values()
            .filter(|d| !self.exclude.is_match(&d.name))
            .collect();
        devs.sort_by(|a, b| a.name.cmp(&b.name));
        // Packets: node-mixin's NodeNetwork{Receive,Transmit}Errs divide errors by them.
        let stats = [
            "receive_bytes",
            "transmit_bytes",
            "receive_packets",
            "transmit_packets",
            "receive_errs",
            "transmit_errs",
            "receive_drop",
            "transmit_drop",
        ];
        let mut fams = stats.map(|s| {
            Family::new(
                &format!("node_network_{s}_total"),
                &format!("Network device statistic {s}."),
                Kind::Counter,
            )
        });
        for d in devs {
            let values = [
                d.recv_bytes,
                d.sent_bytes,
                d.recv_packets,
                d.sent_packets,
                d.recv_errs,
                d.sent_errs,
                d.recv_drop,
                d.sent_drop,
            ];
            for (f, v) in fams.iter_mut().zip(values) {
                f.push(&[("device", &d.name)], v as f64);
            }
        }
        out.extend(fams.into_iter().filter(|f| !f.samples.is_empty()));
        Ok(())
    }
}
