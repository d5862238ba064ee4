//! A gateway as its data plane runs it: its configuration, its compiled deployments and its
//! outbound clients, and the management calls the control plane makes on it.

use crate::{
    auth::Authenticator,
    error::GatewayError,
    health::{HealthFailure, check_backend},
    routing::{PathPattern, UrlTemplate},
    spec::{
        self, ApiSpecification, ApiSpecificationRouteBackend, HttpBackend, RouteAuthorizationPolicy,
        StockResponseBackend,
    },
    tls,
};
use http::Method;
use hyok_core::{
    Clock, EventLog, HopEvent, Outcome,
    client::{Dial, HttpClient},
    events::now_ms,
};
use parking_lot::RwLock;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Largest request or response body the gateway proxies.
pub const MAX_PROXY_BODY_BYTES: usize = 20 * 1024 * 1024;

/// What the lab composer gives a gateway.
pub struct GatewayConfig {
    /// Display name for logs (e.g. `API-GW`).
    pub name: String,
    /// The gateway's private IP in its subnet (e.g. `172.16.1.103`), for logs and hop events.
    pub ip: String,
    /// Certificate chain PEM (leaf first) and private key PEM; the key must be RSA.
    pub tls: (String, String),
    /// CA bundles the gateway trusts for backend TLS (and JWKS hosts).
    pub backend_ca_bundles: Vec<String>,
    /// How the gateway resolves and reaches backends (the network model, in the lab).
    pub dial: Arc<dyn Dial>,
    /// Where hop events go.
    pub events: EventLog,
    /// What the gateway's caches (remote JWKS) read the time from; `Clock::system()` outside tests.
    pub clock: Clock,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig").field("name", &self.name).field("ip", &self.ip).finish_non_exhaustive()
    }
}

pub(super) struct Clients {
    pub(super) verified: HttpClient,
    pub(super) unverified: HttpClient,
}

/// A running gateway: its deployments and its outbound clients.
pub struct Gateway {
    pub(super) name: String,
    ip: String,
    /// `api-gateway <name>@<ip>`, the source of every hop event (built once, not per request).
    pub(super) source: String,
    pub(super) events: EventLog,
    dial: Arc<dyn Dial>,
    clock: Clock,
    tls: Arc<rustls::ServerConfig>,
    bundles: RwLock<Arc<Vec<String>>>,
    pub(super) clients: RwLock<Arc<Clients>>,
    pub(super) deployments: RwLock<Arc<Vec<Arc<Deployment>>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("name", &self.name).field("ip", &self.ip).finish_non_exhaustive()
    }
}

/// A deployment as the data plane runs it.
pub(super) struct Deployment {
    pub(super) id: String,
    pub(super) prefix: String,
    pub(super) routes: Vec<CompiledRoute>,
    pub(super) auth: Option<Authenticator>,
}

pub(super) struct CompiledRoute {
    pub(super) path: String,
    pub(super) pattern: PathPattern,
    /// `None` means ANY.
    pub(super) methods: Option<Vec<Method>>,
    pub(super) backend: CompiledBackend,
    pub(super) authz: Option<RouteAuthorizationPolicy>,
    /// `decided_by` of this route's backend hop events, built once.
    pub(super) decided_by: String,
}

pub(super) enum CompiledBackend {
    Http { template: UrlTemplate, spec: HttpBackend },
    Stock(StockResponseBackend),
}

/// The current value; values are replaced whole, so a reader keeps a consistent one.
pub(super) fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write() = value;
}

fn build_clients(dial: &Arc<dyn Dial>, bundles: &[String]) -> Result<Clients, GatewayError> {
    // Our own deadlines (per route) are shorter; this only bounds the worst case.
    let max = Duration::from_secs_f32(spec::CONNECT_TIMEOUT.2 + spec::SEND_TIMEOUT.2 + spec::READ_TIMEOUT.2);
    let mk = |verify| -> Result<HttpClient, GatewayError> {
        Ok(HttpClient::new(dial.clone(), tls::backend_client_config(bundles, verify)?)
            .with_timeout(max)
            .with_max_response(MAX_PROXY_BODY_BYTES))
    };
    Ok(Clients { verified: mk(true)?, unverified: mk(false)? })
}

impl Gateway {
    /// A gateway with no deployments. Fails on an unusable or ECDSA certificate or a bad CA bundle.
    pub fn new(cfg: GatewayConfig) -> Result<Arc<Self>, GatewayError> {
        let tls = tls::gateway_tls_config(&cfg.tls.0, &cfg.tls.1)?;
        let clients = build_clients(&cfg.dial, &cfg.backend_ca_bundles)?;
        Ok(Arc::new(Self {
            source: format!("api-gateway {}@{}", cfg.name, cfg.ip),
            name: cfg.name,
            ip: cfg.ip,
            events: cfg.events,
            dial: cfg.dial,
            clock: cfg.clock,
            tls,
            bundles: RwLock::new(Arc::new(cfg.backend_ca_bundles)),
            clients: RwLock::new(Arc::new(clients)),
            deployments: RwLock::new(Arc::new(Vec::new())),
        }))
    }

    /// The listener's TLS config (TLS 1.2, ECDHE-RSA); serve [`Gateway::router`] with it.
    pub fn tls_config(&self) -> Arc<rustls::ServerConfig> {
        self.tls.clone()
    }

    /// The gateway's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replace the CA bundles trusted for backends (UpdateGateway `caBundles`).
    pub fn set_backend_ca_bundles(&self, bundles: Vec<String>) -> Result<(), GatewayError> {
        let clients = build_clients(&self.dial, &bundles)?;
        write(&self.clients, Arc::new(clients));
        write(&self.bundles, Arc::new(bundles));
        Ok(())
    }

