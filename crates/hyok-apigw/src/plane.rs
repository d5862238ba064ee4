//! The seam between the API Gateway's control plane and its data plane.
//!
//! In OCI a gateway's data plane runs on hosts of its own; the control plane only tells it what
//! to serve. [`DataPlane`] is that conversation. [`LocalDataPlane`] runs the gateways in this
//! process and serves them through the lab's [`ServiceHost`]; [`RemoteDataPlane`] sends the same
//! calls as JSON over HTTPS to a data-plane agent ([`agent_router`]) that runs a
//! `LocalDataPlane` elsewhere (its own container in the compose topology).
//!
//! Invariant: a call's `Err` text is the `lifecycleDetails` the control plane shows, and it is
//! the same whether the data plane is local or remote.

use crate::{
    dataplane::{Gateway, GatewayConfig},
    spec::ApiSpecification,
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Request, State, rejection::BytesRejection},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, put},
};
use http::{HeaderValue, Method, StatusCode, header};
use hyok_core::{
    Clock, EventLog,
    client::{BoxFuture, Dial, HttpClient},
    host::{Endpoint, ServiceHost},
};
use hyok_oci_rest::{OciError, OciPath, extract::not_modelled};
use parking_lot::{Mutex, MutexGuard};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, net::Ipv4Addr, sync::Arc, time::Duration};

/// Port every gateway listens on.
pub const GATEWAY_PORT: u16 = 443;
/// Largest request body of the agent API (a gateway spec carries its chain, key and CA bundles).
pub const AGENT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long a remote call may take, except a deploy.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a remote deploy may take: it health-checks every backend (up to 10 s each).
pub const REMOTE_DEPLOY_TIMEOUT: Duration = Duration::from_secs(300);

/// `lifecycleDetails` of a deployment whose gateway is not running.
const NOT_ACTIVE: &str = "the gateway is not ACTIVE";
/// Agent error code: the gateway failed (422), `message` is the `lifecycleDetails` text.
const CODE_FAILED: &str = "DataPlaneFailed";
/// Agent error code: the gateway is not running (404), `message` is the `lifecycleDetails` text.
const CODE_NOT_RUNNING: &str = "GatewayNotRunning";

/// A gateway as its data plane runs it (what the control plane sends to the data plane).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRuntimeSpec {
    /// Gateway OCID.
    pub id: String,
    /// Display name (endpoint name `api-gateway <name>`, logs).
    pub name: String,
    /// Host name the listener is published under.
    pub hostname: String,
    /// Private IP; the gateway listens at `ip:443`.
    pub ip: Ipv4Addr,
    /// Certificate chain PEM, leaf first.
    pub tls_chain_pem: String,
    /// Private key PEM (RSA).
    pub tls_key_pem: String,
    /// CA PEMs trusted for backends.
    pub backend_ca_bundles: Vec<String>,
    /// Deployments installed when it starts.
    pub deployments: Vec<DeploymentRuntimeSpec>,
}

