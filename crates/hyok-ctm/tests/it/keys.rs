//! `/api/v1/vault/keys2`: create, get by id and name, list paging, states, delete rules.

use crate::support::Lab;
use http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn aes256_key_create_get_by_id_and_name() {
    let lab = Lab::start().await;
    let (s, k) = lab
        .mgmt(
            "POST",
            "/api/v1/vault/keys2",
            Some(json!({"name": "hyok-src", "algorithm": "aes", "size": 256, "unexportable": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let id = k["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(k["state"], "Active");
    assert_eq!(k["algorithm"], "AES");
    assert_eq!(k["size"], 256);
    assert_eq!(k["unexportable"], true);
    assert_eq!(k["account"], "kylo:kylo:admin:accounts:kylo");
    assert!(k["createdAt"].is_string() && k["updatedAt"].is_string());
    assert!(k["uri"].as_str().expect("uri").starts_with("kylo:kylo:vault:keys:hyok-src"));
    // No key material in any response.
    for field in ["material", "key", "keyMaterial"] {
        assert!(k.get(field).is_none());
    }

    let (s, by_id) = lab.mgmt("GET", &format!("/api/v1/vault/keys2/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_id["name"], "hyok-src");
    let (s, by_name) = lab.mgmt("GET", "/api/v1/vault/keys2/hyok-src?type=name", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_name["id"], id);
    let (s, e) = lab.mgmt("GET", "/api/v1/vault/keys2/hyok-src", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["codeDesc"], "NCERRResourceNotFound");

    let (s, e) = lab
        .mgmt("POST", "/api/v1/vault/keys2/", Some(json!({"name": "hyok-src", "algorithm": "aes", "size": 256})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["codeDesc"], "NCERRKeyAlreadyExists");
    let (s, _) =
        lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "rsa", "algorithm": "rsa", "size": 2048}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) =
        lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "odd", "algorithm": "aes", "size": 100}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_pages_with_skip_and_limit() {
    let lab = Lab::start().await;
    for i in 0..12 {
        let (s, _) = lab
            .mgmt(
                "POST",
                "/api/v1/vault/keys2",
                Some(json!({"name": format!("k{i:02}"), "algorithm": "aes", "size": 256})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, first) = lab.mgmt("GET", "/api/v1/vault/keys2", None).await;
    assert_eq!(first["total"], 12);
    assert_eq!(first["limit"], 10);
    assert_eq!(first["resources"].as_array().expect("array").len(), 10);
    let (_, second) = lab.mgmt("GET", "/api/v1/vault/keys2?skip=10&limit=10", None).await;
    let names: Vec<&str> =
        second["resources"].as_array().expect("array").iter().filter_map(|k| k["name"].as_str()).collect();
    assert_eq!(names, vec!["k10", "k11"]);
    let (_, filtered) = lab.mgmt("GET", "/api/v1/vault/keys2?name=k03", None).await;
    assert_eq!(filtered["total"], 1);
    let (s, _) = lab.mgmt("GET", "/api/v1/vault/keys2?limit=minus", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn key_states_follow_kmip_rules() {
    let lab = Lab::start().await;
    let (_, k) =
        lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "pre", "size": 256, "state": "Pre-Active"}))).await;
    assert_eq!(k["state"], "Pre-Active");
    let id = k["id"].as_str().expect("id").to_string();
    let (s, k) = lab
        .mgmt("PATCH", &format!("/api/v1/vault/keys2/{id}"), Some(json!({"activationDate": hyok_core::rfc3339_now()})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(k["state"], "Active");
    let (s, _) = lab.mgmt("POST", &format!("/api/v1/vault/keys2/{id}/destroy"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "an Active key is not destroyed");
    let (_, k) = lab
        .mgmt("POST", &format!("/api/v1/vault/keys2/{id}/revoke"), Some(json!({"reason": "cessationOfOperation"})))
        .await;
    assert_eq!(k["state"], "Deactivated");
    let (_, k) = lab.mgmt("POST", &format!("/api/v1/vault/keys2/{id}/reactivate"), None).await;
    assert_eq!(k["state"], "Active");
    lab.mgmt("POST", &format!("/api/v1/vault/keys2/{id}/revoke"), Some(json!({"reason": "keyCompromise"}))).await;
    let (_, k) = lab.mgmt("POST", &format!("/api/v1/vault/keys2/{id}/destroy"), None).await;
    assert_eq!(k["state"], "Destroyed Compromised");
    assert_eq!(k["emptyMaterial"], true);
    let (s, _) =
        lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "x", "size": 256, "state": "Active-ish"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn undeletable_keys_stay() {
    let lab = Lab::start().await;
    let (_, k) =
        lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "keep", "size": 256, "undeletable": true}))).await;
    let (s, e) = lab.mgmt("DELETE", &format!("/api/v1/vault/keys2/{}", k["id"].as_str().expect("id")), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").contains("key is not deletable"));
    let (_, k) = lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "tmp", "size": 128}))).await;
    let (s, _) = lab.mgmt("DELETE", "/api/v1/vault/keys2/tmp?type=name", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = lab.mgmt("GET", &format!("/api/v1/vault/keys2/{}", k["id"].as_str().expect("id")), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
