//! What the official SDK reads: lists are bare arrays of the `*Summary` models (the field names
//! of each model's `attribute_map` in `oci/key_management/models/`), and every SDK operation the
//! lab does not model answers a JSON OCI error saying so, on the host the SDK sends it to.

use crate::support::{World, crypto, mgmt};
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The one row of a list that must be a bare array; its fields are exactly `fields` and it has
/// every one of `required` (non-null).
#[track_caller]
fn only_row<'a>(list: &'a Value, fields: &[&str], required: &[&str]) -> &'a Value {
    let rows = list.as_array().unwrap_or_else(|| panic!("a bare JSON array, got {list}"));
    assert_eq!(rows.len(), 1, "{list}");
    let row = &rows[0];
    let keys: BTreeSet<&str> = row.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, fields.iter().copied().collect::<BTreeSet<_>>(), "the model's attribute_map: {row}");
    for f in required {
        assert!(!row[*f].is_null(), "required {f} is null in {row}");
    }
    row
}

#[tokio::test]
async fn lists_answer_bare_arrays_of_the_summary_models() {
    let w = World::start().await;
    let vault = w.active_vault().await;
    let c = w.compartment().to_string();

    let r = w.oci(Method::GET, &w.regional(&format!("/vaults?compartmentId={c}")), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = only_row(
        &r.json,
        &[
            "compartmentId",
            "cryptoEndpoint",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "managementEndpoint",
            "timeCreated",
            "vaultType",
            "externalKeyManagerMetadataSummary",
        ],
        &[
            "compartmentId",
            "cryptoEndpoint",
            "displayName",
            "id",
            "lifecycleState",
            "managementEndpoint",
            "timeCreated",
            "vaultType",
        ],
    );
    assert_eq!((row["id"].clone(), row["lifecycleState"].clone()), (vault["id"].clone(), json!("ACTIVE")));
    assert_eq!(row["externalKeyManagerMetadataSummary"], vault["externalKeyManagerMetadataSummary"]);

    let r = w.oci(Method::GET, &w.regional(&format!("/ekmsPrivateEndpoints?compartmentId={c}")), None).await;
    let pe_fields = [
        "id",
        "subnetId",
        "compartmentId",
        "timeCreated",
        "timeUpdated",
        "displayName",
        "freeformTags",
        "definedTags",
        "lifecycleState",
    ];
    let row = only_row(
        &r.json,
        &pe_fields,
        &["compartmentId", "displayName", "id", "lifecycleState", "subnetId", "timeCreated"],
    );
    assert_eq!(row["id"], vault["externalKeyManagerMetadataSummary"]["privateEndpointId"]);

    let key_url = {
        let created = w.create_key(&vault, &w.ctm_key_id, 32).await;
        let id = created.json["id"].as_str().expect("key id").to_string();
        let url = format!("{}/20180608/keys/{id}", mgmt(&vault));
        assert_eq!(w.wait_not(&url, "CREATING").await["lifecycleState"], "ENABLED");
        url
    };
    let key = w.oci(Method::GET, &key_url, None).await.json;
    let r = w.oci(Method::GET, &format!("{}/20180608/keys?compartmentId={c}", mgmt(&vault)), None).await;
    let row = only_row(
        &r.json,
        &[
            "compartmentId",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "timeCreated",
            "vaultId",
            "protectionMode",
            "algorithm",
            "externalKeyReferenceDetails",
            "isAutoRotationEnabled",
        ],
        &["compartmentId", "displayName", "id", "lifecycleState", "timeCreated", "vaultId"],
    );
    assert_eq!((row["algorithm"].as_str(), row["protectionMode"].as_str()), (Some("AES"), Some("EXTERNAL")));
    assert_eq!(row["externalKeyReferenceDetails"], key["externalKeyReferenceDetails"]);
    assert_eq!(row["isAutoRotationEnabled"], false);

    let r = w.oci(Method::GET, &format!("{key_url}/keyVersions"), None).await;
    let row = only_row(
        &r.json,
        &[
            "compartmentId",
            "id",
            "keyId",
            "lifecycleState",
            "origin",
            "timeCreated",
            "timeOfDeletion",
            "vaultId",
            "externalKeyReferenceDetails",
            "isAutoRotated",
        ],
        &["compartmentId", "id", "keyId", "origin", "timeCreated", "vaultId"],
    );
    assert_eq!(row["id"], key["currentKeyVersion"]);
    assert_eq!((row["origin"].as_str(), row["lifecycleState"].as_str()), (Some("EXTERNAL"), Some("ENABLED")));
}

/// The request answered 405 `MethodNotAllowed` in OCI's JSON shape, naming the operation.
#[track_caller]
fn refused(r: &crate::support::Resp, op: &str) {
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{op}: {}", r.text);
    assert_eq!(r.json["code"], "MethodNotAllowed", "{op}: {}", r.text);
    let message = r.json["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(op) && message.contains("is not modelled by the lab"), "{op}: {message}");
    assert!(r.headers.contains_key("opc-request-id"), "{op}");
}

#[tokio::test]
async fn every_sdk_operation_the_lab_does_not_model_says_so_in_json() {
    let w = World::start().await;
    let vault = w.active_vault().await;
    let created = w.create_key(&vault, &w.ctm_key_id, 32).await;
    let key = created.json["id"].as_str().expect("key id").to_string();
    let key_url = format!("{}/20180608/keys/{key}", mgmt(&vault));
    let version = w.wait_not(&key_url, "CREATING").await["currentKeyVersion"].as_str().expect("version").to_string();
    let v = vault["id"].as_str().expect("vault id");
    let regional = |p: &str| w.regional(p);
    let m = |p: &str| format!("{}/20180608{p}", mgmt(&vault));
    let k = |p: &str| format!("{}/20180608{p}", crypto(&vault));
    let body = || Some(Bytes::from_static(b"{}"));
    let ops: Vec<(Method, String, &str)> = vec![
        (Method::PUT, regional(&format!("/vaults/{v}")), "UpdateVault"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/scheduleDeletion")), "ScheduleVaultDeletion"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/cancelDeletion")), "CancelVaultDeletion"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/changeCompartment")), "ChangeVaultCompartment"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/backup")), "BackupVault"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/createReplica")), "CreateVaultReplica"),
        (Method::POST, regional(&format!("/vaults/{v}/actions/deleteReplica")), "DeleteVaultReplica"),
        (Method::GET, regional(&format!("/vaults/{v}/actions/listReplicas")), "ListVaultReplicas"),
        (Method::GET, regional(&format!("/vaults/{v}/usage")), "GetVaultUsage"),
        (Method::PUT, regional(&format!("/vaults/{v}/updateRegisteredVaultForMtls")), "UpdateRegisteredVaultForMtls"),
        (Method::POST, regional("/vaults/actions/restoreFromFile"), "RestoreVaultFromFile"),
        (Method::POST, regional("/vaults/actions/restoreFromObjectStore"), "RestoreVaultFromObjectStore"),
        (Method::GET, regional("/hsmClusters?compartmentId=x"), "a KmsHsmCluster operation"),
        (Method::PUT, m(&format!("/keys/{key}")), "UpdateKey"),
        (Method::POST, m(&format!("/keys/{key}/actions/scheduleDeletion")), "ScheduleKeyDeletion"),
        (Method::POST, m(&format!("/keys/{key}/actions/cancelDeletion")), "CancelKeyDeletion"),
        (Method::POST, m(&format!("/keys/{key}/actions/changeCompartment")), "ChangeKeyCompartment"),
        (Method::POST, m(&format!("/keys/{key}/actions/backup")), "BackupKey"),
        (
            Method::POST,
            m(&format!("/keys/{key}/keyVersions/{version}/actions/scheduleDeletion")),
            "ScheduleKeyVersionDeletion",
        ),
        (
            Method::POST,
            m(&format!("/keys/{key}/keyVersions/{version}/actions/cancelDeletion")),
            "CancelKeyVersionDeletion",
        ),
        (Method::POST, m(&format!("/keys/{key}/keyVersions/import")), "ImportKeyVersion"),
        (Method::POST, m("/keys/import"), "ImportKey"),
        (Method::POST, m("/keys/actions/restoreFromFile"), "RestoreKeyFromFile"),
        (Method::POST, m("/keys/actions/restoreFromObjectStore"), "RestoreKeyFromObjectStore"),
        (Method::GET, m("/wrappingKeys"), "GetWrappingKey"),
        (Method::GET, m("/replicaOperations/x/status"), "GetReplicationStatus"),
        (Method::POST, k("/exportKey"), "ExportKey"),
        (Method::POST, k("/sign"), "Sign"),
        (Method::POST, k("/verify"), "Verify"),
    ];
    for (method, url, op) in ops {
        let r = w.send(method, &url, &[], body(), true).await;
        refused(&r, op);
    }
    // A method no SDK operation uses on a served path: JSON 405 too, never an empty body.
    let r = w.send(Method::DELETE, &regional(&format!("/vaults/{v}")), &[], None, true).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed")));
    assert!(r.text.contains("is not modelled by the lab"), "{}", r.text);
    let r = w.send(Method::PATCH, &key_url, &[], None, true).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed")));
    // Refusing is not reading: the vault and key are as they were.
    assert_eq!(w.oci(Method::GET, &regional(&format!("/vaults/{v}")), None).await.json["lifecycleState"], "ACTIVE");
    assert_eq!(w.oci(Method::GET, &key_url, None).await.json["lifecycleState"], "ENABLED");
    // An unsigned request is still refused by the signature check first.
    let r = w.send(Method::PUT, &regional(&format!("/vaults/{v}")), &[], body(), false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
