//! The regional KMS API: EKMS private endpoints (task 12) and external vaults (task 14).

use crate::{
    crypto, management,
    model::{
        ExternalKeyManagerMetadataSummary, OauthMetadataSummary, PrivateEndpoint, Served, Tags, Vault, VaultRecord,
    },
    routing::{ListQuery, Unmodelled, refuse, with_retry_tokens, wrap},
    service::{KmsService, PE_SETTLE, VENDOR_TIMEOUT, new_prefix, prefixed_ocid},
    summary::{PrivateEndpointSummary, VaultSummary},
    vault::{VaultCtx, failure_text},
    vendor::{HOP_VENDOR, MAX_RESPONSE, SCOPE_LITERAL, VaultRuntime},
};
use axum::{
    Router,
    extract::State,
    routing::{MethodFilter, get},
};
use http::{HeaderMap, StatusCode};
use hyok_core::{RequestId, client::HttpClient, ids::VaultEndpoints};
use hyok_oci_rest::{
    OciError, OciJson, OciPath, OciQuery,
    conventions::{
        LifecycleState, OciResponse, OciResult, check_if_match, etag_of, oci_now, required, required_ocid, settle_after,
    },
};
use serde::Deserialize;
use serde_json::Value;
use std::{net::Ipv4Addr, sync::Arc};

/// `KmsVaultClient` and `KmsHsmClusterClient` operations on the regional host that the lab does
/// not model (paths from the SDK's `kms_vault_client.py`, `kms_hsm_cluster_client.py`).
const UNMODELLED: &[Unmodelled] = &[
    (MethodFilter::PUT, "/20180608/vaults/{id}", "UpdateVault"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/backup", "BackupVault"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/scheduleDeletion", "ScheduleVaultDeletion"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/cancelDeletion", "CancelVaultDeletion"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/changeCompartment", "ChangeVaultCompartment"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/createReplica", "CreateVaultReplica"),
    (MethodFilter::POST, "/20180608/vaults/{id}/actions/deleteReplica", "DeleteVaultReplica"),
    (MethodFilter::GET, "/20180608/vaults/{id}/actions/listReplicas", "ListVaultReplicas"),
    (MethodFilter::GET, "/20180608/vaults/{id}/usage", "GetVaultUsage"),
    (MethodFilter::PUT, "/20180608/vaults/{id}/updateRegisteredVaultForMtls", "UpdateRegisteredVaultForMtls"),
    (MethodFilter::POST, "/20180608/vaults/actions/restoreFromFile", "RestoreVaultFromFile"),
    (MethodFilter::POST, "/20180608/vaults/actions/restoreFromObjectStore", "RestoreVaultFromObjectStore"),
    (MethodFilter::GET.or(MethodFilter::POST), "/20180608/hsmClusters", "a KmsHsmCluster operation"),
    (MethodFilter::GET.or(MethodFilter::PUT), "/20180608/hsmClusters/{id}", "a KmsHsmCluster operation"),
    (
        MethodFilter::GET.or(MethodFilter::POST).or(MethodFilter::PUT),
        "/20180608/hsmClusters/{id}/{*rest}",
        "a KmsHsmCluster operation",
    ),
];

/// The regional API (`kms.<region>.oraclecloud.com`): vaults and EKMS private endpoints.
pub fn router(svc: Arc<KmsService>) -> Router {
    let (verifier, tenancy, tokens) = (svc.verifier.clone(), svc.tenancy_id.clone(), svc.retry.clone());
    let routes = Router::new()
        .route("/20180608/ekmsPrivateEndpoints", get(list_pes).post(create_pe))
        .route("/20180608/ekmsPrivateEndpoints/{id}", get(get_pe).put(update_pe).delete(delete_pe))
        .route("/20180608/vaults", get(list_vaults).post(create_vault))
        .route("/20180608/vaults/{id}", get(get_vault));
    let routes = refuse(routes, UNMODELLED).with_state(svc);
    wrap(with_retry_tokens(routes, &tokens), verifier, tenancy)
}

fn tags(t: Tags) -> std::collections::HashMap<String, Value> {
    t.unwrap_or_default()
}

// ---------------------------------------------------------------- private endpoints

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePe {
    subnet_id: Option<String>,
    compartment_id: Option<String>,
    display_name: Option<String>,
    external_key_manager_ip: Option<String>,
    port: Option<i64>,
    ca_bundle: Option<String>,
    freeform_tags: Tags,
    defined_tags: Tags,
}

/// A CA bundle must hold at least one parseable X.509 certificate and nothing else.
fn validate_ca_bundle(pem: &str) -> OciResult<()> {
    let certs = hyok_core::tls::certs_from_pem(pem)
        .map_err(|e| OciError::invalid_parameter(format!("caBundle is not a PEM certificate bundle: {e}")))?;
    for (i, der) in certs.iter().enumerate() {
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| {
            OciError::invalid_parameter(format!("caBundle certificate {} is not valid X.509: {e}", i + 1))
        })?;
    }
    Ok(())
}