    /// Install or replace deployment `id`. Validates the prefix and specification and refuses a
    /// prefix another deployment of this gateway already uses.
    pub fn set_deployment(&self, id: &str, path_prefix: &str, spec: &ApiSpecification) -> Result<(), GatewayError> {
        spec::validate(spec, path_prefix).map_err(GatewayError::InvalidSpec)?;
        let current = read(&self.deployments);
        if let Some(other) = current.iter().find(|d| d.prefix == path_prefix && d.id != id) {
            return Err(GatewayError::PrefixConflict { prefix: path_prefix.to_string(), other: other.id.clone() });
        }
        let dep = Arc::new(compile(id, path_prefix, spec, &self.clock)?);
        let mut next: Vec<Arc<Deployment>> = current.iter().filter(|d| d.id != id).cloned().collect();
        next.push(dep);
        // Longest prefix first, so the most specific deployment wins.
        next.sort_by_key(|d| std::cmp::Reverse(d.prefix.len()));
        write(&self.deployments, Arc::new(next));
        Ok(())
    }

    /// Remove deployment `id`; true when it existed.
    pub fn remove_deployment(&self, id: &str) -> bool {
        let current = read(&self.deployments);
        if !current.iter().any(|d| d.id == id) {
            return false;
        }
        let next: Vec<Arc<Deployment>> = current.iter().filter(|d| d.id != id).cloned().collect();
        write(&self.deployments, Arc::new(next));
        true
    }

    /// The installed deployments as `(id, pathPrefix)`.
    pub fn deployments(&self) -> Vec<(String, String)> {
        read(&self.deployments).iter().map(|d| (d.id.clone(), d.prefix.clone())).collect()
    }

    /// Health-check every HTTP backend of `spec` from this gateway (its Dial and CA bundles).
    /// `Err` carries the `lifecycleDetails` text for a FAILED deployment. One hop event is
    /// recorded per distinct backend under `request_id`.
    pub async fn check_deployment(&self, request_id: &str, spec: &ApiSpecification) -> Result<(), HealthFailure> {
        let bundles = read(&self.bundles);
        let mut seen: Vec<(String, bool)> = Vec::new();
        for route in &spec.routes {
            let ApiSpecificationRouteBackend::Http(b) = &route.backend else { continue };
            let key = UrlTemplate::parse(&b.url)
                .ok()
                .and_then(|t| t.authority())
                .map(|(s, h, p)| format!("{}://{h}:{p}", if s { "https" } else { "http" }))
                .unwrap_or_else(|| b.url.clone());
            if seen.iter().any(|(k, v)| *k == key && *v == b.verify_tls()) {
                continue;
            }
            seen.push((key.clone(), b.verify_tls()));
            let started = Instant::now();
            let result = check_backend(&b.url, self.dial.as_ref(), &bundles, b.verify_tls()).await;
            let (outcome, reason, decided_by) = match &result {
                Ok(()) => (Outcome::Ok, "backend reachable and trusted".to_string(), None),
                Err(f) => (f.outcome(), f.to_string(), Some(f.decided_by().to_string())),
            };
            self.hop(
                request_id,
                "API gateway → backend (health check)",
                key,
                outcome,
                None,
                reason,
                decided_by,
                started,
            );
            result?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn hop(
        &self,
        request_id: &str,
        hop: &str,
        destination: String,
        outcome: Outcome,
        status: Option<u16>,
        reason: String,
        decided_by: Option<String>,
        started: Instant,
    ) {
        let elapsed = started.elapsed();
        self.events.record(HopEvent {
            ts_ms: now_ms() - elapsed.as_millis() as i64,
            request_id: request_id.to_string(),
            hop: hop.to_string(),
            source: self.source.clone(),
            destination,
            outcome,
            status,
            reason,
            decided_by,
            duration_us: elapsed.as_micros() as u64,
        });
    }
}

fn compile(id: &str, prefix: &str, spec: &ApiSpecification, clock: &Clock) -> Result<Deployment, GatewayError> {
    let invalid = |field: String, message: String| GatewayError::InvalidSpec(vec![spec::SpecError { field, message }]);
    let auth = match spec.request_policies.as_ref().and_then(|p| p.authentication.as_ref()) {
        Some(a) => Some(
            Authenticator::new(a, clock)
                .map_err(|e| invalid("specification.requestPolicies.authentication".into(), e))?,
        ),
        None => None,
    };
    let mut routes = Vec::new();
    for (i, r) in spec.routes.iter().enumerate() {
        let methods = match r.methods.as_deref() {
            None => None,
            Some(ms) if ms.iter().any(|m| m == "ANY") => None,
            Some(ms) => Some(ms.iter().filter_map(|m| Method::from_bytes(m.as_bytes()).ok()).collect()),
        };
        let backend = match &r.backend {
            ApiSpecificationRouteBackend::Http(b) => CompiledBackend::Http {
                template: UrlTemplate::parse(&b.url)
                    .map_err(|e| invalid(format!("specification.routes[{i}].backend.url"), e))?,
                spec: b.clone(),
            },
            ApiSpecificationRouteBackend::StockResponse(s) => CompiledBackend::Stock(s.clone()),
        };
        routes.push(CompiledRoute {
            path: r.path.clone(),
            pattern: PathPattern::parse(&r.path),
            methods,
            backend,
            authz: r.request_policies.as_ref().and_then(|p| p.authorization.clone()),
            decided_by: format!("route {} of deployment {id}", r.path),
        });
    }
    Ok(Deployment { id: id.to_string(), prefix: prefix.to_string(), routes, auth })
}
