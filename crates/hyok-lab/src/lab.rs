//! A whole lab in one process, and the composition root: [`Lab::start`] builds the world, then
//! each part from its own module and config (PKI, DNS, every service from its world entry, the
//! admin endpoint), and a lab's owner writes lab.json once they all answer.

use crate::{
    admin::{self, Admin},
    dns,
    error::io_err,
    host::Addresses,
    pki::public_root,
    proxy::Proxy,
    services::{self, Site},
    split::RegionOptions,
    world::{BuiltWorld, DEFAULT_WORLD, WorldConfig},
};
use hyok_core::{EventLog, client::HttpClient, pki::LabCa, server::Server};
use hyok_dns::DnsModel;
use hyok_dns_server::DnsServer;
use hyok_lab_client::{
    info::{AdminInfo, CaInfo, LabInfo, Provisioned, ProxyInfo, SCHEMA},
    ports::{ADMIN_OFFSET, PROXY_OFFSET},
};
use hyok_netsim::{AddressBook, NetworkModel, VcnDial};
use parking_lot::Mutex;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

pub use crate::{error::LabError, host::LabHost};

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
    pub listen: IpAddr,
    /// Address written into lab.json's host URLs (`127.0.0.1`: where a person on the host
    /// reaches the sockets, e.g. through a container's published ports).
    pub advertise: IpAddr,
    /// Run as the OCI region of a split lab (compose topology): identity, CTM, DNS and the
    /// gateway data plane run elsewhere. `None` runs everything in this process.
    pub region: Option<RegionOptions>,
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

    /// Where the lab's sockets are.
    fn addresses(&self) -> Addresses {
        Addresses {
            port_base: self.port_base,
            listen: self.listen,
            // Lab services connect to each other's sockets here.
            dial_ip: if self.listen.is_unspecified() { LOOPBACK } else { self.listen },
            advertise: self.advertise,
        }
    }
}

