//! One service per process (`hyok-lab serve <service>`), for the compose topology in
//! `docker/compose.yaml`: the identity domain, CipherTrust Manager, the API gateway's data
//! plane, DNS and the OCI region each run in their own container and reach each other only over
//! Docker networks.
//!
//! The OCI region (`serve oci`) owns the network and DNS models, because the OCI Networking and
//! DNS APIs change them. The other containers use them over the region's internal endpoints:
//! the DNS container answers real DNS queries from the region's model, and a container that
//! dials asks its VCN's resolver (real DNS, in the DNS container), then asks the region whether
//! routing and security lists let the connection through, then connects to the address itself
//! (Docker gives each container its tutorial address where it can).
//!
//! Invariant: every container in the topology shares the lab dir (a bind mount) and the world
//! file; the region writes `lab.json` last, from its own services and the fragments the others
//! left in `<lab-dir>/compose/`.

use crate::{
    info::ServiceInfo,
    lab::LabError,
    world::{ServiceConfig, WorldConfig},
};
use hyok_core::{
    EventLog,
    client::{BoxFuture, Dial, DialError, Dialed, HttpClient, StaticDial},
    pki::LabCa,
    server::Server,
};
use hyok_dns::{DnsError, Resolution};
use hyok_dns_server::DnsServer;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// The services `hyok-lab serve` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The IAM identity domain.
    Identity,
    /// CipherTrust Manager in AMS.
    Ctm,
    /// The API gateway's data plane (its control plane is an OCI service).
    ApiGateway,
    /// DNS: every VCN's resolver, Internet DNS and the host resolver.
    Dns,
    /// The OCI region: Networking, DNS API, Certificates, API Gateway control plane, KMS,
    /// Object Storage; owner of the network and DNS models.
    Oci,
}

impl Role {
    /// The name used on the command line and for fragments.
    pub fn name(self) -> &'static str {
        match self {
            Role::Identity => "identity",
            Role::Ctm => "ctm",
            Role::ApiGateway => "api-gateway",
            Role::Dns => "dns",
            Role::Oci => "oci",
        }
    }
}

pub use hyok_lab_client::ports::{
    DATA_PLANE_PORT, DNS_HOST_OFFSET, DNS_INTERNET_OFFSET, DNS_VCN_OFFSET, GATEWAY_HOST_OFFSET,
};

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
fn vcn_selector(vcn: &str) -> String {
    format!("vcn:{vcn}")
}

/// How the services of a split lab find each other.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The lab dir every container shares.
    pub lab_dir: PathBuf,
    /// World file text (the same in every container).
    pub world: String,
    /// Port base of the host-published ports (lab.json URLs).
    pub port_base: u16,
    /// Address written into lab.json URLs.
    pub advertise: IpAddr,
    /// The region's admin endpoint (internal API).
    pub region: SocketAddr,
    /// Address of the DNS container.
    pub dns: IpAddr,
    /// The API gateway data-plane agent.
    pub data_plane: SocketAddr,
}

impl ServeOptions {
    fn world(&self) -> Result<WorldConfig, LabError> {
        Ok(WorldConfig::parse(&self.world)?)
    }

    fn host_port(&self, offset: u16) -> SocketAddr {
        SocketAddr::new(self.advertise, self.port_base.saturating_add(offset))
    }

