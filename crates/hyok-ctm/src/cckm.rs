//! CCKM for OCI (`/api/v1/cckm/oci/...`): tenancies (no-connection mode), external vaults,
//! external (HYOK) keys and their versions, block/unblock at both levels.

use crate::error::CtmError;
use crate::reject::{CtmBody, CtmPath, CtmQuery};
use crate::{
    Ctm,
    keys::{KeyState, LocalKey, NewKey},
    oidc::{IssuerMap, IssuerRec},
    util,
};
use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

#[derive(Default)]
pub(crate) struct CckmState {
    pub(crate) issuers: IssuerMap,
    tenancies: RwLock<HashMap<String, Arc<Tenancy>>>,
    vaults: RwLock<HashMap<String, Arc<Vault>>>,
    keys: RwLock<HashMap<String, Arc<ExtKey>>>,
    seq: AtomicU64,
}

#[derive(Clone, Serialize)]
struct Tenancy {
    #[serde(flatten)]
    meta: util::Meta,
    tenancy: String,
    tenancy_ocid: String,
    cloud_name: &'static str,
    #[serde(skip)]
    seq: u64,
}

/// An external vault: what OCI's external vault points at.
pub(crate) struct Vault {
    pub(crate) id: String,
    pub(crate) name: String,
    seq: u64,
    created_at: String,
    updated_at: RwLock<String>,
    tenancy: String,
    pub(crate) issuer: Arc<IssuerRec>,
    pub(crate) client_application_id: String,
    host: String,
    port: u16,
    pub(crate) endpoint_url: String,
    policy: Option<String>,
    region: Option<String>,
    enable_success_audit_event: bool,
    pub(crate) blocked: AtomicBool,
    /// Audiences accepted on this vault's tokens: the endpoint's base URL, with and without
    /// the trailing slash and the default port.
    pub(crate) audiences: Vec<String>,
}

/// One version of an external key: a local AES-256 key as its source.
pub(crate) struct KeyVersion {
    pub(crate) id: String,
    created_at: String,
    pub(crate) source: Arc<LocalKey>,
}

/// An external (HYOK) key. Its `id` is the External Key ID typed into OCI.
pub(crate) struct ExtKey {
    pub(crate) id: String,
    pub(crate) vault_id: String,
    seq: u64,
    created_at: String,
    updated_at: RwLock<String>,
    name: RwLock<String>,
    policy: Option<String>,
    pub(crate) blocked: AtomicBool,
    pub(crate) linked: AtomicBool,
    versions: RwLock<Vec<Arc<KeyVersion>>>,
}

impl ExtKey {
    pub(crate) fn current(&self) -> Option<Arc<KeyVersion>> {
        self.versions.read().last().cloned()
    }
    pub(crate) fn version(&self, id: &str) -> Option<Arc<KeyVersion>> {
        self.versions.read().iter().find(|v| v.id == id).cloned()
    }
}

impl CckmState {
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
    pub(crate) fn issuer(&self, id: &str) -> Option<Arc<IssuerRec>> {
        self.issuers.read().get(id).cloned()
    }
    pub(crate) fn vault(&self, id: &str) -> Option<Arc<Vault>> {
        self.vaults.read().get(id).cloned()
    }
    pub(crate) fn key(&self, id: &str) -> Option<Arc<ExtKey>> {
        self.keys.read().get(id).cloned()
    }
    pub(crate) fn vaults_using_issuer(&self, issuer_id: &str) -> usize {
        self.vaults.read().values().filter(|v| v.issuer.id == issuer_id).count()
    }
}

