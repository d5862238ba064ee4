//! The lab as its services see it: dialers for lab addresses, and endpoints that appear at run
//! time (an API gateway, a vault's endpoints), each with a loopback listener, an address-book
//! entry, Internet DNS for public names and a rewrite of lab.json.

use axum::Router;
use hyok_core::{EventLog, pki::LabCa, server::Server};
use hyok_dns::{DnsModel, model::INTERNET_VIEW};
use hyok_lab_client::{
    info::{LabInfo, ServiceInfo},
    ports::{DYNAMIC_PORT_OFFSET, DYNAMIC_PORTS},
};
use hyok_netsim::{AddressBook, NetworkModel, VcnDial};
use parking_lot::Mutex;
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};
use tokio_util::sync::CancellationToken;

/// The part of the lab that services hold: dialers for lab addresses, and serving endpoints
/// that appear at run time (an API gateway, a vault's endpoints). Cheap to clone.
#[derive(Clone)]
pub struct LabHost {
    net: NetworkModel,
    dns: DnsModel,
    book: AddressBook,
    events: EventLog,
    public_ca: Arc<LabCa>,
    resolver_addrs: Arc<BTreeMap<String, SocketAddr>>,
    token: CancellationToken,
    state: Arc<Mutex<HostState>>,
    listen: IpAddr,
    advertise: IpAddr,
    dial_ip: IpAddr,
    /// First fixed port for run-time endpoints (None: free ports).
    dynamic_base: Option<u16>,
    /// Virtual addresses the host's proxy reaches at another address (a split lab: CTM's
    /// container from the region's network).
    proxy_via: Arc<BTreeMap<Ipv4Addr, IpAddr>>,
}

#[derive(Default)]
struct HostState {
    servers: std::collections::HashMap<(Ipv4Addr, u16), Server>,
    services: Vec<ServiceInfo>,
    /// lab.json as last written; run-time endpoints rewrite it.
    written: Option<LabInfo>,
    /// The names the lab serves (`host:port` → virtual address), for the host's proxy.
    names: BTreeMap<(String, u16), Ipv4Addr>,
}

/// Where a lab's sockets are: the port base (0 takes free ports), the address they bind to,
/// the one lab services dial them at, and the one written into lab.json's host URLs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Addresses {
    pub(crate) port_base: u16,
    pub(crate) listen: IpAddr,
    pub(crate) dial_ip: IpAddr,
    pub(crate) advertise: IpAddr,
}

impl Addresses {
    /// Where whatever sits at `offset` of the port plan listens (any free port with base 0).
    pub(crate) fn listen_at(&self, offset: u16) -> SocketAddr {
        let p = if self.port_base == 0 { 0 } else { self.port_base.saturating_add(offset) };
        SocketAddr::new(self.listen, p)
    }

    /// First fixed port for run-time endpoints (None: free ports).
    fn dynamic_base(&self) -> Option<u16> {
        (self.port_base != 0).then(|| self.port_base.saturating_add(DYNAMIC_PORT_OFFSET))
    }
}

impl LabHost {
    /// The host of a lab whose resolvers answer at `resolver_addrs` (by resolver id).
    pub(crate) fn new(
        (net, dns, book): (NetworkModel, DnsModel, AddressBook),
        events: EventLog,
        public_ca: Arc<LabCa>,
        resolver_addrs: BTreeMap<String, SocketAddr>,
        token: CancellationToken,
        at: Addresses,
    ) -> Self {
        Self {
            net,
            dns,
            book,
            events,
            public_ca,
            resolver_addrs: Arc::new(resolver_addrs),
            token,
            state: Default::default(),
            listen: at.listen,
            advertise: at.advertise,
            dial_ip: at.dial_ip,
            dynamic_base: at.dynamic_base(),
            proxy_via: Default::default(),
        }
    }

    /// The same host, whose proxy reaches the virtual addresses of `via` at other addresses.
    pub(crate) fn with_proxy_via(mut self, via: BTreeMap<Ipv4Addr, IpAddr>) -> Self {
        self.proxy_via = Arc::new(via);
        self
    }

    /// Serve these services' names through the host's proxy.
    pub(crate) fn add_names(&self, services: &[ServiceInfo]) {
        let mut st = self.state();
        for s in services {
            st.names.insert((name_key(&s.host), s.port), s.virtual_ip);
        }
    }

