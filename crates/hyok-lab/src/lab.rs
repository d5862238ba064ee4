//! Starting and stopping the whole lab in one process.

use crate::{
    info::{AdminInfo, CaInfo, DnsInfo, LabInfo, SCHEMA, ServiceInfo, VcnResolverInfo},
    world::{BuiltWorld, DEFAULT_WORLD, WorldConfig, WorldError},
};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use hyok_core::{EventLog, client::HttpClient, pki::LabCa, server::Server};
use hyok_dns::{DnsModel, model::INTERNET_VIEW};
use hyok_dns_server::DnsServer;
pub use hyok_lab_client::ports::{DEFAULT_PORT_BASE, DYNAMIC_PORT_OFFSET, DYNAMIC_PORTS};
use hyok_netsim::{AddressBook, NetworkModel, VcnDial};
use parking_lot::Mutex;
use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

/// How to start a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Where lab.json, CA files, keys, events and data go.
    pub lab_dir: PathBuf,
    /// First real port; 0 takes free ports (tests).
    pub port_base: u16,
    /// World file text.
    pub world: String,
    /// Address the real sockets bind to (`127.0.0.1`; `0.0.0.0` in a container).
    pub listen: std::net::IpAddr,
    /// Address written into lab.json's host URLs (`127.0.0.1`: where a person on the host
    /// reaches the sockets, e.g. through a container's published ports).
    pub advertise: std::net::IpAddr,
    /// Run as the OCI region of a split lab (compose topology): identity, CTM, DNS and the
    /// gateway data plane run elsewhere. `None` runs everything in this process.
    pub region: Option<crate::compose::RegionOptions>,
}

impl LabOptions {
    /// Options for a lab in `lab_dir` with free ports and the shipped world (tests).
    pub fn ephemeral(lab_dir: PathBuf) -> Self {
        Self {
            lab_dir,
            port_base: 0,
            world: DEFAULT_WORLD.to_string(),
            listen: LOOPBACK,
            advertise: LOOPBACK,
            region: None,
        }
    }

    /// Where lab services connect to each other's sockets.
    fn dial_ip(&self) -> std::net::IpAddr {
        if self.listen.is_unspecified() { LOOPBACK } else { self.listen }
    }
}

