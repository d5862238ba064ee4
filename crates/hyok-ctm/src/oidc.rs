//! CCKM OCI issuers: OIDC discovery and JWKS fetched over real HTTPS through the lab's client,
//! and validation of the IdP access tokens OCI presents on the vendor API.
//!
//! Hot path: a token whose RS256 signature was verified once is remembered (per issuer, until
//! the JWKS changes), so repeated calls with the same access token cost a hash lookup; the
//! time, issuer, client, scope and audience checks still run on every call.

use crate::error::CtmError;
use crate::{Ctm, util};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine;
use bytes::Bytes;
use hyok_core::{HopEvent, Outcome, RequestId, client::ClientError, events::now_ms};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

/// Most verified tokens remembered per issuer before the memo is reset.
const TOKEN_MEMO_MAX: usize = 4096;
/// Largest JWKS or discovery document accepted.
const MAX_DOC: usize = 256 * 1024;

/// Claims of a verified access token that the vendor API checks.
#[derive(Debug)]
pub(crate) struct VerifiedClaims {
    pub iss: Option<String>,
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
}

impl VerifiedClaims {
    fn from_value(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            match v.get(k) {
                Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                _ => Vec::new(),
            }
        };
        Self {
            iss: s("iss"),
            aud: list("aud"),
            exp: v.get("exp").and_then(Value::as_i64),
            nbf: v.get("nbf").and_then(Value::as_i64),
            // IDCS puts the client id in `client_id`; `sub` carries it too for client tokens.
            client_id: s("client_id").or_else(|| s("sub")),
            scopes: list("scope"),
        }
    }
}

struct Jwks {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// Set when the JWKS has exactly one usable key (used for tokens without `kid`).
    only: Option<Arc<DecodingKey>>,
    fetched_at: Instant,
}

/// An issuer record (`/api/v1/cckm/oci/issuers`).
pub(crate) struct IssuerRec {
    pub id: String,
    pub issuer: String,
    jwks_uri: String,
    openid_config_url: Option<String>,
    created_at: String,
    seq: u64,
    mutable: RwLock<IssuerMutable>,
    jwks: RwLock<Jwks>,
    memo: RwLock<HashMap<String, Arc<VerifiedClaims>>>,
    refetch: tokio::sync::Mutex<()>,
}

struct IssuerMutable {
    name: String,
    jwks_uri_protected: bool,
    client_id: Option<String>,
    client_secret: Option<String>,
    updated_at: String,
}

#[derive(Serialize)]
struct IssuerView {
    #[serde(flatten)]
    meta: util::Meta,
    name: String,
    issuer: String,
    jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    openid_config_url: Option<String>,
    jwks_uri_protected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
}

impl IssuerRec {
    pub(crate) fn name(&self) -> String {
        self.mutable.read().name.clone()
    }

    fn view(&self) -> IssuerView {
        let m = self.mutable.read();
        IssuerView {
            meta: util::Meta {
                id: self.id.clone(),
                uri: format!("kylo:kylo:cckm:oci-issuer:{}", self.id),
                account: util::ACCOUNT,
                created_at: self.created_at.clone(),
                updated_at: m.updated_at.clone(),
            },
            name: m.name.clone(),
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            openid_config_url: self.openid_config_url.clone(),
            jwks_uri_protected: m.jwks_uri_protected,
            client_id: m.client_id.clone(),
        }
    }

