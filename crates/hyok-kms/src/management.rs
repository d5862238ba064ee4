//! A vault's management endpoint: key references and their versions (task 16).

use crate::{
    model::{ExternalKeyReferenceDetails, Key, KeyRecord, KeyShape, KeyState, KeyVersion, Tags},
    routing::{ListQuery, Unmodelled, refuse, with_retry_tokens, wrap},
    service::prefixed_ocid,
    summary::{KeySummary, KeyVersionSummary},
    vault::{VaultCtx, failure_text},
    vendor::HOP_VENDOR,
};
use axum::{
    Router,
    extract::{Request, State},
    routing::{MethodFilter, get, post},
};
use http::HeaderMap;
use hyok_core::RequestId;
use hyok_oci_rest::{
    OciError, OciJson, OciPath, OciQuery, RetryTokens,
    conventions::{
        LifecycleState, OciResponse, OciResult, check_if_match, etag_of, oci_now, parse_json, required, required_ocid,
    },
    extract::body_bytes,
};
use serde::Deserialize;
use serde_json::Value;

/// `KmsManagementClient` operations on a vault's management endpoint that the lab does not
/// model (paths from the SDK's `kms_management_client.py`).
const UNMODELLED: &[Unmodelled] = &[
    (MethodFilter::PUT, "/20180608/keys/{key}", "UpdateKey"),
    (MethodFilter::POST, "/20180608/keys/{key}/actions/backup", "BackupKey"),
    (MethodFilter::POST, "/20180608/keys/{key}/actions/scheduleDeletion", "ScheduleKeyDeletion"),
    (MethodFilter::POST, "/20180608/keys/{key}/actions/cancelDeletion", "CancelKeyDeletion"),
    (MethodFilter::POST, "/20180608/keys/{key}/actions/changeCompartment", "ChangeKeyCompartment"),
    (
        MethodFilter::POST,
        "/20180608/keys/{key}/keyVersions/{version}/actions/scheduleDeletion",
        "ScheduleKeyVersionDeletion",
    ),
    (
        MethodFilter::POST,
        "/20180608/keys/{key}/keyVersions/{version}/actions/cancelDeletion",
        "CancelKeyVersionDeletion",
    ),
    (MethodFilter::POST, "/20180608/keys/{key}/keyVersions/import", "ImportKeyVersion"),
    (MethodFilter::POST, "/20180608/keys/import", "ImportKey"),
    (MethodFilter::POST, "/20180608/keys/actions/restoreFromFile", "RestoreKeyFromFile"),
    (MethodFilter::POST, "/20180608/keys/actions/restoreFromObjectStore", "RestoreKeyFromObjectStore"),
    (MethodFilter::GET, "/20180608/wrappingKeys", "GetWrappingKey"),
    (MethodFilter::GET, "/20180608/replicaOperations/{id}/status", "GetReplicationStatus"),
];