impl std::fmt::Debug for GatewayRuntimeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayRuntimeSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("hostname", &self.hostname)
            .field("ip", &self.ip)
            .field("tls_key_pem", &"<redacted>")
            .field("backend_ca_bundles", &self.backend_ca_bundles.len())
            .field("deployments", &self.deployments.iter().map(|d| d.id.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A deployment as its data plane runs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRuntimeSpec {
    /// Deployment OCID.
    pub id: String,
    /// Path prefix.
    pub path_prefix: String,
    /// The validated specification.
    pub specification: ApiSpecification,
}

/// What the control plane asks of the data plane that runs its gateways.
pub trait DataPlane: Send + Sync + 'static {
    /// Serve gateway `spec.id` at `spec.ip:443` with its deployments (replaces one with the same
    /// id). Err = lifecycleDetails text.
    fn start_gateway(&self, spec: GatewayRuntimeSpec) -> BoxFuture<'_, Result<(), String>>;

    /// Stop serving gateway `gateway_id` (no-op when it is not running).
    fn stop_gateway(&self, gateway_id: &str) -> BoxFuture<'_, ()>;

    /// Replace the CA bundles the running gateway trusts for backends. Err = lifecycleDetails text.
    fn set_backend_ca_bundles(&self, gateway_id: &str, bundles: Vec<String>) -> BoxFuture<'_, Result<(), String>>;

    /// Health-check the deployment's HTTP backends from the gateway (its dialer, its CA bundles;
    /// hop events under `request_id`), then install it. Err = lifecycleDetails text; the
    /// deployment is then not served.
    fn deploy(
        &self,
        gateway_id: &str,
        request_id: &str,
        deployment: DeploymentRuntimeSpec,
    ) -> BoxFuture<'_, Result<(), String>>;

    /// Stop serving a deployment (no-op when it is not installed).
    fn undeploy(&self, gateway_id: &str, deployment_id: &str) -> BoxFuture<'_, ()>;

    /// Ids of the deployments installed on a running gateway; `Ok(None)` when it is not running,
    /// `Err` when the data plane could not be asked.
    fn deployments(&self, gateway_id: &str) -> BoxFuture<'_, Result<Option<Vec<String>>, String>>;
}

/// Errors building a [`RemoteDataPlane`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaneError {
    /// The agent URL is not `https://host[:port]`.
    #[error("data plane URL {0:?} must be https://host[:port] (the gateway's private key travels over it)")]
    BadUrl(String),
    /// The CA bundle for the agent's certificate does not parse.
    #[error("data plane CA bundle: {0}")]
    CaBundle(String),
    /// The token is empty or cannot be sent in a header.
    #[error("data plane token must be non-empty visible ASCII")]
    Token,
}

// ---------------------------------------------------------------------------------------------
// In process

struct Running {
    gateway: Arc<Gateway>,
    ip: Ipv4Addr,
}

/// Gateways run in this process and served through a [`ServiceHost`] (each at its private IP,
/// dialling from it, hop events into the host's log).
pub struct LocalDataPlane {
    host: Arc<dyn ServiceHost>,
    clock: Clock,
    running: Mutex<HashMap<String, Running>>,
}

impl std::fmt::Debug for LocalDataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.table().keys().cloned().collect();
        f.debug_struct("LocalDataPlane").field("gateways", &ids).finish_non_exhaustive()
    }
}

impl LocalDataPlane {
    /// A data plane with no gateways, on the system clock.
    pub fn new(host: Arc<dyn ServiceHost>) -> Self {
        Self { host, clock: Clock::system(), running: Mutex::new(HashMap::new()) }
    }

    /// The clock the gateways' caches (remote JWKS) read; call it before any gateway starts.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The running gateway `id`.
    pub fn gateway(&self, id: &str) -> Option<Arc<Gateway>> {
        self.table().get(id).map(|r| r.gateway.clone())
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock()
    }

    async fn start(&self, spec: GatewayRuntimeSpec) -> Result<(), String> {
        let old = self.table().remove(&spec.id);
        if let Some(old) = old.filter(|o| o.ip != spec.ip) {
            self.host.unhost(old.ip, GATEWAY_PORT).await;
        }
        // A new certificate means a new listener.
        self.host.unhost(spec.ip, GATEWAY_PORT).await;
        let ip = spec.ip;
        let gw = Gateway::new(GatewayConfig {
            name: spec.name.clone(),
            ip: ip.to_string(),
            tls: (spec.tls_chain_pem, spec.tls_key_pem),
            backend_ca_bundles: spec.backend_ca_bundles,
            dial: self.host.dial_from(ip),
            events: self.host.events(),
            clock: self.clock.clone(),
        })
        .map_err(|e| e.to_string())?;
        for d in &spec.deployments {
            gw.set_deployment(&d.id, &d.path_prefix, &d.specification)
                .map_err(|e| format!("deployment {}: {e}", d.id))?;
        }
        let endpoint = Endpoint {
            name: format!("api-gateway {}", spec.name),
            kind: "api-gateway".into(),
            host: spec.hostname.clone(),
            ip,
            port: GATEWAY_PORT,
        };
        self.host
            .host(endpoint, gw.clone().router(), gw.tls_config())
            .await
            .map_err(|e| format!("cannot serve the gateway at {ip}:{GATEWAY_PORT}: {e}"))?;
        self.table().insert(spec.id, Running { gateway: gw, ip });
        Ok(())
    }