/// 127.0.0.1.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

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
    /// The lab as services see it (dialers, run-time endpoints).
    pub host: LabHost,
    token: CancellationToken,
    servers: Mutex<Vec<Server>>,
    dns_servers: Mutex<Vec<DnsServer>>,
    proxy: Mutex<Option<Proxy>>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("lab_dir", &self.opts.lab_dir).finish_non_exhaustive()
    }
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
        let opts = LabOptions { lab_dir: lab_dir.clone(), ..opts };
        let at = opts.addresses();

        let t = Instant::now();
        let cfg = WorldConfig::parse(&opts.world)?;
        let net = NetworkModel::new();
        let dns = DnsModel::new();
        // In a split lab, addresses this process does not serve are other containers' own.
        let book = if opts.region.is_some() { AddressBook::with_direct_fallback() } else { AddressBook::new() };
        // The slow RSA keys start now, on blocking threads, while the rest starts up.
        let keys = services::Keys::spawn();
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

        let t = Instant::now();
        let resolvers = dns::start(&dns, &world, &at, opts.region.as_ref().map(|r| r.dns)).await?;
        step("DNS resolvers", t);

        let token = CancellationToken::new();
        let host = LabHost::new(
            (net.clone(), dns.clone(), book.clone()),
            events.clone(),
            public_ca.clone(),
            resolvers.addrs,
            token.clone(),
            at,
        )
        .with_proxy_via(opts.region.as_ref().map(|r| r.proxy_via.clone()).unwrap_or_default());
        // The proxy's port goes into the CLI's env file, which the services write.
        let proxy_listener = hyok_core::server::bind(at.listen_at(PROXY_OFFSET)).await?;
        let proxy_port = proxy_listener.local_addr().map_err(io_err(&lab_dir))?.port();
        let proxy_at = SocketAddr::new(opts.advertise, proxy_port);
        // A region shares its admin token with the other containers (internal endpoints).
        let admin_token = opts.region.as_ref().map(|r| r.token.clone()).unwrap_or_else(|| hyok_core::ids::secret(32));
        let mut info = LabInfo {
            schema: SCHEMA.into(),
            pid: std::process::id(),
            ready_at: String::new(),
            lab_dir: lab_dir.clone(),
            region: cfg.region.clone(),
            admin: AdminInfo { url: String::new(), token: admin_token },
            ca: CaInfo { public_root: "ca/lab-root.pem".into(), bundle: "ca/bundle.pem".into(), ctm_root: None },
            dns: resolvers.info,
            services: Vec::new(),
            credentials: serde_json::Map::new(),
            proxy: Some(ProxyInfo { url: format!("http://{proxy_at}"), address: proxy_at }),
            provisioned: None,
        };
        let mut servers = Vec::new();

        let t = Instant::now();
        let running = services::start_all(
            &mut Site {
                world: &cfg,
                host: &host,
                at,
                lab_dir: &lab_dir,
                region: opts.region.as_ref(),
                tenancy_id: &tenancy,
                compartment_id: &compartment,
                info: &mut info,
                servers: &mut servers,
                stop: &token,
            },
            keys,
        )
        .await?;
        step("services", t);

        let t = Instant::now();
        host.add_names(&info.services);
        let proxy =
            Proxy::serve(proxy_listener, Arc::new(host.clone()), token.child_token()).map_err(io_err(&lab_dir))?;
        step("HTTPS proxy to the lab's names", t);

        // Admin endpoint last: it answering means everything before it is up.
        let t = Instant::now();
        let listener = hyok_core::server::bind(at.listen_at(ADMIN_OFFSET)).await?;
        let admin_addr = listener.local_addr().map_err(io_err(&lab_dir))?;
        info.admin.url = format!("http://{}", SocketAddr::new(opts.advertise, admin_addr.port()));
        let admin = Admin {
            token: info.admin.token.clone(),
            services: info.services.iter().map(|s| s.name.clone()).collect(),
            stop: token.clone(),
            kms: Some(running.kms),
            events: events.clone(),
            lab_dir: lab_dir.clone(),
            dns: dns.clone(),
            resolvers: world.resolvers.clone(),
            net: net.clone(),
        };
        servers.push(hyok_core::server::serve(listener, admin::router(Arc::new(admin)), None, token.child_token()));
        step("admin endpoint", t);
        Ok(Arc::new(Lab {
            opts,
            net,
            dns,
            book,
            events,
            public_ca,
            world,
            info,
            host,
            token,
            servers: Mutex::new(servers),
            dns_servers: Mutex::new(resolvers.servers),
            proxy: Mutex::new(Some(proxy)),
        }))
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
        self.host.set_written(Some(info.clone()));
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
        self.host.update_written(|info| {
            info.provisioned = Some(Provisioned { scenario: scenario.to_string(), until });
        });
    }

    /// An HTTP client for a lab host at `ip`, trusting `ca_pem`, recording hops as `source`.
    pub fn client_from(&self, ip: Ipv4Addr, source: &str, ca_pem: &str) -> Result<HttpClient, LabError> {
        Ok(self.host.client_from(ip, source, ca_pem)?)
    }

    /// Stop every server and DNS server.
    pub async fn shutdown(&self) {
        self.token.cancel();
        let proxy = self.proxy.lock().take();
        if let Some(p) = proxy {
            p.shutdown().await;
        }
        let servers: Vec<Server> = std::mem::take(&mut *self.servers.lock());
        for s in servers {
            s.shutdown().await;
        }
        for s in self.host.take_servers() {
            s.shutdown().await;
        }
        self.host.set_written(None);
        let dns: Vec<DnsServer> = std::mem::take(&mut *self.dns_servers.lock());
        for d in dns {
            d.shutdown().await;
        }
        self.events.flush();
        let _ = std::fs::remove_file(LabInfo::path(&self.opts.lab_dir));
    }
}