    /// The DNS server a host in `vcn` uses: its VCN's resolver, or Internet DNS.
    fn dns_server_for(&self, cfg: &WorldConfig, vcn: Option<&str>) -> SocketAddr {
        let offset = vcn.and_then(|v| vcn_resolver_offset(cfg, v)).unwrap_or(DNS_INTERNET_OFFSET);
        SocketAddr::new(self.dns, self.port_base.saturating_add(offset))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io { path: path.to_path_buf(), source }
}

fn svc_err(service: &str, e: impl std::fmt::Display) -> LabError {
    LabError::Service { service: service.to_string(), reason: e.to_string() }
}

/// The secret the split services share for the region's internal endpoints:
/// `HYOK_INTERNAL_TOKEN`, else a file in the lab dir made by whichever service starts first.
pub fn internal_token(lab_dir: &Path) -> Result<String, LabError> {
    if let Ok(t) = std::env::var("HYOK_INTERNAL_TOKEN")
        && t.len() >= 16
    {
        return Ok(t);
    }
    let dir = lab_dir.join("compose");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join("internal.token");
    let mine = hyok_core::ids::secret(32);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => {
            use std::io::Write as _;
            f.write_all(mine.as_bytes()).map_err(io_err(&path))?;
            return Ok(mine);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    // Another service made it; it may still be writing.
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(&path)
            && t.len() >= 16
        {
            return Ok(t);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(svc_err("internal token", format!("{} stays empty", path.display())))
}

/// What a service in its own container tells the region for lab.json.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fragment {
    /// Its lab.json entries.
    pub services: Vec<ServiceInfo>,
    /// Its generated credentials (`identity`, `ctm`).
    pub credentials: serde_json::Map<String, serde_json::Value>,
    /// Public names to publish in Internet DNS.
    pub internet_names: Vec<(String, Ipv4Addr)>,
    /// A CA file (relative to the lab dir) host clients must trust too.
    pub extra_ca: Option<String>,
}

impl Fragment {
    fn path(lab_dir: &Path, role: Role) -> PathBuf {
        lab_dir.join("compose").join(format!("{}.json", role.name()))
    }

    fn save(&self, lab_dir: &Path, role: Role) -> Result<(), LabError> {
        let path = Self::path(lab_dir, role);
        let dir = lab_dir.join("compose");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let tmp = dir.join(format!(".{}.tmp", role.name()));
        let text = serde_json::to_vec_pretty(self).map_err(|e| svc_err(role.name(), e))?;
        std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Wait (up to `patience`) for the fragment of `role` and read it.
    pub async fn wait(lab_dir: &Path, role: Role, patience: Duration) -> Result<Self, LabError> {
        let path = Self::path(lab_dir, role);
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text)
                    .map_err(|e| svc_err(role.name(), format!("{}: {e}", path.display())));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(svc_err(
                    role.name(),
                    format!(
                        "{} did not appear within {patience:?}: is the {} container up?",
                        path.display(),
                        role.name()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The region's internal API, as the other containers use it.

/// A client of the region's internal endpoints (DNS answers, network decisions).
#[derive(Clone)]
pub struct RegionClient {
    base: String,
    token: String,
    http: HttpClient,
}

impl std::fmt::Debug for RegionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// The region's network decision for one connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetDecision {
    /// Whether routing and security lists let it through.
    pub allowed: bool,
    /// Which rule or missing route refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RegionClient {
    /// A client for the region's admin endpoint at `addr` (plain HTTP on the internal network;
    /// `ca_pem` only satisfies the client type).
    pub fn new(addr: SocketAddr, token: String, ca_pem: &str) -> Result<Self, LabError> {
        let tls = hyok_core::tls::client_config(ca_pem)?;
        let http = HttpClient::new(Arc::new(StaticDial::new()), tls)
            .with_timeout(Duration::from_secs(5))
            .with_max_response(64 * 1024);
        Ok(Self { base: format!("http://{addr}"), token, http })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path_and_query: &str) -> Result<T, String> {
        let auth = format!("Bearer {}", self.token);
        let (status, body) = self
            .http
            .get_json(&format!("{}{path_and_query}", self.base), &[("authorization", auth.as_str())])
            .await
            .map_err(|e| format!("the OCI region at {} is unreachable: {e}", self.base))?;
        if !status.is_success() {
            return Err(format!("the OCI region answered {status}: {body}"));
        }
        serde_json::from_value(body).map_err(|e| format!("bad answer from the OCI region: {e}"))
    }

    /// Resolve `name` as resolver `selector` (`vcn:<name>`, `internet`, `host`).
    pub async fn resolve(&self, selector: &str, name: &str, rtype: &str) -> Result<Resolution, String> {
        let enc = hyok_core::url::encode_component;
        self.get_json(&format!(
            "/internal/dns/resolve?resolver={}&name={}&type={}",
            enc(selector),
            enc(name),
            enc(rtype)
        ))
        .await
    }

    /// May `src` open a TCP connection to `dst:port`?
    pub async fn check(&self, src: Ipv4Addr, dst: Ipv4Addr, port: u16) -> Result<NetDecision, String> {
        self.get_json(&format!("/internal/net/check?src={src}&dst={dst}&port={port}")).await
    }
}

/// DNS answers from the region's model (the DNS container's source).
struct RegionResolve(RegionClient);

impl hyok_dns_server::Resolve for RegionResolve {
    fn resolve(&self, resolver_id: &str, name: &str, rtype: &str) -> BoxFuture<'_, Result<Resolution, DnsError>> {
        let (rid, name, rtype) = (resolver_id.to_string(), name.to_string(), rtype.to_string());
        Box::pin(async move { self.0.resolve(&rid, &name, &rtype).await.map_err(DnsError::Unavailable) })
    }
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
    /// A dialer for a host at `ip`.
    pub fn new(opts: &ServeOptions, cfg: &WorldConfig, ip: Ipv4Addr, region: RegionClient) -> Self {
        let vcn = vcn_of(cfg, ip);
        Self::at(ip, vcn, opts.dns_server_for(cfg, vcn), region)
    }

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

// ---------------------------------------------------------------------------------------------
// Serving one service.

/// A service running on its own; dropping it does not stop it, [`Standalone::shutdown`] does.
pub struct Standalone {
    /// What runs.
    pub role: Role,
    /// One line for the log: where it listens.
    pub summary: String,
    token: CancellationToken,
    servers: Vec<Server>,
    dns_servers: Vec<(String, DnsServer)>,
    host: Option<ContainerHost>,
}

impl std::fmt::Debug for Standalone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standalone").field("role", &self.role).field("summary", &self.summary).finish_non_exhaustive()
    }
}

impl Standalone {
    /// The DNS servers it runs, by resolver (`internet`, `host`, `vcn:<name>`).
    pub fn dns_servers(&self) -> Vec<(String, SocketAddr)> {
        self.dns_servers.iter().map(|(sel, d)| (sel.clone(), d.local_addr)).collect()
    }

    /// The token that stops it.
    pub fn stop_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Stop every listener.
    pub async fn shutdown(self) {
        self.token.cancel();
        for s in self.servers {
            s.shutdown().await;
        }
        if let Some(h) = self.host {
            let servers: Vec<Server> = h.servers.lock().drain(..).map(|(_, s)| s).collect();
            for s in servers {
                s.shutdown().await;
            }
        }
        for (_, d) in self.dns_servers {
            d.shutdown().await;
        }
    }
}

fn find<'a>(cfg: &'a WorldConfig, name: &str) -> Result<&'a ServiceConfig, LabError> {
    cfg.services.iter().find(|s| s.name == name).ok_or_else(|| svc_err(name, "missing from the world file"))
}

async fn serve_tls(
    addr: SocketAddr,
    router: axum::Router,
    tls: Arc<rustls::ServerConfig>,
    token: &CancellationToken,
) -> Result<Server, LabError> {
    let listener = hyok_core::server::bind(addr).await?;
    Ok(hyok_core::server::serve(listener, router, Some(tls), token.child_token()))
}

fn any(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))
}

