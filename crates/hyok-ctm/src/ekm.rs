//! The External KMS vendor API OCI calls: `/api/v1/cckm/oci/ekm/v1/vaults/{vaultId}/...`.
//!
//! Every call: bearer token present → vault known (404) → token valid for this vault (401,
//! also a hop event) → key known in this vault (404) → blocked? (403) → operation. Each call
//! ends in one audit record. Errors use the vendor shape `{"code":"<status>","message":"..."}`.

use crate::{
    Ctm,
    audit::AuditRecord,
    cckm::{ExtKey, Vault},
    keys::{KeyState, Material},
    oidc::VerifiedClaims,
    reject::{VendorBody, VendorPath},
    util,
};
use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, aead};
use axum::{
    Json, Router,
    extract::{ConnectInfo, FromRequestParts, State},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use http::StatusCode;
use hyok_core::{HopEvent, Outcome, RequestId, events::now_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
};

const PREFIX: &str = "/api/v1/cckm/oci/ekm/v1/vaults/{vault}";
const VENDOR: &str = "Thales CTM";
const NOT_ACTIVE: &str = "OCI key is not in Active state to perform the operation.";
const VAULT_BLOCKED: &str = "OCI vault is blocked; operations on its keys are not allowed.";
const BAD_KEY: &str = "Invalid key details provided";
const DECRYPT_FAILED: &str = "Error in decryption: cipher: message authentication failed: AEAD decrypt final failed";
/// Scope CTM requires on access tokens (CTM ≥ 2.14).
const SCOPE: &str = "oci_ekms";
/// Largest plaintext accepted for encrypt (OCI's own limit for Encrypt is 4 KiB of plaintext;
/// the vendor side is more generous but bounded).
const MAX_PLAINTEXT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route(&format!("{PREFIX}/metadata"), get(vault_metadata))
        .route(&format!("{PREFIX}/generateRandomBytes"), post(vault_random))
        .route(&format!("{PREFIX}/keys/{{key}}/metadata"), get(key_metadata))
        .route(&format!("{PREFIX}/keys/{{key}}/keyVersions/{{version}}/metadata"), get(version_metadata))
        .route(&format!("{PREFIX}/keys/{{key}}/encrypt"), post(encrypt))
        .route(&format!("{PREFIX}/keys/{{key}}/decrypt"), post(decrypt))
        .route(&format!("{PREFIX}/keys/{{key}}/generateRandomBytes"), post(key_random))
}

/// Request facts every vendor call needs.
pub(crate) struct Meta {
    rid: String,
    peer: String,
    bearer: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let rid = RequestId::from_request_parts(parts, state).await?.0;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string())
            .unwrap_or_else(|| "unknown".into());
        let bearer = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Ok(Meta { rid, peer, bearer })
    }
}

/// A vendor-API error.
struct VErr {
    status: StatusCode,
    message: String,
}

impl VErr {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

/// What an operation sees after the common checks.
struct Ctx<'a> {
    vault: &'a Vault,
    key: Option<&'a ExtKey>,
}

/// The successful result of an operation and the key version it used.
type OpResult = Result<(StatusCode, Value, Option<String>), VErr>;

struct Call {
    op: &'static str,
    vault_id: String,
    key_id: Option<String>,
}