fn not_found() -> CtmError {
    CtmError::not_found("Resource not found")
}

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route("/api/v1/cckm/oci/add-tenancy", post(add_tenancy))
        .route("/api/v1/cckm/oci/tenancy", get(list_tenancies))
        .route("/api/v1/cckm/oci/tenancy/{id}", get(get_tenancy).delete(delete_tenancy))
        .route("/api/v1/cckm/oci/create-external-vault", post(create_vault))
        .route("/api/v1/cckm/oci/vaults", get(list_vaults))
        .route("/api/v1/cckm/oci/vaults/{id}", get(get_vault).delete(delete_vault))
        .route("/api/v1/cckm/oci/vaults/{id}/block", post(block_vault))
        .route("/api/v1/cckm/oci/vaults/{id}/unblock", post(unblock_vault))
        .route("/api/v1/cckm/oci/create-external-key", post(create_key))
        .route("/api/v1/cckm/oci/keys", get(list_keys))
        .route("/api/v1/cckm/oci/keys/{id}", get(get_key).delete(delete_key))
        .route("/api/v1/cckm/oci/keys/{id}/block", post(block_key))
        .route("/api/v1/cckm/oci/keys/{id}/unblock", post(unblock_key))
        .route("/api/v1/cckm/oci/keys/{id}/versions", get(list_versions).post(add_version))
        .route("/api/v1/cckm/oci/keys/{id}/versions/{vid}", get(get_version))
        .route("/api/v1/cckm/oci/keys/{id}/versions/{vid}/", get(get_version))
        .merge(crate::oidc::routes())
}

// ---- tenancies ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct TenancyRequest {
    tenancy_ocid: Option<String>,
    tenancy: Option<String>,
    connection: Option<String>,
}

async fn add_tenancy(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: TenancyRequest = util::parse_json(&body)?;
    if let Some(c) = req.connection.filter(|c| !c.is_empty()) {
        return Err(CtmError::not_found(format!("Connection {c} not found")));
    }
    let (Some(ocid), Some(name)) = (req.tenancy_ocid, req.tenancy) else {
        return Err(CtmError::invalid_param("tenancy_ocid and tenancy are required when no connection is given"));
    };
    if hyok_core::ids::ocid_type(&ocid) != Some("tenancy") {
        return Err(CtmError::invalid_param("tenancy_ocid must be a tenancy OCID (ocid1.tenancy.oc1..…)"));
    }
    let mut map = ctm.cckm.tenancies.write();
    if map.values().any(|t| t.tenancy_ocid == ocid || t.tenancy == name) {
        return Err(CtmError::conflict("Tenancy already exists"));
    }
    let id = hyok_core::ids::uuid();
    let t = Arc::new(Tenancy {
        meta: util::Meta::new(id.clone(), format!("kylo:kylo:cckm:oci-tenancy:{id}")),
        tenancy: name,
        tenancy_ocid: ocid,
        cloud_name: "oci",
        seq: ctm.cckm.next_seq(),
    });
    map.insert(t.meta.id.clone(), t.clone());
    Ok((http::StatusCode::CREATED, Json(t.as_ref().clone())).into_response())
}

async fn list_tenancies(State(ctm): State<Arc<Ctm>>, CtmQuery(q): CtmQuery) -> Result<Json<Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut items: Vec<Tenancy> = ctm.cckm.tenancies.read().values().map(|t| t.as_ref().clone()).collect();
    items.sort_by_key(|t| t.seq);
    if let Some(n) = q.get("tenancy") {
        items.retain(|t| &t.tenancy == n);
    }
    Ok(util::page(items, &paging))
}

async fn get_tenancy(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Response, CtmError> {
    let t = ctm.cckm.tenancies.read().get(&id).cloned().ok_or_else(not_found)?;
    Ok(Json(t.as_ref().clone()).into_response())
}

async fn delete_tenancy(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
) -> Result<http::StatusCode, CtmError> {
    let t = ctm.cckm.tenancies.read().get(&id).cloned().ok_or_else(not_found)?;
    if ctm.cckm.vaults.read().values().any(|v| v.tenancy == t.tenancy) {
        return Err(CtmError::conflict("Tenancy has external vaults"));
    }
    ctm.cckm.tenancies.write().remove(&id);
    Ok(http::StatusCode::NO_CONTENT)
}

// ---- vaults -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct VaultRequest {
    vault_name: String,
    issuer_id: String,
    client_application_id: String,
    endpoint_url_hostname: String,
    endpoint_url_port: Option<u16>,
    tenancy: Option<String>,
    connection: Option<String>,
    policy: Option<String>,
    source_key_tier: Option<String>,
    region: Option<String>,
    #[serde(default)]
    enable_success_audit_event: bool,
}