    async fn stop(&self, id: &str) {
        let old = self.table().remove(id);
        if let Some(old) = old {
            self.host.unhost(old.ip, GATEWAY_PORT).await;
        }
    }

    fn set_bundles(&self, id: &str, bundles: Vec<String>) -> Result<(), String> {
        let gw = self.gateway(id).ok_or_else(|| format!("gateway {id} is not running on the data plane"))?;
        gw.set_backend_ca_bundles(bundles).map_err(|e| e.to_string())
    }

    async fn check_and_install(
        &self,
        gateway_id: &str,
        request_id: &str,
        d: DeploymentRuntimeSpec,
    ) -> Result<(), String> {
        let checked = match self.gateway(gateway_id) {
            None => Err(NOT_ACTIVE.to_string()),
            Some(gw) => gw.check_deployment(request_id, &d.specification).await.map_err(|f| f.to_string()),
        };
        // Install on the gateway as it is now (a restart may have replaced it meanwhile).
        let current = self.gateway(gateway_id);
        let outcome = checked.and_then(|()| match &current {
            Some(gw) => gw.set_deployment(&d.id, &d.path_prefix, &d.specification).map_err(|e| e.to_string()),
            None => Err(NOT_ACTIVE.to_string()),
        });
        if outcome.is_err()
            && let Some(gw) = &current
        {
            gw.remove_deployment(&d.id);
        }
        outcome
    }

    fn remove(&self, gateway_id: &str, deployment_id: &str) {
        if let Some(gw) = self.gateway(gateway_id) {
            gw.remove_deployment(deployment_id);
        }
    }

    fn installed(&self, gateway_id: &str) -> Option<Vec<String>> {
        self.gateway(gateway_id).map(|gw| gw.deployments().into_iter().map(|(id, _)| id).collect())
    }
}

impl DataPlane for LocalDataPlane {
    fn start_gateway(&self, spec: GatewayRuntimeSpec) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.start(spec))
    }

    fn stop_gateway(&self, gateway_id: &str) -> BoxFuture<'_, ()> {
        let id = gateway_id.to_string();
        Box::pin(async move { self.stop(&id).await })
    }

    fn set_backend_ca_bundles(&self, gateway_id: &str, bundles: Vec<String>) -> BoxFuture<'_, Result<(), String>> {
        let r = self.set_bundles(gateway_id, bundles);
        Box::pin(async move { r })
    }

    fn deploy(
        &self,
        gateway_id: &str,
        request_id: &str,
        deployment: DeploymentRuntimeSpec,
    ) -> BoxFuture<'_, Result<(), String>> {
        let (gid, rid) = (gateway_id.to_string(), request_id.to_string());
        Box::pin(async move { self.check_and_install(&gid, &rid, deployment).await })
    }

    fn undeploy(&self, gateway_id: &str, deployment_id: &str) -> BoxFuture<'_, ()> {
        self.remove(gateway_id, deployment_id);
        Box::pin(async {})
    }

    fn deployments(&self, gateway_id: &str) -> BoxFuture<'_, Result<Option<Vec<String>>, String>> {
        let r = self.installed(gateway_id);
        Box::pin(async move { Ok(r) })
    }
}

// ---------------------------------------------------------------------------------------------
// Over the wire

/// Body of `PUT /gateways/{id}/ca-bundles`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundlesBody {
    backend_ca_bundles: Vec<String>,
}