async fn run(ctm: Arc<Ctm>, meta: Meta, call: Call, f: impl FnOnce(&Ctx<'_>) -> OpResult) -> Response {
    let mut client_id = None;
    let result: OpResult = async {
        let token = meta.bearer.as_deref().ok_or_else(|| reject(&ctm, &meta, &call, "missing bearer token".into()))?;
        let vault = ctm
            .cckm
            .vault(&call.vault_id)
            .ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, "Error in getting OCI vault"))?;
        let claims = vault
            .issuer
            .verify_signature(&ctm, token, &meta.rid)
            .await
            .map_err(|reason| reject(&ctm, &meta, &call, reason))?;
        client_id = claims.client_id.clone();
        check_claims(&ctm, &vault, &claims).map_err(|reason| reject(&ctm, &meta, &call, reason))?;
        let key = match &call.key_id {
            Some(kid) => {
                let k = ctm
                    .cckm
                    .key(kid)
                    .filter(|k| k.vault_id == vault.id)
                    .ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
                Some(k)
            }
            None => None,
        };
        f(&Ctx { vault: &vault, key: key.as_deref() })
    }
    .await;
    let (status, body, version, message) = match result {
        Ok((s, b, v)) => (s, b, v, String::new()),
        Err(e) => {
            let body = json!({"code": e.status.as_u16().to_string(), "message": e.message});
            (e.status, body, None, e.message)
        }
    };
    ctm.audit.push(AuditRecord {
        id: ctm.audit.next_id(),
        created_at: util::now(),
        request_id: meta.rid,
        source: meta.peer,
        client_id,
        vault_id: call.vault_id,
        key_id: call.key_id,
        key_version_id: version,
        operation: call.op.to_string(),
        result: if status.is_success() { "success" } else { "failure" }.to_string(),
        status: status.as_u16(),
        message,
    });
    (status, Json(body)).into_response()
}

/// A 401, recorded as a hop event so the lab trace explains it.
fn reject(ctm: &Ctm, meta: &Meta, call: &Call, reason: String) -> VErr {
    ctm.events.record(HopEvent {
        ts_ms: now_ms(),
        request_id: meta.rid.clone(),
        hop: "caller → CTM vendor API (access token check)".into(),
        source: meta.peer.clone(),
        destination: format!("{} ({}) {} vault {}", ctm.cfg.hostname, ctm.cfg.ip, call.op, call.vault_id),
        outcome: Outcome::Error,
        status: Some(401),
        reason: reason.clone(),
        decided_by: Some("CTM CCKM issuer token validation".into()),
        duration_us: 0,
    });
    VErr::new(StatusCode::UNAUTHORIZED, format!("Unauthorized: {reason}"))
}