/// 127.0.0.1.
pub const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Errors starting a lab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The world file is wrong.
    #[error(transparent)]
    World(#[from] WorldError),
    /// A port is taken.
    #[error(transparent)]
    Serve(#[from] hyok_core::server::ServeError),
    /// A DNS port is taken.
    #[error(transparent)]
    Dns(#[from] hyok_dns_server::DnsServerError),
    /// The lab dir cannot be written.
    #[error("lab dir {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error(transparent)]
    Pki(#[from] hyok_core::pki::PkiError),
    /// TLS material was refused.
    #[error(transparent)]
    Tls(#[from] hyok_core::tls::TlsError),
    /// A service failed to start.
    #[error("service {service}: {reason}")]
    Service {
        /// Service name.
        service: String,
        /// Why.
        reason: String,
    },
}

/// A running lab. Every field is shared with the services.
pub struct Lab {
    /// Options it was started with.
    pub opts: LabOptions,
    /// Network model.
    pub net: NetworkModel,
    /// DNS model.
    pub dns: DnsModel,
    /// Virtual endpoints.
    pub book: AddressBook,
    /// Hop events.
    pub events: EventLog,
    /// The public root.
    pub public_ca: Arc<LabCa>,
    /// Ids of the world's items by name.
    pub world: BuiltWorld,
    /// `lab.json` content.
    pub info: LabInfo,
    /// Handles on running services, for the services that need each other in-process
    /// (e.g. the API gateway reads its certificate from the Certificates service).
    pub handles: crate::services::Handles,
    /// The lab as services see it (dialers, run-time endpoints).
    pub host: LabHost,
    token: CancellationToken,
    servers: Mutex<Vec<Server>>,
    dns_servers: Mutex<Vec<DnsServer>>,
}

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
    listen: std::net::IpAddr,
    advertise: std::net::IpAddr,
    dial_ip: std::net::IpAddr,
    /// First fixed port for run-time endpoints (None: free ports).
    dynamic_base: Option<u16>,
}

#[derive(Default)]
struct HostState {
    servers: std::collections::HashMap<(Ipv4Addr, u16), Server>,
    services: Vec<ServiceInfo>,
    /// lab.json as last written; run-time endpoints rewrite it.
    written: Option<LabInfo>,
}

impl LabHost {
    fn state(&self) -> parking_lot::MutexGuard<'_, HostState> {
        self.state.lock()
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
    fn publish(&self, name: &str, kind: &str, host: &str, ip: Ipv4Addr, port: u16, bound: SocketAddr) -> ServiceInfo {
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

    fn rewrite_lab_json(&self) {
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

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("lab_dir", &self.opts.lab_dir).finish_non_exhaustive()
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

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io { path: path.to_path_buf(), source }
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(path))?;
    }
    Ok(())
}

/// Load the lab's public root from the lab dir, or make one and keep it there, so host
/// clients that trusted it once keep trusting it across restarts. Safe when several services
/// of a split lab start at once on one lab dir: one makes it, the others wait for it.
pub(crate) fn public_root(lab_dir: &std::path::Path) -> Result<LabCa, LabError> {
    let dir = lab_dir.join("ca");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let cert = dir.join("lab-root.pem");
    let key = dir.join("lab-root.key");
    let read = || -> Option<LabCa> {
        let (c, k) = (std::fs::read_to_string(&cert).ok()?, std::fs::read_to_string(&key).ok()?);
        LabCa::from_pem(&c, &k).ok()
    };
    if let Some(ca) = read() {
        return Ok(ca);
    }
    let ca = LabCa::generate("HYOK Lab Public Root CA")?;
    // The key is claimed with a hard link (fails when another process claimed it first); the
    // winner then writes the certificate, the others wait for it.
    let tmp = dir.join(format!(".lab-root.key.{}", hyok_core::ids::hex32()));
    write_private(&tmp, ca.key_pem())?;
    let claimed = std::fs::hard_link(&tmp, &key);
    let _ = std::fs::remove_file(&tmp);
    match claimed {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for _ in 0..250 {
                if let Some(ca) = read() {
                    return Ok(ca);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // A key without its certificate (a crash mid-way): start over.
            write_private(&key, ca.key_pem())?;
        }
        Err(e) => return Err(io_err(&key)(e)),
    }
    let tmp = dir.join(format!(".lab-root.pem.{}", hyok_core::ids::hex32()));
    std::fs::write(&tmp, ca.cert_pem()).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &cert).map_err(io_err(&cert))?;
    Ok(ca)
}

/// A step of startup, for progress display.
#[derive(Debug, Clone)]
pub struct Step {
    /// What was done.
    pub what: String,
    /// How long it took.
    pub took: Duration,
}

impl Lab {
    /// Start every service; `progress` is called after each step.
    pub async fn start(opts: LabOptions, progress: &(dyn Fn(Step) + Sync)) -> Result<Arc<Lab>, LabError> {
        hyok_core::tls::install_crypto_provider();
        let step = |what: &str, t: Instant| progress(Step { what: what.to_string(), took: t.elapsed() });
        let lab_dir = std::path::absolute(&opts.lab_dir).map_err(io_err(&opts.lab_dir))?;
        std::fs::create_dir_all(&lab_dir).map_err(io_err(&lab_dir))?;
        // A stale lab.json from a crashed run must not look like a running lab.
        let _ = std::fs::remove_file(LabInfo::path(&lab_dir));

        let t = Instant::now();
        let cfg = WorldConfig::parse(&opts.world)?;
        let net = NetworkModel::new();
        let dns = DnsModel::new();
        // In a split lab, addresses this process does not serve are other containers' own.
        let book = if opts.region.is_some() { AddressBook::with_direct_fallback() } else { AddressBook::new() };
        // The slow RSA keys start now, on blocking threads, while the rest starts up.
        let keys = crate::services::KeyJobs::spawn();
        let tenancy = hyok_core::ids::ocid("tenancy", None);
        let compartment = hyok_core::ids::ocid("compartment", None);
        let world = cfg.build(&net, &dns, &compartment)?;
        step("network model and DNS views", t);

        let t = Instant::now();
        let public_ca = Arc::new(public_root(&lab_dir)?);
        let events_path = lab_dir.join("events.jsonl");
        let _ = std::fs::remove_file(&events_path);
        let events = EventLog::with_file(events_path.clone()).map_err(io_err(&events_path))?;
        step("lab PKI", t);

        let port = |offset: u16| -> SocketAddr {
            let p = if opts.port_base == 0 { 0 } else { opts.port_base.saturating_add(offset) };
            SocketAddr::new(opts.listen, p)
        };

        // DNS: one server per VCN resolver, one for the Internet, one for the host. A region of
        // a split lab uses the DNS container's servers instead (they answer from this model).
        let t = Instant::now();
        let mut dns_servers = Vec::new();
        let mut resolver_addrs = BTreeMap::new();
        let mut vcn_resolvers = Vec::new();
        let host_resolver;
        if let Some(region) = &opts.region {
            let at = |offset: u16| SocketAddr::new(region.dns, opts.port_base.saturating_add(offset));
            for (i, (vcn_name, rid)) in world.resolvers.iter().enumerate() {
                let offset = crate::compose::DNS_VCN_OFFSET + i as u16;
                resolver_addrs.insert(rid.clone(), at(offset));
                vcn_resolvers.push(VcnResolverInfo {
                    vcn: vcn_name.clone(),
                    vcn_id: world.vcns[vcn_name].clone(),
                    resolver_id: rid.clone(),
                    address: SocketAddr::new(opts.advertise, opts.port_base.saturating_add(offset)),
                });
            }
            resolver_addrs.insert(INTERNET_VIEW.to_string(), at(crate::compose::DNS_INTERNET_OFFSET));
            host_resolver =
                SocketAddr::new(opts.advertise, opts.port_base.saturating_add(crate::compose::DNS_HOST_OFFSET));
        } else {
            for (i, (vcn_name, rid)) in world.resolvers.iter().enumerate() {
                let s = DnsServer::start(dns.clone(), rid, port(crate::compose::DNS_VCN_OFFSET + i as u16)).await?;
                resolver_addrs.insert(rid.clone(), SocketAddr::new(opts.dial_ip(), s.local_addr.port()));
                vcn_resolvers.push(VcnResolverInfo {
                    vcn: vcn_name.clone(),
                    vcn_id: world.vcns[vcn_name].clone(),
                    resolver_id: rid.clone(),
                    address: SocketAddr::new(opts.advertise, s.local_addr.port()),
                });
                dns_servers.push(s);
            }
            let internet =
                DnsServer::start(dns.clone(), INTERNET_VIEW, port(crate::compose::DNS_INTERNET_OFFSET)).await?;
            resolver_addrs
                .insert(INTERNET_VIEW.to_string(), SocketAddr::new(opts.dial_ip(), internet.local_addr.port()));
            dns_servers.push(internet);
            let host_dns =
                DnsServer::start(dns.clone(), hyok_dns::model::HOST_RESOLVER, port(crate::compose::DNS_HOST_OFFSET))
                    .await?;
            host_resolver = SocketAddr::new(opts.advertise, host_dns.local_addr.port());
            dns_servers.push(host_dns);
        }
        step("DNS resolvers", t);

        let token = CancellationToken::new();
        // A region shares its admin token with the other containers (internal endpoints).
        let admin_token = opts.region.as_ref().map(|r| r.token.clone()).unwrap_or_else(|| hyok_core::ids::secret(32));
        let host = LabHost {
            net: net.clone(),
            dns: dns.clone(),
            book: book.clone(),
            events: events.clone(),
            public_ca: public_ca.clone(),
            resolver_addrs: Arc::new(resolver_addrs),
            token: token.clone(),
            state: Default::default(),
            listen: opts.listen,
            advertise: opts.advertise,
            dial_ip: opts.dial_ip(),
            dynamic_base: (opts.port_base != 0).then(|| opts.port_base.saturating_add(DYNAMIC_PORT_OFFSET)),
        };
        let mut lab = Lab {
            opts: LabOptions { lab_dir: lab_dir.clone(), ..opts.clone() },
            net,
            dns,
            book,
            events,
            public_ca,
            world,
            info: LabInfo {
                schema: SCHEMA.into(),
                pid: std::process::id(),
                ready_at: String::new(),
                lab_dir: lab_dir.clone(),
                region: cfg.region.clone(),
                admin: AdminInfo { url: String::new(), token: admin_token },
                ca: CaInfo { public_root: "ca/lab-root.pem".into(), bundle: "ca/bundle.pem".into(), ctm_root: None },
                dns: DnsInfo { host_resolver, vcn_resolvers },
                services: Vec::new(),
                credentials: serde_json::Map::new(),
                provisioned: None,
            },
            handles: Default::default(),
            host,
            token: token.clone(),
            servers: Mutex::new(Vec::new()),
            dns_servers: Mutex::new(dns_servers),
        };
        // Services.
        let t = Instant::now();
        crate::services::start_all(&mut lab, &cfg, &port, keys, &tenancy, &compartment).await?;
        step("services", t);

        // Admin endpoint last: it answering means everything before it is up.
        let t = Instant::now();
        let listener = hyok_core::server::bind(port(0)).await?;
        let admin_addr = listener.local_addr().map_err(io_err(&lab_dir))?;
        lab.info.admin.url = format!("http://{}", SocketAddr::new(opts.advertise, admin_addr.port()));
        let lab = Arc::new(lab);
        let admin = hyok_core::server::serve(listener, admin_router(lab.clone()), None, token.child_token());
        lab.push_server(admin);
        step("admin endpoint", t);
        Ok(lab)
    }

    /// Keep a server alive for the lab's lifetime.
    pub fn push_server(&self, s: Server) {
        self.servers.lock().push(s);
    }

    /// The token that stops the lab (the admin `/shutdown` cancels it).
    pub fn stop_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Mark the lab ready and write `lab.json` and the CA bundle.
    pub fn write_lab_json(&self) -> Result<LabInfo, LabError> {
        let mut info = self.info.clone();
        info.ready_at = hyok_core::rfc3339_now();
        let mut bundle = self.public_ca.cert_pem().to_string();
        if let Some(ctm) = &info.ca.ctm_root
            && let Ok(pem) = std::fs::read_to_string(self.opts.lab_dir.join(ctm))
        {
            bundle.push_str(&pem);
        }
        let path = self.opts.lab_dir.join(&info.ca.bundle);
        std::fs::write(&path, bundle).map_err(io_err(&path))?;
        info.save().map_err(io_err(&self.opts.lab_dir))?;
        self.host.state().written = Some(info.clone());
        // Endpoints created before this point (none in a fresh lab) join the file too.
        self.host.rewrite_lab_json();
        Ok(info)
    }

    /// A dialer for a host at `ip` in the lab: it resolves through its VCN's DNS server
    /// (or Internet DNS for the Oracle Services Network).
    pub fn dial_from(&self, ip: Ipv4Addr) -> VcnDial {
        self.host.vcn_dial(ip)
    }

    /// Record in lab.json that a scenario provisioned the lab (tools wait for this).
    pub fn mark_provisioned(&self, scenario: &str, until: Option<u32>) {
        let mut st = self.host.state();
        if let Some(info) = st.written.as_mut() {
            info.provisioned = Some(hyok_lab_client::info::Provisioned { scenario: scenario.to_string(), until });
            if let Err(e) = info.save() {
                tracing::warn!(error = %e, "cannot rewrite lab.json");
            }
        }
    }

    /// An HTTP client for a lab host at `ip`, trusting `ca_pem`, recording hops as `source`.
    pub fn client_from(&self, ip: Ipv4Addr, source: &str, ca_pem: &str) -> Result<HttpClient, LabError> {
        let tls = hyok_core::tls::client_config(ca_pem)?;
        Ok(HttpClient::new(Arc::new(self.dial_from(ip)), tls)
            .with_events(self.events.clone(), format!("{source}@{ip}")))
    }

    /// Register a service endpoint: address book, Internet DNS for public hosts, lab.json.
    pub fn register_service(&mut self, name: &str, kind: &str, host: &str, ip: Ipv4Addr, port: u16, real: SocketAddr) {
        let info = self.host.publish(name, kind, host, ip, port, real);
        self.info.services.push(info);
    }

    /// Stop every server and DNS server.
    pub async fn shutdown(&self) {
        self.token.cancel();
        let servers: Vec<Server> = std::mem::take(&mut *self.servers.lock());
        for s in servers {
            s.shutdown().await;
        }
        let dynamic: Vec<Server> = self.host.state().servers.drain().map(|(_, s)| s).collect();
        for s in dynamic {
            s.shutdown().await;
        }
        self.host.state().written = None;
        let dns: Vec<DnsServer> = std::mem::take(&mut *self.dns_servers.lock());
        for d in dns {
            d.shutdown().await;
        }
        self.events.flush();
        let _ = std::fs::remove_file(LabInfo::path(&self.opts.lab_dir));
    }
}

fn authorised(lab: &Lab, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", lab.info.admin.token);
    let got = headers.get("authorization").map(|v| v.as_bytes()).unwrap_or_default();
    hyok_core::ct_eq(got, want.as_bytes())
}

#[derive(serde::Deserialize)]
struct ResolveQuery {
    resolver: String,
    name: String,
    #[serde(rename = "type", default = "a_type")]
    rtype: String,
}

fn a_type() -> String {
    "A".into()
}

#[derive(serde::Deserialize)]
struct CheckQuery {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    port: u16,
}

fn internal_error(status: StatusCode, code: &str, message: String) -> (StatusCode, Json<serde_json::Value>) {
    (status, Json(serde_json::json!({ "code": code, "message": message })))
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    request_id: Option<String>,
    last: Option<usize>,
}

fn admin_router(lab: Arc<Lab>) -> Router {
    Router::new()
        .route(
            "/health",
            get(|State(lab): State<Arc<Lab>>| async move {
                Json(serde_json::json!({
                    "status": "ok",
                    "pid": std::process::id(),
                    "services": lab.info.services.iter().map(|s| &s.name).collect::<Vec<_>>(),
                }))
            }),
        )
        .route(
            "/shutdown",
            post(|State(lab): State<Arc<Lab>>, headers: HeaderMap| async move {
                if !authorised(&lab, &headers) {
                    return StatusCode::UNAUTHORIZED;
                }
                lab.token.cancel();
                StatusCode::ACCEPTED
            }),
        )
        .route(
            "/time/expire-tokens",
            post(|State(lab): State<Arc<Lab>>, headers: HeaderMap| async move {
                if !authorised(&lab, &headers) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                // Cached access tokens run out as if their hour had passed.
                let n = lab.handles.kms.as_ref().map(|k| k.expire_tokens()).unwrap_or(0);
                Ok(Json(serde_json::json!({ "expired": n })))
            }),
        )
        .route(
            "/events",
            get(|State(lab): State<Arc<Lab>>, headers: HeaderMap, Query(q): Query<EventsQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                let last = q.last.unwrap_or(100).min(10_000);
                let mut events = match &q.request_id {
                    Some(id) => lab.events.by_request(id),
                    None => lab.events.last(last),
                };
                // In the compose topology other containers record their own hops.
                let (dir, id) = (lab.opts.lab_dir.clone(), q.request_id.clone());
                let theirs =
                    tokio::task::spawn_blocking(move || hyok_lab_client::trace::container_hops(&dir, id.as_deref()))
                        .await
                        .unwrap_or_default();
                if !theirs.is_empty() {
                    events.extend(theirs);
                    events.sort_by_key(|e| e.ts_ms);
                    let extra = events.len().saturating_sub(last);
                    if q.request_id.is_none() {
                        events.drain(..extra);
                    }
                }
                Ok(Json(events))
            }),
        )
        // The internal API of a split lab: the DNS container's answers and other containers'
        // network decisions come from this process's models.
        .route(
            "/internal/dns/resolve",
            get(|State(lab): State<Arc<Lab>>, headers: HeaderMap, Query(q): Query<ResolveQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(internal_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad token".into()));
                }
                crate::compose::region_resolve(&lab.dns, &lab.world.resolvers, &q.resolver, &q.name, &q.rtype)
                    .map(Json)
                    .map_err(|e| internal_error(StatusCode::BAD_REQUEST, "InvalidParameter", e.to_string()))
            }),
        )
        .route(
            "/internal/net/check",
            get(|State(lab): State<Arc<Lab>>, headers: HeaderMap, Query(q): Query<CheckQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(internal_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad token".into()));
                }
                let decision = match lab.net.check_tcp(q.src, q.dst, q.port) {
                    Ok(_) => crate::compose::NetDecision { allowed: true, reason: None },
                    Err(d) => crate::compose::NetDecision { allowed: false, reason: Some(d.to_string()) },
                };
                Ok(Json(decision))
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(4096))
        .with_state(lab)
}