/// `https://host[:port]` with `:443` omitted and IPv6 in brackets.
fn base_url(host: &str, port: u16) -> String {
    let h = if host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]") } else { host.to_string() };
    if port == 443 { format!("https://{h}") } else { format!("https://{h}:{port}") }
}

async fn create_vault(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: VaultRequest = util::parse_json(&body)?;
    if req.vault_name.trim().is_empty() {
        return Err(CtmError::invalid_param("vault_name is required"));
    }
    if req.connection.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(CtmError::not_found("Connection not found"));
    }
    let tenancy_ref = req
        .tenancy
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CtmError::invalid_param("tenancy or connection is required"))?;
    let tenancy = ctm
        .cckm
        .tenancies
        .read()
        .values()
        .find(|t| t.tenancy == tenancy_ref || t.meta.id == tenancy_ref)
        .map(|t| t.tenancy.clone())
        .ok_or_else(|| CtmError::not_found(format!("Tenancy {tenancy_ref} not found")))?;
    let issuer = ctm
        .cckm
        .issuer(&req.issuer_id)
        .ok_or_else(|| CtmError::not_found(format!("Issuer {} not found", req.issuer_id)))?;
    if req.client_application_id.trim().is_empty() {
        return Err(CtmError::invalid_param("client_application_id is required"));
    }
    let host = req.endpoint_url_hostname.trim().to_string();
    let is_ip = host.parse::<IpAddr>().is_ok();
    if !is_ip && !ctm.cfg.allow_fqdn_endpoint {
        return Err(CtmError::invalid_param("endpoint_url_hostname must be an IP address; FQDNs are not supported"));
    }
    if !is_ip && (host.is_empty() || hyok_core::pki::san(&host).is_err()) {
        return Err(CtmError::invalid_param("endpoint_url_hostname is not a valid host name"));
    }
    let port = req.endpoint_url_port.unwrap_or(443);
    if port == 0 {
        return Err(CtmError::invalid_param("endpoint_url_port must be 1-65535"));
    }
    match req.source_key_tier.as_deref() {
        None | Some("local") => {}
        Some(t) => return Err(CtmError::invalid_param(format!("source_key_tier {t:?} is not available; use local"))),
    }
    let mut map = ctm.cckm.vaults.write();
    if map.values().any(|v| v.name == req.vault_name) {
        return Err(CtmError::conflict(format!("Vault {} already exists", req.vault_name)));
    }
    let id = hyok_core::ids::uuid();
    let base = base_url(&host, port);
    let h = if host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]") } else { host.clone() };
    let mut audiences =
        vec![format!("{base}/"), base.clone(), format!("https://{h}:{port}/"), format!("https://{h}:{port}")];
    audiences.dedup();
    let ts = util::now();
    let v = Arc::new(Vault {
        endpoint_url: format!("{base}/api/v1/cckm/oci/ekm/v1/vaults/{id}"),
        id,
        name: req.vault_name,
        seq: ctm.cckm.next_seq(),
        created_at: ts.clone(),
        updated_at: RwLock::new(ts),
        tenancy,
        issuer,
        client_application_id: req.client_application_id.trim().to_string(),
        host,
        port,
        policy: req.policy,
        region: req.region,
        enable_success_audit_event: req.enable_success_audit_event,
        blocked: AtomicBool::new(false),
        audiences,
    });
    map.insert(v.id.clone(), v.clone());
    drop(map);
    Ok((http::StatusCode::CREATED, Json(vault_view(&ctm, &v))).into_response())
}

