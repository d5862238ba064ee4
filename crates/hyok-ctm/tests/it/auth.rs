//! `POST /api/v1/auth/tokens` and the management token check.

use crate::support::{CTM_HOST, Lab};
use http::StatusCode;
use serde_json::json;

fn url(path: &str) -> String {
    format!("https://{CTM_HOST}{path}")
}

#[tokio::test]
async fn password_grant_gives_ctm_shaped_jwt_and_refresh_token() {
    let lab = Lab::start().await;
    let v = lab.login().await;
    assert_eq!(v["duration"], 300);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["refresh_token"].as_str().is_some_and(|r| r.len() >= 32));
    let jwt = v["jwt"].as_str().expect("jwt");
    let header = jsonwebtoken::decode_header(jwt).expect("header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode(jwt).expect("claims").claims;
    assert_eq!(claims["iss"], "kylo");
    assert_eq!(claims["preferred_username"], "admin");
    assert!(claims["sub"].as_str().is_some_and(|s| s.starts_with("local|")));
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 300);
    assert_eq!(claims["aud"], v["client_id"]);

    // The token opens management endpoints.
    let auth = format!("Bearer {jwt}");
    let (s, _, list) = lab.call("GET", &url("/api/v1/vault/keys2"), &[("authorization", &auth)], None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn legacy_name_body_and_refresh_grant_work() {
    let lab = Lab::start().await;
    let (user, pass) = lab.ctm.initial_credentials();
    let (s, _, v) =
        lab.call("POST", &url("/api/v1/auth/tokens/"), &[], Some(json!({"name": user, "password": pass}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let refresh = v["refresh_token"].as_str().expect("refresh").to_string();
    let (s, _, r) = lab
        .call(
            "POST",
            &url("/api/v1/auth/tokens"),
            &[],
            Some(json!({"grant_type": "refresh_token", "refresh_token": refresh})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    // Real CTM hands back the same refresh token.
    assert_eq!(r["refresh_token"], refresh.as_str());
    let auth = format!("Bearer {}", r["jwt"].as_str().expect("jwt"));
    let (s, _, _) = lab.call("GET", &url("/api/v1/ca/local-cas"), &[("authorization", &auth)], None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, _, e) = lab
        .call(
            "POST",
            &url("/api/v1/auth/tokens"),
            &[],
            Some(json!({"grant_type": "refresh_token", "refresh_token": "nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(e["codeDesc"], "NCERRUnauthorizedAccess");
}

#[tokio::test]
async fn bad_password_is_401_with_ctm_error_body() {
    let lab = Lab::start().await;
    let (s, h, v) = lab
        .call(
            "POST",
            &url("/api/v1/auth/tokens"),
            &[("opc-request-id", "req-bad-pw")],
            Some(json!({"grant_type": "password", "username": "admin", "password": "Wrong-pass1"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], 5);
    assert_eq!(v["codeDesc"], "NCERRUnauthorizedAccess");
    assert_eq!(v["message"], "Wrong username or password.");
    assert_eq!(v["requestID"], "req-bad-pw");
    assert_eq!(h.get("opc-request-id").and_then(|v| v.to_str().ok()), Some("req-bad-pw"));
}

#[tokio::test]
async fn management_needs_a_valid_token() {
    let lab = Lab::start().await;
    let (s, _, v) = lab.call("GET", &url("/api/v1/vault/keys2"), &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["codeDesc"], "NCERRUnauthorizedAccess");

    // A token signed with another secret, and an expired one, are refused.
    let now = hyok_core::unix_now();
    let claims = json!({"iss": "kylo", "sub": "local|x", "aud": "x", "exp": now + 300, "iat": now});
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-ctm-secret-not-the-ctm-secret").expect("key"),
    )
    .expect("sign");
    let (s, _, v) =
        lab.call("GET", &url("/api/v1/vault/keys2"), &[("authorization", &format!("Bearer {forged}"))], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["message"], "Invalid token");

    let (s, _, _) = lab.call("GET", &url("/api/v1/cckm/oci/vaults"), &[("authorization", "Bearer a.b.c")], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn change_password_replaces_the_old_one() {
    let lab = Lab::start().await;
    let (user, pass) = lab.ctm.initial_credentials();
    let (s, _, _) = lab
        .call(
            "PATCH",
            &url("/api/v1/auth/changepw"),
            &[],
            Some(json!({"username": user, "password": pass, "new_password": "weak"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = lab
        .call(
            "PATCH",
            &url("/api/v1/auth/changepw"),
            &[],
            Some(json!({"username": user, "password": pass, "new_password": "N3w-Passw0rd!"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) =
        lab.call("POST", &url("/api/v1/auth/tokens"), &[], Some(json!({"username": user, "password": pass}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = lab
        .call("POST", &url("/api/v1/auth/tokens"), &[], Some(json!({"username": user, "password": "N3w-Passw0rd!"})))
        .await;
    assert_eq!(s, StatusCode::OK);
}