async fn create_pe(State(svc): State<Arc<KmsService>>, OciJson(req): OciJson<CreatePe>) -> OciResult<OciResponse> {
    let subnet_id = required_ocid(&req.subnet_id, "subnetId", "subnet")?;
    let compartment_id = required_ocid(&req.compartment_id, "compartmentId", "compartment")?;
    let display_name = required(&req.display_name, "displayName")?;
    let ip_text = required(&req.external_key_manager_ip, "externalKeyManagerIp")?;
    let ip: Ipv4Addr = ip_text
        .trim()
        .parse()
        .map_err(|_| OciError::invalid_parameter(format!("externalKeyManagerIp {ip_text:?} is not an IPv4 address")))?;
    let port = match req.port {
        None => None,
        Some(p) if (1..=65535).contains(&p) => Some(p as u16),
        Some(p) => return Err(OciError::invalid_parameter(format!("port {p} is not between 1 and 65535"))),
    };
    let ca_bundle = required(&req.ca_bundle, "caBundle")?;
    validate_ca_bundle(ca_bundle)?;
    if svc.net.subnet(subnet_id).is_none() {
        return Err(OciError::not_found(format!("subnet {subnet_id} not found")));
    }
    let id = hyok_core::ids::regional_ocid("ekmsprivateendpoint");
    let pe_ip = svc
        .net
        .allocate_ip(subnet_id, &format!("EKMS private endpoint {display_name}"))
        .map_err(|e| OciError::new(StatusCode::CONFLICT, "Conflict", e.to_string()))?;
    let now = oci_now();
    let pe = PrivateEndpoint {
        id: id.clone(),
        compartment_id: compartment_id.to_string(),
        subnet_id: subnet_id.to_string(),
        display_name: display_name.to_string(),
        time_created: now.clone(),
        time_updated: now,
        freeform_tags: tags(req.freeform_tags),
        defined_tags: tags(req.defined_tags),
        lifecycle_state: LifecycleState::Creating,
        lifecycle_details: None,
        external_key_manager_ip: ip.to_string(),
        port,
        ca_bundle: ca_bundle.to_string(),
        private_endpoint_ip: Some(pe_ip.to_string()),
    };
    svc.pes.write().insert(id.clone(), pe.clone());
    settle_after(&svc.clock, svc.pes.clone(), id, PE_SETTLE, Ok(()));
    OciResponse::resource(&pe)
}

fn pe_or_404(svc: &KmsService, id: &str) -> OciResult<PrivateEndpoint> {
    svc.pes.read().get(id).cloned().ok_or_else(|| OciError::not_found(format!("EKMS private endpoint {id} not found")))
}

async fn get_pe(State(svc): State<Arc<KmsService>>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&pe_or_404(&svc, &id)?)
}

async fn list_pes(State(svc): State<Arc<KmsService>>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = q.list.compartment()?;
    let mut items: Vec<PrivateEndpoint> = svc
        .pes
        .read()
        .values()
        .filter(|p| p.compartment_id == compartment && q.list.wants_state(p.lifecycle_state.as_str()))
        .cloned()
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    q.respond(items, |p| (&p.display_name, &p.time_created), |p| PrivateEndpointSummary::from(p))
}

