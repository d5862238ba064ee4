//! The signature matrix over real TLS: valid requests pass, every defect is a 401
//! NotAuthenticated naming the defect.

use crate::support::{Lab, other_key};
use axum::{Router, body::Body, routing::put};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use hyok_core::client::{HttpClient, StaticDial};
use hyok_oci_rest::{KeyStore, SignatureVerifier, signing};

use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn list_path(lab: &Lab) -> String {
    format!("/caBundles?compartmentId={}", lab.tenancy.compartment_id)
}

fn bundle_body(lab: &Lab, name: &str) -> serde_json::Value {
    json!({"name": name, "compartmentId": lab.tenancy.compartment_id, "caBundlePem": lab.ca.cert_pem()})
}

#[tokio::test]
async fn valid_signatures_pass_for_get_and_post() {
    let lab = Lab::start().await;
    let r = lab.call(Method::GET, &list_path(&lab), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert!(r.headers.contains_key("opc-request-id"));
    let r = lab.call(Method::POST, "/caBundles", Some(&bundle_body(&lab, "signed-post"))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}

#[tokio::test]
async fn missing_signature_is_refused() {
    let lab = Lab::start().await;
    let req = lab.request(Method::GET, &list_path(&lab), None);
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "missing Authorization header");
}

#[tokio::test]
async fn unregistered_key_is_refused() {
    let lab = Lab::start().await;
    let stranger = other_key();
    let key_id = format!("{}/{}/{}", lab.tenancy.tenancy_id, lab.tenancy.user_id, stranger.fingerprint());
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    hyok_oci_rest::sign_request(&mut req, stranger.private_key(), &key_id).expect("sign");
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "unknown keyId");
}

#[tokio::test]
async fn wrong_private_key_for_a_registered_key_id_is_refused() {
    let lab = Lab::start().await;
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    hyok_oci_rest::sign_request(&mut req, other_key().private_key(), &lab.tenancy.key_id()).expect("sign");
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad signature");
}

#[tokio::test]
async fn tampered_body_is_refused() {
    let lab = Lab::start().await;
    let mut req = lab.request(Method::POST, "/caBundles", Some(&bundle_body(&lab, "aaaa")));
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    // Same length, different bytes: only the hash can tell.
    let tampered = serde_json::to_vec(&bundle_body(&lab, "bbbb")).expect("json");
    assert_eq!(tampered.len(), req.body().len());
    *req.body_mut() = Bytes::from(tampered);
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "body hash mismatch");
    assert!(lab.service.get_ca_bundle("none").is_err());
}

#[tokio::test]
async fn tampered_path_is_refused() {
    let lab = Lab::start().await;
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    *req.uri_mut() = crate::support::url("/certificates").parse().expect("uri");
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "bad signature");
}

#[tokio::test]
async fn stale_date_is_refused() {
    let lab = Lab::start().await;
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    let stale = time::OffsetDateTime::now_utc() - time::Duration::minutes(6);
    req.headers_mut().insert("date", HeaderValue::from_str(&signing::http_date(stale)).expect("date"));
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "clock skew");

    // Four minutes is inside the window.
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    let recent = time::OffsetDateTime::now_utc() - time::Duration::minutes(4);
    req.headers_mut().insert("date", HeaderValue::from_str(&signing::http_date(recent)).expect("date"));
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    assert_eq!(lab.send(req).await.status, StatusCode::OK);
}

/// `req` signed by the lab user over `headers` only is refused for leaving out `missing`.
async fn assert_refused_signed_over(lab: &Lab, mut req: Request<Bytes>, headers: &[&str], missing: &str) {
    let key = lab.tenancy.api_key.private_key();
    hyok_oci_rest::signing::sign_request_with(&mut req, key, &lab.tenancy.key_id(), headers).expect("sign");
    lab.send(req).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "NotAuthenticated",
        &format!("missing required signed header \"{missing}\""),
    );
}

