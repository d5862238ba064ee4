//! The lab's admin endpoint (plain HTTP, token for everything but `/health`): health, stop,
//! time controls, hop events, and the internal API a region serves the other containers.

use crate::split::{NetDecision, region_resolve};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use hyok_core::EventLog;
use hyok_dns::DnsModel;
use hyok_netsim::NetworkModel;
use std::{collections::BTreeMap, net::Ipv4Addr, path::PathBuf, sync::Arc};
use tokio_util::sync::CancellationToken;

/// What the admin endpoint answers from.
pub(crate) struct Admin {
    /// The bearer token it wants (lab.json's `admin.token`).
    pub(crate) token: String,
    /// The services the lab started, for `/health`.
    pub(crate) services: Vec<String>,
    /// Stops the lab (`/shutdown`).
    pub(crate) stop: CancellationToken,
    /// KMS, whose cached tokens `/time/expire-tokens` expires (None: KMS runs elsewhere).
    pub(crate) kms: Option<Arc<hyok_kms::KmsService>>,
    /// The lab's hop events.
    pub(crate) events: EventLog,
    /// The lab dir (other containers' hop logs).
    pub(crate) lab_dir: PathBuf,
    /// The models the internal API answers from.
    pub(crate) dns: DnsModel,
    /// Resolver ids by VCN name.
    pub(crate) resolvers: BTreeMap<String, String>,
    /// The network model.
    pub(crate) net: NetworkModel,
}

fn authorised(lab: &Admin, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", lab.token);
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

/// The admin endpoint's routes.
pub(crate) fn router(lab: Arc<Admin>) -> Router {
    Router::new()
        .route(
            "/health",
            get(|State(lab): State<Arc<Admin>>| async move {
                Json(serde_json::json!({
                    "status": "ok",
                    "pid": std::process::id(),
                    "services": lab.services,
                }))
            }),
        )
        .route(
            "/shutdown",
            post(|State(lab): State<Arc<Admin>>, headers: HeaderMap| async move {
                if !authorised(&lab, &headers) {
                    return StatusCode::UNAUTHORIZED;
                }
                lab.stop.cancel();
                StatusCode::ACCEPTED
            }),
        )
        .route(
            "/time/expire-tokens",
            post(|State(lab): State<Arc<Admin>>, headers: HeaderMap| async move {
                if !authorised(&lab, &headers) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                // Cached access tokens run out as if their hour had passed.
                let n = lab.kms.as_ref().map(|k| k.expire_tokens()).unwrap_or(0);
                Ok(Json(serde_json::json!({ "expired": n })))
            }),
        )
        .route(
            "/events",
            get(|State(lab): State<Arc<Admin>>, headers: HeaderMap, Query(q): Query<EventsQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                let last = q.last.unwrap_or(100).min(10_000);
                let mut events = match &q.request_id {
                    Some(id) => lab.events.by_request(id),
                    None => lab.events.last(last),
                };
                // In the compose topology other containers record their own hops.
                let (dir, id) = (lab.lab_dir.clone(), q.request_id.clone());
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
            get(|State(lab): State<Arc<Admin>>, headers: HeaderMap, Query(q): Query<ResolveQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(internal_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad token".into()));
                }
                region_resolve(&lab.dns, &lab.resolvers, &q.resolver, &q.name, &q.rtype)
                    .map(Json)
                    .map_err(|e| internal_error(StatusCode::BAD_REQUEST, "InvalidParameter", e.to_string()))
            }),
        )
        .route(
            "/internal/net/check",
            get(|State(lab): State<Arc<Admin>>, headers: HeaderMap, Query(q): Query<CheckQuery>| async move {
                if !authorised(&lab, &headers) {
                    return Err(internal_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad token".into()));
                }
                let decision = match lab.net.check_tcp(q.src, q.dst, q.port) {
                    Ok(_) => NetDecision { allowed: true, reason: None },
                    Err(d) => NetDecision { allowed: false, reason: Some(d.to_string()) },
                };
                Ok(Json(decision))
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(4096))
        .with_state(lab)
}