/// Claim checks that depend on the vault and the clock; they run on every call.
fn check_claims(ctm: &Ctm, vault: &Vault, c: &VerifiedClaims) -> Result<(), String> {
    let expected = &vault.issuer.issuer;
    match c.iss.as_deref() {
        Some(iss) if iss == expected => {}
        Some(iss) => return Err(format!("issuer {iss:?} does not match the vault's issuer {expected:?}")),
        None => return Err("token has no iss claim".into()),
    }
    let now = ctm.cfg.clock.unix_now();
    let skew = ctm.cfg.token_skew_secs as i64;
    match c.exp {
        Some(exp) if exp + skew < now => return Err(format!("token expired at {exp} (now {now})")),
        Some(_) => {}
        None => return Err("token has no exp claim".into()),
    }
    if let Some(nbf) = c.nbf
        && nbf > now + skew
    {
        return Err(format!("token not valid before {nbf} (now {now})"));
    }
    match c.client_id.as_deref() {
        Some(id) if id == vault.client_application_id => {}
        Some(id) => return Err(format!("client {id:?} is not the vault's client application")),
        None => return Err("token has neither client_id nor sub".into()),
    }
    if !c.scopes.iter().any(|s| s == SCOPE || s.ends_with(&format!("/{SCOPE}"))) {
        return Err(format!("token scope does not include {SCOPE}"));
    }
    if ctm.cfg.check_audience && !c.aud.iter().any(|a| vault.audiences.iter().any(|v| v == a)) {
        return Err(format!("token audience {:?} does not match the vault endpoint {:?}", c.aud, vault.audiences[0]));
    }
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, VErr> {
    serde_json::from_slice(body).map_err(|e| VErr::bad(format!("Bad Request: {e}")))
}

fn b64_field(v: &str) -> Result<Vec<u8>, VErr> {
    util::b64_decode(v).map_err(|e| VErr::bad(format!("Bad Request: {e}")))
}

fn check_mode(mode: Option<&str>) -> Result<(), VErr> {
    match mode {
        None | Some("") => Ok(()),
        Some(m) if ["AES_GCM", "GCM", "AES-GCM"].iter().any(|x| x.eq_ignore_ascii_case(m)) => Ok(()),
        Some(m) => Err(VErr::bad(format!("Bad Request: unsupported mode {m:?}; only AES_GCM is supported"))),
    }
}

fn ensure_usable(ctx: &Ctx<'_>, key: &ExtKey) -> Result<(), VErr> {
    if ctx.vault.blocked.load(Ordering::Acquire) {
        return Err(VErr::new(StatusCode::FORBIDDEN, VAULT_BLOCKED));
    }
    if key.blocked.load(Ordering::Acquire) {
        return Err(VErr::new(StatusCode::FORBIDDEN, NOT_ACTIVE));
    }
    Ok(())
}

async fn vault_metadata(State(ctm): State<Arc<Ctm>>, meta: Meta, VendorPath(vault): VendorPath<String>) -> Response {
    let call = Call { op: "GetVaultMetadata", vault_id: vault, key_id: None };
    run(ctm, meta, call, |ctx| {
        let state = if ctx.vault.blocked.load(Ordering::Acquire) { "BLOCKED" } else { "ACTIVE" };
        Ok((StatusCode::OK, json!({"state": state, "vendor": VENDOR}), None))
    })
    .await
}

fn key_state(ctx: &Ctx<'_>, key: &ExtKey) -> &'static str {
    if ctx.vault.blocked.load(Ordering::Acquire) || key.blocked.load(Ordering::Acquire) {
        return "BLOCKED";
    }
    match key.current().map(|v| v.source.state()) {
        Some(KeyState::Active) => "ACTIVE",
        _ => "DISABLED",
    }
}

async fn key_metadata(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath((vault, key)): VendorPath<(String, String)>,
) -> Response {
    let call = Call { op: "GetKeyMetadata", vault_id: vault, key_id: Some(key) };
    run(ctm, meta, call, |ctx| {
        let key = ctx.key.ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        let cur = key.current().ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        // OCI fetches key metadata when it creates the key reference: from then on the key
        // counts as linked (see fidelity doc).
        key.linked.store(true, Ordering::Release);
        let body = json!({
            "keyId": key.id,
            "currentKeyVersionId": cur.id,
            "keyShape": {"algorithm": "AES", "length": 256},
            "state": key_state(ctx, key),
            "keyOps": ["ENCRYPT", "DECRYPT"],
        });
        Ok((StatusCode::OK, body, Some(cur.id.clone())))
    })
    .await
}

async fn version_metadata(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath((vault, key, version)): VendorPath<(String, String, String)>,
) -> Response {
    let call = Call { op: "GetKeyVersionMetadata", vault_id: vault, key_id: Some(key) };
    run(ctm, meta, call, |ctx| {
        let key = ctx.key.ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        let v = key.version(&version).ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, "Invalid Key details"))?;
        let state = match (key_state(ctx, key), v.source.state()) {
            ("BLOCKED", _) => "BLOCKED",
            (_, KeyState::Active) => "ACTIVE",
            _ => "DISABLED",
        };
        let body = json!({
            "keyId": key.id,
            "keyVersionId": v.id,
            "state": state,
            "keyVersionOps": ["ENCRYPT", "DECRYPT"],
        });
        Ok((StatusCode::OK, body, Some(v.id.clone())))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptRequest {
    plaintext: String,
    key_version_id: Option<String>,
    iv: Option<String>,
    aad: Option<String>,
    mode: Option<String>,
}

fn seal(m: &Material, iv: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<Vec<u8>, ()> {
    match m {
        Material::Aes256(c) => {
            let n = aead::Nonce::<Aes256Gcm>::try_from(iv).map_err(|_| ())?;
            c.encrypt_inout_detached(&n, aad, buf.into()).map(|t| t.to_vec()).map_err(|_| ())
        }
        Material::Aes128(c) => {
            let n = aead::Nonce::<Aes128Gcm>::try_from(iv).map_err(|_| ())?;
            c.encrypt_inout_detached(&n, aad, buf.into()).map(|t| t.to_vec()).map_err(|_| ())
        }
    }
}

fn open(m: &Material, iv: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), ()> {
    match m {
        Material::Aes256(c) => {
            let n = aead::Nonce::<Aes256Gcm>::try_from(iv).map_err(|_| ())?;
            let t = aead::Tag::<Aes256Gcm>::try_from(tag).map_err(|_| ())?;
            c.decrypt_inout_detached(&n, aad, buf.into(), &t).map_err(|_| ())
        }
        Material::Aes128(c) => {
            let n = aead::Nonce::<Aes128Gcm>::try_from(iv).map_err(|_| ())?;
            let t = aead::Tag::<Aes128Gcm>::try_from(tag).map_err(|_| ())?;
            c.decrypt_inout_detached(&n, aad, buf.into(), &t).map_err(|_| ())
        }
    }
}

async fn encrypt(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath((vault, key)): VendorPath<(String, String)>,
    VendorBody(body): VendorBody,
) -> Response {
    let call = Call { op: "Encrypt", vault_id: vault, key_id: Some(key) };
    run(ctm, meta, call, |ctx| {
        let key = ctx.key.ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        let req: EncryptRequest = parse(&body)?;
        ensure_usable(ctx, key)?;
        check_mode(req.mode.as_deref())?;
        let version = match req.key_version_id.as_deref().filter(|v| !v.is_empty()) {
            Some(vid) => key.version(vid).ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?,
            None => key.current().ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?,
        };
        if version.source.state() != KeyState::Active {
            return Err(VErr::new(StatusCode::FORBIDDEN, NOT_ACTIVE));
        }
        let material = version.source.material().ok_or_else(|| VErr::new(StatusCode::FORBIDDEN, NOT_ACTIVE))?;
        let mut buf = b64_field(&req.plaintext)?;
        if buf.len() > MAX_PLAINTEXT {
            return Err(VErr::bad(format!("Bad Request: plaintext is larger than {MAX_PLAINTEXT} bytes")));
        }
        let aad = match req.aad.as_deref() {
            Some(a) => b64_field(a)?,
            None => Vec::new(),
        };
        let iv = match req.iv.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => {
                let iv = b64_field(s)?;
                if iv.len() != 12 {
                    return Err(VErr::bad("Bad Request: iv must be 12 bytes for AES_GCM"));
                }
                iv
            }
            None => rand::random::<[u8; 12]>().to_vec(),
        };
        let tag = seal(&material, &iv, &aad, &mut buf).map_err(|_| VErr::bad("Bad Request: encryption failed"))?;
        let mut out = json!({
            "ciphertext": util::b64(&buf),
            "iv": util::b64(&iv),
            "tag": util::b64(&tag),
            "mode": "AES_GCM",
            "keyId": key.id,
            "keyVersionId": version.id,
        });
        if let Some(a) = req.aad {
            out["aad"] = Value::String(a);
        }
        Ok((StatusCode::OK, out, Some(version.id.clone())))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecryptRequest {
    ciphertext: String,
    iv: String,
    tag: String,
    aad: Option<String>,
    mode: Option<String>,
    pad: Option<String>,
    key_version_id: Option<String>,
    key_id: Option<String>,
}

async fn decrypt(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath((vault, key)): VendorPath<(String, String)>,
    VendorBody(body): VendorBody,
) -> Response {
    let call = Call { op: "Decrypt", vault_id: vault, key_id: Some(key) };
    run(ctm, meta, call, |ctx| {
        let key = ctx.key.ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        let req: DecryptRequest = parse(&body)?;
        ensure_usable(ctx, key)?;
        check_mode(req.mode.as_deref())?;
        if let Some(p) = req.pad.as_deref()
            && !p.is_empty()
            && !p.eq_ignore_ascii_case("none")
        {
            return Err(VErr::bad(format!("Bad Request: pad {p:?} is not valid for AES_GCM")));
        }
        let mut buf = b64_field(&req.ciphertext)?;
        let iv = b64_field(&req.iv)?;
        let tag = b64_field(&req.tag)?;
        let aad = match req.aad.as_deref() {
            Some(a) => b64_field(a)?,
            None => Vec::new(),
        };
        // A blob made under another key names a version this key does not have: that is the
        // same failure as a wrong key, not a 404.
        if req.key_id.as_deref().is_some_and(|k| !k.is_empty() && k != key.id) {
            return Err(VErr::bad(DECRYPT_FAILED));
        }
        let version = match req.key_version_id.as_deref().filter(|v| !v.is_empty()) {
            Some(vid) => key.version(vid).ok_or_else(|| VErr::bad(DECRYPT_FAILED))?,
            None => key.current().ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?,
        };
        if !matches!(version.source.state(), KeyState::Active | KeyState::Deactivated) {
            return Err(VErr::new(StatusCode::FORBIDDEN, NOT_ACTIVE));
        }
        let material = version.source.material().ok_or_else(|| VErr::new(StatusCode::FORBIDDEN, NOT_ACTIVE))?;
        if iv.len() != 12 || tag.len() != 16 {
            return Err(VErr::bad(DECRYPT_FAILED));
        }
        open(&material, &iv, &aad, &mut buf, &tag).map_err(|_| VErr::bad(DECRYPT_FAILED))?;
        Ok((
            StatusCode::OK,
            json!({"plaintext": util::b64(&buf), "keyVersionId": version.id}),
            Some(version.id.clone()),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct RandomRequest {
    length: i64,
}

fn random_bytes(body: &[u8]) -> OpResult {
    let req: RandomRequest = parse(body)?;
    if !(1..=65535).contains(&req.length) {
        return Err(VErr::new(StatusCode::UNPROCESSABLE_ENTITY, "length must be between 1 and 65535"));
    }
    let mut out = vec![0u8; req.length as usize];
    rand::Rng::fill(&mut rand::rng(), out.as_mut_slice());
    Ok((StatusCode::CREATED, json!({"randomBytes": util::b64(&out), "length": req.length}), None))
}

async fn vault_random(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath(vault): VendorPath<String>,
    VendorBody(body): VendorBody,
) -> Response {
    let call = Call { op: "GenerateRandomBytes", vault_id: vault, key_id: None };
    run(ctm, meta, call, |ctx| {
        if ctx.vault.blocked.load(Ordering::Acquire) {
            return Err(VErr::new(StatusCode::FORBIDDEN, VAULT_BLOCKED));
        }
        random_bytes(&body)
    })
    .await
}

async fn key_random(
    State(ctm): State<Arc<Ctm>>,
    meta: Meta,
    VendorPath((vault, key)): VendorPath<(String, String)>,
    VendorBody(body): VendorBody,
) -> Response {
    let call = Call { op: "GenerateRandomBytes", vault_id: vault, key_id: Some(key) };
    run(ctm, meta, call, |ctx| {
        let key = ctx.key.ok_or_else(|| VErr::new(StatusCode::NOT_FOUND, BAD_KEY))?;
        if ctx.vault.blocked.load(Ordering::Acquire) {
            return Err(VErr::new(StatusCode::FORBIDDEN, VAULT_BLOCKED));
        }
        if key.blocked.load(Ordering::Acquire) {
            return Err(VErr::new(StatusCode::FORBIDDEN, "Key is in disabled state."));
        }
        random_bytes(&body)
    })
    .await
}
