//! The gateway's data plane: deployments by path prefix, route matching, JWT policies and the
//! streaming proxy to HTTP backends.
//!
//! Errors the gateway itself produces are JSON `{"code": <status>, "message": <reason phrase>}`
//! with the numeric status as `code` (see the fidelity doc). Detailed reasons never go to the
//! caller; they go to the access log and the hop log.

use crate::{
    GatewayError,
    auth::{AuthFailure, Authenticator, Claims, JwksFetch, token_scopes},
    health::{HealthFailure, check_backend},
    routing::{PathPattern, TemplateContext, UrlTemplate, strip_prefix},
    spec::{
        self, ApiSpecification, ApiSpecificationRouteBackend, HttpBackend, RouteAuthorizationPolicy,
        StockResponseBackend,
    },
};
use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyok_core::{
    EventLog, HopEvent, InFlight, Outcome,
    client::{ClientError, Dial, DialError, HttpClient},
    events::now_ms,
};
use parking_lot::RwLock;
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
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
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig").field("name", &self.name).field("ip", &self.ip).finish_non_exhaustive()
    }
}

struct Clients {
    verified: HttpClient,
    unverified: HttpClient,
}

/// A running gateway: its deployments and its outbound clients.
pub struct Gateway {
    name: String,
    ip: String,
    /// `api-gateway <name>@<ip>`, the source of every hop event (built once, not per request).
    source: String,
    events: EventLog,
    dial: Arc<dyn Dial>,
    tls: Arc<rustls::ServerConfig>,
    bundles: RwLock<Arc<Vec<String>>>,
    clients: RwLock<Arc<Clients>>,
    deployments: RwLock<Arc<Vec<Arc<Deployment>>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("name", &self.name).field("ip", &self.ip).finish_non_exhaustive()
    }
}

/// A deployment as the data plane runs it.
struct Deployment {
    id: String,
    prefix: String,
    routes: Vec<CompiledRoute>,
    auth: Option<Authenticator>,
}

struct CompiledRoute {
    path: String,
    pattern: PathPattern,
    /// `None` means ANY.
    methods: Option<Vec<Method>>,
    backend: CompiledBackend,
    authz: Option<RouteAuthorizationPolicy>,
    /// `decided_by` of this route's backend hop events, built once.
    decided_by: String,
}

enum CompiledBackend {
    Http { template: UrlTemplate, spec: HttpBackend },
    Stock(StockResponseBackend),
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    // The values are replaced whole; a poisoned lock still holds a consistent one.
    lock.read().clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write() = value;
}

fn build_clients(dial: &Arc<dyn Dial>, bundles: &[String]) -> Result<Clients, GatewayError> {
    // Our own deadlines (per route) are shorter; this only bounds the worst case.
    let max = Duration::from_secs_f32(spec::CONNECT_TIMEOUT.2 + spec::SEND_TIMEOUT.2 + spec::READ_TIMEOUT.2);
    let mk = |verify| -> Result<HttpClient, GatewayError> {
        Ok(HttpClient::new(dial.clone(), crate::tls::backend_client_config(bundles, verify)?)
            .with_timeout(max)
            .with_max_response(MAX_PROXY_BODY_BYTES))
    };
    Ok(Clients { verified: mk(true)?, unverified: mk(false)? })
}