    fn state(&self) -> parking_lot::MutexGuard<'_, HostState> {
        self.state.lock()
    }

    /// The network model (services that change or check it).
    pub(crate) fn net(&self) -> &NetworkModel {
        &self.net
    }

    /// The DNS model.
    pub fn dns(&self) -> &DnsModel {
        &self.dns
    }

    /// An HTTP client for a lab host at `ip`, trusting `ca_pem`, recording hops as `source`.
    pub(crate) fn client_from(
        &self,
        ip: Ipv4Addr,
        source: &str,
        ca_pem: &str,
    ) -> Result<hyok_core::client::HttpClient, hyok_core::tls::TlsError> {
        let tls = hyok_core::tls::client_config(ca_pem)?;
        Ok(hyok_core::client::HttpClient::new(Arc::new(self.vcn_dial(ip)), tls)
            .with_events(self.events.clone(), format!("{source}@{ip}")))
    }

    /// A dialer for a host at `ip` in the lab: it resolves through its VCN's DNS server
    /// (or Internet DNS for the Oracle Services Network).
    pub fn vcn_dial(&self, ip: Ipv4Addr) -> VcnDial {
        let (rid, label) = match self.net.subnet_of(ip) {
            Some(sub) => {
                let vcn = self.net.vcn(&sub.vcn_id).map(|v| v.display_name).unwrap_or_default();
                let rid = self.dns.resolver_for_vcn(&sub.vcn_id).map(|r| r.id).unwrap_or_default();
                (rid, format!("VCN {vcn}"))
            }
            None => (INTERNET_VIEW.to_string(), "Internet DNS".to_string()),
        };
        let server = self.resolver_addrs.get(&rid).copied().unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9)));
        VcnDial::new(self.net.clone(), self.dns.clone(), self.book.clone(), ip, &rid, &label, server)
    }

    /// Put a service in the address book and Internet DNS; returns its lab.json entry.
    pub(crate) fn publish(
        &self,
        name: &str,
        kind: &str,
        host: &str,
        ip: Ipv4Addr,
        port: u16,
        bound: SocketAddr,
    ) -> ServiceInfo {
        // Lab services dial the socket on the dial address; people use the advertised one.
        let real = SocketAddr::new(self.dial_ip, bound.port());
        let advertised = SocketAddr::new(self.advertise, bound.port());
        self.book.register(ip, port, name, real);
        if matches!(self.net.locate(ip), Some(hyok_netsim::model::Location::OracleServices)) {
            publish_internet_name(&self.dns, host, ip);
        }
        let lab_url = if port == 443 { format!("https://{host}") } else { format!("https://{host}:{port}") };
        ServiceInfo {
            name: name.into(),
            kind: kind.into(),
            lab_url,
            url: format!("https://{advertised}"),
            host: host.into(),
            virtual_ip: ip,
            port,
            host_address: advertised,
            created: false,
        }
    }

    pub(crate) fn rewrite_lab_json(&self) {
        let mut st = self.state();
        let services = st.services.clone();
        if let Some(info) = st.written.as_mut() {
            let mut merged: Vec<ServiceInfo> = info.services.iter().filter(|s| !s.created).cloned().collect();
            merged.extend(services);
            info.services = merged;
            if let Err(e) = info.save() {
                tracing::warn!(error = %e, "cannot rewrite lab.json");
            }
        }
    }
}

impl LabHost {
    /// A listener for an endpoint created at run time: the next free fixed port after
    /// base+100 when the lab has a port base (so a container can publish them), else any.
    async fn bind_dynamic(&self) -> Result<tokio::net::TcpListener, String> {
        let Some(base) = self.dynamic_base else {
            return hyok_core::server::bind(SocketAddr::new(self.listen, 0)).await.map_err(|e| e.to_string());
        };
        let mut last = String::new();
        for i in 0..DYNAMIC_PORTS {
            match hyok_core::server::bind(SocketAddr::new(self.listen, base.saturating_add(i))).await {
                Ok(l) => return Ok(l),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("no free port for a run-time endpoint in {base}..{}: {last}", base.saturating_add(DYNAMIC_PORTS)))
    }
}

impl hyok_core::host::ServiceHost for LabHost {
    fn host(
        &self,
        ep: hyok_core::host::Endpoint,
        router: Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> hyok_core::client::BoxFuture<'_, Result<SocketAddr, String>> {
        Box::pin(async move {
            let listener = self.bind_dynamic().await?;
            let real = listener.local_addr().map_err(|e| e.to_string())?;
            let server = hyok_core::server::serve(listener, router, Some(tls), self.token.child_token());
            let mut info = self.publish(&ep.name, &ep.kind, &ep.host, ep.ip, ep.port, real);
            info.created = true;
            {
                let mut st = self.state();
                if let Some(old) = st.servers.insert((ep.ip, ep.port), server) {
                    old.token().cancel();
                }
                st.services.retain(|s| !(s.virtual_ip == ep.ip && s.port == ep.port));
                st.names.retain(|(_, p), v| !(*v == ep.ip && *p == ep.port));
                st.names.insert((name_key(&info.host), info.port), ep.ip);
                st.services.push(info);
            }
            self.rewrite_lab_json();
            Ok(real)
        })
    }