/// Only the name and tags of a private endpoint may change; its IP, port and CA bundle cannot.
async fn update_pe(
    State(svc): State<Arc<KmsService>>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
    OciJson(v): OciJson<Value>,
) -> OciResult<OciResponse> {
    let obj = v.as_object().ok_or_else(|| OciError::invalid_parameter("request body must be a JSON object"))?;
    for field in obj.keys() {
        match field.as_str() {
            "displayName" | "freeformTags" | "definedTags" => {}
            "externalKeyManagerIp" | "caBundle" | "port" | "subnetId" => {
                return Err(OciError::invalid_parameter(format!(
                    "{field} of an EKMS private endpoint cannot be changed; create a new private endpoint"
                )));
            }
            other => return Err(OciError::invalid_parameter(format!("unknown field {other}"))),
        }
    }
    let mut map = svc.pes.write();
    let pe = map.get_mut(&id).ok_or_else(|| OciError::not_found(format!("EKMS private endpoint {id} not found")))?;
    check_if_match(&headers, &etag_of(&*pe))?;
    if pe.lifecycle_state != LifecycleState::Active {
        return Err(OciError::incorrect_state(format!(
            "EKMS private endpoint {id} is {}; only ACTIVE endpoints can be updated",
            pe.lifecycle_state.as_str()
        )));
    }
    if let Some(n) = obj.get("displayName") {
        let n = n
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| OciError::invalid_parameter("displayName must be a non-empty string"))?;
        pe.display_name = n.to_string();
    }
    for (field, target) in [("freeformTags", &mut pe.freeform_tags), ("definedTags", &mut pe.defined_tags)] {
        if let Some(t) = obj.get(field) {
            *target =
                serde_json::from_value(t.clone()).map_err(|e| OciError::invalid_parameter(format!("{field}: {e}")))?;
        }
    }
    pe.time_updated = oci_now();
    OciResponse::resource(&*pe)
}