/// Body of `PUT /gateways/{id}/deployments/{did}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployBody {
    /// Hop events of the health check are recorded under it.
    request_id: String,
    deployment: DeploymentRuntimeSpec,
}

/// Answer of `GET /gateways/{id}/deployments`.
#[derive(Debug, Serialize, Deserialize)]
struct DeploymentList {
    items: Vec<String>,
}

/// Path segments: ids are OCIDs, but nothing that would change the path gets through unescaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_').remove(b'~');

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A data plane reached over HTTPS: the agent ([`agent_router`]) runs the gateways.
pub struct RemoteDataPlane {
    base: String,
    client: HttpClient,
    deploy_client: HttpClient,
    auth: HeaderValue,
}

impl std::fmt::Debug for RemoteDataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteDataPlane").field("base", &self.base).finish_non_exhaustive()
    }
}

impl RemoteDataPlane {
    /// A data plane at `base_url` (`https://host[:port]`), reached with `dial`, whose certificate
    /// chains to `ca_pem` and names the URL's host; every call carries `Bearer <token>`.
    pub fn new(base_url: &str, dial: Arc<dyn Dial>, ca_pem: &str, token: String) -> Result<Self, PlaneError> {
        let base = base_url.trim_end_matches('/').to_string();
        let uri: http::Uri = base.parse().map_err(|_| PlaneError::BadUrl(base_url.to_string()))?;
        let plain = uri.path().is_empty() || uri.path() == "/";
        if uri.scheme_str() != Some("https") || uri.host().is_none() || !plain || uri.query().is_some() {
            return Err(PlaneError::BadUrl(base_url.to_string()));
        }
        if token.is_empty() {
            return Err(PlaneError::Token);
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| PlaneError::Token)?;
        auth.set_sensitive(true);
        let tls = hyok_core::tls::client_config(ca_pem).map_err(|e| PlaneError::CaBundle(e.to_string()))?;
        let client = HttpClient::new(dial, tls).with_timeout(REMOTE_TIMEOUT).with_max_response(1024 * 1024);
        let deploy_client = client.clone().with_timeout(REMOTE_DEPLOY_TIMEOUT);
        Ok(Self { base, client, deploy_client, auth })
    }

    /// Record a hop event for every call to the agent into `events`.
    pub fn with_events(mut self, events: EventLog) -> Self {
        self.client = self.client.with_events(events.clone(), "API Gateway control plane");
        self.deploy_client = self.deploy_client.with_events(events, "API Gateway control plane");
        self
    }

    /// The agent's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Send one call; `Err` is the text for an agent that could not be asked.
    async fn call<B: Serialize>(
        &self,
        client: &HttpClient,
        method: Method,
        path: &str,
        body: Option<&B>,
        request_id: Option<&str>,
    ) -> Result<(StatusCode, serde_json::Value), String> {
        let unreachable = |e: String| format!("the gateway data plane at {} is unreachable: {e}", self.base);
        let unbuildable = |e: String| format!("cannot call the gateway data plane at {}: {e}", self.base);
        let mut b = http::Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, self.auth.clone());
        if let Some(rid) = request_id {
            b = b.header(hyok_core::request_id::HEADER, rid);
        }
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(serde_json::to_vec(v).map_err(|e| unbuildable(e.to_string()))?)
            }
            None => axum::body::Body::empty(),
        };
        let req = b.body(body).map_err(|e| unbuildable(e.to_string()))?;
        let resp = client.send(req).await.map_err(|e| unreachable(e.to_string()))?;
        let json = serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null);
        tracing::debug!(%method, path, status = %resp.status(), "data plane call");
        Ok((resp.status(), json))
    }

    /// The `Err` text of a refused call: the agent's own text for a failure of the gateway
    /// (`lifecycleDetails`), else a text naming the data plane.
    fn refusal(&self, status: StatusCode, body: &serde_json::Value) -> String {
        let message = body.get("message").and_then(|m| m.as_str()).unwrap_or_default();
        let code = body.get("code").and_then(|m| m.as_str()).unwrap_or_default();
        match status {
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::NOT_FOUND
                if (code == CODE_FAILED || code == CODE_NOT_RUNNING) && !message.is_empty() =>
            {
                message.to_string()
            }
            StatusCode::UNAUTHORIZED => format!(
                "the gateway data plane at {} refused the control plane's credentials ({status}); check the data-plane token",
                self.base
            ),
            _ => format!("the gateway data plane at {} answered {status}: {message}", self.base),
        }
    }

    async fn expect_ok<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> Result<(), String> {
        let (status, json) = self.call(&self.client, method, path, body, None).await?;
        if status.is_success() { Ok(()) } else { Err(self.refusal(status, &json)) }
    }

    async fn best_effort(&self, path: String) {
        if let Err(e) = self.expect_ok::<()>(Method::DELETE, &path, None).await {
            tracing::warn!(path, error = %e, "data plane call failed");
        }
    }
}