/// The lab.json entry of a service in its own container, reached from the host at `host_port`.
fn service_info(svc: &ServiceConfig, host: &str, host_port: SocketAddr) -> ServiceInfo {
    let lab_url = if svc.port == 443 { format!("https://{host}") } else { format!("https://{host}:{}", svc.port) };
    ServiceInfo {
        name: svc.name.clone(),
        kind: svc.kind.clone(),
        lab_url,
        url: format!("https://{host_port}"),
        host: host.to_string(),
        virtual_ip: svc.ip,
        port: svc.port,
        host_address: host_port,
        created: false,
    }
}

/// Start one service of the split lab.
pub async fn serve(role: Role, opts: ServeOptions) -> Result<Standalone, LabError> {
    hyok_core::tls::install_crypto_provider();
    std::fs::create_dir_all(&opts.lab_dir).map_err(io_err(&opts.lab_dir))?;
    match role {
        Role::Identity => serve_identity(opts).await,
        Role::Ctm => serve_ctm(opts).await,
        Role::ApiGateway => serve_api_gateway(opts).await,
        Role::Dns => serve_dns(opts).await,
        Role::Oci => Err(svc_err("oci", "the OCI region starts through Lab::start with LabOptions::region")),
    }
}

fn standalone(role: Role, summary: String, token: CancellationToken) -> Standalone {
    Standalone { role, summary, token, servers: Vec::new(), dns_servers: Vec::new(), host: None }
}

