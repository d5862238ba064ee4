//! The lab's dialer: one source address, its VCN's DNS server, the network model and the
//! address book. Implements [`hyok_core::client::Dial`], so any [`hyok_core::client::HttpClient`]
//! built on it behaves like a host in that VCN.

use crate::{book::AddressBook, model::NetworkModel};
use hickory_proto::{
    op::{Message, MessageType, OpCode, Query, ResponseCode},
    rr::{Name, RData, RecordType},
};
use hyok_core::client::{BoxFuture, Dial, DialError, Dialed};
use hyok_dns::DnsModel;
use std::{
    net::{Ipv4Addr, SocketAddr},
    str::FromStr,
    time::Duration,
};

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

/// Ask the DNS server at `server` for the A records of `host`, over UDP (falls back to TCP
/// semantics are not needed: answers are small). Returns the response code on failure.
pub async fn query_a(server: SocketAddr, host: &str) -> std::io::Result<Result<Vec<Ipv4Addr>, ResponseCode>> {
    let name = Name::from_str(&format!("{}.", host.trim_end_matches('.')))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name, RecordType::A));
    let bytes = msg.to_vec().map_err(|e| std::io::Error::other(e.to_string()))?;
    // A server on loopback is asked from loopback; one in another container from any address.
    let local: std::net::IpAddr =
        if server.ip().is_loopback() { Ipv4Addr::LOCALHOST.into() } else { Ipv4Addr::UNSPECIFIED.into() };
    let sock = tokio::net::UdpSocket::bind((local, 0)).await?;
    sock.connect(server).await?;
    let mut buf = vec![0u8; 4096];
    for attempt in 0..3 {
        sock.send(&bytes).await?;
        match tokio::time::timeout(Duration::from_millis(500 * (attempt + 1)), sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                let resp = Message::from_vec(&buf[..n]).map_err(|e| std::io::Error::other(e.to_string()))?;
                if resp.metadata.id != id {
                    continue;
                }
                if resp.metadata.response_code != ResponseCode::NoError {
                    return Ok(Err(resp.metadata.response_code));
                }
                let ips = resp
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(a.0),
                        _ => None,
                    })
                    .collect();
                return Ok(Ok(ips));
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("DNS server {server} did not answer")))
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
