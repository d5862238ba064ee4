//! The lab's dialer: one source address, its VCN's DNS server, the network model and the
//! address book. Implements [`hyok_core::client::Dial`], so any [`hyok_core::client::HttpClient`]
//! built on it behaves like a host in that VCN.

use crate::{book::AddressBook, model::NetworkModel};
use hyok_core::client::{BoxFuture, Dial, DialError, Dialed};
pub use hyok_core::dns::query_a;
use hyok_dns::DnsModel;
use std::net::{Ipv4Addr, SocketAddr};

/// A dialer for one source address.
#[derive(Clone, Debug)]
pub struct VcnDial {
    net: NetworkModel,
    dns: DnsModel,
    book: AddressBook,
    source_ip: Ipv4Addr,
    resolver_id: String,
    resolver_label: String,
    dns_server: SocketAddr,
}

impl VcnDial {
    /// A dialer for `source_ip`, resolving through the DNS server at `dns_server` that serves
    /// resolver `resolver_id` (named `resolver_label` in messages, e.g. `VCN spoke-a-vcn`).
    pub fn new(
        net: NetworkModel,
        dns: DnsModel,
        book: AddressBook,
        source_ip: Ipv4Addr,
        resolver_id: &str,
        resolver_label: &str,
        dns_server: SocketAddr,
    ) -> Self {
        Self {
            net,
            dns,
            book,
            source_ip,
            resolver_id: resolver_id.into(),
            resolver_label: resolver_label.into(),
            dns_server,
        }
    }

    /// The source address.
    pub fn source_ip(&self) -> Ipv4Addr {
        self.source_ip
    }

    async fn resolve(&self, host: &str) -> Result<Ipv4Addr, DialError> {
        let fail = |why: String| DialError::Dns(format!("cannot resolve {host} in {}: {why}", self.resolver_label));
        let ips = query_a(self.dns_server, host).await.map_err(|e| fail(e.to_string()))?;
        match ips {
            Ok(ips) if !ips.is_empty() => Ok(ips[0]),
            other => {
                // The wire answer says "no"; the model says why.
                let why = match self.dns.resolve(&self.resolver_id, host, "A") {
                    Ok(r) => r.why_no_address(),
                    Err(e) => e.to_string(),
                };
                match other {
                    Err(code) => Err(fail(format!("{code}: {why}"))),
                    Ok(_) => Err(fail(why)),
                }
            }
        }
    }
}

impl Dial for VcnDial {
    fn dial(&self, host: &str, port: u16) -> BoxFuture<'_, Result<Dialed, DialError>> {
        let host = host.to_string();
        Box::pin(async move {
            let dst = match host.parse::<Ipv4Addr>() {
                Ok(ip) => ip,
                Err(_) => self.resolve(&host).await?,
            };
            self.net.check_tcp(self.source_ip, dst, port).map_err(|d| DialError::Denied(d.to_string()))?;
            let ep = self.book.lookup(dst, port).ok_or_else(|| {
                let who =
                    self.net.owner_of(dst).map(|o| format!(" ({o} does not serve that port)")).unwrap_or_default();
                DialError::NoListener(format!("connection refused: nothing listens on {dst}:{port}{who}"))
            })?;
            Ok(Dialed { real: ep.real, label: format!("{dst}:{port} ({})", ep.service) })
        })
    }

    fn epoch(&self) -> u64 {
        self.net.epoch().wrapping_add(self.dns.epoch())
    }
}