async fn serve_identity(opts: ServeOptions) -> Result<Standalone, LabError> {
    let cfg = opts.world()?;
    let svc = find(&cfg, "identity")?.clone();
    let ca = crate::lab::public_root(&opts.lab_dir)?;
    let identity =
        tokio::task::spawn_blocking(|| hyok_identity::IdentityDomain::new(hyok_identity::IdentityConfig::random()))
            .await
            .map_err(|e| svc_err("identity", e))?
            .map_err(|e| svc_err("identity", e))?;
    let host = identity.config().domain_host.clone();
    let tls = crate::services::public_cert(&ca, &host, svc.ip)?;
    let fragment = Fragment {
        services: vec![service_info(&svc, &host, opts.host_port(svc.port_offset))],
        credentials: [("identity".to_string(), crate::services::identity_credentials(&identity))].into_iter().collect(),
        internet_names: vec![(host.clone(), svc.ip)],
        extra_ca: None,
    };
    fragment.save(&opts.lab_dir, Role::Identity)?;
    let token = CancellationToken::new();
    let mut s = standalone(Role::Identity, format!("identity domain https://{host} on :{}", svc.port), token.clone());
    s.servers.push(serve_tls(any(svc.port), hyok_identity::router(identity), tls, &token).await?);
    Ok(s)
}

async fn serve_ctm(opts: ServeOptions) -> Result<Standalone, LabError> {
    let cfg = opts.world()?;
    let svc = find(&cfg, "ctm-ams")?.clone();
    let ca = crate::lab::public_root(&opts.lab_dir)?;
    let region = RegionClient::new(opts.region, internal_token(&opts.lab_dir)?, ca.cert_pem())?;
    let token = CancellationToken::new();
    let events = container_events(&opts.lab_dir, Role::Ctm, &token)?;
    let client = HttpClient::new(
        Arc::new(ContainerDial::new(&opts, &cfg, svc.ip, region)),
        hyok_core::tls::client_config(ca.cert_pem())?,
    )
    .with_events(events.clone(), format!("ctm-ams@{}", svc.ip));
    let ctm_cfg = hyok_ctm::CtmConfig { hostname: svc.host.clone(), ip: svc.ip.to_string(), ..Default::default() };
    let ctm = tokio::task::spawn_blocking(move || hyok_ctm::Ctm::new(ctm_cfg, client, events))
        .await
        .map_err(|e| svc_err("ctm-ams", e))?
        .map_err(|e| svc_err("ctm-ams", e))?;
    let web = ctm.web_tls();
    let tls = hyok_core::tls::server_config(&web.chain_pem(), &web.key_pem)?;
    let root = opts.lab_dir.join("ca/ctm-root.pem");
    std::fs::write(&root, ctm.ca_cert_pem()).map_err(io_err(&root))?;
    let fragment = Fragment {
        services: vec![service_info(&svc, &svc.host, opts.host_port(svc.port_offset))],
        credentials: [("ctm".to_string(), crate::services::ctm_credentials(&ctm, &svc.host))].into_iter().collect(),
        internet_names: Vec::new(),
        extra_ca: Some("ca/ctm-root.pem".into()),
    };
    fragment.save(&opts.lab_dir, Role::Ctm)?;
    let mut s =
        standalone(Role::Ctm, format!("CipherTrust Manager https://{} on :{}", svc.host, svc.port), token.clone());
    s.servers.push(serve_tls(any(svc.port), hyok_ctm::router(ctm), tls, &token).await?);
    Ok(s)
}