fn vault_view(ctm: &Ctm, v: &Vault) -> Value {
    let linked = ctm.cckm.keys.read().values().any(|k| k.vault_id == v.id && k.linked.load(Ordering::Acquire));
    serde_json::json!({
        "id": v.id,
        "uri": format!("kylo:kylo:cckm:oci-vault:{}", v.id),
        "account": util::ACCOUNT,
        "createdAt": v.created_at,
        "updatedAt": *v.updated_at.read(),
        "vault_name": v.name,
        "display_name": v.name,
        "cloud_name": "oci",
        "vault_type": "EXTERNAL",
        "external_vault_type": "hyok",
        "tenancy": v.tenancy,
        "region": v.region,
        "issuer_id": v.issuer.id,
        "issuer_name": v.issuer.name(),
        "client_application_id": v.client_application_id,
        "endpoint_url_hostname": v.host,
        "endpoint_url_port": v.port,
        "endpoint_url": v.endpoint_url,
        "policy": v.policy,
        "source_key_tier": "local",
        "enable_success_audit_event": v.enable_success_audit_event,
        "blocked": v.blocked.load(Ordering::Acquire),
        "linked_state": linked,
        "state": if v.blocked.load(Ordering::Acquire) { "BLOCKED" } else { "ACTIVE" },
        "acls": [],
    })
}

async fn list_vaults(State(ctm): State<Arc<Ctm>>, CtmQuery(q): CtmQuery) -> Result<Json<Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut vs: Vec<Arc<Vault>> = ctm.cckm.vaults.read().values().cloned().collect();
    vs.sort_by_key(|v| v.seq);
    if let Some(n) = q.get("vault_name") {
        vs.retain(|v| &v.name == n);
    }
    if let Some(n) = q.get("issuer_id") {
        vs.retain(|v| &v.issuer.id == n);
    }
    if let Some(b) = q.get("blocked") {
        let b = b == "true";
        vs.retain(|v| v.blocked.load(Ordering::Acquire) == b);
    }
    Ok(util::page(vs.iter().map(|v| vault_view(&ctm, v)).collect(), &paging))
}

async fn get_vault(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    let v = ctm.cckm.vault(&id).ok_or_else(not_found)?;
    Ok(Json(vault_view(&ctm, &v)))
}

