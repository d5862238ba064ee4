//! `/api/v1/vault/keys2`: local AES keys. Key material is generated here, held in memory only
//! (as ready-to-use AES-GCM objects) and never returned.

use crate::error::CtmError;
use crate::reject::{CtmBody, CtmPath, CtmQuery};
use crate::{Ctm, util};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, aead::Generate};
use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering},
    },
};

/// KMIP-style key states as CTM spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum KeyState {
    PreActive = 0,
    Active = 1,
    Deactivated = 2,
    Compromised = 3,
    Destroyed = 4,
    DestroyedCompromised = 5,
}

impl KeyState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::PreActive,
            1 => Self::Active,
            2 => Self::Deactivated,
            3 => Self::Compromised,
            4 => Self::Destroyed,
            _ => Self::DestroyedCompromised,
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PreActive => "Pre-Active",
            Self::Active => "Active",
            Self::Deactivated => "Deactivated",
            Self::Compromised => "Compromised",
            Self::Destroyed => "Destroyed",
            Self::DestroyedCompromised => "Destroyed Compromised",
        }
    }
}

/// Ready-to-use cipher objects (built once at creation, so the hot path does no key schedule).
pub(crate) enum Material {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
}

struct Mutable {
    updated_at: String,
    activation_date: Option<String>,
    deactivation_date: Option<String>,
    labels: serde_json::Value,
    undeletable: bool,
    unexportable: bool,
}

pub(crate) struct LocalKey {
    pub(crate) id: String,
    pub(crate) name: String,
    seq: u64,
    created_at: String,
    size: u32,
    usage_mask: u64,
    meta: serde_json::Value,
    state: AtomicU8,
    material: RwLock<Option<Arc<Material>>>,
    mutable: RwLock<Mutable>,
    /// How many CCKM key versions use this key as their source.
    pub(crate) in_use: AtomicUsize,
}

impl LocalKey {
    pub(crate) fn state(&self) -> KeyState {
        KeyState::from_u8(self.state.load(Ordering::Acquire))
    }
    fn set_state(&self, s: KeyState) {
        self.state.store(s as u8, Ordering::Release);
    }
    /// The cipher, unless the key was destroyed.
    pub(crate) fn material(&self) -> Option<Arc<Material>> {
        self.material.read().clone()
    }
    pub(crate) fn size(&self) -> u32 {
        self.size
    }

