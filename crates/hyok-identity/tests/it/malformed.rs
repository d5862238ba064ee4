//! Malformed input over real TLS: every refusal is JSON in the shape of the endpoint's API —
//! OAuth's `{"error","error_description"}` under `/oauth2/`, SCIM's Error message elsewhere.

use crate::support::{Auth, Lab, Resp};
use base64::{Engine, engine::general_purpose::STANDARD};
use hyok_test_support::raw::{BAD_CHUNK_SIZE, RawReply, SHORT_CHUNK};
use serde_json::{Value, json};

const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[track_caller]
fn assert_scim(status: u16, json: &Value, expected: u16) {
    assert_eq!(status, expected, "{json}");
    assert_eq!(json["schemas"], json!([SCIM_ERROR]), "{json}");
    assert_eq!(json["status"], expected.to_string(), "{json}");
    assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()), "{json}");
}

#[track_caller]
fn assert_oauth(status: u16, json: &Value, expected: u16, error: &str) {
    assert_eq!(status, expected, "{json}");
    assert_eq!(json["error"], error, "{json}");
    assert!(json["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{json}");
}

fn admin_basic(lab: &Lab) -> String {
    match &lab.admin {
        Auth::Basic(id, secret) => format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        other => panic!("admin is not basic: {other:?}"),
    }
}

fn scim(r: &Resp, expected: u16) {
    assert_scim(r.status, &r.json, expected);
    assert!(r.headers.contains_key("opc-request-id"), "opc-request-id missing");
}

fn raw_scim(r: &RawReply, expected: u16) {
    assert_scim(r.status, &r.json, expected);
    assert!(r.header("content-type").is_some_and(|c| c.contains("json")), "{:?}", r.headers);
}

#[tokio::test]
async fn scim_refusals_are_scim_errors() {
    let lab = Lab::start().await;
    let admin = lab.admin.clone();
    // Too large.
    let big = json!({"schemas": [hyok_identity::APP_SCHEMA], "displayName": "x".repeat(70 * 1024)});
    scim(&lab.send_json("POST", "/admin/v1/Apps", &admin, big).await, 413);
    // Broken JSON and the wrong JSON type.
    let r = lab.request("POST", "/admin/v1/Apps", &admin, Some("application/scim+json"), "{".into()).await;
    scim(&r, 400);
    scim(&lab.send_json("POST", "/admin/v1/Apps", &admin, json!(["not", "an", "object"])).await, 400);
    let r = lab
        .send_json("POST", "/admin/v1/Apps", &admin, json!({"schemas": [hyok_identity::APP_SCHEMA], "displayName": 7}))
        .await;
    scim(&r, 400);
    // Bad and repeated query parameters.
    scim(&lab.get("/admin/v1/Apps?count=many", &admin).await, 400);
    let r = lab.get("/admin/v1/Apps?count=1&count=2", &admin).await;
    scim(&r, 400);
    assert!(r.json["detail"].as_str().unwrap_or_default().contains("count"), "{}", r.json);
    // A path segment that is not UTF-8.
    scim(&lab.get("/admin/v1/Apps/%FF%FE", &admin).await, 400);
    // Unknown route and a method the route does not have.
    scim(&lab.get("/admin/v1/Nope", &admin).await, 404);
    let r = lab.request("DELETE", "/admin/v1/Apps", &admin, None, String::new()).await;
    scim(&r, 405);
    assert!(r.headers.get("allow").is_some(), "405 names the allowed methods");
    scim(&lab.request("POST", "/.well-known/openid-configuration", &Auth::None, None, String::new()).await, 405);
}

#[tokio::test]
async fn oauth_refusals_are_oauth_errors() {
    let lab = Lab::start().await;
    let admin = lab.admin.clone();
    let big = format!("grant_type=client_credentials&scope={}", "x".repeat(70 * 1024));
    let r = lab.token(&admin, &big).await;
    assert_oauth(r.status, &r.json, 413, "invalid_request");
    assert!(r.headers.contains_key("opc-request-id"));
    // Not a form.
    let r = lab.request("POST", "/oauth2/v1/token", &admin, Some("application/json"), "{}".into()).await;
    assert_oauth(r.status, &r.json, 400, "invalid_request");
    let r = lab.token(&admin, "grant_type=client_credentials&grant_type=password").await;
    assert_oauth(r.status, &r.json, 400, "invalid_request");
    // Wrong method on the token endpoint; an unknown OAuth endpoint.
    let r = lab.get("/oauth2/v1/token", &admin).await;
    assert_oauth(r.status, &r.json, 405, "invalid_request");
    assert!(r.headers.get("allow").is_some_and(|a| a.to_str().unwrap_or_default().contains("POST")));
    let r = lab.get("/oauth2/v1/nope", &admin).await;
    assert_oauth(r.status, &r.json, 404, "invalid_request");
}

#[tokio::test]
async fn broken_chunked_bodies_are_refused_in_shape() {
    let lab = Lab::start().await;
    let auth = admin_basic(&lab);
    let chunked =
        [("authorization", auth.as_str()), ("content-type", "application/scim+json"), ("transfer-encoding", "chunked")];
    let r = lab.raw.send("POST", "/admin/v1/Apps", &chunked, BAD_CHUNK_SIZE, false).await;
    raw_scim(&r, 400);
    let r = lab.raw.send("POST", "/admin/v1/Apps", &chunked, SHORT_CHUNK, true).await;
    raw_scim(&r, 400);

    let form = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("transfer-encoding", "chunked"),
    ];
    let r = lab.raw.send("POST", "/oauth2/v1/token", &form, BAD_CHUNK_SIZE, false).await;
    assert_oauth(r.status, &r.json, 400, "invalid_request");
    let desc = r.json["error_description"].as_str().unwrap_or_default();
    assert!(!desc.contains("hyper") && !desc.contains("chunk size line"), "no internal detail: {desc}");
    let r = lab.raw.send("POST", "/oauth2/v1/token", &form, SHORT_CHUNK, true).await;
    assert_oauth(r.status, &r.json, 400, "invalid_request");
    // A body shorter than its content-length, the client closing its side.
    let cut = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("content-length", "100"),
    ];
    let r = lab.raw.send("POST", "/oauth2/v1/token", &cut, b"grant_type=client", true).await;
    assert_oauth(r.status, &r.json, 400, "invalid_request");
}