#[tokio::test]
async fn post_without_body_headers_is_refused() {
    let lab = Lab::start().await;
    let req = lab.request(Method::POST, "/caBundles", Some(&bundle_body(&lab, "nobodyhdr")));
    assert_refused_signed_over(&lab, req, &["date", "(request-target)", "host"], "content-length").await;
}

#[tokio::test]
async fn get_without_host_in_signature_is_refused() {
    let lab = Lab::start().await;
    let req = lab.request(Method::GET, &list_path(&lab), None);
    assert_refused_signed_over(&lab, req, &["date", "(request-target)"], "host").await;
}

#[tokio::test]
async fn malformed_authorization_is_refused() {
    let lab = Lab::start().await;
    let mut req = lab.request(Method::GET, &list_path(&lab), None);
    req.headers_mut().insert("authorization", HeaderValue::from_static("Signature keyId=unquoted"));
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "quoted");
}

/// Object-storage style: PUT bodies signed with only the base headers stream past a small
/// buffer limit; the same PUT on a path that is not exempt must sign the body.
#[tokio::test]
async fn exempt_put_streams_large_unsigned_bodies() {
    hyok_core::tls::install_crypto_provider();
    let key = crate::support::api_key();
    let tenancy = hyok_oci_rest::Tenancy::with_key("t", "c", "u", key);
    let keys = KeyStore::new();
    tenancy.register(&keys);
    let verifier = SignatureVerifier::new(keys)
        .with_max_body(1024)
        .with_body_exempt(Arc::new(|m: &Method, p: &str| m == Method::PUT && p.contains("/o/")));
    let app = Router::new()
        .route("/n/{ns}/b/{b}/o/{o}", put(|body: Bytes| async move { body.len().to_string() }))
        .route("/other", put(|body: Bytes| async move { body.len().to_string() }))
        .layer(axum::extract::DefaultBodyLimit::disable());
    let app = signing::protect(app, Arc::new(verifier));
    let ca = hyok_core::pki::LabCa::generate("root").expect("ca");
    let host = "objectstorage.eu-frankfurt-1.oraclecloud.com";
    let leaf = ca.issue_server(&[host]).expect("leaf");
    let tls = hyok_core::tls::server_config(&leaf.chain_pem(), &leaf.key_pem).expect("tls");
    let listener = hyok_core::server::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let server = hyok_core::server::serve(listener, app, Some(tls), CancellationToken::new());
    let client = HttpClient::new(
        Arc::new(StaticDial::new().pin(host, 443, server.local_addr)),
        hyok_core::tls::client_config(ca.cert_pem()).expect("client"),
    );
    let big = vec![7u8; 64 * 1024];
    let send = |path: &str, sign_body: bool| {
        let mut req = Request::put(format!("https://{host}{path}")).body(Bytes::from(big.clone())).expect("req");
        req.headers_mut().insert("content-type", HeaderValue::from_static("application/octet-stream"));
        let (mut parts, body) = req.into_parts();
        let signed = if sign_body { Some(&body[..]) } else { None };
        signing::sign_parts(&mut parts, signed, tenancy.api_key.private_key(), &tenancy.key_id(), None).expect("sign");
        let req = Request::from_parts(parts, Body::from(body));
        let client = client.clone();
        async move { client.send(req).await.expect("send") }
    };
    let r = send("/n/ns/b/bucket/o/big.bin", false).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(&r.body()[..], b"65536");
    let r = send("/other", false).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A signed body larger than the buffer limit cannot be checked: refused as too large.
    let r = send("/other", true).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.shutdown().await;
}

#[tokio::test]
async fn removed_api_key_stops_working() {
    let lab = Lab::start().await;
    assert_eq!(lab.call(Method::GET, &list_path(&lab), None).await.status, StatusCode::OK);
    assert!(lab.keys.remove(&lab.tenancy.key_id()));
    lab.call(Method::GET, &list_path(&lab), None).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "NotAuthenticated",
        "unknown keyId",
    );
}