async fn serve_dns(opts: ServeOptions) -> Result<Standalone, LabError> {
    let cfg = opts.world()?;
    let ca = crate::lab::public_root(&opts.lab_dir)?;
    let region = RegionClient::new(opts.region, internal_token(&opts.lab_dir)?, ca.cert_pem())?;
    let source: Arc<dyn hyok_dns_server::Resolve> = Arc::new(RegionResolve(region));
    // Port base 0 (tests): free ports.
    let port = |offset: u16| any(if opts.port_base == 0 { 0 } else { opts.port_base.saturating_add(offset) });
    let mut names: Vec<&str> = cfg.vcns.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    let mut wanted = vec![
        (hyok_dns::model::INTERNET_VIEW.to_string(), DNS_INTERNET_OFFSET),
        (hyok_dns::model::HOST_RESOLVER.to_string(), DNS_HOST_OFFSET),
    ];
    for vcn in &names {
        wanted.push((vcn_selector(vcn), vcn_resolver_offset(&cfg, vcn).unwrap_or(DNS_VCN_OFFSET)));
    }
    let mut servers = Vec::new();
    for (selector, offset) in wanted {
        let server = DnsServer::start_with(source.clone(), &selector, port(offset)).await?;
        servers.push((selector, server));
    }
    let token = CancellationToken::new();
    let mut s = standalone(
        Role::Dns,
        format!(
            "DNS on udp/tcp :{}..{} (Internet, host, {} VCN resolvers), answers from the region at {}",
            opts.port_base.saturating_add(DNS_INTERNET_OFFSET),
            opts.port_base.saturating_add(DNS_VCN_OFFSET + names.len() as u16 - 1),
            names.len(),
            opts.region
        ),
        token,
    );
    s.dns_servers = servers;
    Ok(s)
}

/// The lab around a data plane in its own container: gateways listen on their virtual port on
/// every address of the container, and dial through [`ContainerDial`].
#[derive(Clone)]
struct ContainerHost {
    opts: ServeOptions,
    cfg: Arc<WorldConfig>,
    region: RegionClient,
    ca: Arc<LabCa>,
    events: EventLog,
    token: CancellationToken,
    servers: Arc<Mutex<Vec<HostedServer>>>,
}

/// A gateway listener by its virtual endpoint.
type HostedServer = ((Ipv4Addr, u16), Server);

impl hyok_core::host::ServiceHost for ContainerHost {
    fn host(
        &self,
        ep: hyok_core::host::Endpoint,
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> BoxFuture<'_, Result<SocketAddr, String>> {
        Box::pin(async move {
            // A replaced gateway frees its port first.
            self.unhost(ep.ip, ep.port).await;
            let listener = hyok_core::server::bind(any(ep.port)).await.map_err(|e| e.to_string())?;
            let real = listener.local_addr().map_err(|e| e.to_string())?;
            let server = hyok_core::server::serve(listener, router, Some(tls), self.token.child_token());
            tracing::info!(name = %ep.name, ip = %ep.ip, port = ep.port, "serving");
            self.servers.lock().push(((ep.ip, ep.port), server));
            Ok(real)
        })
    }

    fn unhost(&self, ip: Ipv4Addr, port: u16) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let gone: Vec<Server> = {
                let mut servers = self.servers.lock();
                let (gone, keep): (Vec<_>, Vec<_>) = servers.drain(..).partition(|(k, _)| *k == (ip, port));
                *servers = keep;
                gone.into_iter().map(|(_, s)| s).collect()
            };
            for s in gone {
                s.shutdown().await;
            }
        })
    }

    fn dial_from(&self, ip: Ipv4Addr) -> Arc<dyn Dial> {
        Arc::new(ContainerDial::new(&self.opts, &self.cfg, ip, self.region.clone()))
    }

    fn events(&self) -> EventLog {
        self.events.clone()
    }

    fn public_ca(&self) -> Arc<LabCa> {
        self.ca.clone()
    }
}

