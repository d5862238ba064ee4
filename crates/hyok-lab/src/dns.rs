//! The lab's DNS servers: one per VCN resolver, one for the Internet, one for the host, at the
//! port plan's DNS offsets. A region of a split lab uses the DNS container's servers instead
//! (they answer from the region's model).

use crate::{error::LabError, host::Addresses, world::BuiltWorld};
use hyok_dns::{
    DnsModel,
    model::{HOST_RESOLVER, INTERNET_VIEW},
};
use hyok_dns_server::DnsServer;
use hyok_lab_client::{
    info::{DnsInfo, VcnResolverInfo},
    ports::{DNS_HOST_OFFSET, DNS_INTERNET_OFFSET, DNS_VCN_OFFSET},
};
use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
};

/// The lab's resolvers as the lab's services and lab.json see them.
pub(crate) struct Resolvers {
    /// The servers this process runs (none in a region).
    pub(crate) servers: Vec<DnsServer>,
    /// Where lab services query each resolver, by resolver id (`internet` for Internet DNS).
    pub(crate) addrs: BTreeMap<String, SocketAddr>,
    /// lab.json's `dns`.
    pub(crate) info: DnsInfo,
}

/// Start a server for every resolver of `world`, or (`dns_container`) use the DNS container's.
pub(crate) async fn start(
    dns: &DnsModel,
    world: &BuiltWorld,
    at: &Addresses,
    dns_container: Option<IpAddr>,
) -> Result<Resolvers, LabError> {
    let advertised = |port: u16| SocketAddr::new(at.advertise, port);
    let vcn_info = |vcn: &str, rid: &str, port: u16| VcnResolverInfo {
        vcn: vcn.to_string(),
        vcn_id: world.vcns[vcn].clone(),
        resolver_id: rid.to_string(),
        address: advertised(port),
    };
    let mut servers = Vec::new();
    let mut addrs = BTreeMap::new();
    let mut vcn_resolvers = Vec::new();
    let host_resolver;
    if let Some(container) = dns_container {
        let fixed = |offset: u16| at.port_base.saturating_add(offset);
        for (i, (vcn, rid)) in world.resolvers.iter().enumerate() {
            let port = fixed(DNS_VCN_OFFSET + i as u16);
            addrs.insert(rid.clone(), SocketAddr::new(container, port));
            vcn_resolvers.push(vcn_info(vcn, rid, port));
        }
        addrs.insert(INTERNET_VIEW.to_string(), SocketAddr::new(container, fixed(DNS_INTERNET_OFFSET)));
        host_resolver = advertised(fixed(DNS_HOST_OFFSET));
    } else {
        for (i, (vcn, rid)) in world.resolvers.iter().enumerate() {
            let s = DnsServer::start(dns.clone(), rid, at.listen_at(DNS_VCN_OFFSET + i as u16)).await?;
            addrs.insert(rid.clone(), SocketAddr::new(at.dial_ip, s.local_addr.port()));
            vcn_resolvers.push(vcn_info(vcn, rid, s.local_addr.port()));
            servers.push(s);
        }
        let internet = DnsServer::start(dns.clone(), INTERNET_VIEW, at.listen_at(DNS_INTERNET_OFFSET)).await?;
        addrs.insert(INTERNET_VIEW.to_string(), SocketAddr::new(at.dial_ip, internet.local_addr.port()));
        servers.push(internet);
        let host_dns = DnsServer::start(dns.clone(), HOST_RESOLVER, at.listen_at(DNS_HOST_OFFSET)).await?;
        host_resolver = advertised(host_dns.local_addr.port());
        servers.push(host_dns);
    }
    Ok(Resolvers { servers, addrs, info: DnsInfo { host_resolver, vcn_resolvers } })
}