async fn delete_pe(
    State(svc): State<Arc<KmsService>>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<(StatusCode, ())> {
    let in_use = svc
        .vaults
        .read()
        .values()
        .find(|v| {
            v.vault.external_key_manager_metadata_summary.private_endpoint_id == id
                && matches!(v.vault.lifecycle_state, LifecycleState::Creating | LifecycleState::Active)
        })
        .map(|v| v.vault.id.clone());
    if let Some(vault) = in_use {
        return Err(OciError::conflict(format!("EKMS private endpoint {id} is used by vault {vault}")));
    }
    let ip = {
        let mut map = svc.pes.write();
        let pe =
            map.get_mut(&id).ok_or_else(|| OciError::not_found(format!("EKMS private endpoint {id} not found")))?;
        check_if_match(&headers, &etag_of(&*pe))?;
        if pe.lifecycle_state == LifecycleState::Deleted {
            return Err(OciError::not_found(format!("EKMS private endpoint {id} not found")));
        }
        pe.lifecycle_state = LifecycleState::Deleted;
        pe.time_updated = oci_now();
        pe.private_endpoint_ip.as_deref().and_then(|s| s.parse::<Ipv4Addr>().ok())
    };
    if let Some(ip) = ip {
        svc.net.release_ip(ip);
    }
    Ok((StatusCode::ACCEPTED, ()))
}

// ---------------------------------------------------------------- vaults

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateVault {
    compartment_id: Option<String>,
    display_name: Option<String>,
    vault_type: Option<String>,
    external_key_manager_metadata: Option<EkmMetadata>,
    freeform_tags: Tags,
    defined_tags: Tags,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EkmMetadata {
    external_vault_endpoint_url: Option<String>,
    private_endpoint_id: Option<String>,
    oauth_metadata: Option<OauthMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OauthMetadata {
    idcs_account_name_url: Option<String>,
    client_app_id: Option<String>,
    client_app_secret: Option<String>,
}

fn https_url(value: &str, field: &str) -> OciResult<url::Url> {
    let u =
        url::Url::parse(value.trim()).map_err(|e| OciError::invalid_parameter(format!("{field} is not a URL: {e}")))?;
    if u.scheme() != "https" || u.host_str().is_none() {
        return Err(OciError::invalid_parameter(format!("{field} must be an https URL with a host")));
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err(OciError::invalid_parameter(format!("{field} must not have a query, fragment or user info")));
    }
    Ok(u)
}

/// The resource app's primary audience the lab assumes for a private endpoint: `https://<ip>/`
/// (with `:<port>` when the port is not 443), as in the tutorial's Resource_App.
pub(crate) fn audience_for(pe: &PrivateEndpoint) -> String {
    match pe.port_or_default() {
        443 => format!("https://{}/", pe.external_key_manager_ip),
        p => format!("https://{}:{p}/", pe.external_key_manager_ip),
    }
}

async fn create_vault(
    State(svc): State<Arc<KmsService>>,
    rid: RequestId,
    OciJson(req): OciJson<CreateVault>,
) -> OciResult<OciResponse> {
    let compartment_id = required_ocid(&req.compartment_id, "compartmentId", "compartment")?.to_string();
    let display_name = required(&req.display_name, "displayName")?.to_string();
    match required(&req.vault_type, "vaultType")? {
        "EXTERNAL" => {}
        "DEFAULT" | "VIRTUAL_PRIVATE" => {
            return Err(OciError::invalid_parameter(
                "the lab models only EXTERNAL vaults (HYOK); vaultType DEFAULT and VIRTUAL_PRIVATE are not available",
            ));
        }
        other => {
            return Err(OciError::invalid_parameter(format!(
                "vaultType {other:?} is not one of DEFAULT, VIRTUAL_PRIVATE, EXTERNAL"
            )));
        }
    }
    let ekm = req
        .external_key_manager_metadata
        .ok_or_else(|| OciError::missing_parameter("externalKeyManagerMetadata is required for vaultType EXTERNAL"))?;
    let vault_url = required(&ekm.external_vault_endpoint_url, "externalVaultEndpointUrl")?;
    let parsed_url = https_url(vault_url, "externalVaultEndpointUrl")?;
    let pe_id = required_ocid(&ekm.private_endpoint_id, "privateEndpointId", "ekmsprivateendpoint")?;
    let oauth = ekm.oauth_metadata.ok_or_else(|| OciError::missing_parameter("oauthMetadata is required"))?;
    let idcs_url = required(&oauth.idcs_account_name_url, "idcsAccountNameUrl")?;
    https_url(idcs_url, "idcsAccountNameUrl")?;
    let client_id = required(&oauth.client_app_id, "clientAppId")?;
    let secret = required(&oauth.client_app_secret, "clientAppSecret")?;
    let pe = svc
        .pes
        .read()
        .get(pe_id)
        .cloned()
        .ok_or_else(|| OciError::invalid_parameter(format!("privateEndpointId {pe_id} does not exist")))?;
    if pe.lifecycle_state != LifecycleState::Active {
        return Err(OciError::incorrect_state(format!(
            "EKMS private endpoint {pe_id} is {}; it must be ACTIVE",
            pe.lifecycle_state.as_str()
        )));
    }
    let pe_ip: Ipv4Addr = pe
        .private_endpoint_ip
        .as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| OciError::internal("active private endpoint without an address"))?;
    let pe_tls = hyok_core::tls::client_config_chain_only(&pe.ca_bundle).map_err(OciError::internal)?;
    let pe_client = HttpClient::new(svc.host.dial_from(pe_ip), pe_tls)
        .with_events(svc.host.events(), format!("kms private endpoint@{pe_ip}"))
        .with_timeout(VENDOR_TIMEOUT)
        .with_max_response(MAX_RESPONSE);
    let scope = format!("{}{SCOPE_LITERAL}", audience_for(&pe));
    let runtime = VaultRuntime::new(vault_url, idcs_url, client_id, secret, scope, svc.idcs.clone(), pe_client)
        .map_err(OciError::invalid_parameter)?
        .with_clock(svc.clock.clone());

    let prefix = new_prefix();
    let id = prefixed_ocid("vault", &svc.region, &prefix);
    let endpoints = VaultEndpoints::of(&svc.region, &prefix);
    let vault = Vault {
        id: id.clone(),
        compartment_id,
        display_name,
        crypto_endpoint: endpoints.crypto,
        management_endpoint: endpoints.management,
        lifecycle_state: LifecycleState::Creating,
        lifecycle_details: None,
        time_created: oci_now(),
        vault_type: "EXTERNAL",
        wrappingkey_id: None,
        time_of_deletion: None,
        restored_from_vault_id: None,
        replica_details: None,
        is_primary: true,
        is_vault_replicable: false,
        external_key_manager_metadata_summary: ExternalKeyManagerMetadataSummary {
            external_vault_endpoint_url: vault_url.trim().to_string(),
            private_endpoint_id: pe_id.to_string(),
            vendor: None,
            oauth_metadata_summary: OauthMetadataSummary {
                idcs_account_name_url: idcs_url.trim().to_string(),
                client_app_id: client_id.to_string(),
            },
        },
        freeform_tags: tags(req.freeform_tags),
        defined_tags: tags(req.defined_tags),
    };
    let runtime = Arc::new(runtime);
    svc.vaults
        .write()
        .insert(id.clone(), VaultRecord { vault: vault.clone(), prefix, served: None, runtime: Some(runtime.clone()) });
    let task_svc = svc.clone();
    let rid = rid.0.clone();
    tokio::spawn(async move { activate_vault(task_svc, id, pe, parsed_url, runtime, rid).await });
    OciResponse::resource(&vault)
}

/// CREATING → ACTIVE or FAILED: check the URL against the private endpoint, get a token, ask the
/// key manager for the vault's metadata, then serve the vault's endpoints.
async fn activate_vault(
    svc: Arc<KmsService>,
    id: String,
    pe: PrivateEndpoint,
    url: url::Url,
    rt: Arc<VaultRuntime>,
    rid: String,
) {
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    if host != pe.external_key_manager_ip || port != pe.port_or_default() {
        let reason = format!(
            "externalVaultEndpointUrl points at {host}:{port}, but EKMS private endpoint {} connects only to {}:{}; the vault URL must use the private endpoint's external key manager IP and port",
            pe.id,
            pe.external_key_manager_ip,
            pe.port_or_default()
        );
        svc.set_vault_state(&id, LifecycleState::Failed, Some(reason));
        return;
    }
    let meta = match rt.vault_metadata(&rid).await {
        Ok(m) => m,
        Err(e) => {
            svc.set_vault_state(&id, LifecycleState::Failed, Some(failure_text(&e, "GetVaultMetadata")));
            return;
        }
    };
    match meta["state"].as_str() {
        Some("ACTIVE") => {}
        other => {
            let reason = format!(
                "{}: the key manager reports the vault as {} (GetVaultMetadata); it must be ACTIVE",
                HOP_VENDOR,
                other.unwrap_or("(no state)")
            );
            svc.set_vault_state(&id, LifecycleState::Failed, Some(reason));
            return;
        }
    }
    let vendor = meta["vendor"].as_str().map(str::to_string);
    let (name, mgmt_url, crypto_url) = match svc.vaults.read().get(&id) {
        Some(r) => (r.vault.display_name.clone(), r.vault.management_endpoint.clone(), r.vault.crypto_endpoint.clone()),
        None => return,
    };
    let ctx = VaultCtx { svc: svc.clone(), vault_id: id.clone().into(), rt: rt.clone() };
    let mgmt = svc
        .serve_endpoint(format!("kms-management {name}"), "kms-management", &mgmt_url, management::router(ctx.clone()))
        .await;
    let (mi, mr) = match mgmt {
        Ok(x) => x,
        Err(e) => {
            svc.set_vault_state(&id, LifecycleState::Failed, Some(e));
            return;
        }
    };
    let served =
        match svc.serve_endpoint(format!("kms-crypto {name}"), "kms-crypto", &crypto_url, crypto::router(ctx)).await {
            Ok((ci, cr)) => Served { management_ip: mi, management_real: mr, crypto_ip: ci, crypto_real: cr },
            Err(e) => {
                svc.host.unhost(mi, 443).await;
                svc.set_vault_state(&id, LifecycleState::Failed, Some(e));
                return;
            }
        };
    if let Some(r) = svc.vaults.write().get_mut(&id)
        && r.vault.lifecycle_state == LifecycleState::Creating
    {
        r.vault.lifecycle_state = LifecycleState::Active;
        r.vault.external_key_manager_metadata_summary.vendor = vendor;
        r.served = Some(served);
    }
}

fn vault_or_404(svc: &KmsService, id: &str) -> OciResult<Vault> {
    svc.vaults
        .read()
        .get(id)
        .map(|r| r.vault.clone())
        .ok_or_else(|| OciError::not_found(format!("vault {id} not found")))
}

async fn get_vault(State(svc): State<Arc<KmsService>>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&vault_or_404(&svc, &id)?)
}

async fn list_vaults(State(svc): State<Arc<KmsService>>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = q.list.compartment()?;
    let mut items: Vec<Vault> = svc
        .vaults
        .read()
        .values()
        .map(|r| &r.vault)
        .filter(|v| v.compartment_id == compartment && q.list.wants_state(v.lifecycle_state.as_str()))
        .cloned()
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    q.respond(items, |v| (&v.display_name, &v.time_created), |v| VaultSummary::from(v))
}
