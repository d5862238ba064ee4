//! One service per process (`hyok-lab serve <service>`), for the compose topology in
//! `docker/compose.yaml`: the identity domain, CipherTrust Manager, the API gateway's data
//! plane, DNS and the OCI region each run in their own container and reach each other only over
//! Docker networks. What the containers share (fragments, the region's internal API, the
//! container dialer) is in `split` and re-exported here; the region itself starts through
//! [`crate::Lab::start`] with [`crate::LabOptions::region`].

use crate::{
    error::{LabError, io_err, svc_err},
    pki::{public_cert, public_root},
    services::{ctm_credentials, identity_credentials},
    split::vcn_selector,
    world::{ServiceConfig, WorldConfig},
};
use hyok_core::{
    EventLog,
    client::{BoxFuture, Dial, HttpClient},
    pki::LabCa,
    server::Server,
};
use hyok_dns::{DnsError, Resolution};
use hyok_dns_server::DnsServer;
use hyok_lab_client::{
    info::ServiceInfo,
    ports::{DNS_HOST_OFFSET, DNS_INTERNET_OFFSET, DNS_VCN_OFFSET},
};
use parking_lot::Mutex;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
};
use tokio_util::sync::CancellationToken;

pub use crate::split::{
    ContainerDial, Fragment, NetDecision, RegionClient, RegionOptions, Role, container_events, internal_token,
    parse_proxy_via, region_resolve, vcn_of, vcn_resolver_offset,
};

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

impl ContainerDial {
    /// A dialer for a host at `ip`.
    pub fn new(opts: &ServeOptions, cfg: &WorldConfig, ip: Ipv4Addr, region: RegionClient) -> Self {
        let vcn = vcn_of(cfg, ip);
        Self::at(ip, vcn, opts.dns_server_for(cfg, vcn), region)
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
    let ca = public_root(&opts.lab_dir)?;
    let identity =
        tokio::task::spawn_blocking(|| hyok_identity::IdentityDomain::new(hyok_identity::IdentityConfig::random()))
            .await
            .map_err(|e| svc_err("identity", e))?
            .map_err(|e| svc_err("identity", e))?;
    let host = identity.config().domain_host.clone();
    let tls = public_cert(&ca, &host, svc.ip)?;
    let fragment = Fragment {
        services: vec![service_info(&svc, &host, opts.host_port(svc.port_offset))],
        credentials: [("identity".to_string(), identity_credentials(&identity))].into_iter().collect(),
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
    let ca = public_root(&opts.lab_dir)?;
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
        credentials: [("ctm".to_string(), ctm_credentials(&ctm, &svc.host))].into_iter().collect(),
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
    let ca = public_root(&opts.lab_dir)?;
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
    let ca = Arc::new(public_root(&opts.lab_dir)?);
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