impl DataPlane for RemoteDataPlane {
    fn start_gateway(&self, spec: GatewayRuntimeSpec) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let path = format!("/gateways/{}", seg(&spec.id));
            self.expect_ok(Method::PUT, &path, Some(&spec)).await
        })
    }

    fn stop_gateway(&self, gateway_id: &str) -> BoxFuture<'_, ()> {
        let path = format!("/gateways/{}", seg(gateway_id));
        Box::pin(self.best_effort(path))
    }

    fn set_backend_ca_bundles(&self, gateway_id: &str, bundles: Vec<String>) -> BoxFuture<'_, Result<(), String>> {
        let path = format!("/gateways/{}/ca-bundles", seg(gateway_id));
        Box::pin(
            async move { self.expect_ok(Method::PUT, &path, Some(&BundlesBody { backend_ca_bundles: bundles })).await },
        )
    }

    fn deploy(
        &self,
        gateway_id: &str,
        request_id: &str,
        deployment: DeploymentRuntimeSpec,
    ) -> BoxFuture<'_, Result<(), String>> {
        let path = format!("/gateways/{}/deployments/{}", seg(gateway_id), seg(&deployment.id));
        let body = DeployBody { request_id: request_id.to_string(), deployment };
        Box::pin(async move {
            match self.call(&self.deploy_client, Method::PUT, &path, Some(&body), Some(&body.request_id)).await {
                Ok((status, _)) if status.is_success() => Ok(()),
                Ok((status, json)) => Err(self.refusal(status, &json)),
                Err(unreachable) => {
                    // The agent may have installed it before the answer was lost: a deployment
                    // that is not ACTIVE must not be served.
                    self.best_effort(path).await;
                    Err(unreachable)
                }
            }
        })
    }

    fn undeploy(&self, gateway_id: &str, deployment_id: &str) -> BoxFuture<'_, ()> {
        let path = format!("/gateways/{}/deployments/{}", seg(gateway_id), seg(deployment_id));
        Box::pin(self.best_effort(path))
    }

    fn deployments(&self, gateway_id: &str) -> BoxFuture<'_, Result<Option<Vec<String>>, String>> {
        let path = format!("/gateways/{}/deployments", seg(gateway_id));
        Box::pin(async move {
            match self.call::<()>(&self.client, Method::GET, &path, None, None).await? {
                (StatusCode::OK, json) => serde_json::from_value::<DeploymentList>(json)
                    .map(|l| Some(l.items))
                    .map_err(|e| format!("the gateway data plane at {} answered an unreadable list: {e}", self.base)),
                (StatusCode::NOT_FOUND, _) => Ok(None),
                (status, json) => Err(self.refusal(status, &json)),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The agent

struct Agent {
    local: Arc<LocalDataPlane>,
    /// SHA-256 of the token; `None` (empty token) refuses every call.
    token: Option<[u8; 32]>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

type AgentState = State<Arc<Agent>>;

/// The data-plane agent's internal API (serve it over TLS): every call needs
/// `Authorization: Bearer <token>` (an empty `token` refuses every call). JSON bodies of at most
/// [`AGENT_MAX_BODY_BYTES`]; errors are `{"code","message"}`; a failure of the gateway itself
/// is 422 (404 when the gateway is not running) with the `lifecycleDetails` text as `message`.
///
/// - `PUT /gateways/{id}` ([`GatewayRuntimeSpec`]) starts or replaces a gateway;
///   `DELETE /gateways/{id}` stops it.
/// - `PUT /gateways/{id}/ca-bundles` (`{"backendCaBundles": [pem, ...]}`).
/// - `PUT /gateways/{id}/deployments/{did}` (`{"requestId", "deployment": DeploymentRuntimeSpec}`)
///   health-checks and installs; `DELETE` removes; `GET /gateways/{id}/deployments` lists
///   (`{"items": [id, ...]}`).
pub fn agent_router(local: Arc<LocalDataPlane>, token: String) -> Router {
    let agent = Arc::new(Agent { local, token: (!token.is_empty()).then(|| digest(&token)) });
    Router::new()
        .route("/gateways/{id}", put(start_h).delete(stop_h))
        .route("/gateways/{id}/ca-bundles", put(bundles_h))
        .route("/gateways/{id}/deployments", get(list_h))
        .route("/gateways/{id}/deployments/{did}", put(deploy_h).delete(undeploy_h))
        .fallback(not_found_h)
        .method_not_allowed_fallback(not_modelled)
        .layer(DefaultBodyLimit::max(AGENT_MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(agent.clone(), authenticate))
        .layer(axum::middleware::from_fn(hyok_core::request_id::layer))
        .with_state(agent)
}

async fn authenticate(State(agent): AgentState, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| digest(t.trim()));
    let ok = match (agent.token, given) {
        (Some(want), Some(got)) => hyok_core::ct_eq(&want, &got),
        _ => false,
    };
    if !ok {
        tracing::warn!(path = %req.uri().path(), "data plane agent: call without a valid token refused");
        let mut resp =
            OciError::not_authenticated("a valid data-plane token is required (Authorization: Bearer)").into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    next.run(req).await
}

fn body_json<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, OciError> {
    let body = body.map_err(|r| {
        let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE { "PayloadTooLarge" } else { "InvalidParameter" };
        OciError::new(r.status(), code, r.body_text())
    })?;
    serde_json::from_slice(&body).map_err(|e| OciError::invalid_parameter(format!("invalid request body: {e}")))
}

fn refused(message: String) -> OciError {
    OciError::new(StatusCode::UNPROCESSABLE_ENTITY, CODE_FAILED, message)
}

fn not_running(message: String) -> OciError {
    OciError::new(StatusCode::NOT_FOUND, CODE_NOT_RUNNING, message)
}

async fn start_h(
    State(agent): AgentState,
    OciPath(id): OciPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, OciError> {
    let spec: GatewayRuntimeSpec = body_json(body)?;
    if spec.id != id {
        return Err(OciError::invalid_parameter(format!("id {:?} does not match the path ({id})", spec.id)));
    }
    tracing::info!(gateway = %id, ip = %spec.ip, "data plane agent: start gateway");
    agent.local.start(spec).await.map_err(refused)?;
    Ok(Json(serde_json::json!({ "id": id })))
}

async fn stop_h(State(agent): AgentState, OciPath(id): OciPath<String>) -> StatusCode {
    tracing::info!(gateway = %id, "data plane agent: stop gateway");
    agent.local.stop(&id).await;
    StatusCode::NO_CONTENT
}

async fn bundles_h(
    State(agent): AgentState,
    OciPath(id): OciPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, OciError> {
    let b: BundlesBody = body_json(body)?;
    if agent.local.gateway(&id).is_none() {
        return Err(not_running(format!("gateway {id} is not running on the data plane")));
    }
    agent.local.set_bundles(&id, b.backend_ca_bundles).map_err(refused)?;
    Ok(Json(serde_json::json!({ "id": id })))
}

async fn deploy_h(
    State(agent): AgentState,
    OciPath((id, did)): OciPath<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, OciError> {
    let b: DeployBody = body_json(body)?;
    if b.deployment.id != did {
        return Err(OciError::invalid_parameter(format!(
            "deployment.id {:?} does not match the path ({did})",
            b.deployment.id
        )));
    }
    if agent.local.gateway(&id).is_none() {
        return Err(not_running(NOT_ACTIVE.to_string()));
    }
    agent.local.check_and_install(&id, &b.request_id, b.deployment).await.map_err(refused)?;
    Ok(Json(serde_json::json!({ "id": did })))
}

async fn undeploy_h(State(agent): AgentState, OciPath((id, did)): OciPath<(String, String)>) -> StatusCode {
    agent.local.remove(&id, &did);
    StatusCode::NO_CONTENT
}

async fn list_h(State(agent): AgentState, OciPath(id): OciPath<String>) -> Result<Json<DeploymentList>, OciError> {
    let items = agent
        .local
        .installed(&id)
        .ok_or_else(|| not_running(format!("gateway {id} is not running on the data plane")))?;
    Ok(Json(DeploymentList { items }))
}

async fn not_found_h() -> OciError {
    OciError::new(StatusCode::NOT_FOUND, "NotFound", "Unknown resource path")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_debug_hides_the_key() {
        let s = GatewayRuntimeSpec {
            id: "ocid1.apigateway.x".into(),
            name: "API-GW".into(),
            hostname: "gw.lab".into(),
            ip: Ipv4Addr::new(172, 16, 1, 103),
            tls_chain_pem: "CHAIN".into(),
            tls_key_pem: "-----BEGIN PRIVATE KEY-----SECRET".into(),
            backend_ca_bundles: vec![],
            deployments: vec![],
        };
        let d = format!("{s:?}");
        assert!(!d.contains("SECRET") && d.contains("redacted"), "{d}");
        let wire = serde_json::to_value(&s).expect("json");
        assert_eq!(wire["tlsKeyPem"], "-----BEGIN PRIVATE KEY-----SECRET");
        assert_eq!(wire["ip"], "172.16.1.103");
    }

    #[test]
    fn segments_cannot_change_the_path() {
        assert_eq!(seg("ocid1.apigateway.oc1.eu-frankfurt-1.abc_d~"), "ocid1.apigateway.oc1.eu-frankfurt-1.abc_d~");
        assert_eq!(seg("../x/y?z"), "..%2Fx%2Fy%3Fz");
    }

    #[test]
    fn remote_needs_https_and_a_token() {
        hyok_core::tls::install_crypto_provider();
        let ca = hyok_core::pki::LabCa::generate("t").expect("ca");
        let dial: Arc<dyn Dial> = Arc::new(hyok_core::client::StaticDial::new());
        let mk = |url: &str, tok: &str| RemoteDataPlane::new(url, dial.clone(), ca.cert_pem(), tok.to_string());
        assert!(matches!(mk("http://dp.lab:9443", "t"), Err(PlaneError::BadUrl(_))));
        assert!(matches!(mk("https://dp.lab:9443/x", "t"), Err(PlaneError::BadUrl(_))));
        assert!(matches!(mk("https://dp.lab:9443", ""), Err(PlaneError::Token)));
        assert!(matches!(mk("https://dp.lab:9443", "a\nb"), Err(PlaneError::Token)));
        let ok = mk("https://dp.lab:9443/", "t").expect("valid");
        assert_eq!(ok.base_url(), "https://dp.lab:9443");
        assert!(!format!("{ok:?}").contains("Bearer"));
        assert!(matches!(
            RemoteDataPlane::new("https://dp.lab", dial.clone(), "nope", "t".into()),
            Err(PlaneError::CaBundle(_))
        ));
    }
}