    /// Verify a token's header and RS256 signature against this issuer's JWKS (re-fetching it,
    /// rate-limited, when the `kid` is unknown). Claims are checked by the caller.
    pub(crate) async fn verify_signature(
        &self,
        ctm: &Ctm,
        token: &str,
        rid: &str,
    ) -> Result<Arc<VerifiedClaims>, String> {
        if let Some(c) = self.memo.read().get(token) {
            return Ok(c.clone());
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| format!("token header rejected ({e}); only RS256 signed JWTs are accepted"))?;
        if header.alg != Algorithm::RS256 {
            return Err(format!("token algorithm {:?} is not allowed; RS256 is required", header.alg));
        }
        let key = match self.key_for(header.kid.as_deref()) {
            Some(k) => k,
            None => {
                self.refetch_for_unknown_kid(ctm, rid).await?;
                self.key_for(header.kid.as_deref()).ok_or_else(|| match header.kid.as_deref() {
                    Some(kid) => format!("signing key {kid:?} is not in the issuer's JWKS"),
                    None => "token has no kid and the issuer's JWKS has more than one key".to_string(),
                })?
            }
        };
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "token signature verification failed".to_string(),
            _ => format!("token rejected: {e}"),
        })?;
        let claims = Arc::new(VerifiedClaims::from_value(&data.claims));
        let mut memo = self.memo.write();
        if memo.len() >= TOKEN_MEMO_MAX {
            memo.clear();
        }
        memo.insert(token.to_string(), claims.clone());
        Ok(claims)
    }

    fn key_for(&self, kid: Option<&str>) -> Option<Arc<DecodingKey>> {
        let j = self.jwks.read();
        match kid {
            Some(kid) => j.by_kid.get(kid).cloned(),
            None => j.only.clone(),
        }
    }

    async fn refetch_for_unknown_kid(&self, ctm: &Ctm, rid: &str) -> Result<(), String> {
        let min = Duration::from_secs(ctm.cfg.jwks_refetch_min_secs);
        let _guard = self.refetch.lock().await;
        let last = self.jwks.read().fetched_at;
        if ctm.cfg.clock.since(last) < min {
            // Rate limit: an unknown kid does not hammer the IdP. A refetch that just finished
            // while this call waited is fine: the caller looks the kid up again.
            return Ok(());
        }
        let (user, secret) = {
            let m = self.mutable.read();
            if m.jwks_uri_protected { (m.client_id.clone(), m.client_secret.clone()) } else { (None, None) }
        };
        match fetch_jwks(ctm, &self.jwks_uri, user.as_deref(), secret.as_deref(), rid).await {
            Ok(j) => {
                *self.jwks.write() = j;
                self.memo.write().clear();
                Ok(())
            }
            Err(e) => {
                // Keep the old keys, but do not retry before the interval is over.
                self.jwks.write().fetched_at = ctm.cfg.clock.now();
                Err(format!("unknown signing key and the JWKS refresh failed: {e}"))
            }
        }
    }
}

fn outcome_of(e: &ClientError) -> Outcome {
    use hyok_core::client::DialError;
    match e {
        ClientError::Dial(DialError::Dns(_)) => Outcome::DnsFailed,
        ClientError::Dial(DialError::Denied(_)) => Outcome::Denied,
        ClientError::Tls { .. } => Outcome::TlsFailed,
        _ => Outcome::Unreachable,
    }
}

/// GET a JSON document from the IdP through the lab client, recording the hop.
async fn fetch_doc(ctm: &Ctm, what: &str, url: &str, basic: Option<(&str, &str)>, rid: &str) -> Result<Value, String> {
    let started = Instant::now();
    let mut b = http::Request::get(url).header("accept", "application/json").header(hyok_core::request_id::HEADER, rid);
    if let Some((u, p)) = basic {
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        b = b.header(http::header::AUTHORIZATION, format!("Basic {cred}"));
    }
    let req = b.body(axum::body::Body::empty()).map_err(|e| format!("bad URL {url}: {e}"))?;
    let result = ctm.outbound.send(req).await;
    let mut ev = HopEvent {
        ts_ms: now_ms() - started.elapsed().as_millis() as i64,
        request_id: rid.to_string(),
        hop: format!("CTM → identity provider ({what})"),
        source: format!("ctm@{}", ctm.cfg.ip),
        destination: url.to_string(),
        outcome: Outcome::Ok,
        status: None,
        reason: String::new(),
        decided_by: None,
        duration_us: 0,
    };
    let out = match result {
        Err(e) => {
            ev.outcome = outcome_of(&e);
            ev.reason = e.to_string();
            Err(format!("cannot fetch {what} from {url}: {e}"))
        }
        Ok(resp) => {
            ev.status = Some(resp.status().as_u16());
            if !resp.status().is_success() {
                ev.outcome = Outcome::Error;
                ev.reason = format!("{what} fetch answered {}", resp.status());
                Err(format!("fetching {what} from {url} answered HTTP {}", resp.status()))
            } else if resp.body().len() > MAX_DOC {
                ev.outcome = Outcome::Error;
                ev.reason = format!("{what} document too large");
                Err(format!("{what} at {url} is larger than {MAX_DOC} bytes"))
            } else {
                match serde_json::from_slice::<Value>(resp.body()) {
                    Ok(v) => {
                        ev.reason = format!("{what} fetched");
                        Ok(v)
                    }
                    Err(e) => {
                        ev.outcome = Outcome::Error;
                        ev.reason = format!("{what} is not JSON");
                        Err(format!("{what} at {url} is not JSON: {e}"))
                    }
                }
            }
        }
    };
    ev.duration_us = started.elapsed().as_micros() as u64;
    ctm.events.record(ev);
    out
}

