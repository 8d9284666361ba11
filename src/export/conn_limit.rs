//! Who gets a connection slot. Each connection may buffer up to
//! [`super::http::MAX_REQUEST_HEAD_BYTES`] of request head, so the number of
//! open connections is capped (`--web.max-connections`); one client address may
//! hold at most `--web.max-connections-per-client` of them, so a single busy or
//! hostile client cannot take the whole cap; and [`PROBE_RESERVE`] slots above
//! the cap serve only `/healthz` and `/readyz`, so a kubelet or systemd probe is
//! answered even when many clients fill the cap together. Connections refused
//! are closed at once, before any TLS handshake, and counted by reason.
//! Design and limits: docs/http.md.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::net::TcpStream;

use super::conn_stream::Limited;
use super::probe_gate::ProbeGate;

/// Slots above the global cap that serve only probes.
pub const PROBE_RESERVE: usize = 8;
/// Reserve slots one client address may hold (a liveness and a readiness probe at once).
pub const PROBE_RESERVE_PER_CLIENT: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub global: usize,
    pub per_client: usize,
}

/// Connections one client address holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientOpen {
    pub total: usize,
    pub reserve: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    PerClient,
    Global,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::PerClient => "per_client",
            Reason::Global => "global",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A slot under the cap: every path.
    Full,
    /// A reserve slot: probes only, one request.
    ProbeOnly,
    Reject(Reason),
}

/// The admission policy, pure: `normal` and `reserve` are the slots taken now.
pub fn admit(limits: Limits, normal: usize, reserve: usize, client: ClientOpen) -> Admission {
    if client.total >= limits.per_client.max(1) {
        Admission::Reject(Reason::PerClient)
    } else if normal < limits.global.max(1) {
        Admission::Full
    } else if reserve < PROBE_RESERVE && client.reserve < PROBE_RESERVE_PER_CLIENT {
        Admission::ProbeOnly
    } else {
        Admission::Reject(Reason::Global)
    }
}

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one host's
/// usual allocation, so a host cannot dodge the limit by rotating addresses).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[derive(Default)]
struct Book {
    normal: usize,
    reserve: usize,
    /// Only clients with an open connection, so at most cap + reserve entries.
    clients: HashMap<IpAddr, ClientOpen>,
}

/// A taken slot; dropping it (when hyper drops the connection) gives it back.
pub struct Slot {
    book: Arc<Mutex<Book>>,
    key: IpAddr,
    probe_only: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        if self.probe_only {
            b.reserve = b.reserve.saturating_sub(1);
        } else {
            b.normal = b.normal.saturating_sub(1);
        }
        if let Some(c) = b.clients.get_mut(&self.key) {
            c.total = c.total.saturating_sub(1);
            if self.probe_only {
                c.reserve = c.reserve.saturating_sub(1);
            }
            if c.total == 0 {
                b.clients.remove(&self.key);
            }
        }
    }
}

/// An axum-server acceptor that admits connections by [`admit`].
#[derive(Clone)]
pub struct LimitAcceptor {
    limits: Limits,
    book: Arc<Mutex<Book>>,
    rejected_per_client: Counter,
    rejected_global: Counter,
}

type Labels = Vec<(String, String)>;

impl LimitAcceptor {
    /// `rejected` gets one series per [`Reason`], created at zero.
    pub fn new(limits: Limits, rejected: &Family<Labels, Counter>) -> Self {
        let counter = |r: Reason| {
            rejected
                .get_or_create(&vec![("reason".to_string(), r.label().to_string())])
                .clone()
        };
        LimitAcceptor {
            limits,
            book: Arc::default(),
            rejected_per_client: counter(Reason::PerClient),
            rejected_global: counter(Reason::Global),
        }
    }

    /// Takes a slot for a connection from `ip`, or says why not.
    pub fn take(&self, ip: IpAddr) -> Result<Slot, Reason> {
        let key = client_key(ip);
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let client = b.clients.get(&key).copied().unwrap_or_default();
        let probe_only = match admit(self.limits, b.normal, b.reserve, client) {
            Admission::Full => false,
            Admission::ProbeOnly => true,
            Admission::Reject(r) => {
                match r {
                    Reason::PerClient => self.rejected_per_client.inc(),
                    Reason::Global => self.rejected_global.inc(),
                };
                return Err(r);
            }
        };
        if probe_only {
            b.reserve += 1;
        } else {
            b.normal += 1;
        }
        let c = b.clients.entry(key).or_default();
        c.total += 1;
        c.reserve += usize::from(probe_only);
        Ok(Slot {
            book: Arc::clone(&self.book),
            key,
            probe_only,
        })
    }
}

impl<S> axum_server::accept::Accept<TcpStream, S> for LimitAcceptor {
    type Stream = Limited<TcpStream>;
    type Service = ProbeGate<S>;
    type Future = Ready<io::Result<(Limited<TcpStream>, ProbeGate<S>)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        // Dropping `stream` with an error closes the connection unanswered.
        ready(match stream.peer_addr() {
            Ok(peer) => match self.take(peer.ip()) {
                Ok(slot) => {
                    let probe_only = slot.probe_only;
                    Ok((
                        Limited::new(stream, slot),
                        ProbeGate::new(service, probe_only),
                    ))
                }
                Err(r) => Err(io::Error::other(format!(
                    "connection refused: {} limit",
                    r.label()
                ))),
            },
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        global: 4,
        per_client: 3,
    };

    fn c(total: usize, reserve: usize) -> ClientOpen {
        ClientOpen { total, reserve }
    }

    #[test]
    fn policy() {
        assert_eq!(admit(L, 0, 0, c(0, 0)), Admission::Full);
        assert_eq!(admit(L, 3, 0, c(2, 0)), Admission::Full);
        assert_eq!(
            admit(L, 3, 0, c(3, 0)),
            Admission::Reject(Reason::PerClient)
        );
        assert_eq!(admit(L, 4, 0, c(0, 0)), Admission::ProbeOnly);
        assert_eq!(
            admit(L, 4, PROBE_RESERVE - 1, c(1, 1)),
            Admission::ProbeOnly
        );
        assert_eq!(
            admit(L, 4, PROBE_RESERVE, c(0, 0)),
            Admission::Reject(Reason::Global)
        );
        assert_eq!(
            admit(L, 4, 0, c(2, PROBE_RESERVE_PER_CLIENT)),
            Admission::Reject(Reason::Global)
        );
    }

    #[test]
    fn slots_come_back_and_clients_are_forgotten() {
        let fam = Family::<Labels, Counter>::default();
        let a = LimitAcceptor::new(L, &fam);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let held: Vec<Slot> = (0..3).map(|_| a.take(ip).unwrap()).collect();
        assert_eq!(a.take(ip).err(), Some(Reason::PerClient));
        let last = a.take(other).unwrap();
        assert!(!last.probe_only);
        let probe = a.take(other).unwrap();
        assert!(probe.probe_only, "cap full: a reserve slot");
        drop((held, last, probe));
        let b = a.book.lock().unwrap();
        assert_eq!((b.normal, b.reserve, b.clients.len()), (0, 0, 0));
        drop(b);
        let per_client = fam.get_or_create(&vec![("reason".into(), "per_client".into())]);
        assert_eq!(per_client.get(), 1);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(client_key(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
    }
}