    fn view(&self) -> KeyView {
        let m = self.mutable.read();
        KeyView {
            id: self.id.clone(),
            uri: format!("kylo:kylo:vault:keys:{}-v0", self.name),
            account: util::ACCOUNT,
            application: "ncryptify:gemalto:admin:apps:kylo",
            dev_account: "ncryptify:gemalto:admin:accounts:gemalto",
            created_at: self.created_at.clone(),
            updated_at: m.updated_at.clone(),
            name: self.name.clone(),
            activation_date: m.activation_date.clone(),
            deactivation_date: m.deactivation_date.clone(),
            state: self.state().as_str(),
            usage_mask: self.usage_mask,
            meta: self.meta.clone(),
            object_type: "Symmetric Key",
            algorithm: "AES",
            size: self.size,
            version: 0,
            unexportable: m.unexportable,
            undeletable: m.undeletable,
            never_exported: true,
            never_exportable: m.unexportable,
            empty_material: self.material().is_none(),
            labels: m.labels.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyView {
    id: String,
    uri: String,
    account: &'static str,
    application: &'static str,
    dev_account: &'static str,
    created_at: String,
    updated_at: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deactivation_date: Option<String>,
    state: &'static str,
    usage_mask: u64,
    meta: serde_json::Value,
    object_type: &'static str,
    algorithm: &'static str,
    size: u32,
    version: u32,
    unexportable: bool,
    undeletable: bool,
    never_exported: bool,
    never_exportable: bool,
    empty_material: bool,
    labels: serde_json::Value,
}

#[derive(Default)]
pub(crate) struct KeyStore {
    by_id: RwLock<HashMap<String, Arc<LocalKey>>>,
    seq: AtomicU64,
}

/// What a new key should look like.
pub(crate) struct NewKey {
    pub name: String,
    pub size: u32,
    pub usage_mask: u64,
    pub pre_active: bool,
    pub undeletable: bool,
    pub unexportable: bool,
    pub labels: serde_json::Value,
    pub meta: serde_json::Value,
}

impl NewKey {
    /// The HYOK source key shape Thales samples use: AES-256, undeletable, unexportable.
    pub(crate) fn hyok_source(name: String) -> Self {
        Self {
            name,
            size: 256,
            usage_mask: 12,
            pre_active: false,
            undeletable: true,
            unexportable: true,
            labels: serde_json::json!({}),
            meta: serde_json::json!({"ownerId": "local|admin"}),
        }
    }
}

impl KeyStore {
    pub(crate) fn create(&self, k: NewKey) -> Result<Arc<LocalKey>, CtmError> {
        let material = match k.size {
            128 => Material::Aes128(Box::new(Aes128Gcm::new(&aes_gcm::Key::<Aes128Gcm>::generate()))),
            256 => Material::Aes256(Box::new(Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::generate()))),
            _ => return Err(CtmError::invalid_param("size for AES must be 128 or 256")),
        };
        let mut map = self.by_id.write();
        if map.values().any(|x| x.name == k.name) {
            return Err(CtmError::new(
                http::StatusCode::CONFLICT,
                10,
                "NCERRKeyAlreadyExists",
                format!("Key with name {} already exists", k.name),
            ));
        }
        let ts = util::now();
        let key = Arc::new(LocalKey {
            id: hyok_core::ids::uuid(),
            name: k.name,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            created_at: ts.clone(),
            size: k.size,
            usage_mask: k.usage_mask,
            meta: k.meta,
            state: AtomicU8::new(if k.pre_active { KeyState::PreActive } else { KeyState::Active } as u8),
            material: RwLock::new(Some(Arc::new(material))),
            mutable: RwLock::new(Mutable {
                updated_at: ts.clone(),
                activation_date: (!k.pre_active).then_some(ts),
                deactivation_date: None,
                labels: k.labels,
                undeletable: k.undeletable,
                unexportable: k.unexportable,
            }),
            in_use: AtomicUsize::new(0),
        });
        map.insert(key.id.clone(), key.clone());
        Ok(key)
    }

    /// A key by id, or by name when `by_name`.
    pub(crate) fn get(&self, id: &str, by_name: bool) -> Option<Arc<LocalKey>> {
        let map = self.by_id.read();
        if by_name { map.values().find(|k| k.name == id).cloned() } else { map.get(id).cloned() }
    }

    /// A key by id, falling back to its name (CCKM accepts either as `source_key_identifier`).
    pub(crate) fn get_any(&self, id_or_name: &str) -> Option<Arc<LocalKey>> {
        self.get(id_or_name, false).or_else(|| self.get(id_or_name, true))
    }
}

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route("/api/v1/vault/keys2", get(list).post(create))
        .route("/api/v1/vault/keys2/", get(list).post(create))
        .route("/api/v1/vault/keys2/{id}", get(get_one).patch(update).delete(delete))
        .route("/api/v1/vault/keys2/{id}/revoke", post(revoke))
        .route("/api/v1/vault/keys2/{id}/reactivate", post(reactivate))
        .route("/api/v1/vault/keys2/{id}/destroy", post(destroy))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    name: Option<String>,
    algorithm: Option<String>,
    size: Option<u32>,
    usage_mask: Option<u64>,
    #[serde(default)]
    undeletable: bool,
    #[serde(default)]
    unexportable: bool,
    state: Option<String>,
    labels: Option<serde_json::Value>,
    meta: Option<serde_json::Value>,
}

async fn create(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: CreateRequest = util::parse_json(&body)?;
    let alg = req.algorithm.as_deref().unwrap_or("aes");
    if !alg.eq_ignore_ascii_case("aes") {
        return Err(CtmError::invalid_param(format!("algorithm {alg:?} is not supported here; use aes")));
    }
    let pre_active = match req.state.as_deref() {
        None | Some("") | Some("Active") => false,
        Some("Pre-Active") => true,
        Some(s) => {
            return Err(CtmError::invalid_param(format!("Only Pre-Active can be requested at creation, not {s:?}")));
        }
    };
    let name = req.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(hyok_core::ids::uuid);
    if name.len() > 256 {
        return Err(CtmError::invalid_param("name is too long"));
    }
    let key = ctm.keys.create(NewKey {
        name,
        size: req.size.unwrap_or(256),
        usage_mask: req.usage_mask.unwrap_or(12),
        pre_active,
        undeletable: req.undeletable,
        unexportable: req.unexportable,
        labels: req.labels.unwrap_or_else(|| serde_json::json!({})),
        meta: req.meta.unwrap_or_else(|| serde_json::json!({"ownerId": "local|admin"})),
    })?;
    Ok((http::StatusCode::CREATED, Json(key.view())).into_response())
}

async fn list(State(ctm): State<Arc<Ctm>>, CtmQuery(q): CtmQuery) -> Result<Json<serde_json::Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut keys: Vec<Arc<LocalKey>> = ctm.keys.by_id.read().values().cloned().collect();
    keys.sort_by_key(|k| k.seq);
    if let Some(n) = q.get("name") {
        keys.retain(|k| &k.name == n);
    }
    if let Some(s) = q.get("state") {
        keys.retain(|k| k.state().as_str() == s);
    }
    Ok(util::page(keys.iter().map(|k| k.view()).collect(), &paging))
}