async fn delete_vault(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<http::StatusCode, CtmError> {
    let v = ctm.cckm.vault(&id).ok_or_else(not_found)?;
    if ctm.cckm.keys.read().values().any(|k| k.vault_id == v.id) {
        return Err(CtmError::conflict("Vault still has keys; delete them first"));
    }
    ctm.cckm.vaults.write().remove(&id);
    Ok(http::StatusCode::NO_CONTENT)
}

fn set_vault_blocked(ctm: &Ctm, id: &str, blocked: bool) -> Result<Json<Value>, CtmError> {
    let v = ctm.cckm.vault(id).ok_or_else(not_found)?;
    v.blocked.store(blocked, Ordering::Release);
    *v.updated_at.write() = util::now();
    Ok(Json(vault_view(ctm, &v)))
}

async fn block_vault(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    set_vault_blocked(&ctm, &id, true)
}

async fn unblock_vault(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    set_vault_blocked(&ctm, &id, false)
}

// ---- external keys ------------------------------------------------------------------------

#[derive(Deserialize)]
struct KeyRequest {
    vault: String,
    name: String,
    source_key_tier: Option<String>,
    source_key_identifier: Option<String>,
    policy: Option<String>,
}

/// The local key a version is made from: an existing Active AES-256 key, or a new one.
fn source_key(ctm: &Ctm, tier: Option<&str>, ident: Option<&str>, new_name: String) -> Result<Arc<LocalKey>, CtmError> {
    match tier {
        None | Some("local") => {}
        Some(t) => return Err(CtmError::invalid_param(format!("source_key_tier {t:?} is not available; use local"))),
    }
    match ident.filter(|s| !s.is_empty()) {
        Some(id) => {
            let k = ctm.keys.get_any(id).ok_or_else(|| CtmError::not_found(format!("Source key {id} not found")))?;
            if k.size() != 256 {
                return Err(CtmError::invalid_param("The source key must be an AES-256 key"));
            }
            if k.state() != KeyState::Active {
                return Err(CtmError::invalid_param(format!(
                    "The source key must be Active, not {}",
                    k.state().as_str()
                )));
            }
            Ok(k)
        }
        None => ctm.keys.create(NewKey::hyok_source(new_name)),
    }
}

fn new_version(source: Arc<LocalKey>) -> Arc<KeyVersion> {
    source.in_use.fetch_add(1, Ordering::AcqRel);
    Arc::new(KeyVersion { id: hyok_core::ids::uuid(), created_at: util::now(), source })
}

async fn create_key(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: KeyRequest = util::parse_json(&body)?;
    if req.name.trim().is_empty() {
        return Err(CtmError::invalid_param("name is required"));
    }
    let vault =
        ctm.cckm.vault(&req.vault).ok_or_else(|| CtmError::not_found(format!("Vault {} not found", req.vault)))?;
    let name_taken =
        |ctm: &Ctm| ctm.cckm.keys.read().values().any(|k| k.vault_id == vault.id && *k.name.read() == req.name);
    if name_taken(&ctm) {
        return Err(CtmError::conflict(format!("Key {} already exists in vault {}", req.name, vault.name)));
    }
    let id = hyok_core::ids::uuid();
    let source = source_key(
        &ctm,
        req.source_key_tier.as_deref(),
        req.source_key_identifier.as_deref(),
        format!("{}-{}", req.name, &id[..8]),
    )?;
    let ts = util::now();
    let key = Arc::new(ExtKey {
        id,
        vault_id: vault.id.clone(),
        seq: ctm.cckm.next_seq(),
        created_at: ts.clone(),
        updated_at: RwLock::new(ts),
        name: RwLock::new(req.name),
        policy: req.policy,
        blocked: AtomicBool::new(false),
        linked: AtomicBool::new(false),
        versions: RwLock::new(vec![new_version(source)]),
    });
    ctm.cckm.keys.write().insert(key.id.clone(), key.clone());
    Ok((http::StatusCode::CREATED, Json(key_view(&ctm, &key))).into_response())
}

fn key_view(ctm: &Ctm, k: &ExtKey) -> Value {
    let vault = ctm.cckm.vault(&k.vault_id);
    let cur = k.current();
    let blocked = k.blocked.load(Ordering::Acquire);
    serde_json::json!({
        "id": k.id,
        "uri": format!("kylo:kylo:cckm:oci-key:{}", k.id),
        "account": util::ACCOUNT,
        "createdAt": k.created_at,
        "updatedAt": *k.updated_at.read(),
        "cloud_name": "oci",
        "cckm_vault_id": k.vault_id,
        "vault_name": vault.as_ref().map(|v| v.name.clone()),
        "tenancy": vault.as_ref().map(|v| v.tenancy.clone()),
        "region": vault.as_ref().and_then(|v| v.region.clone()),
        "key_material_origin": "cckm",
        "labels": {},
        "auto_rotate": false,
        "hyok_key_params": {
            "name": *k.name.read(),
            "linked_state": k.linked.load(Ordering::Acquire),
            "blocked": blocked,
            "state": if blocked { "BLOCKED" } else { "ACTIVE" },
            "policy": k.policy,
            "current_version_id": cur.as_ref().map(|v| v.id.clone()),
            "source_key_identifier": cur.as_ref().map(|v| v.source.id.clone()),
            "source_key_tier": "local",
        },
        "oci_params": {
            "algorithm": "AES",
            "length": 256,
            "protection_mode": "EXTERNAL",
        },
    })
}

fn version_view(k: &ExtKey, v: &KeyVersion) -> Value {
    serde_json::json!({
        "id": v.id,
        "uri": format!("kylo:kylo:cckm:oci-key-version:{}", v.id),
        "account": util::ACCOUNT,
        "createdAt": v.created_at,
        "updatedAt": v.created_at,
        "cloud_name": "oci",
        "gone": false,
        "key_material_origin": "cckm",
        "source_key_identifier": v.source.id,
        "source_key_name": v.source.name,
        "source_key_tier": "local",
        "hyok_key_version_params": {
            "oci_key_id": k.id,
            "state": v.source.state().as_str(),
        },
    })
}

async fn list_keys(State(ctm): State<Arc<Ctm>>, CtmQuery(q): CtmQuery) -> Result<Json<Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut ks: Vec<Arc<ExtKey>> = ctm.cckm.keys.read().values().cloned().collect();
    ks.sort_by_key(|k| k.seq);
    if let Some(v) = q.get("cckm_vault_id") {
        ks.retain(|k| &k.vault_id == v);
    }
    if let Some(n) = q.get("key_name") {
        ks.retain(|k| *k.name.read() == *n);
    }
    if let Some(b) = q.get("blocked") {
        let b = b == "true";
        ks.retain(|k| k.blocked.load(Ordering::Acquire) == b);
    }
    if let Some(b) = q.get("linked_state") {
        let b = b == "true";
        ks.retain(|k| k.linked.load(Ordering::Acquire) == b);
    }
    Ok(util::page(ks.iter().map(|k| key_view(&ctm, k)).collect(), &paging))
}