async fn fetch_jwks(ctm: &Ctm, url: &str, user: Option<&str>, secret: Option<&str>, rid: &str) -> Result<Jwks, String> {
    let basic = match (user, secret) {
        (Some(u), Some(s)) => Some((u, s)),
        _ => None,
    };
    let doc = fetch_doc(ctm, "JWKS", url, basic, rid).await?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| format!("JWKS at {url} has no keys array"))?;
    let mut by_kid = HashMap::new();
    let mut usable = Vec::new();
    for k in keys {
        let field = |n: &str| k.get(n).and_then(Value::as_str);
        if field("kty") != Some("RSA")
            || field("alg").is_some_and(|a| a != "RS256")
            || field("use").is_some_and(|u| u != "sig")
        {
            continue;
        }
        let (Some(n), Some(e)) = (field("n"), field("e")) else { continue };
        let Ok(dk) = DecodingKey::from_rsa_components(n, e) else { continue };
        let dk = Arc::new(dk);
        by_kid.insert(field("kid").unwrap_or("").to_string(), dk.clone());
        usable.push(dk);
    }
    if usable.is_empty() {
        return Err(format!("JWKS at {url} has no RSA signing key"));
    }
    let only = (usable.len() == 1).then(|| usable[0].clone());
    Ok(Jwks { by_kid, only, fetched_at: ctm.cfg.clock.now() })
}

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route("/api/v1/cckm/oci/issuers", get(list).post(create))
        .route("/api/v1/cckm/oci/issuers/", get(list).post(create))
        .route("/api/v1/cckm/oci/issuers/{id}", get(get_one).patch(update).delete(delete))
}