fn lookup(ctm: &Ctm, id: &str, q: &HashMap<String, String>) -> Result<Arc<LocalKey>, CtmError> {
    let by_name = match q.get("type").map(String::as_str) {
        None | Some("id") => false,
        Some("name") => true,
        Some(t) => return Err(CtmError::invalid_param(format!("unsupported type {t:?}; use id or name"))),
    };
    ctm.keys.get(id, by_name).ok_or_else(|| CtmError::not_found("Resource not found"))
}

async fn get_one(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<Response, CtmError> {
    Ok(Json(lookup(&ctm, &id, &q)?.view()).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    activation_date: Option<String>,
    labels: Option<serde_json::Value>,
    undeletable: Option<bool>,
    unexportable: Option<bool>,
}

async fn update(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
    CtmBody(body): CtmBody,
) -> Result<Response, CtmError> {
    let key = lookup(&ctm, &id, &q)?;
    let req: UpdateRequest = util::parse_json(&body)?;
    {
        let mut m = key.mutable.write();
        if let Some(ad) = req.activation_date {
            let t = time::OffsetDateTime::parse(&ad, &time::format_description::well_known::Rfc3339)
                .map_err(|_| CtmError::invalid_param("activationDate must be an RFC 3339 time"))?;
            if key.state() == KeyState::PreActive && t <= time::OffsetDateTime::now_utc() {
                key.set_state(KeyState::Active);
            }
            m.activation_date = Some(ad);
        }
        if let Some(l) = req.labels {
            m.labels = l;
        }
        if let Some(u) = req.undeletable {
            m.undeletable = u;
        }
        if let Some(u) = req.unexportable {
            if m.unexportable && !u {
                return Err(CtmError::invalid_param("unexportable cannot be turned off"));
            }
            m.unexportable = u;
        }
        m.updated_at = util::now();
    }
    Ok(Json(key.view()).into_response())
}

async fn delete(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<http::StatusCode, CtmError> {
    let key = lookup(&ctm, &id, &q)?;
    if key.mutable.read().undeletable {
        return Err(CtmError::invalid_param("key is not deletable"));
    }
    if key.in_use.load(Ordering::Acquire) > 0 {
        return Err(CtmError::conflict("Key is in use by a CCKM external key"));
    }
    ctm.keys.by_id.write().remove(&key.id);
    Ok(http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct ReasonRequest {
    reason: Option<String>,
}

async fn revoke(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
    CtmBody(body): CtmBody,
) -> Result<Response, CtmError> {
    let key = lookup(&ctm, &id, &q)?;
    let req: ReasonRequest = if body.is_empty() { ReasonRequest::default() } else { util::parse_json(&body)? };
    let reason = req.reason.unwrap_or_else(|| "Unspecified".into());
    let st = key.state();
    if matches!(st, KeyState::Destroyed | KeyState::DestroyedCompromised) {
        return Err(CtmError::invalid_param(format!("Key in state {} cannot be revoked", st.as_str())));
    }
    let compromised = reason.eq_ignore_ascii_case("keyCompromise") || reason.eq_ignore_ascii_case("CACompromise");
    key.set_state(if compromised { KeyState::Compromised } else { KeyState::Deactivated });
    {
        let mut m = key.mutable.write();
        let ts = util::now();
        m.deactivation_date = Some(ts.clone());
        m.updated_at = ts;
    }
    Ok(Json(key.view()).into_response())
}

async fn reactivate(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<Response, CtmError> {
    let key = lookup(&ctm, &id, &q)?;
    let st = key.state();
    if !matches!(st, KeyState::Deactivated | KeyState::Compromised) {
        return Err(CtmError::invalid_param(format!("Key in state {} cannot be reactivated", st.as_str())));
    }
    key.set_state(KeyState::Active);
    {
        let mut m = key.mutable.write();
        m.deactivation_date = None;
        m.updated_at = util::now();
    }
    Ok(Json(key.view()).into_response())
}

async fn destroy(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<Response, CtmError> {
    let key = lookup(&ctm, &id, &q)?;
    let st = key.state();
    let next = match st {
        KeyState::PreActive | KeyState::Deactivated => KeyState::Destroyed,
        KeyState::Compromised => KeyState::DestroyedCompromised,
        KeyState::Active => {
            return Err(CtmError::invalid_param("An Active key must be revoked before it is destroyed"));
        }
        KeyState::Destroyed | KeyState::DestroyedCompromised => {
            return Err(CtmError::invalid_param("Key is already destroyed"));
        }
    };
    key.set_state(next);
    // Dropping the cipher objects is the destruction: nothing else holds the material.
    *key.material.write() = None;
    key.mutable.write().updated_at = util::now();
    Ok(Json(key.view()).into_response())
}
