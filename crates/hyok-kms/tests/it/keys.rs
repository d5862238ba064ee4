//! Task 16: key references and their versions on the vault's management endpoint.

use crate::support::{World, mgmt};
use http::{Method, StatusCode};
use hyok_kms::HOP_VENDOR;
use serde_json::json;

#[tokio::test]
async fn key_reference_links_to_the_external_key_and_rotates() {
    let w = World::start().await;
    let vault = w.active_vault().await;
    let created = w.create_key(&vault, &w.ctm_key_id, 32).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.json["lifecycleState"], "CREATING");
    assert_eq!(created.json["externalKeyReferenceDetails"], json!(null), "as OCI's known issue");
    let key_id = created.json["id"].as_str().expect("id").to_string();
    let key_url = format!("{}/20180608/keys/{key_id}", mgmt(&vault));
    let key = w.wait_not(&key_url, "CREATING").await;
    assert_eq!(key["lifecycleState"], "ENABLED", "{key}");
    assert_eq!(key["protectionMode"], "EXTERNAL");
    assert_eq!(key["keyShape"], json!({"algorithm": "AES", "length": 32}));
    assert_eq!(key["vaultId"], vault["id"]);
    assert_eq!(key["externalKeyReferenceDetails"]["externalKeyId"], w.ctm_key_id.as_str());
    let v1_ext = key["externalKeyReferenceDetails"]["externalKeyVersionId"].as_str().expect("ext version").to_string();
    let v1 = key["currentKeyVersion"].as_str().expect("current").to_string();

    // The key OCID carries the vault prefix: another service finds the crypto endpoint from it.
    assert!(hyok_core::ids::is_ocid(&key_id));
    let endpoints = hyok_core::ids::kms_vault_endpoints(&key_id).expect("a key OCID names its vault's endpoints");
    assert_eq!(Some(endpoints.crypto.as_str()), vault["cryptoEndpoint"].as_str());
    assert_eq!(Some(endpoints.management.as_str()), vault["managementEndpoint"].as_str());

    // Rotate in CTM, then rotate the key reference with the new version id.
    let (s, ver) = w
        .ctm_api
        .call(Method::POST, &format!("/api/v1/cckm/oci/keys/{}/versions", w.ctm_key_id), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ver}");
    let v2_ext = ver["id"].as_str().expect("version id").to_string();
    let r = w.oci(Method::POST, &format!("{key_url}/keyVersions"), Some(json!({"externalKeyVersionId": v2_ext}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v2 = r.json["id"].as_str().expect("v2").to_string();
    let version = w.wait_not(&format!("{key_url}/keyVersions/{v2}"), "CREATING").await;
    assert_eq!(version["lifecycleState"], "ENABLED", "{version}");
    assert_eq!(version["origin"], "EXTERNAL");
    assert_eq!(version["externalKeyReferenceDetails"]["externalKeyVersionId"], v2_ext.as_str());
    let key = w.oci(Method::GET, &key_url, None).await.json;
    assert_eq!(key["currentKeyVersion"], v2.as_str());
    assert_eq!(key["externalKeyReferenceDetails"]["externalKeyVersionId"], v2_ext.as_str());
    // Lists are newest first unless asked otherwise, as in OCI.
    let ids = |list: serde_json::Value| -> Vec<String> {
        list.as_array().expect("a bare array").iter().filter_map(|v| v["id"].as_str().map(str::to_string)).collect()
    };
    let list = w.oci(Method::GET, &format!("{key_url}/keyVersions"), None).await.json;
    assert_eq!(ids(list), [v2.as_str(), v1.as_str()]);
    let list = w.oci(Method::GET, &format!("{key_url}/keyVersions?sortBy=TIMECREATED&sortOrder=ASC"), None).await.json;
    assert_eq!(ids(list), [v1.as_str(), v2.as_str()]);
    let r = w.oci(Method::GET, &format!("{key_url}/keyVersions?sortBy=size"), None).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{}", r.text);

    // The same external version twice → 409; an unknown one → FAILED with the vendor's reason.
    let r = w.oci(Method::POST, &format!("{key_url}/keyVersions"), Some(json!({"externalKeyVersionId": v1_ext}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = w
        .oci(Method::POST, &format!("{key_url}/keyVersions"), Some(json!({"externalKeyVersionId": "no-such-version"})))
        .await;
    let bad = r.json["id"].as_str().expect("id").to_string();
    let failed = w.wait_not(&format!("{key_url}/keyVersions/{bad}"), "CREATING").await;
    assert_eq!(failed["lifecycleState"], "FAILED");
    assert!(failed["lifecycleDetails"].as_str().expect("details").contains("Invalid Key details"), "{failed}");
    assert_eq!(w.oci(Method::GET, &key_url, None).await.json["currentKeyVersion"], v2.as_str());

    // Disable / enable; a second disable is refused.
    let r = w.oci(Method::POST, &format!("{key_url}/actions/disable"), None).await;
    assert_eq!((r.status, r.json["lifecycleState"].as_str()), (StatusCode::OK, Some("DISABLED")), "{}", r.text);
    let r = w.oci(Method::POST, &format!("{key_url}/actions/disable"), None).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("IncorrectState")));
    let r = w.oci(Method::POST, &format!("{key_url}/actions/enable"), None).await;
    assert_eq!(r.json["lifecycleState"], "ENABLED");

    let list =
        w.oci(Method::GET, &format!("{}/20180608/keys?compartmentId={}", mgmt(&vault), w.compartment()), None).await;
    assert_eq!(list.json.as_array().expect("a bare array").len(), 1);
}

#[tokio::test]
async fn key_reference_validation_and_vendor_failures() {
    let w = World::start().await;
    let vault = w.active_vault().await;
    let r = w.create_key(&vault, &w.ctm_key_id, 16).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{}", r.text);
    let r = w
        .oci(
            Method::POST,
            &format!("{}/20180608/keys", mgmt(&vault)),
            Some(json!({"compartmentId": w.compartment(), "displayName": "k", "keyShape": {"algorithm": "AES", "length": 32}, "protectionMode": "HSM"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = w
        .oci(
            Method::POST,
            &format!("{}/20180608/keys", mgmt(&vault)),
            Some(json!({"compartmentId": w.compartment(), "displayName": "k", "keyShape": {"algorithm": "RSA", "length": 256}, "protectionMode": "EXTERNAL", "externalKeyReference": {"externalKeyId": w.ctm_key_id}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // A GUID the key manager does not know → FAILED with its 404 message.
    let key = w.key_settled(&vault, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!(key["lifecycleState"], "FAILED");
    let details = key["lifecycleDetails"].as_str().expect("details");
    assert!(
        details.starts_with(HOP_VENDOR) && details.contains("404") && details.contains("Invalid key details provided"),
        "{details}"
    );

    // A blocked external key → FAILED naming the state.
    let blocked = w.ctm_api.key(&w.ctm_vault_id, "blocked-key").await;
    let (s, _) = w.ctm_api.call(Method::POST, &format!("/api/v1/cckm/oci/keys/{blocked}/block"), None).await;
    assert!(s.is_success());
    let key = w.key_settled(&vault, &blocked).await;
    assert_eq!(key["lifecycleState"], "FAILED");
    assert!(key["lifecycleDetails"].as_str().expect("details").contains("BLOCKED"), "{key}");

    // Keys of one vault are not visible on another path; unknown keys are 404.
    let r = w
        .oci(
            Method::GET,
            &format!("{}/20180608/keys/ocid1.key.oc1.eu-frankfurt-1.abcdefghijkl.abaaaaaaaaaaaaaa", mgmt(&vault)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A retried create (same opc-retry-token and body) creates one key; another body is refused.
    let body = json!({"compartmentId": w.compartment(), "displayName": "retried", "keyShape": {"algorithm": "AES", "length": 32}, "protectionMode": "EXTERNAL", "externalKeyReference": {"externalKeyId": w.ctm_key_id}});
    let url = format!("{}/20180608/keys", mgmt(&vault));
    let send = |body: serde_json::Value| {
        let (w, url) = (&w, &url);
        async move { w.send(Method::POST, url, &[("opc-retry-token", "key-1")], Some(body.to_string().into()), true).await }
    };
    let (a, b) = (send(body.clone()).await, send(body.clone()).await);
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["id"], b.json["id"]);
    let mut other = body;
    other["displayName"] = json!("other");
    let r = send(other).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (StatusCode::CONFLICT, Some("InvalidatedRetryToken")),
        "{}",
        r.text
    );

    // An operation the lab does not model answers in OCI's shape.
    let r = w.oci(Method::DELETE, &url, None).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed")),
        "{}",
        r.text
    );
}