async fn get_key(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    let k = ctm.cckm.key(&id).ok_or_else(not_found)?;
    Ok(Json(key_view(&ctm, &k)))
}

async fn delete_key(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<http::StatusCode, CtmError> {
    let k = ctm.cckm.key(&id).ok_or_else(not_found)?;
    if k.linked.load(Ordering::Acquire) {
        return Err(CtmError::conflict(
            "The key is linked to an OCI key reference; it can be deleted only when unlinked",
        ));
    }
    ctm.cckm.keys.write().remove(&id);
    for v in k.versions.read().iter() {
        v.source.in_use.fetch_sub(1, Ordering::AcqRel);
    }
    Ok(http::StatusCode::NO_CONTENT)
}

fn set_key_blocked(ctm: &Ctm, id: &str, blocked: bool) -> Result<Json<Value>, CtmError> {
    let k = ctm.cckm.key(id).ok_or_else(not_found)?;
    k.blocked.store(blocked, Ordering::Release);
    *k.updated_at.write() = util::now();
    Ok(Json(key_view(ctm, &k)))
}

async fn block_key(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    set_key_blocked(&ctm, &id, true)
}

async fn unblock_key(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<Value>, CtmError> {
    set_key_blocked(&ctm, &id, false)
}

async fn list_versions(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<Json<Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let k = ctm.cckm.key(&id).ok_or_else(not_found)?;
    let vs: Vec<Value> = k.versions.read().iter().map(|v| version_view(&k, v)).collect();
    Ok(util::page(vs, &paging))
}

async fn get_version(
    State(ctm): State<Arc<Ctm>>,
    CtmPath((id, vid)): CtmPath<(String, String)>,
) -> Result<Json<Value>, CtmError> {
    let k = ctm.cckm.key(&id).ok_or_else(not_found)?;
    let v = k.version(&vid).ok_or_else(not_found)?;
    Ok(Json(version_view(&k, &v)))
}

#[derive(Deserialize, Default)]
struct VersionRequest {
    source_key_identifier: Option<String>,
    source_key_tier: Option<String>,
    is_native: Option<bool>,
}

/// Rotation: a new version from a new or given local key; it becomes the current version.
async fn add_version(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmBody(body): CtmBody,
) -> Result<Response, CtmError> {
    let k = ctm.cckm.key(&id).ok_or_else(not_found)?;
    let req: VersionRequest = if body.is_empty() { VersionRequest::default() } else { util::parse_json(&body)? };
    if req.is_native == Some(true) {
        return Err(CtmError::invalid_param("is_native must be false for HYOK keys"));
    }
    let n = k.versions.read().len();
    let name = format!("{}-v{}-{}", k.name.read(), n, &hyok_core::ids::uuid()[..8]);
    let source = source_key(&ctm, req.source_key_tier.as_deref(), req.source_key_identifier.as_deref(), name)?;
    let v = new_version(source);
    k.versions.write().push(v.clone());
    *k.updated_at.write() = util::now();
    Ok((http::StatusCode::CREATED, Json(version_view(&k, &v))).into_response())
}