pub(crate) fn router(ctx: VaultCtx) -> Router {
    let verifier = ctx.svc.verifier.clone();
    let tenancy = ctx.svc.tenancy_id.clone();
    // Retry tokens per vault: the same token on two vaults' endpoints names two requests.
    let tokens = RetryTokens::new(ctx.svc.clock.clone());
    let routes = Router::new()
        .route("/20180608/keys", get(list_keys).post(create_key))
        .route("/20180608/keys/{key}", get(get_key))
        .route("/20180608/keys/{key}/actions/enable", post(enable_key))
        .route("/20180608/keys/{key}/actions/disable", post(disable_key))
        .route("/20180608/keys/{key}/keyVersions", get(list_versions).post(create_version))
        .route("/20180608/keys/{key}/keyVersions/{version}", get(get_version));
    let routes = refuse(routes, UNMODELLED).with_state(ctx);
    wrap(with_retry_tokens(routes, &tokens), verifier, tenancy)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateKey {
    compartment_id: Option<String>,
    display_name: Option<String>,
    key_shape: Option<KeyShape>,
    protection_mode: Option<String>,
    external_key_reference: Option<ExternalKeyReference>,
    freeform_tags: Tags,
    defined_tags: Tags,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalKeyReference {
    external_key_id: Option<String>,
}

/// The key, if it belongs to this vault.
fn key_in_vault(ctx: &VaultCtx, key_id: &str) -> OciResult<KeyRecord> {
    ctx.svc
        .keys
        .read()
        .get(key_id)
        .filter(|r| r.key.vault_id == *ctx.vault_id)
        .cloned()
        .ok_or_else(|| OciError::not_found(format!("key {key_id} not found in this vault")))
}

async fn create_key(
    State(ctx): State<VaultCtx>,
    rid: RequestId,
    OciJson(req): OciJson<CreateKey>,
) -> OciResult<OciResponse> {
    let compartment_id = required_ocid(&req.compartment_id, "compartmentId", "compartment")?.to_string();
    let display_name = required(&req.display_name, "displayName")?.to_string();
    let shape = req.key_shape.ok_or_else(|| OciError::missing_parameter("keyShape is required"))?;
    match req.protection_mode.as_deref() {
        Some("EXTERNAL") => {}
        Some("HSM") | Some("SOFTWARE") | None => {
            return Err(OciError::invalid_parameter(
                "this vault is EXTERNAL: keys must use protectionMode EXTERNAL (key references)",
            ));
        }
        Some(other) => {
            return Err(OciError::invalid_parameter(format!(
                "protectionMode {other:?} is not one of HSM, SOFTWARE, EXTERNAL"
            )));
        }
    }
    if shape.algorithm != "AES" || shape.length != 32 || shape.curve_id.is_some() {
        return Err(OciError::invalid_parameter(format!(
            "keyShape {{algorithm: {}, length: {}}} is not allowed: external key references must be AES with length 32 (AES-256)",
            shape.algorithm, shape.length
        )));
    }
    let external_key_id =
        req.external_key_reference
            .and_then(|r| r.external_key_id)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| OciError::missing_parameter("externalKeyReference.externalKeyId is required"))?;
    if external_key_id.len() > 255 {
        return Err(OciError::invalid_parameter("externalKeyId is longer than 255 characters"));
    }
    let prefix = {
        let vaults = ctx.svc.vaults.read();
        let v = vaults.get(&*ctx.vault_id).ok_or_else(|| OciError::not_found("vault not found"))?;
        if v.vault.lifecycle_state != LifecycleState::Active {
            return Err(OciError::incorrect_state(format!("vault {} is not ACTIVE", ctx.vault_id)));
        }
        v.prefix.clone()
    };
    let key = Key {
        id: prefixed_ocid("key", &ctx.svc.region, &prefix),
        compartment_id,
        vault_id: ctx.vault_id.to_string(),
        display_name,
        key_shape: shape,
        time_created: oci_now(),
        // The SDK's Key requires it even while CREATING: the version gets this id once linked.
        current_key_version: Some(prefixed_ocid("keyversion", &ctx.svc.region, &prefix)),
        lifecycle_state: KeyState::Creating,
        lifecycle_details: None,
        protection_mode: "EXTERNAL",
        external_key_reference_details: None,
        is_primary: true,
        is_auto_rotation_enabled: false,
        time_of_deletion: None,
        replica_details: None,
        restored_from_key_id: None,
        freeform_tags: req.freeform_tags.unwrap_or_default(),
        defined_tags: req.defined_tags.unwrap_or_default(),
    };
    ctx.svc.keys.write().insert(key.id.clone(), KeyRecord { key: key.clone(), versions: Vec::new() });
    let (task_ctx, key_id, rid) = (ctx.clone(), key.id.clone(), rid.0.clone());
    tokio::spawn(async move { link_key(task_ctx, key_id, external_key_id, prefix, rid).await });
    // As OCI's known issue: the create response has externalKeyReferenceDetails null.
    OciResponse::resource(&key)
}

/// A new primary version of `rec`'s key in `state`, created now, its OCID in the vault's prefix.
fn new_version(
    ctx: &VaultCtx,
    prefix: &str,
    rec: &KeyRecord,
    state: KeyState,
    external_key_reference_details: Option<ExternalKeyReferenceDetails>,
) -> KeyVersion {
    KeyVersion {
        id: prefixed_ocid("keyversion", &ctx.svc.region, prefix),
        key_id: rec.key.id.clone(),
        vault_id: rec.key.vault_id.clone(),
        compartment_id: rec.key.compartment_id.clone(),
        time_created: oci_now(),
        lifecycle_state: state,
        lifecycle_details: None,
        origin: "EXTERNAL",
        external_key_reference_details,
        is_primary: true,
        is_auto_rotated: false,
        time_of_deletion: None,
    }
}

/// Ask the key manager about the external key; ENABLED with its current version, or FAILED.
async fn link_key(ctx: VaultCtx, key_id: String, external_key_id: String, prefix: String, rid: String) {
    let outcome = match ctx.rt.key_metadata(&rid, &external_key_id).await {
        Err(e) => Err(failure_text(&e, "GetKeyMetadata")),
        Ok(meta) => check_key_metadata(&meta, &external_key_id),
    };
    let mut keys = ctx.svc.keys.write();
    let Some(rec) = keys.get_mut(&key_id) else { return };
    if rec.key.lifecycle_state != KeyState::Creating {
        return;
    }
    match outcome {
        Ok(version) => {
            let details = ExternalKeyReferenceDetails { external_key_id, external_key_version_id: version };
            let mut v = new_version(&ctx, &prefix, rec, KeyState::Enabled, Some(details.clone()));
            if let Some(id) = rec.key.current_key_version.clone() {
                v.id = id;
            }
            rec.key.current_key_version = Some(v.id.clone());
            rec.key.external_key_reference_details = Some(details);
            rec.key.lifecycle_state = KeyState::Enabled;
            rec.versions.push(v);
        }
        Err(reason) => {
            tracing::info!(key = %key_id, %reason, "key reference creation failed");
            rec.key.lifecycle_state = KeyState::Failed;
            rec.key.lifecycle_details = Some(reason);
        }
    }
}

/// The vendor's key must be AES-256 (length in bits there), ACTIVE and name a current version.
fn check_key_metadata(meta: &Value, external_key_id: &str) -> Result<String, String> {
    let hop = HOP_VENDOR;
    let alg = meta["keyShape"]["algorithm"].as_str().unwrap_or("(none)");
    let bits = meta["keyShape"]["length"].as_i64().unwrap_or(0);
    if alg != "AES" || bits != 256 {
        return Err(format!(
            "{hop}: external key {external_key_id} is {alg} with {bits} bits; key references must point at AES-256 keys (GetKeyMetadata)"
        ));
    }
    match meta["state"].as_str() {
        Some("ACTIVE") => {}
        other => {
            return Err(format!(
                "{hop}: external key {external_key_id} is {} in the key manager; it must be ACTIVE (GetKeyMetadata)",
                other.unwrap_or("(no state)")
            ));
        }
    }
    meta["currentKeyVersionId"].as_str().filter(|v| !v.is_empty()).map(str::to_string).ok_or_else(|| {
        format!("{hop}: the key manager gave no currentKeyVersionId for {external_key_id} (GetKeyMetadata)")
    })
}

async fn get_key(State(ctx): State<VaultCtx>, OciPath(key): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&key_in_vault(&ctx, &key)?.key)
}