async fn serve_api_gateway(opts: ServeOptions) -> Result<Standalone, LabError> {
    let cfg = opts.world()?;
    let ca = Arc::new(crate::lab::public_root(&opts.lab_dir)?);
    let token_secret = internal_token(&opts.lab_dir)?;
    let region = RegionClient::new(opts.region, token_secret.clone(), ca.cert_pem())?;
    let token = CancellationToken::new();
    let host = ContainerHost {
        opts: opts.clone(),
        cfg: Arc::new(cfg),
        region,
        ca: ca.clone(),
        events: container_events(&opts.lab_dir, Role::ApiGateway, &token)?,
        token: token.clone(),
        servers: Default::default(),
    };
    let local = Arc::new(hyok_apigw::plane::LocalDataPlane::new(Arc::new(host.clone())));
    let agent_ip = opts.data_plane.ip().to_string();
    let cert = ca.issue_server(&[&agent_ip, "127.0.0.1", "localhost"])?;
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?;
    let mut s = standalone(
        Role::ApiGateway,
        format!("API gateway data plane, agent https://{} (gateways on their own ports)", opts.data_plane),
        token.clone(),
    );
    s.servers.push(
        serve_tls(any(opts.data_plane.port()), hyok_apigw::plane::agent_router(local, token_secret), tls, &token)
            .await?,
    );
    s.host = Some(host);
    Ok(s)
}

/// How soon a quiet container's last hop events reach its file.
const EVENTS_FLUSH_EVERY: Duration = Duration::from_millis(100);
fn events_file(lab_dir: &Path, role: Role) -> PathBuf {
    hyok_lab_client::trace::container_events_file(lab_dir, role.name())
}

/// The hop log of a service container: also written to the shared lab dir, so that the
/// region's `/events` and `hyok-lab trace` show the hops made inside other containers.
pub fn container_events(lab_dir: &Path, role: Role, token: &CancellationToken) -> Result<EventLog, LabError> {
    let path = events_file(lab_dir, role);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let log = EventLog::with_file(path.clone()).map_err(io_err(&path))?;
    let (flusher, stop) = (log.clone(), token.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(EVENTS_FLUSH_EVERY) => flusher.flush(),
            }
        }
        flusher.flush();
    });
    Ok(log)
}

/// The region's answer to `GET /internal/dns/resolve`.
pub fn region_resolve(
    dns: &hyok_dns::DnsModel,
    resolvers: &std::collections::BTreeMap<String, String>,
    selector: &str,
    name: &str,
    rtype: &str,
) -> Result<Resolution, DnsError> {
    let rid = match selector.strip_prefix("vcn:") {
        Some(vcn) => resolvers.get(vcn).cloned().ok_or_else(|| DnsError::NotFound(format!("VCN {vcn}")))?,
        None => selector.to_string(),
    };
    dns.resolve(&rid, name, rtype)
}

/// What the region needs to know to run as one container among others.
#[derive(Clone, Debug)]
pub struct RegionOptions {
    /// Address of the DNS container (the region's own dialers query it).
    pub dns: IpAddr,
    /// The API gateway data-plane agent.
    pub data_plane: SocketAddr,
    /// Shared secret of the internal endpoints (also the admin token).
    pub token: String,
}

/// Merge a fragment into the region's lab: lab.json entries, credentials, Internet DNS names.
pub fn adopt(lab: &mut crate::Lab, fragment: Fragment) {
    for (name, ip) in &fragment.internet_names {
        crate::lab::publish_internet_name(&lab.dns, name, *ip);
    }
    lab.info.services.extend(fragment.services);
    lab.info.credentials.extend(fragment.credentials);
    if fragment.extra_ca.is_some() {
        lab.info.ca.ctm_root = fragment.extra_ca;
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

    #[test]
    fn services_starting_together_share_one_root_and_one_token() {
        let dir = std::env::temp_dir().join(format!("hyok-split-race-{}", hyok_core::ids::hex32()));
        std::fs::create_dir_all(&dir).expect("dir");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let ca = crate::lab::public_root(&dir).expect("root");
                    let token = internal_token(&dir).expect("token");
                    (ca.cert_pem().to_string(), token)
                })
            })
            .collect();
        let got: Vec<(String, String)> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
        assert!(got.iter().all(|g| g == &got[0]), "every service sees the same root and token");
        // The pair on disk is the one they share.
        let again = crate::lab::public_root(&dir).expect("root");
        assert_eq!(again.cert_pem(), got[0].0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