#[derive(Deserialize)]
struct CreateRequest {
    name: String,
    jwks_uri_protected: Option<bool>,
    openid_config_url: Option<String>,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn require_https(field: &str, url: &str) -> Result<(), CtmError> {
    match url.parse::<http::Uri>() {
        Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => Ok(()),
        _ => Err(CtmError::invalid_param(format!("{field} must be an https URL"))),
    }
}

async fn create(State(ctm): State<Arc<Ctm>>, rid: RequestId, body: Bytes) -> Result<Response, CtmError> {
    let req: CreateRequest = util::parse_json(&body)?;
    if req.name.trim().is_empty() {
        return Err(CtmError::invalid_param("name is required"));
    }
    let protected = req.jwks_uri_protected.ok_or_else(|| CtmError::invalid_param("jwks_uri_protected is required"))?;
    if protected
        && (req.client_id.as_deref().unwrap_or("").is_empty() || req.client_secret.as_deref().unwrap_or("").is_empty())
    {
        return Err(CtmError::invalid_param(
            "client_id and client_secret are required when jwks_uri_protected is true",
        ));
    }
    if ctm.cckm.issuers.read().values().any(|i| i.name() == req.name) {
        return Err(CtmError::conflict(format!("Issuer with name {} already exists", req.name)));
    }
    let (issuer, jwks_uri) = match (&req.openid_config_url, &req.issuer, &req.jwks_uri) {
        (Some(url), None, None) => {
            require_https("openid_config_url", url)?;
            let doc = fetch_doc(&ctm, "OpenID configuration", url, None, rid.as_str())
                .await
                .map_err(CtmError::bad_request)?;
            // IDCS's idcs-configuration nests the OIDC data under "openid-configuration".
            let oidc = doc.get("openid-configuration").unwrap_or(&doc);
            let iss = oidc.get("issuer").and_then(Value::as_str);
            let jwks = oidc.get("jwks_uri").and_then(Value::as_str);
            match (iss, jwks) {
                (Some(i), Some(j)) => (i.to_string(), j.to_string()),
                _ => {
                    return Err(CtmError::bad_request(format!(
                        "OpenID configuration at {url} lacks issuer or jwks_uri"
                    )));
                }
            }
        }
        (None, Some(i), Some(j)) => (i.clone(), j.clone()),
        _ => return Err(CtmError::invalid_param("give either openid_config_url, or issuer and jwks_uri")),
    };
    require_https("jwks_uri", &jwks_uri)?;
    let (user, secret) =
        if protected { (req.client_id.as_deref(), req.client_secret.as_deref()) } else { (None, None) };
    let jwks = fetch_jwks(&ctm, &jwks_uri, user, secret, rid.as_str()).await.map_err(CtmError::bad_request)?;
    let ts = util::now();
    let rec = Arc::new(IssuerRec {
        id: hyok_core::ids::uuid(),
        issuer,
        jwks_uri,
        openid_config_url: req.openid_config_url,
        created_at: ts.clone(),
        seq: ctm.cckm.next_seq(),
        mutable: RwLock::new(IssuerMutable {
            name: req.name.clone(),
            jwks_uri_protected: protected,
            client_id: req.client_id,
            client_secret: req.client_secret,
            updated_at: ts,
        }),
        jwks: RwLock::new(jwks),
        memo: RwLock::new(HashMap::new()),
        refetch: tokio::sync::Mutex::new(()),
    });
    {
        let mut map = ctm.cckm.issuers.write();
        if map.values().any(|i| i.name() == req.name) {
            return Err(CtmError::conflict(format!("Issuer with name {} already exists", req.name)));
        }
        map.insert(rec.id.clone(), rec.clone());
    }
    Ok((http::StatusCode::CREATED, Json(rec.view())).into_response())
}

fn lookup(ctm: &Ctm, id: &str) -> Result<Arc<IssuerRec>, CtmError> {
    ctm.cckm.issuer(id).ok_or_else(|| CtmError::not_found("Resource not found"))
}

async fn list(State(ctm): State<Arc<Ctm>>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut items: Vec<Arc<IssuerRec>> = ctm.cckm.issuers.read().values().cloned().collect();
    items.sort_by_key(|i| i.seq);
    if let Some(n) = q.get("name") {
        items.retain(|i| &i.name() == n);
    }
    Ok(util::page(items.iter().map(|i| i.view()).collect(), &paging))
}

async fn get_one(State(ctm): State<Arc<Ctm>>, Path(id): Path<String>) -> Result<Response, CtmError> {
    Ok(Json(lookup(&ctm, &id)?.view()).into_response())
}

#[derive(Deserialize)]
struct UpdateRequest {
    name: Option<String>,
    jwks_uri_protected: Option<bool>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn update(State(ctm): State<Arc<Ctm>>, Path(id): Path<String>, body: Bytes) -> Result<Response, CtmError> {
    let rec = lookup(&ctm, &id)?;
    let req: UpdateRequest = util::parse_json(&body)?;
    {
        let mut m = rec.mutable.write();
        if let Some(n) = req.name.filter(|n| !n.trim().is_empty()) {
            m.name = n;
        }
        if let Some(c) = req.client_id {
            m.client_id = Some(c);
        }
        if let Some(s) = req.client_secret {
            m.client_secret = Some(s);
        }
        if let Some(p) = req.jwks_uri_protected {
            if p && (m.client_id.is_none() || m.client_secret.is_none()) {
                return Err(CtmError::invalid_param(
                    "client_id and client_secret are required when jwks_uri_protected is true",
                ));
            }
            m.jwks_uri_protected = p;
        }
        m.updated_at = util::now();
    }
    Ok(Json(rec.view()).into_response())
}

async fn delete(State(ctm): State<Arc<Ctm>>, Path(id): Path<String>) -> Result<http::StatusCode, CtmError> {
    let rec = lookup(&ctm, &id)?;
    if ctm.cckm.vaults_using_issuer(&rec.id) > 0 {
        return Err(CtmError::conflict("Issuer is used by an external vault"));
    }
    ctm.cckm.issuers.write().remove(&rec.id);
    Ok(http::StatusCode::NO_CONTENT)
}

/// Shared between the modules that need the issuer map.
pub(crate) type IssuerMap = RwLock<HashMap<String, Arc<IssuerRec>>>;