async fn list_keys(State(ctx): State<VaultCtx>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = q.list.compartment()?;
    let mut items: Vec<Key> = ctx
        .svc
        .keys
        .read()
        .values()
        .map(|r| &r.key)
        .filter(|k| k.vault_id == *ctx.vault_id && k.compartment_id == compartment)
        .cloned()
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    q.respond(items, |k| (&k.display_name, &k.time_created), |k| KeySummary::from(k))
}

fn set_enabled(ctx: &VaultCtx, key_id: &str, headers: &HeaderMap, enable: bool) -> OciResult<OciResponse> {
    let mut keys = ctx.svc.keys.write();
    let rec = keys
        .get_mut(key_id)
        .filter(|r| r.key.vault_id == *ctx.vault_id)
        .ok_or_else(|| OciError::not_found(format!("key {key_id} not found in this vault")))?;
    check_if_match(headers, &etag_of(&rec.key))?;
    let (from, to) =
        if enable { (KeyState::Disabled, KeyState::Enabled) } else { (KeyState::Enabled, KeyState::Disabled) };
    if rec.key.lifecycle_state != from {
        return Err(OciError::incorrect_state(format!(
            "key {key_id} is {}; only {} keys can be {}",
            rec.key.lifecycle_state.as_str(),
            from.as_str(),
            if enable { "enabled" } else { "disabled" }
        )));
    }
    rec.key.lifecycle_state = to;
    OciResponse::resource(&rec.key)
}

