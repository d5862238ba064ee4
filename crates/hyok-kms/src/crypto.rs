//! A vault's crypto endpoint: Encrypt, Decrypt and GenerateDataEncryptionKey, each mapped onto
//! the vendor's `keys/{externalKeyId}/encrypt|decrypt`. Hot path: one read lock on the key
//! table, a cached token, the vault's pooled client.

use crate::{
    envelope::{Envelope, crc32},
    model::{KeyShape, KeyState},
    routing::{Unmodelled, refuse, wrap},
    vault::VaultCtx,
    vendor::VendorError,
};
use axum::{
    Router,
    extract::State,
    routing::{MethodFilter, post},
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use http::StatusCode;
use hyok_core::RequestId;
use hyok_oci_rest::{
    OciError, OciJson,
    conventions::{OciResponse, OciResult, required},
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Largest plaintext OCI's Encrypt accepts (4 KiB).
pub const MAX_PLAINTEXT: usize = 4096;
/// Longest serialised `associatedData`.
const MAX_AAD: usize = 4096;
const ALGORITHM: &str = "AES_256_GCM";

/// `KmsCryptoClient` operations the lab does not model: external keys are AES only, and OCI
/// cannot export or sign with them (paths from the SDK's `kms_crypto_client.py`).
const UNMODELLED: &[Unmodelled] = &[
    (MethodFilter::POST, "/20180608/exportKey", "ExportKey"),
    (MethodFilter::POST, "/20180608/sign", "Sign"),
    (MethodFilter::POST, "/20180608/verify", "Verify"),
];

pub(crate) fn router(ctx: VaultCtx) -> Router {
    let verifier = ctx.svc.verifier.clone();
    let tenancy = ctx.svc.tenancy_id.clone();
    let routes = Router::new()
        .route("/20180608/encrypt", post(encrypt))
        .route("/20180608/decrypt", post(decrypt))
        .route("/20180608/generateDataEncryptionKey", post(generate_dek));
    let routes = refuse(routes, UNMODELLED).with_state(ctx);
    // No retry tokens here: OCI's crypto operations take none.
    wrap(routes, verifier, tenancy)
}

/// What a crypto call needs to know about the key, copied out under a read lock.
struct Target {
    ext_key: String,
    version_id: String,
    ext_version: String,
}

fn state_error(key_id: &str, state: KeyState) -> OciError {
    OciError::incorrect_state(format!(
        "key {key_id} is {}; only ENABLED keys can be used for cryptographic operations",
        state.as_str()
    ))
}

/// The key (in this vault, ENABLED) and the version to use: `version` if given, else current.
fn target(ctx: &VaultCtx, key_id: &str, version: Option<&str>) -> OciResult<Target> {
    let keys = ctx.svc.keys.read();
    let rec = keys
        .get(key_id)
        .filter(|r| r.key.vault_id == *ctx.vault_id)
        .ok_or_else(|| OciError::not_found(format!("key {key_id} not found in this vault")))?;
    if rec.key.lifecycle_state != KeyState::Enabled {
        return Err(state_error(key_id, rec.key.lifecycle_state));
    }
    let vid = match version {
        Some(v) => v,
        None => rec.key.current_key_version.as_deref().ok_or_else(|| state_error(key_id, rec.key.lifecycle_state))?,
    };
    let v = rec
        .version(vid)
        .ok_or_else(|| OciError::invalid_parameter(format!("key version {vid} is not a version of key {key_id}")))?;
    let details = match (&v.lifecycle_state, &v.external_key_reference_details) {
        (KeyState::Enabled, Some(d)) => d,
        _ => {
            return Err(OciError::incorrect_state(format!(
                "key version {vid} is {}; it cannot be used",
                v.lifecycle_state.as_str()
            )));
        }
    };
    Ok(Target {
        ext_key: details.external_key_id.clone(),
        version_id: v.id.clone(),
        ext_version: details.external_key_version_id.clone(),
    })
}

/// `associatedData` as bytes: its canonical JSON (keys sorted), or none when absent or empty.
fn aad_bytes(aad: &Option<BTreeMap<String, String>>) -> OciResult<Option<Vec<u8>>> {
    match aad {
        Some(m) if !m.is_empty() => {
            let bytes = serde_json::to_vec(m).map_err(OciError::internal)?;
            if bytes.len() >= MAX_AAD {
                return Err(OciError::invalid_parameter(format!(
                    "associatedData must be shorter than {MAX_AAD} characters"
                )));
            }
            Ok(Some(bytes))
        }
        _ => Ok(None),
    }
}

fn check_algorithm(alg: &Option<String>) -> OciResult<()> {
    match alg.as_deref() {
        None | Some(ALGORITHM) => Ok(()),
        Some(other) => Err(OciError::invalid_parameter(format!(
            "encryptionAlgorithm {other} is not supported by an AES key; use {ALGORITHM}"
        ))),
    }
}

/// How a failed vendor call is answered (see the fidelity doc).
fn vendor_error(e: VendorError, op: &str) -> OciError {
    match e.vendor_status() {
        Some(403) | Some(404) => OciError::incorrect_state(format!(
            "the external key manager refused {op}: the key or vault is blocked, disabled or missing there. {e}"
        )),
        Some(400) if op == "Decrypt" => {
            OciError::invalid_parameter(format!("the ciphertext could not be decrypted with this key. {e}"))
        }
        Some(400) => OciError::invalid_parameter(format!("the external key manager refused {op}. {e}")),
        _ => OciError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            format!("the external key manager could not be used for {op}. {e}"),
        ),
    }
}

fn ok(body: Value) -> OciResponse {
    OciResponse { status: StatusCode::OK, body, etag: None, next_page: None }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptReq {
    key_id: Option<String>,
    plaintext: Option<String>,
    associated_data: Option<BTreeMap<String, String>>,
    key_version_id: Option<String>,
    encryption_algorithm: Option<String>,
}

async fn encrypt(
    State(ctx): State<VaultCtx>,
    rid: RequestId,
    OciJson(req): OciJson<EncryptReq>,
) -> OciResult<OciResponse> {
    let key_id = required(&req.key_id, "keyId")?;
    let plaintext = B64
        .decode(required(&req.plaintext, "plaintext")?.trim())
        .map_err(|_| OciError::invalid_parameter("plaintext must be base64"))?;
    if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
        return Err(OciError::invalid_parameter(format!("plaintext must be 1 to {MAX_PLAINTEXT} bytes")));
    }
    check_algorithm(&req.encryption_algorithm)?;
    let aad = aad_bytes(&req.associated_data)?;
    let t = target(&ctx, key_id, req.key_version_id.as_deref())?;
    let sealed = ctx
        .rt
        .encrypt(rid.as_str(), &t.ext_key, &t.ext_version, &plaintext, aad.as_deref())
        .await
        .map_err(|e| vendor_error(e, "Encrypt"))?;
    let env = Envelope { key_version_id: t.version_id.clone(), has_aad: aad.is_some(), sealed };
    let ciphertext = env.pack().map_err(OciError::internal)?;
    Ok(ok(json!({
        "ciphertext": ciphertext,
        "keyId": key_id,
        "keyVersionId": t.version_id,
        "encryptionAlgorithm": ALGORITHM,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecryptReq {
    key_id: Option<String>,
    ciphertext: Option<String>,
    associated_data: Option<BTreeMap<String, String>>,
    key_version_id: Option<String>,
    encryption_algorithm: Option<String>,
}

async fn decrypt(
    State(ctx): State<VaultCtx>,
    rid: RequestId,
    OciJson(req): OciJson<DecryptReq>,
) -> OciResult<OciResponse> {
    let key_id = required(&req.key_id, "keyId")?;
    let env = Envelope::unpack(required(&req.ciphertext, "ciphertext")?).map_err(OciError::invalid_parameter)?;
    check_algorithm(&req.encryption_algorithm)?;
    if req.key_version_id.as_deref().is_some_and(|v| v != env.key_version_id) {
        return Err(OciError::invalid_parameter(
            "keyVersionId does not match the key version the ciphertext was made with",
        ));
    }
    let aad = aad_bytes(&req.associated_data)?;
    if aad.is_some() != env.has_aad {
        return Err(OciError::invalid_parameter(if env.has_aad {
            "the ciphertext was made with associatedData; the same associatedData is required to decrypt it"
        } else {
            "the ciphertext was made without associatedData"
        }));
    }
    // Route to the key version recorded in the ciphertext, which must belong to this key.
    let t = target(&ctx, key_id, Some(&env.key_version_id)).map_err(|e| {
        if e.status == StatusCode::BAD_REQUEST {
            OciError::invalid_parameter(format!("the ciphertext was not produced by key {key_id}"))
        } else {
            e
        }
    })?;
    let plaintext = ctx
        .rt
        .decrypt(rid.as_str(), &t.ext_key, &t.ext_version, &env.sealed, aad.as_deref())
        .await
        .map_err(|e| vendor_error(e, "Decrypt"))?;
    Ok(ok(json!({
        "plaintext": B64.encode(&plaintext),
        "plaintextChecksum": crc32(&plaintext).to_string(),
        "keyId": key_id,
        "keyVersionId": t.version_id,
        "encryptionAlgorithm": ALGORITHM,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateReq {
    key_id: Option<String>,
    include_plaintext_key: Option<bool>,
    key_shape: Option<KeyShape>,
    associated_data: Option<BTreeMap<String, String>>,
}

async fn generate_dek(
    State(ctx): State<VaultCtx>,
    rid: RequestId,
    OciJson(req): OciJson<GenerateReq>,
) -> OciResult<OciResponse> {
    let key_id = required(&req.key_id, "keyId")?;
    let include =
        req.include_plaintext_key.ok_or_else(|| OciError::missing_parameter("includePlaintextKey is required"))?;
    let shape = req.key_shape.ok_or_else(|| OciError::missing_parameter("keyShape is required"))?;
    if shape.algorithm != "AES" || ![16, 24, 32].contains(&shape.length) {
        return Err(OciError::invalid_parameter(
            "keyShape of a data encryption key must be AES with length 16, 24 or 32",
        ));
    }
    let aad = aad_bytes(&req.associated_data)?;
    let t = target(&ctx, key_id, None)?;
    // The DEK comes from the OS-seeded CSPRNG here; the key manager only wraps it.
    let mut dek = vec![0u8; shape.length as usize];
    rand::Rng::fill(&mut rand::rng(), dek.as_mut_slice());
    let sealed = ctx
        .rt
        .encrypt(rid.as_str(), &t.ext_key, &t.ext_version, &dek, aad.as_deref())
        .await
        .map_err(|e| vendor_error(e, "GenerateDataEncryptionKey"))?;
    let env = Envelope { key_version_id: t.version_id, has_aad: aad.is_some(), sealed };
    let mut out = json!({ "ciphertext": env.pack().map_err(OciError::internal)? });
    if include {
        out["plaintext"] = Value::String(B64.encode(&dek));
        out["plaintextChecksum"] = Value::String(crc32(&dek).to_string());
    }
    Ok(ok(out))
}
