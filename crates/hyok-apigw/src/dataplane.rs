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
    EventLog, HopEvent, Outcome,
    client::{ClientError, Dial, DialError, HttpClient},
    events::now_ms,
};
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, RwLock},
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
}

enum CompiledBackend {
    Http { template: UrlTemplate, spec: HttpBackend },
    Stock(StockResponseBackend),
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    // The values are replaced whole; a poisoned lock still holds a consistent one.
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
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
                &key,
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

    fn source(&self) -> String {
        format!("api-gateway {}@{}", self.name, self.ip)
    }

    #[allow(clippy::too_many_arguments)]
    fn hop(
        &self,
        request_id: &str,
        hop: &str,
        destination: &str,
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
            source: self.source(),
            destination: destination.to_string(),
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
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

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
    for n in HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Everything the access log line needs.
struct Access {
    request_id: String,
    client: String,
    method: Method,
    path: String,
    deployment: Option<String>,
    route: Option<String>,
    reason: String,
}

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(hyok_core::request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(str::to_string)
        .unwrap_or_else(hyok_core::ids::opc_request_id);
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let mut access = Access {
        request_id: request_id.clone(),
        client: client.map(|c| c.ip().to_string()).unwrap_or_else(|| "-".into()),
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        deployment: None,
        route: None,
        reason: String::new(),
    };
    let mut resp = dispatch(&gw, req, client, &mut access).await;
    if !resp.headers().contains_key(hyok_core::request_id::HEADER)
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert(hyok_core::request_id::HEADER, v);
    }
    tracing::info!(
        target: "hyok_apigw::access",
        gateway = %gw.name,
        request_id = %access.request_id,
        client = %access.client,
        method = %access.method,
        path = %access.path,
        deployment = access.deployment.as_deref().unwrap_or("-"),
        route = access.route.as_deref().unwrap_or("-"),
        status = resp.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        reason = %access.reason,
        "access"
    );
    resp
}

async fn dispatch(gw: &Arc<Gateway>, req: Request, client: Option<SocketAddr>, access: &mut Access) -> Response {
    let started = Instant::now();
    let deployments = read(&gw.deployments);
    let path = req.uri().path().to_string();
    let Some((dep, rel)) =
        deployments.iter().find_map(|d| strip_prefix(&d.prefix, &path).map(|rel| (d.clone(), rel.to_string())))
    else {
        access.reason = "no deployment has a path prefix matching the request path".into();
        return gw_error(StatusCode::NOT_FOUND);
    };
    access.deployment = Some(dep.id.clone());
    let matching: Vec<(&CompiledRoute, Vec<(String, String)>)> =
        dep.routes.iter().filter_map(|r| r.pattern.matches(&rel).map(|p| (r, p))).collect();
    if matching.is_empty() {
        access.reason = format!("no route of deployment {} matches {rel}", dep.id);
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            &format!("deployment {}", dep.id),
            Outcome::Error,
            Some(404),
            access.reason.clone(),
            Some(format!("routes of deployment {}", dep.id)),
            started,
        );
        return gw_error(StatusCode::NOT_FOUND);
    }
    let method = req.method().clone();
    let allowed = |r: &CompiledRoute| r.methods.as_ref().is_none_or(|ms| ms.contains(&method));
    let Some((route, params)) =
        matching.iter().filter(|(r, _)| allowed(r)).max_by_key(|(r, _)| r.pattern.specificity())
    else {
        let mut allow: Vec<String> =
            matching.iter().flat_map(|(r, _)| r.methods.clone().unwrap_or_default()).map(|m| m.to_string()).collect();
        allow.sort();
        allow.dedup();
        access.reason = format!("route matches {rel} but allows only {}", allow.join(", "));
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            &format!("deployment {}", dep.id),
            Outcome::Error,
            Some(405),
            access.reason.clone(),
            Some(format!("methods of route {}", matching[0].0.path)),
            started,
        );
        let mut resp = gw_error(StatusCode::METHOD_NOT_ALLOWED);
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return resp;
    };
    access.route = Some(route.path.clone());

    // Authentication and authorization.
    let mut claims: Option<Claims> = None;
    if let Some(auth) = &dep.auth {
        match authorize(gw, auth, route, req.headers(), req.uri().query(), &access.request_id).await {
            Ok(c) => claims = c,
            Err(f) => {
                access.reason = f.reason.clone();
                let policy = if f.status == StatusCode::FORBIDDEN {
                    "route authorization (ANY_OF)"
                } else {
                    "authentication policy"
                };
                gw.hop(
                    &access.request_id,
                    "API gateway (policy)",
                    &format!("deployment {}", dep.id),
                    Outcome::Error,
                    Some(f.status.as_u16()),
                    f.reason.clone(),
                    Some(format!("{policy} of deployment {}", dep.id)),
                    started,
                );
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
            let ctx = TemplateContext {
                path: params,
                query: req.uri().query(),
                headers: Some(req.headers()),
                auth: claims.as_ref(),
            };
            let mut url = template.render(&ctx);
            if let Some(q) = req.uri().query() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(q);
            }
            proxy(gw, req, client, &url, spec, &dep.id, &route.path, access).await
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
        gw.hop(request_id, "API gateway → JWKS", &f.uri, outcome, status, reason, decided_by, f.started);
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

#[allow(clippy::too_many_arguments)]
async fn proxy(
    gw: &Arc<Gateway>,
    req: Request,
    client_addr: Option<SocketAddr>,
    url: &str,
    backend: &HttpBackend,
    deployment: &str,
    route_path: &str,
    access: &mut Access,
) -> Response {
    let started = Instant::now();
    let destination = url.split('?').next().unwrap_or(url).to_string();
    let request_id = access.request_id.clone();
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            access.reason = format!("rendered backend URL {url:?} is invalid: {e}");
            gw.hop(
                &request_id,
                "API gateway → backend",
                &destination,
                Outcome::Error,
                None,
                access.reason.clone(),
                Some(format!("backend URL template of route {route_path}")),
                started,
            );
            return gw_error(StatusCode::BAD_GATEWAY);
        }
    };
    let (parts, body) = req.into_parts();
    let content_length =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if content_length.is_some_and(|n| n > MAX_PROXY_BODY_BYTES as u64) {
        access.reason = format!("request body larger than {MAX_PROXY_BODY_BYTES} bytes");
        return gw_error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let has_body = content_length.is_some_and(|n| n > 0) || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    if let Some(addr) = client_addr {
        let ip = addr.ip().to_string();
        let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
            _ => ip,
        };
        if let Ok(v) = HeaderValue::from_str(&xff) {
            headers.insert("x-forwarded-for", v);
        }
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(hyok_core::request_id::HEADER, v);
    }
    let mut out = http::Request::new(Body::new(http_body_util::Limited::new(body, MAX_PROXY_BODY_BYTES)));
    *out.method_mut() = parts.method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;

    let clients = read(&gw.clients);
    let client = if backend.verify_tls() { &clients.verified } else { &clients.unverified };
    // readTimeout covers waiting for the response head; sendTimeout is added when a body is sent.
    let deadline = backend.read_timeout() + if has_body { backend.send_timeout() } else { Duration::ZERO };
    // A clone shares the connection pool; its timeout is this route's deadline.
    let result = client.clone().with_timeout(deadline).send_streaming(out).await;
    let decided_ok = format!("route {route_path} of deployment {deployment}");
    match result {
        Ok(resp) => {
            let status = resp.status();
            let outcome =
                if status.is_client_error() || status.is_server_error() { Outcome::Error } else { Outcome::Ok };
            access.reason = format!("backend answered {}", status.as_u16());
            gw.hop(
                &request_id,
                "API gateway → backend",
                &destination,
                outcome,
                Some(status.as_u16()),
                access.reason.clone(),
                Some(decided_ok),
                started,
            );
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
            access.reason = match &e {
                ClientError::Timeout(d) => {
                    format!("backend did not answer within {:.1}s (readTimeoutInSeconds)", d.as_secs_f32())
                }
                other => other.to_string(),
            };
            gw.hop(
                &request_id,
                "API gateway → backend",
                &destination,
                outcome,
                None,
                access.reason.clone(),
                Some(decided_by),
                started,
            );
            gw_error(status)
        }
    }
}

/// A body that fails when no frame arrives for `timeout` (the backend read timeout).
struct IdleTimeout<B> {
    inner: Pin<Box<B>>,
    timeout: Duration,
    /// Armed only once the body has to wait, so small responses never touch the timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleTimeout<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self { inner: Box::pin(inner), timeout, sleep: None }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("backend sent no data for {0:?}")]
struct BodyTimeout(Duration);

impl<B> HttpBody for IdleTimeout<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match this.inner.as_mut().poll_frame(cx) {
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