impl Gateway {
    /// A gateway with no deployments. Fails on an unusable or ECDSA certificate or a bad CA bundle.
    pub fn new(cfg: GatewayConfig) -> Result<Arc<Self>, GatewayError> {
        let tls = crate::tls::gateway_tls_config(&cfg.tls.0, &cfg.tls.1)?;
        let clients = build_clients(&cfg.dial, &cfg.backend_ca_bundles)?;
        Ok(Arc::new(Self {
            source: format!("api-gateway {}@{}", cfg.name, cfg.ip),
            name: cfg.name,
            ip: cfg.ip,
            events: cfg.events,
            dial: cfg.dial,
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
        let dep = Arc::new(compile(id, path_prefix, spec)?);
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

    /// The data plane router (TLS is terminated by the server that serves it).
    pub fn router(self: Arc<Gateway>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }

    #[allow(clippy::too_many_arguments)]
    fn hop(
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

fn compile(id: &str, prefix: &str, spec: &ApiSpecification) -> Result<Deployment, GatewayError> {
    let invalid = |field: String, message: String| GatewayError::InvalidSpec(vec![spec::SpecError { field, message }]);
    let auth = match spec.request_policies.as_ref().and_then(|p| p.authentication.as_ref()) {
        Some(a) => {
            Some(Authenticator::new(a).map_err(|e| invalid("specification.requestPolicies.authentication".into(), e))?)
        }
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

/// A gateway-generated error: `{"code": <status>, "message": <reason phrase>}`.
fn gw_error(status: StatusCode) -> Response {
    let body = serde_json::json!({
        "code": status.as_u16(),
        "message": status.canonical_reason().unwrap_or("Error"),
    });
    (status, axum::Json(body)).into_response()
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const OPC_REQUEST_ID: HeaderName = HeaderName::from_static(hyok_core::request_id::HEADER);

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in listed {
        headers.remove(n);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Why a request ended as it did, for the access log.
#[derive(Default)]
enum Reason {
    #[default]
    None,
    Text(String),
    /// The common case, kept as a number so a proxied request formats no text for the log.
    BackendAnswered(StatusCode),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::None => Ok(()),
            Reason::Text(t) => f.write_str(t),
            Reason::BackendAnswered(s) => write!(f, "backend answered {}", s.as_u16()),
        }
    }
}

impl From<String> for Reason {
    fn from(s: String) -> Self {
        Reason::Text(s)
    }
}

impl From<&'static str> for Reason {
    fn from(s: &'static str) -> Self {
        Reason::Text(s.to_string())
    }
}

/// Everything the access log line needs. Names are looked up from the deployment when the line
/// is written (only when the log is enabled), not copied per request.
struct Access {
    request_id: String,
    /// `request_id` as a header value, built once for the backend request and the response.
    request_id_value: Option<HeaderValue>,
    deployment: Option<Arc<Deployment>>,
    route: Option<usize>,
    reason: Reason,
}

const ACCESS_TARGET: &str = "hyok_apigw::access";

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let incoming = req
        .headers()
        .get(&OPC_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .and_then(|v| v.to_str().ok().map(|s| (s.to_string(), v.clone())));
    let (request_id, request_id_value) = match incoming {
        Some((id, value)) => (id, Some(value)),
        None => {
            let id = hyok_core::ids::opc_request_id();
            let value = HeaderValue::from_str(&id).ok();
            (id, value)
        }
    };
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    // What only the access log needs is kept only when the log is on (the lab's default filter
    // is `warn`, so usually it is not).
    let logged = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
        .then(|| (req.method().clone(), req.uri().path().to_string()));
    let mut access = Access { request_id, request_id_value, deployment: None, route: None, reason: Reason::None };
    let mut resp = dispatch(&gw, req, client, &mut access).await;
    if !resp.headers().contains_key(&OPC_REQUEST_ID)
        && let Some(v) = access.request_id_value.take()
    {
        resp.headers_mut().insert(OPC_REQUEST_ID, v);
    }
    if let Some((method, path)) = logged {
        let dep = access.deployment.as_deref();
        tracing::info!(
            target: ACCESS_TARGET,
            gateway = %gw.name,
            request_id = %access.request_id,
            client = %client.map(|c| c.ip().to_string()).unwrap_or_else(|| "-".into()),
            method = %method,
            path = %path,
            deployment = dep.map_or("-", |d| d.id.as_str()),
            route = dep.zip(access.route).and_then(|(d, i)| d.routes.get(i)).map_or("-", |r| r.path.as_str()),
            status = resp.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            reason = %access.reason,
            "access"
        );
    }
    resp
}

async fn dispatch(gw: &Arc<Gateway>, req: Request, client: Option<SocketAddr>, access: &mut Access) -> Response {
    let started = Instant::now();
    let deployments = read(&gw.deployments);
    let path = req.uri().path();
    let Some((dep, rel)) = deployments.iter().find_map(|d| strip_prefix(&d.prefix, path).map(|rel| (d, rel))) else {
        access.reason = "no deployment has a path prefix matching the request path".into();
        return gw_error(StatusCode::NOT_FOUND);
    };
    access.deployment = Some(dep.clone());
    // Matching walks the path without allocating; most requests match on the first try.
    let matching = || dep.routes.iter().enumerate().filter(|(_, r)| r.pattern.is_match(rel));
    let Some((first_index, first)) = matching().next() else {
        let reason = format!("no route of deployment {} matches {rel}", dep.id);
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            format!("deployment {}", dep.id),
            Outcome::Error,
            Some(404),
            reason.clone(),
            Some(format!("routes of deployment {}", dep.id)),
            started,
        );
        access.reason = reason.into();
        return gw_error(StatusCode::NOT_FOUND);
    };
    let method = req.method();
    let allowed = |r: &CompiledRoute| r.methods.as_ref().is_none_or(|ms| ms.contains(method));
    let best = if allowed(first) && dep.routes.len() == 1 {
        Some((first_index, first))
    } else {
        matching().filter(|(_, r)| allowed(r)).max_by_key(|(_, r)| r.pattern.specificity())
    };
    let Some((route_index, route)) = best else {
        let mut allow: Vec<String> =
            matching().flat_map(|(_, r)| r.methods.clone().unwrap_or_default()).map(|m| m.to_string()).collect();
        allow.sort();
        allow.dedup();
        let reason = format!("route matches {rel} but allows only {}", allow.join(", "));
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            format!("deployment {}", dep.id),
            Outcome::Error,
            Some(405),
            reason.clone(),
            Some(format!("methods of route {}", first.path)),
            started,
        );
        access.reason = reason.into();
        let mut resp = gw_error(StatusCode::METHOD_NOT_ALLOWED);
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return resp;
    };
    access.route = Some(route_index);

    // Authentication and authorization.
    let mut claims: Option<Claims> = None;
    if let Some(auth) = &dep.auth {
        match authorize(gw, auth, route, req.headers(), req.uri().query(), &access.request_id).await {
            Ok(c) => claims = c,
            Err(f) => {
                let policy = if f.status == StatusCode::FORBIDDEN {
                    "route authorization (ANY_OF)"
                } else {
                    "authentication policy"
                };
                gw.hop(
                    &access.request_id,
                    "API gateway (policy)",
                    format!("deployment {}", dep.id),
                    Outcome::Error,
                    Some(f.status.as_u16()),
                    f.reason.clone(),
                    Some(format!("{policy} of deployment {}", dep.id)),
                    started,
                );
                access.reason = f.reason.into();
                let mut resp = gw_error(f.status);
                if f.status == StatusCode::UNAUTHORIZED {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                return resp;
            }
        }
    }

    match &route.backend {
        CompiledBackend::Stock(s) => {
            access.reason = "stock response".into();
            stock_response(s)
        }
        CompiledBackend::Http { template, spec } => {
            let params = route.pattern.params(rel).unwrap_or_default();
            let ctx = TemplateContext {
                path: &params,
                query: req.uri().query(),
                headers: Some(req.headers()),
                auth: claims.as_ref(),
            };
            let mut url = template.render(&ctx);
            if let Some(q) = req.uri().query() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(q);
            }
            proxy(gw, req, client, url, spec, route, access).await
        }
    }
}

async fn authorize(
    gw: &Gateway,
    auth: &Authenticator,
    route: &CompiledRoute,
    headers: &HeaderMap,
    query: Option<&str>,
    request_id: &str,
) -> Result<Option<Claims>, AuthFailure> {
    let unauthorized = |reason: String| AuthFailure { status: StatusCode::UNAUTHORIZED, reason };
    let anonymous_route = matches!(route.authz, Some(RouteAuthorizationPolicy::Anonymous));
    let Some(token) = auth.extract(headers, query) else {
        if anonymous_route && auth.anonymous_allowed {
            return Ok(None);
        }
        return Err(unauthorized(format!("no token in {}", auth.location_text())));
    };
    let clients = read(&gw.clients);
    let client = auth.jwks().map(|j| if j.verify_tls { &clients.verified } else { &clients.unverified });
    let mut fetches: Vec<JwksFetch> = Vec::new();
    let result = auth.verify(&token, client, &mut fetches).await;
    for f in fetches {
        let (outcome, status, reason, decided_by) = match &f.result {
            Ok(s) if f.status_ok => (Outcome::Ok, Some(*s), "JWKS fetched".to_string(), None),
            Ok(s) => {
                (Outcome::Error, Some(*s), format!("JWKS endpoint answered {s}"), Some("JWKS endpoint".to_string()))
            }
            Err(e) => {
                let (o, d) = classify(e);
                (o, None, e.to_string(), Some(d))
            }
        };
        gw.hop(request_id, "API gateway → JWKS", f.uri, outcome, status, reason, decided_by, f.started);
    }
    let claims = result?;
    if let Some(RouteAuthorizationPolicy::AnyOf { allowed_scope }) = &route.authz {
        let scopes = token_scopes(&claims);
        if !scopes.iter().any(|s| allowed_scope.contains(s)) {
            return Err(AuthFailure {
                status: StatusCode::FORBIDDEN,
                reason: format!("token scopes {scopes:?} include none of the route's allowedScope {allowed_scope:?}"),
            });
        }
    }
    Ok(Some(claims))
}

fn stock_response(s: &StockResponseBackend) -> Response {
    let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
    let mut resp = Response::new(Body::from(s.body.clone().unwrap_or_default()));
    *resp.status_mut() = status;
    for h in s.headers.iter().flatten() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_str(&h.value)) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

/// Outcome and deciding party for a client error.
fn classify(e: &ClientError) -> (Outcome, String) {
    match e {
        ClientError::Dial(DialError::Dns(_)) => (Outcome::DnsFailed, "DNS as seen from the gateway's subnet".into()),
        ClientError::Dial(DialError::Denied(_)) => (Outcome::Denied, "route table / security list".into()),
        ClientError::Dial(_) => (Outcome::Unreachable, "backend listener".into()),
        ClientError::Tls { .. } => (Outcome::TlsFailed, "gateway CA bundles vs backend certificate".into()),
        ClientError::Timeout(_) => (Outcome::Unreachable, "backend timeout".into()),
        _ => (Outcome::Unreachable, "backend connection".into()),
    }
}

async fn proxy(
    gw: &Arc<Gateway>,
    req: Request,
    client_addr: Option<SocketAddr>,
    url: String,
    backend: &HttpBackend,
    route: &CompiledRoute,
    access: &mut Access,
) -> Response {
    let started = Instant::now();
    let destination = url.split('?').next().unwrap_or(&url).to_string();
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            let reason = format!("rendered backend URL {url:?} is invalid: {e}");
            gw.hop(
                &access.request_id,
                "API gateway → backend",
                destination,
                Outcome::Error,
                None,
                reason.clone(),
                Some(format!("backend URL template of route {}", route.path)),
                started,
            );
            access.reason = reason.into();
            return gw_error(StatusCode::BAD_GATEWAY);
        }
    };
    let (parts, body) = req.into_parts();
    let content_length =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if content_length.is_some_and(|n| n > MAX_PROXY_BODY_BYTES as u64) {
        access.reason = format!("request body larger than {MAX_PROXY_BODY_BYTES} bytes").into();
        return gw_error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let has_body = content_length.is_some_and(|n| n > 0) || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    if let Some(addr) = client_addr {
        let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {}", addr.ip()),
            _ => addr.ip().to_string(),
        };
        if let Ok(v) = HeaderValue::try_from(xff) {
            headers.insert(X_FORWARDED_FOR, v);
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
    if let Some(v) = &access.request_id_value {
        headers.insert(OPC_REQUEST_ID, v.clone());
    }
    // A request without a body (most of them: GETs) needs no limit wrapper.
    let body = if body.is_end_stream() {
        Body::empty()
    } else {
        Body::new(http_body_util::Limited::new(body, MAX_PROXY_BODY_BYTES))
    };
    let mut out = http::Request::new(body);
    *out.method_mut() = parts.method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;

    let clients = read(&gw.clients);
    let client = if backend.verify_tls() { &clients.verified } else { &clients.unverified };
    // readTimeout covers waiting for the response head; sendTimeout is added when a body is sent.
    let deadline = backend.read_timeout() + if has_body { backend.send_timeout() } else { Duration::ZERO };
    let hop = InFlight::start(
        &gw.events,
        access.request_id.to_string(),
        "API gateway → backend".into(),
        gw.source.clone(),
        destination,
    );
    // A clone shares the connection pool; its timeout is this route's deadline.
    let result = client.clone().with_timeout(deadline).send_streaming(out).await;
    match result {
        Ok(resp) => {
            let status = resp.status();
            let outcome =
                if status.is_client_error() || status.is_server_error() { Outcome::Error } else { Outcome::Ok };
            hop.finish(
                outcome,
                Some(status.as_u16()),
                format!("backend answered {}", status.as_u16()),
                Some(route.decided_by.clone()),
            );
            access.reason = Reason::BackendAnswered(status);
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let body =
                IdleTimeout::new(http_body_util::Limited::new(body, MAX_PROXY_BODY_BYTES), backend.read_timeout());
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            let (outcome, decided_by) = classify(&e);
            let status = match &e {
                ClientError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                ClientError::Connect { reason, .. } if reason.contains("timed out") => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            let reason = match &e {
                ClientError::Timeout(d) => {
                    format!("backend did not answer within {:.1}s (readTimeoutInSeconds)", d.as_secs_f32())
                }
                other => other.to_string(),
            };
            hop.finish(outcome, None, reason.clone(), Some(decided_by));
            access.reason = reason.into();
            gw_error(status)
        }
    }
}

/// A body that fails when no frame arrives for `timeout` (the backend read timeout).
struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    /// Armed only once the body has to wait, so small responses never touch the timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleTimeout<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self { inner, timeout, sleep: None }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("backend sent no data for {0:?}")]
struct BodyTimeout(Duration);

impl<B> HttpBody for IdleTimeout<B>
where
    // Unpin (hyper's `Incoming` under `Limited` is), so the body needs no box of its own.
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                this.sleep = None;
                Poll::Ready(r.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyok_core::{
        client::StaticDial,
        pki::LabCa,
        server::{bind, serve},
    };
    use parking_lot::Mutex;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    /// A tracing writer that keeps what is written.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn access_log_line_is_written_when_enabled() {
        hyok_core::tls::install_crypto_provider();
        let ca = LabCa::generate("test CA").expect("ca");
        let rsa_pem = <rsa::PrivateKey as rsa::Generate>::generate().to_pkcs8_pem(LineEnding::LF).expect("pem");
        let cert = ca
            .issue_with_key(
                &["gw.test"],
                rcgen::KeyPair::from_pem(&rsa_pem).expect("key"),
                &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            )
            .expect("cert");
        let gw = Gateway::new(GatewayConfig {
            name: "API-GW".into(),
            ip: "172.16.1.103".into(),
            tls: (cert.chain_pem(), cert.key_pem.clone()),
            backend_ca_bundles: vec![ca.cert_pem().to_string()],
            dial: Arc::new(StaticDial::new()),
            events: EventLog::new(),
        })
        .expect("gateway");
        let spec = crate::parse_specification(&serde_json::json!({"routes": [{
            "path": "/x", "methods": ["GET"],
            "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "pong"}
        }]}))
        .expect("spec");
        gw.set_deployment("dep1", "/p", &spec).expect("deployment");

        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
                let server = serve(listener, gw.clone().router(), None, tokio_util::sync::CancellationToken::new());
                let client = HttpClient::new(
                    Arc::new(StaticDial::new()),
                    hyok_core::tls::client_config(ca.cert_pem()).expect("tls"),
                );
                let get = |path: &str, id: Option<&str>| {
                    let mut b = http::Request::get(format!("http://{}{path}", server.local_addr));
                    if let Some(id) = id {
                        b = b.header(hyok_core::request_id::HEADER, id);
                    }
                    client.send(b.body(Body::empty()).expect("request"))
                };
                let ok = get("/p/x", Some("REQ-1")).await.expect("stock");
                assert_eq!(ok.status(), StatusCode::OK);
                assert_eq!(ok.headers()[hyok_core::request_id::HEADER], "REQ-1");
                let missing = get("/p/nope", None).await.expect("404");
                assert_eq!(missing.status(), StatusCode::NOT_FOUND);
                assert!(!missing.headers()[hyok_core::request_id::HEADER].is_empty(), "minted id returned");
                server.shutdown().await;
            });
        });
        let text = String::from_utf8(out.0.lock().clone()).expect("utf8");
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("hyok_apigw::access")).collect();
        assert_eq!(lines.len(), 2, "{text}");
        for want in [
            "request_id=REQ-1",
            "client=127.0.0.1",
            "method=GET",
            "path=/p/x",
            "dep1",
            "/x",
            "status=200",
            "stock response",
        ] {
            assert!(lines[0].contains(want), "{want} missing in {}", lines[0]);
        }
        for want in ["path=/p/nope", "dep1", "route=\"-\"", "status=404", "no route of deployment dep1 matches /nope"] {
            assert!(lines[1].contains(want), "{want} missing in {}", lines[1]);
        }
    }
}