async fn enable_key(
    State(ctx): State<VaultCtx>,
    OciPath(key): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<OciResponse> {
    set_enabled(&ctx, &key, &headers, true)
}

async fn disable_key(
    State(ctx): State<VaultCtx>,
    OciPath(key): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<OciResponse> {
    set_enabled(&ctx, &key, &headers, false)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateVersion {
    external_key_version_id: Option<String>,
}

async fn create_version(
    State(ctx): State<VaultCtx>,
    OciPath(key_id): OciPath<String>,
    rid: RequestId,
    req: Request,
) -> OciResult<OciResponse> {
    // The CLI may send no body for a plain rotation (so no `OciJson`); external keys need the
    // version id.
    let body = body_bytes(req, &()).await?;
    let req: CreateVersion =
        if body.is_empty() { CreateVersion { external_key_version_id: None } } else { parse_json(&body)? };
    let ext_version = req
        .external_key_version_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| OciError::missing_parameter("externalKeyVersionId is required to rotate a key reference"))?;
    let prefix = ctx.svc.vaults.read().get(&*ctx.vault_id).map(|v| v.prefix.clone()).unwrap_or_default();
    let (version, ext_key) = {
        let mut keys = ctx.svc.keys.write();
        let rec = keys
            .get_mut(&key_id)
            .filter(|r| r.key.vault_id == *ctx.vault_id)
            .ok_or_else(|| OciError::not_found(format!("key {key_id} not found in this vault")))?;
        if rec.key.lifecycle_state != KeyState::Enabled {
            return Err(OciError::incorrect_state(format!("key {key_id} must be ENABLED to be rotated")));
        }
        if rec.versions.iter().any(|v| {
            v.lifecycle_state != KeyState::Failed
                && v.external_key_reference_details.as_ref().is_some_and(|d| d.external_key_version_id == ext_version)
        }) {
            return Err(OciError::conflict(format!(
                "external key version {ext_version} is already a version of key {key_id}"
            )));
        }
        let ext_key = rec
            .key
            .external_key_reference_details
            .as_ref()
            .map(|d| d.external_key_id.clone())
            .ok_or_else(|| OciError::incorrect_state("key has no external key reference"))?;
        let v = new_version(&ctx, &prefix, rec, KeyState::Creating, None);
        rec.versions.push(v.clone());
        (v, ext_key)
    };
    let (task_ctx, vid, rid) = (ctx.clone(), version.id.clone(), rid.0.clone());
    tokio::spawn(async move { link_version(task_ctx, key_id, vid, ext_key, ext_version, rid).await });
    OciResponse::resource(&version)
}

async fn link_version(
    ctx: VaultCtx,
    key_id: String,
    version_id: String,
    ext_key: String,
    ext_version: String,
    rid: String,
) {
    let outcome = match ctx.rt.version_metadata(&rid, &ext_key, &ext_version).await {
        Err(e) => Err(failure_text(&e, "GetKeyVersionMetadata")),
        Ok(meta) => match meta["state"].as_str() {
            Some("ACTIVE") => Ok(()),
            other => Err(format!(
                "{}: external key version {ext_version} is {} in the key manager; it must be ACTIVE (GetKeyVersionMetadata)",
                HOP_VENDOR,
                other.unwrap_or("(no state)")
            )),
        },
    };
    let mut keys = ctx.svc.keys.write();
    let Some(rec) = keys.get_mut(&key_id) else { return };
    let Some(v) = rec.versions.iter_mut().find(|v| v.id == version_id) else { return };
    match outcome {
        Ok(()) => {
            let details =
                ExternalKeyReferenceDetails { external_key_id: ext_key, external_key_version_id: ext_version };
            v.lifecycle_state = KeyState::Enabled;
            v.external_key_reference_details = Some(details.clone());
            rec.key.current_key_version = Some(version_id);
            rec.key.external_key_reference_details = Some(details);
        }
        Err(reason) => {
            v.lifecycle_state = KeyState::Failed;
            v.lifecycle_details = Some(reason);
        }
    }
}

async fn list_versions(
    State(ctx): State<VaultCtx>,
    OciPath(key): OciPath<String>,
    OciQuery(q): OciQuery<ListQuery>,
) -> OciResult<OciResponse> {
    // Versions have no name; those made in the same millisecond stay in creation order.
    q.respond(key_in_vault(&ctx, &key)?.versions, |v| ("", &v.time_created), |v| KeyVersionSummary::from(v))
}

async fn get_version(
    State(ctx): State<VaultCtx>,
    OciPath((key, version)): OciPath<(String, String)>,
) -> OciResult<OciResponse> {
    let rec = key_in_vault(&ctx, &key)?;
    let v = rec.version(&version).ok_or_else(|| OciError::not_found(format!("key version {version} not found")))?;
    OciResponse::resource(v)
}
