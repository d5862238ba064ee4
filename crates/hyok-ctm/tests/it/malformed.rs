//! Malformed input over real TLS: the management API refuses in CTM's envelope
//! `{"code","codeDesc","message","requestID"}`, the vendor API OCI calls in the vendor shape
//! `{"code":"<status>","message"}`, on every path (body limit, JSON, query, route, method,
//! broken chunked bodies).

use crate::support::{CTM_HOST, Lab};
use http::{HeaderMap, StatusCode};
use hyok_test_support::raw::{BAD_CHUNK_SIZE, SHORT_CHUNK};
use serde_json::{Value, json};

#[track_caller]
fn assert_ctm(status: u16, json: &Value, expected: u16, code_desc: &str) {
    assert_eq!(status, expected, "{json}");
    assert!(json["code"].is_u64(), "numeric code: {json}");
    assert_eq!(json["codeDesc"], code_desc, "{json}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
    assert!(json["requestID"].as_str().is_some_and(|m| !m.is_empty()), "requestID: {json}");
}

#[track_caller]
fn assert_vendor(status: u16, json: &Value, expected: u16) {
    assert_eq!(status, expected, "{json}");
    assert_eq!(json["code"], expected.to_string(), "{json}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
    assert_eq!(json.as_object().map(|o| o.len()), Some(2), "only code and message: {json}");
}

fn url(path: &str) -> String {
    format!("https://{CTM_HOST}{path}")
}

#[track_caller]
fn ctm((s, h, v): (StatusCode, HeaderMap, Value), expected: u16, code_desc: &str) {
    assert_ctm(s.as_u16(), &v, expected, code_desc);
    assert!(h.contains_key("opc-request-id") || h.contains_key("x-request-id") || v["requestID"].is_string());
}

#[tokio::test]
async fn management_refusals_are_ctm_errors() {
    let lab = Lab::start().await;
    let auth = lab.bearer().await;
    let h = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let keys = url("/api/v1/vault/keys2");
    let big = json!({"name": "x".repeat(hyok_core::MAX_BODY_BYTES + 1)}).to_string().into_bytes();
    ctm(lab.call_bytes("POST", &keys, &h, big).await, 413, "NCERRBadRequest");
    ctm(lab.call_bytes("POST", &keys, &h, b"{".to_vec()).await, 400, "NCERRBadRequest");
    ctm(
        lab.call_bytes("POST", &keys, &h, br#"{"name": 5, "algorithm": "aes"}"#.to_vec()).await,
        400,
        "NCERRBadRequest",
    );
    ctm(lab.call_bytes("POST", &keys, &h, b"[1,2]".to_vec()).await, 400, "NCERRBadRequest");
    // Bad and repeated query parameters.
    ctm(lab.call("GET", &url("/api/v1/vault/keys2?limit=ten"), &h, None).await, 400, "NCERRInvalidParamValue");
    let r = lab.call("GET", &url("/api/v1/vault/keys2?limit=1&limit=2"), &h, None).await;
    assert!(r.2["message"].as_str().unwrap_or_default().contains("limit"), "{}", r.2);
    ctm(r, 400, "NCERRInvalidParamValue");
    // A path segment that is not UTF-8.
    ctm(lab.call("GET", &url("/api/v1/vault/keys2/%FF%FE"), &h, None).await, 400, "NCERRBadRequest");
    // Unknown route, wrong method (also without a token: routing comes first).
    ctm(lab.call("GET", &url("/api/v1/nope"), &h, None).await, 404, "NCERRResourceNotFound");
    let r = lab.call("DELETE", &url("/api/v1/auth/tokens"), &[], None).await;
    assert!(r.1.get("allow").is_some_and(|a| a.to_str().unwrap_or_default().contains("POST")), "{:?}", r.1);
    ctm(r, 405, "NCERRMethodNotAllowed");
    ctm(lab.call("PUT", &keys, &h, None).await, 405, "NCERRMethodNotAllowed");
    // Token endpoint: too large and broken JSON before any credentials are checked.
    let big = vec![b' '; hyok_core::MAX_BODY_BYTES + 10];
    ctm(lab.call_bytes("POST", &url("/api/v1/auth/tokens"), &h[1..], big).await, 413, "NCERRBadRequest");
}

#[tokio::test]
async fn management_broken_chunked_bodies_are_ctm_errors() {
    let lab = Lab::start().await;
    let auth = lab.bearer().await;
    let h = [("authorization", auth.as_str()), ("content-type", "application/json"), ("transfer-encoding", "chunked")];
    for (path, body, close) in [
        ("/api/v1/vault/keys2", BAD_CHUNK_SIZE, false),
        ("/api/v1/vault/keys2", SHORT_CHUNK, true),
        ("/api/v1/auth/tokens", BAD_CHUNK_SIZE, false),
        ("/api/v1/auth/tokens", SHORT_CHUNK, true),
    ] {
        let r = lab.raw.send("POST", path, &h, body, close).await;
        assert_ctm(r.status, &r.json, 400, "NCERRBadRequest");
        let m = r.json["message"].as_str().unwrap_or_default();
        assert!(!m.contains("chunk size") && !m.contains("hyper"), "no internal detail: {m}");
    }
}

#[tokio::test]
async fn vendor_api_refusals_are_in_the_vendor_shape() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let token = crate::support::mint(&crate::support::good_claims());
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let base = format!("{}/keys/{}", s.endpoint_url, s.key_id);
    let big = json!({"plaintext": "A".repeat(hyok_core::MAX_BODY_BYTES + 1)}).to_string().into_bytes();
    let r = lab.call_bytes("POST", &format!("{base}/encrypt"), &h, big).await;
    assert_vendor(r.0.as_u16(), &r.2, 413);
    let r = lab.call_bytes("POST", &format!("{base}/encrypt"), &h, b"{".to_vec()).await;
    assert_vendor(r.0.as_u16(), &r.2, 400);
    let r = lab.call_bytes("POST", &format!("{base}/encrypt"), &h, br#"{"plaintext": 5}"#.to_vec()).await;
    assert_vendor(r.0.as_u16(), &r.2, 400);
    let r = lab.call_bytes("POST", &format!("{base}/decrypt"), &h, b"[]".to_vec()).await;
    assert_vendor(r.0.as_u16(), &r.2, 400);
    // Unknown route and wrong method under the vendor prefix.
    let r = lab.call("GET", &format!("{base}/rotate"), &h, None).await;
    assert_vendor(r.0.as_u16(), &r.2, 404);
    let r = lab.call("GET", &format!("{base}/encrypt"), &h, None).await;
    assert_vendor(r.0.as_u16(), &r.2, 405);
    assert!(r.1.get("allow").is_some(), "{:?}", r.1);
    let r = lab.call("DELETE", &format!("{}/metadata", s.endpoint_url), &h, None).await;
    assert_vendor(r.0.as_u16(), &r.2, 405);
    // Broken chunked bodies.
    let path = format!("/api/v1/cckm/oci/ekm/v1/vaults/{}/keys/{}/encrypt", s.vault_id, s.key_id);
    let chunked = [h[0], h[1], ("transfer-encoding", "chunked")];
    let r = lab.raw.send("POST", &path, &chunked, BAD_CHUNK_SIZE, false).await;
    assert_vendor(r.status, &r.json, 400);
    let r = lab.raw.send("POST", &path, &chunked, SHORT_CHUNK, true).await;
    assert_vendor(r.status, &r.json, 400);
}