    fn unhost(&self, ip: Ipv4Addr, port: u16) -> hyok_core::client::BoxFuture<'_, ()> {
        Box::pin(async move {
            self.book.unregister(ip, port);
            let server = {
                let mut st = self.state();
                st.services.retain(|s| !(s.virtual_ip == ip && s.port == port));
                st.names.retain(|(_, p), v| !(*v == ip && *p == port));
                st.servers.remove(&(ip, port))
            };
            if let Some(s) = server {
                s.shutdown().await;
            }
            self.rewrite_lab_json();
        })
    }

    fn dial_from(&self, ip: Ipv4Addr) -> Arc<dyn hyok_core::client::Dial> {
        Arc::new(self.vcn_dial(ip))
    }

    fn events(&self) -> EventLog {
        self.events.clone()
    }

    fn public_ca(&self) -> Arc<LabCa> {
        self.public_ca.clone()
    }
}

impl LabHost {
    /// Keep `info` as the lab.json that run-time endpoints rewrite (None: the lab is stopping).
    pub(crate) fn set_written(&self, info: Option<LabInfo>) {
        self.state().written = info;
    }

    /// Change the written lab.json and save it.
    pub(crate) fn update_written(&self, change: impl FnOnce(&mut LabInfo)) {
        let mut st = self.state();
        if let Some(info) = st.written.as_mut() {
            change(info);
            if let Err(e) = info.save() {
                tracing::warn!(error = %e, "cannot rewrite lab.json");
            }
        }
    }

    /// The run-time endpoints' servers, to stop them.
    pub(crate) fn take_servers(&self) -> Vec<Server> {
        self.state().servers.drain().map(|(_, s)| s).collect()
    }
}

fn name_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl crate::proxy::Routes for LabHost {
    fn route(&self, host: &str, port: u16) -> Option<SocketAddr> {
        let registered = self.state().names.get(&(name_key(host), port)).copied();
        let ip = registered.or_else(|| self.private_dns_ip(host, port))?;
        // Only registered endpoints (or, in a region, another container's own address).
        let real = self.book.lookup(ip, port)?.real;
        Some(match self.proxy_via.get(&ip) {
            Some(via) => SocketAddr::new(*via, real.port()),
            None => real,
        })
    }
}

impl LabHost {
    /// A name of the lab's private DNS (e.g. `oci-api-gw.oci-thales.lab`) that a resolver
    /// answers with the address of a lab socket. Every resolver is asked, in a fixed order: views
    /// differ per VCN, and the first view holding a zone answers even without the record.
    fn private_dns_ip(&self, host: &str, port: u16) -> Option<Ipv4Addr> {
        let mut resolvers: Vec<String> = self.dns.resolvers().into_iter().map(|r| r.id).collect();
        resolvers.sort();
        std::iter::once(hyok_dns::model::HOST_RESOLVER.to_string())
            .chain(resolvers)
            .filter_map(|r| self.dns.resolve(&r, host, "A").ok()?.first_ipv4())
            .find(|ip| self.book.lookup(*ip, port).is_some())
    }
}

/// Publish a public host name in Internet DNS (in the zone of its last two labels).
pub(crate) fn publish_internet_name(dns: &DnsModel, host: &str, ip: Ipv4Addr) {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() >= 3 {
        let zone = labels[labels.len() - 2..].join(".");
        if let Err(e) = dns.add_internet_record(&zone, host, ip) {
            tracing::warn!(%host, error = %e, "cannot publish Internet DNS record");
        }
    }
}
