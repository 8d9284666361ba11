//! `uname`: node_uname_info{domainname,machine,nodename,release,sysname,version},
//! from uname(2) like node_exporter (the Nodes dashboard picks its instances
//! from this series). In a container with host UTS namespace it is the host's.

use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Uname;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Uname)
}

fn field(raw: &[libc::c_char]) -> String {
    // The kernel NUL-terminates each field; stop at the array end regardless.
    let bytes: Vec<u8> = raw
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Collector for Uname {
    fn name(&self) -> &'static str {
        "uname"
    }

    fn collect(&mut self, _roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        // SAFETY: utsname is plain old data; uname only writes into it.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut u) } != 0 {
            return Err(CollectError::Other(format!(
                "uname: {}",
                std::io::Error::last_os_error()
            )));
        }
        let mut f = Family::new(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            Kind::Gauge,
        );
        f.push(
            &[
                ("domainname", &field(&u.domainname)),
                ("machine", &field(&u.machine)),
                ("nodename", &field(&u.nodename)),
                ("release", &field(&u.release)),
                ("sysname", &field(&u.sysname)),
                ("version", &field(&u.version)),
            ],
            1.0,
        );
        out.push(f);
        Ok(())
    }
}
