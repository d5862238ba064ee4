//! Paths CTM cannot easily produce, against a small vendor double over TLS: a 401 that makes
//! KMS fetch a fresh token and retry once, and an API gateway's own 404 (deployment missing).

use crate::support::{World, client_app_body, resource_app_body};
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use hyok_core::host::ServiceHost as _;
use hyok_kms::{HOP_TOKEN, HOP_VENDOR};
use parking_lot::Mutex;
use serde_json::json;
use std::sync::Arc;

const DOUBLE_IP: &str = "172.16.1.110";

/// Bearer tokens the double has seen on metadata calls, in order.
type Seen = Arc<Mutex<Vec<String>>>;

async fn metadata(State(seen): State<Seen>, headers: axum::http::HeaderMap) -> axum::response::Response {
    let Some(token) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"code": "401", "message": "missing token"}))).into_response();
    };
    let mut s = seen.lock();
    s.push(token.to_string());
    // The first token ever presented is refused, as after a key rotation at the vendor.
    if s.len() == 1 {
        return (StatusCode::UNAUTHORIZED, Json(json!({"code": "401", "message": "Unauthorized: token revoked"})))
            .into_response();
    }
    Json(json!({"state": "ACTIVE", "vendor": "Test Double"})).into_response()
}

/// Anything else: the API gateway's 404 for a path no deployment serves.
async fn no_deployment() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, Json(json!({"code": 404, "message": "Not Found"})))
}

#[tokio::test]
async fn vendor_401_refreshes_the_token_once_and_gateway_404_is_named() {
    let w = World::start().await;
    let ca = hyok_core::pki::LabCa::generate("Double Root").expect("ca");
    let seen: Seen = Arc::default();
    let router = Router::new()
        .route("/ekm/v1/vaults/v1/metadata", get(metadata))
        .fallback(no_deployment)
        .with_state(seen.clone());
    let server = hyok_test_support::serve_tls(&ca, &["oci-api-gw.oci-thales.lab"], router).await;
    w.host.pin(DOUBLE_IP, 443, server.local_addr);
    w.idcs.app(resource_app_body("Resource_110", "https://172.16.1.110/")).await;
    let client = w.idcs.app(client_app_body("Client_110", "https://172.16.1.110/oci_ekms")).await;
    // The certificate names only the FQDN; the private endpoint verifies the chain only.
    let pe = w.private_endpoint(DOUBLE_IP, ca.cert_pem()).await;
    let pe_id = pe["id"].as_str().expect("pe");

    let v = w.vault_settled(pe_id, "https://172.16.1.110/ekm/v1/vaults/v1", &client).await;
    assert_eq!(v["lifecycleState"], "ACTIVE", "{v}");
    assert_eq!(v["externalKeyManagerMetadataSummary"]["vendor"], "Test Double");
    let tokens = seen.lock().clone();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "the retry used a fresh token");
    let events = w.host.events().last(10_000);
    assert_eq!(events.iter().filter(|h| h.hop == HOP_TOKEN).count(), 2);
    assert_eq!(events.iter().filter(|h| h.hop == HOP_VENDOR && h.status == Some(401)).count(), 1);

    let v = w.vault_settled(pe_id, "https://172.16.1.110/wrong/ekm/v1/vaults/v1", &client).await;
    assert_eq!(v["lifecycleState"], "FAILED");
    let details = v["lifecycleDetails"].as_str().expect("details");
    assert!(
        details.contains("API gateway answered 404") && details.contains("/wrong/ekm/v1/vaults/v1/metadata"),
        "{details}"
    );
}
