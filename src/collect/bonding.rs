//! `bonding`: configured and active slaves per bond from
//! `<sysfs>/class/net/bonding_masters`, as node_exporter's bonding collector
//! (node-mixin's NodeBondingDegraded). Nothing, and no error, without bonds.

use super::util::{parse_err, read, read_opt};
use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Bonding;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Bonding)
}

/// A name from a sysfs list that is safe to join onto a path.
fn iface_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/')
}

impl Collector for Bonding {
    fn name(&self) -> &'static str {
        "bonding"
    }

    fn collect(&mut self, roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        let net = roots.sysfs.join("class/net");
        let masters_path = net.join("bonding_masters");
        let Some(masters) = read_opt(&masters_path)? else {
            return Ok(());
        };
        let masters = String::from_utf8_lossy(&masters).into_owned();
        let mut slaves_fam = Family::new(
            "node_bonding_slaves",
            "Number of configured slaves per bonding interface.",
            Kind::Gauge,
        );
        let mut active_fam = Family::new(
            "node_bonding_active",
            "Number of active slaves per bonding interface.",
            Kind::Gauge,
        );
        let mut names: Vec<&str> = masters.split_whitespace().collect();
        names.sort();
        names.dedup();
        for master in names {
            if !iface_name(master) {
                return Err(parse_err(
                    &masters_path,
                    format!("bad interface name {master:?}"),
                ));
            }
            let slaves_path = net.join(master).join("bonding/slaves");
            let slaves = String::from_utf8_lossy(&read(&slaves_path)?).into_owned();
            let (mut total, mut active) = (0u32, 0u32);
            for slave in slaves.split_whitespace() {
                if !iface_name(slave) {
                    return Err(parse_err(
                        &slaves_path,
                        format!("bad interface name {slave:?}"),
                    ));
                }
                total += 1;
                // Linux >= 4.13 names the link lower_<slave>, older kernels slave_<slave>.
                let mut status = None;
                for link in [format!("lower_{slave}"), format!("slave_{slave}")] {
                    let p = net.join(master).join(link).join("bonding_slave/mii_status");
                    if let Some(b) = read_opt(&p)? {
                        status = Some(String::from_utf8_lossy(&b).trim().to_string());
                        break;
                    }
                }
                if status.as_deref() == Some("up") {
                    active += 1;
                }
            }
            slaves_fam.push(&[("master", master)], f64::from(total));
            active_fam.push(&[("master", master)], f64::from(active));
        }
        out.extend(
            [active_fam, slaves_fam]
                .into_iter()
                .filter(|f| !f.samples.is_empty()),
        );
        Ok(())
    }
}
