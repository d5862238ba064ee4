//! Helpers shared by HYOK Lab tests.

pub mod oci;
pub mod oci_cli;
pub mod raw;
pub mod scim;
pub mod skip;

use std::{future::Future, sync::Once, time::Duration};

static INIT: Once = Once::new();

/// Install the ring rustls provider and a test tracing subscriber (once per process).
/// `RUST_LOG` controls the level; default is `warn`.
pub fn init() {
    INIT.call_once(|| {
        hyok_core::tls::install_crypto_provider();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
    });
}

/// How long [`eventually`] waits; `HYOK_TEST_PATIENCE_MS` raises it on slow machines.
pub fn patience() -> Duration {
    std::env::var("HYOK_TEST_PATIENCE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

/// Poll `check` until it returns `Some`, or give up after [`patience`] with the last state.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + patience();
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if tokio::time::Instant::now() > deadline {
            panic!("gave up waiting for {what} after {:?}: {last}", patience());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serve `router` over TLS on 127.0.0.1 with a certificate for `names` from `ca`.
pub async fn serve_tls(ca: &hyok_core::pki::LabCa, names: &[&str], router: axum::Router) -> hyok_core::server::Server {
    serve_tls_at(([127, 0, 0, 1], 0).into(), ca, names, router).await
}

/// [`serve_tls`] at `addr`, e.g. the address of a peer that stopped (a restart).
pub async fn serve_tls_at(
    addr: std::net::SocketAddr,
    ca: &hyok_core::pki::LabCa,
    names: &[&str],
    router: axum::Router,
) -> hyok_core::server::Server {
    let cert = ca.issue_server(names).expect("issue test certificate");
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("server TLS config");
    let listener = hyok_core::server::bind(addr).await.expect("bind test server");
    hyok_core::server::serve(listener, router, Some(tls), Default::default())
}

/// A [`hyok_core::host::ServiceHost`] for tests of one service: endpoints are served on
/// 127.0.0.1 free ports, names and virtual addresses are pinned to them, and no network policy
/// applies. Use the real lab (`hyok_lab::Lab`) to test policy.
#[derive(Clone)]
pub struct LoopbackHost {
    inner: std::sync::Arc<parking_lot::Mutex<LoopbackState>>,
    events: hyok_core::EventLog,
    ca: std::sync::Arc<hyok_core::pki::LabCa>,
}

#[derive(Default)]
struct LoopbackState {
    pins: std::collections::HashMap<(String, u16), std::net::SocketAddr>,
    servers: std::collections::HashMap<(std::net::Ipv4Addr, u16), hyok_core::server::Server>,
}

impl LoopbackHost {
    /// A new host with its own public CA.
    pub fn new() -> Self {
        init();
        Self {
            inner: Default::default(),
            events: hyok_core::EventLog::new(),
            ca: std::sync::Arc::new(hyok_core::pki::LabCa::generate("Loopback Test Root").expect("test CA")),
        }
    }

    /// Pin a name (or virtual IP) and port to a real socket, e.g. a peer started by the test.
    pub fn pin(&self, host: &str, port: u16, real: std::net::SocketAddr) {
        self.inner.lock().pins.insert((host.to_ascii_lowercase(), port), real);
    }

    /// The real socket behind `host:port`, if pinned or hosted.
    pub fn real(&self, host: &str, port: u16) -> Option<std::net::SocketAddr> {
        self.inner.lock().pins.get(&(host.to_ascii_lowercase(), port)).copied()
    }

    /// A dial that follows the pins.
    pub fn dial(&self) -> hyok_core::client::StaticDial {
        let mut d = hyok_core::client::StaticDial::new();
        for ((h, p), real) in self.inner.lock().pins.iter() {
            d = d.pin(h, *p, *real);
        }
        d
    }
}

impl Default for LoopbackHost {
    fn default() -> Self {
        Self::new()
    }
}

struct PinDial(LoopbackHost);

impl hyok_core::client::Dial for PinDial {
    fn dial(
        &self,
        host: &str,
        port: u16,
    ) -> hyok_core::client::BoxFuture<'_, Result<hyok_core::client::Dialed, hyok_core::client::DialError>> {
        let found = self.0.real(host, port);
        let label = format!("{host}:{port}");
        Box::pin(async move {
            found.map(|real| hyok_core::client::Dialed { real, label: label.clone() }).ok_or_else(|| {
                hyok_core::client::DialError::NoListener(format!("connection refused: nothing listens on {label}"))
            })
        })
    }
}

impl hyok_core::host::ServiceHost for LoopbackHost {
    fn host(
        &self,
        endpoint: hyok_core::host::Endpoint,
        router: axum::Router,
        tls: std::sync::Arc<rustls::ServerConfig>,
    ) -> hyok_core::client::BoxFuture<'_, Result<std::net::SocketAddr, String>> {
        Box::pin(async move {
            let listener = hyok_core::server::bind(([127, 0, 0, 1], 0).into()).await.map_err(|e| e.to_string())?;
            let real = listener.local_addr().map_err(|e| e.to_string())?;
            let server = hyok_core::server::serve(listener, router, Some(tls), Default::default());
            let mut s = self.inner.lock();
            s.pins.insert((endpoint.host.to_ascii_lowercase(), endpoint.port), real);
            s.pins.insert((endpoint.ip.to_string(), endpoint.port), real);
            s.servers.insert((endpoint.ip, endpoint.port), server);
            Ok(real)
        })
    }

    fn unhost(&self, ip: std::net::Ipv4Addr, port: u16) -> hyok_core::client::BoxFuture<'_, ()> {
        Box::pin(async move {
            let server = self.inner.lock().servers.remove(&(ip, port));
            if let Some(server) = server {
                server.shutdown().await;
            }
        })
    }

    fn dial_from(&self, _ip: std::net::Ipv4Addr) -> std::sync::Arc<dyn hyok_core::client::Dial> {
        std::sync::Arc::new(PinDial(self.clone()))
    }

    fn events(&self) -> hyok_core::EventLog {
        self.events.clone()
    }

    fn public_ca(&self) -> std::sync::Arc<hyok_core::pki::LabCa> {
        self.ca.clone()
    }
}
