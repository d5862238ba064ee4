//! How a service in its own container dials: real DNS from its VCN's resolver in the DNS
//! container, the region's decision on routing and security lists, then a connection to the
//! address itself.

use super::region::RegionClient;
use crate::world::WorldConfig;
use hyok_core::client::{BoxFuture, Dial, DialError, Dialed};
use hyok_lab_client::ports::DNS_VCN_OFFSET;
use std::net::{Ipv4Addr, SocketAddr};

/// Port offset of the resolver of `vcn` (VCNs in name order, as the lab numbers them).
pub fn vcn_resolver_offset(cfg: &WorldConfig, vcn: &str) -> Option<u16> {
    let mut names: Vec<&str> = cfg.vcns.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.iter().position(|n| *n == vcn).map(|i| DNS_VCN_OFFSET + i as u16)
}

/// The VCN whose CIDR holds `ip`, if any (else the host sits in the Oracle Services Network).
pub fn vcn_of(cfg: &WorldConfig, ip: Ipv4Addr) -> Option<&str> {
    cfg.vcns.iter().find(|v| v.cidr.parse::<ipnet::Ipv4Net>().is_ok_and(|n| n.contains(&ip))).map(|v| v.name.as_str())
}

/// The resolver selector the region's internal DNS endpoint understands for a VCN.
pub(crate) fn vcn_selector(vcn: &str) -> String {
    format!("vcn:{vcn}")
}

/// The dialer of a service in its own container: real DNS from its VCN's resolver, the region's
/// decision on routing and security lists, then a connection to the address itself.
#[derive(Clone, Debug)]
pub struct ContainerDial {
    source_ip: Ipv4Addr,
    dns_server: SocketAddr,
    selector: String,
    label: String,
    region: RegionClient,
}

impl ContainerDial {
    /// A dialer for a host at `ip` in `vcn` (None: the Oracle Services Network) whose resolver
    /// is the DNS server at `dns_server`.
    pub fn at(ip: Ipv4Addr, vcn: Option<&str>, dns_server: SocketAddr, region: RegionClient) -> Self {
        let (selector, label) = match vcn {
            Some(v) => (vcn_selector(v), format!("VCN {v}")),
            None => (hyok_dns::model::INTERNET_VIEW.to_string(), "Internet DNS".to_string()),
        };
        Self { source_ip: ip, dns_server, selector, label, region }
    }

    async fn resolve(&self, host: &str) -> Result<Ipv4Addr, DialError> {
        let fail = |why: String| DialError::Dns(format!("cannot resolve {host} in {}: {why}", self.label));
        match hyok_core::dns::query_a(self.dns_server, host).await {
            Ok(Ok(ips)) if !ips.is_empty() => Ok(ips[0]),
            Err(e) => Err(fail(e.to_string())),
            other => {
                // The wire said no; the region's model says why.
                let why = match self.region.resolve(&self.selector, host, "A").await {
                    Ok(r) => r.why_no_address(),
                    Err(e) => match other {
                        Ok(Err(code)) => format!("{code} ({e})"),
                        _ => format!("no address ({e})"),
                    },
                };
                Err(fail(why))
            }
        }
    }
}

impl Dial for ContainerDial {
    fn dial(&self, host: &str, port: u16) -> BoxFuture<'_, Result<Dialed, DialError>> {
        let host = host.to_string();
        Box::pin(async move {
            let dst = match host.parse::<Ipv4Addr>() {
                Ok(ip) => ip,
                Err(_) => self.resolve(&host).await?,
            };
            let decision = self.region.check(self.source_ip, dst, port).await.map_err(DialError::Denied)?;
            if !decision.allowed {
                return Err(DialError::Denied(decision.reason.unwrap_or_else(|| "denied by the network".into())));
            }
            Ok(Dialed { real: SocketAddr::from((dst, port)), label: format!("{dst}:{port}") })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_ports_follow_vcn_names() {
        let cfg = WorldConfig::parse(crate::world::DEFAULT_WORLD).expect("world");
        let offsets: Vec<_> = ["ams-vcn", "ash-vcn", "fra-hub-vcn", "fra-spoke-a-vcn"]
            .iter()
            .map(|v| vcn_resolver_offset(&cfg, v))
            .collect();
        assert_eq!(offsets, vec![Some(54), Some(55), Some(56), Some(57)]);
        assert_eq!(vcn_of(&cfg, "172.16.1.103".parse().expect("ip")), Some("fra-spoke-a-vcn"));
        assert_eq!(vcn_of(&cfg, "10.222.10.21".parse().expect("ip")), Some("ams-vcn"));
        assert_eq!(vcn_of(&cfg, "134.70.16.10".parse().expect("ip")), None);
    }
}
