//! Task 14: external vaults: activation through the identity domain and the key manager, and
//! every way activation fails, each named by hop and reason.

use crate::support::{App, GW_IP, World, client_app_body, resource_app_body};
use bytes::Bytes;
use http::{Method, StatusCode};
use hyok_core::host::ServiceHost as _;
use hyok_kms::{HOP_TOKEN, HOP_VENDOR};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn external_vault_becomes_active_and_serves_its_endpoints() {
    let w = World::start().await;
    let pe = w.private_endpoint(GW_IP, &w.ctm.ca_cert_pem()).await;
    let pe_id = pe["id"].as_str().expect("pe id");
    let body = json!({
        "compartmentId": w.compartment(),
        "displayName": "OCI_EKMS_Vault",
        "vaultType": "EXTERNAL",
        "externalKeyManagerMetadata": {
            "externalVaultEndpointUrl": w.ctm_vault_url,
            "privateEndpointId": pe_id,
            "oauthMetadata": {
                "idcsAccountNameUrl": w.idcs.url,
                "clientAppId": w.client.client_id,
                "clientAppSecret": w.client.secret,
            },
        },
    });
    let rid = "TASK14-CREATE-VAULT";
    let r = w
        .send(
            Method::POST,
            &w.regional("/vaults"),
            &[("opc-request-id", rid)],
            Some(Bytes::from(body.to_string())),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["lifecycleState"], "CREATING");
    let id = r.json["id"].as_str().expect("id").to_string();
    let vault = w.wait_not(&w.regional(&format!("/vaults/{id}")), "CREATING").await;
    assert_eq!(vault["lifecycleState"], "ACTIVE", "{vault}");
    assert_eq!(vault["vaultType"], "EXTERNAL");

    // Per-vault endpoints carry the vault's prefix, which also sits in the vault OCID.
    let prefix = id.split('.').nth(4).expect("prefix").to_string();
    assert_eq!(prefix.len(), 12);
    assert_eq!(vault["managementEndpoint"], format!("https://{prefix}-management.kms.eu-frankfurt-1.oraclecloud.com"));
    assert_eq!(vault["cryptoEndpoint"], format!("https://{prefix}-crypto.kms.eu-frankfurt-1.oraclecloud.com"));
    let summary = &vault["externalKeyManagerMetadataSummary"];
    assert_eq!(summary["vendor"], "Thales CTM");
    assert_eq!(summary["privateEndpointId"], pe_id);
    assert_eq!(summary["externalVaultEndpointUrl"], w.ctm_vault_url.as_str());
    assert_eq!(summary["oauthMetadataSummary"]["clientAppId"], w.client.client_id.as_str());
    assert!(summary["oauthMetadataSummary"].get("clientAppSecret").is_none());

    // Served on virtual IPs in 134.70.17.0/24; reachable as the CLI does, by 127.0.0.1:PORT —
    // the vault is found from the listener, not from the Host header.
    let served = w.kms.served(&id).expect("served");
    assert_eq!(served.management_ip.octets()[..3], [134, 70, 17]);
    assert_ne!(served.management_ip, served.crypto_ip);
    let direct = hyok_core::client::HttpClient::new(
        Arc::new(hyok_core::client::StaticDial::new()),
        hyok_core::tls::client_config(w.host.public_ca().cert_pem()).expect("tls"),
    );
    let url =
        format!("https://127.0.0.1:{}/20180608/keys?compartmentId={}", served.management_real.port(), w.compartment());
    let r = w.send_with(&direct, Method::GET, &url, &[], None, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, json!([]));
    // The crypto endpoint does not serve management paths.
    let r = w
        .oci(
            Method::GET,
            &format!(
                "{}/20180608/keys?compartmentId={}",
                vault["cryptoEndpoint"].as_str().expect("c"),
                w.compartment()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Both hops were recorded under the caller's request id, which reached CTM too.
    let hops = w.host.events().by_request(rid);
    let token = hops.iter().find(|h| h.hop == HOP_TOKEN).expect("token hop");
    assert_eq!(token.status, Some(200));
    assert_eq!(token.source, "kms@134.70.16.5");
    let vendor = hops.iter().find(|h| h.hop == HOP_VENDOR).expect("vendor hop");
    assert_eq!(vendor.source, "kms private endpoint@172.16.1.104");
    assert!(vendor.destination.contains("/metadata"), "{}", vendor.destination);
    let audit = w.ctm.audit_records();
    let meta = audit.iter().find(|a| a.operation == "GetVaultMetadata").expect("audit");
    assert_eq!(meta.request_id, rid);
    assert_eq!(meta.client_id.as_deref(), Some(w.client.client_id.as_str()));

    // Lists, and the private endpoint cannot be deleted while the vault uses it.
    let r = w.oci(Method::GET, &w.regional(&format!("/vaults?compartmentId={}", w.compartment())), None).await;
    assert_eq!(r.json.as_array().expect("a bare array").len(), 1);
    let r = w.oci(Method::DELETE, &w.regional(&format!("/ekmsPrivateEndpoints/{pe_id}")), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The secret never came back in any response.
    for b in w.bodies.lock().iter() {
        assert!(!b.contains(&w.client.secret), "secret leaked in {b}");
    }
}

async fn failed_vault(w: &World, url: &str, client: &App, ekm_ip: &str, ca: &str) -> String {
    let pe = w.private_endpoint(ekm_ip, ca).await;
    let v = w.vault_settled(pe["id"].as_str().expect("pe"), url, client).await;
    assert_eq!(v["lifecycleState"], "FAILED", "{v}");
    assert!(w.kms.served(v["id"].as_str().expect("id")).is_none());
    v["lifecycleDetails"].as_str().expect("lifecycleDetails").to_string()
}

#[tokio::test]
async fn wrong_client_secret_fails_the_vault_naming_invalid_client() {
    let w = World::start().await;
    let wrong = App { secret: format!("{}x", w.client.secret), ..w.client.clone() };
    let details = failed_vault(&w, &w.ctm_vault_url, &wrong, GW_IP, &w.ctm.ca_cert_pem()).await;
    assert!(details.starts_with(HOP_TOKEN), "{details}");
    assert!(details.contains("invalid_client"), "{details}");
    assert!(!details.contains(&wrong.secret));
}

#[tokio::test]
async fn a_client_without_the_scope_fails_the_vault_naming_invalid_scope() {
    let w = World::start().await;
    // A client granted another resource's scope only: KMS asks for https://172.16.1.103/oci_ekms.
    w.idcs.app(resource_app_body("Other_Resource", "https://10.0.0.5/")).await;
    let other = w.idcs.app(client_app_body("Other_Client", "https://10.0.0.5/oci_ekms")).await;
    let details = failed_vault(&w, &w.ctm_vault_url, &other, GW_IP, &w.ctm.ca_cert_pem()).await;
    assert!(details.starts_with(HOP_TOKEN), "{details}");
    assert!(details.contains("invalid_scope"), "{details}");
}

#[tokio::test]
async fn key_manager_and_network_failures_fail_the_vault_with_the_reason() {
    let w = World::start().await;
    let ca = w.ctm.ca_cert_pem();

    // Unknown vault at the key manager: its 404 and message.
    let url = w.ctm_vault_url.replace(&w.ctm_vault_id, "00000000-0000-0000-0000-000000000000");
    let details = failed_vault(&w, &url, &w.client, GW_IP, &ca).await;
    assert!(details.starts_with(HOP_VENDOR), "{details}");
    assert!(details.contains("404") && details.contains("Error in getting OCI vault"), "{details}");

    // Vault URL not at the private endpoint's key manager address.
    let url = w.ctm_vault_url.replace(GW_IP, "172.16.1.120");
    let details = failed_vault(&w, &url, &w.client, GW_IP, &ca).await;
    assert!(details.contains("172.16.1.120:443") && details.contains("172.16.1.103:443"), "{details}");

    // CA bundle that does not hold CTM's root: TLS trust.
    let details = failed_vault(&w, &w.ctm_vault_url, &w.client, GW_IP, w.host.public_ca().cert_pem()).await;
    assert!(details.starts_with(HOP_VENDOR) && details.contains("TLS"), "{details}");

    // Nothing listens at the key manager address (apps for its audience exist, so the token is fine).
    w.idcs.app(resource_app_body("Resource_99", "https://172.16.1.99/")).await;
    let client_99 = w.idcs.app(client_app_body("Client_99", "https://172.16.1.99/oci_ekms")).await;
    let url = w.ctm_vault_url.replace(GW_IP, "172.16.1.99");
    let details = failed_vault(&w, &url, &client_99, "172.16.1.99", &ca).await;
    assert!(details.starts_with(HOP_VENDOR) && details.contains("nothing listens"), "{details}");

    // Blocked vault at the key manager.
    let (s, v) = w.ctm_api.call(Method::POST, &format!("/api/v1/cckm/oci/vaults/{}/block", w.ctm_vault_id), None).await;
    assert!(s.is_success(), "{v}");
    let details = failed_vault(&w, &w.ctm_vault_url, &w.client, GW_IP, &ca).await;
    assert!(details.contains("BLOCKED"), "{details}");
}

#[tokio::test]
async fn bad_vault_requests_are_refused() {
    let w = World::start().await;
    let pe = w.private_endpoint(GW_IP, &w.ctm.ca_cert_pem()).await;
    let pe_id = pe["id"].as_str().expect("pe");
    let r = w.create_vault(pe_id, "http://172.16.1.103/vaults/x", &w.client).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")));
    let r = w
        .create_vault("ocid1.ekmsprivateendpoint.oc1.eu-frankfurt-1.aaaaaaaamissing", &w.ctm_vault_url, &w.client)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let bare_vault =
        |vault_type: &str| json!({"compartmentId": w.compartment(), "displayName": "v", "vaultType": vault_type});
    let r = w.oci(Method::POST, &w.regional("/vaults"), Some(bare_vault("DEFAULT"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = w.oci(Method::POST, &w.regional("/vaults"), Some(bare_vault("EXTERNAL"))).await;
    assert_eq!(r.json["code"], "MissingParameter");
    // Idempotent create with opc-retry-token: one vault.
    let body = Bytes::from(
        json!({
            "compartmentId": w.compartment(),
            "displayName": "retry",
            "vaultType": "EXTERNAL",
            "externalKeyManagerMetadata": {
                "externalVaultEndpointUrl": w.ctm_vault_url,
                "privateEndpointId": pe_id,
                "oauthMetadata": {"idcsAccountNameUrl": w.idcs.url, "clientAppId": w.client.client_id, "clientAppSecret": w.client.secret},
            },
        })
        .to_string(),
    );
    let a = w.send(Method::POST, &w.regional("/vaults"), &[("opc-retry-token", "t-1")], Some(body.clone()), true).await;
    let b = w.send(Method::POST, &w.regional("/vaults"), &[("opc-retry-token", "t-1")], Some(body), true).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["id"], b.json["id"]);
    assert!(!a.text.contains(&w.client.secret));
}
