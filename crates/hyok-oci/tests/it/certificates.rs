//! Certificates service: CA bundles and imported certificates over the signed API.

use crate::{pki, support::Lab};
use http::{Method, StatusCode};
use hyok_oci::{CertificatesConfig, KeyAlgorithm};
use serde_json::{Value, json};
use std::time::Duration;

fn import_body(lab: &Lab, name: &str, cert: &str, chain: &str, key: &str) -> Value {
    json!({
        "name": name,
        "compartmentId": lab.tenancy.compartment_id,
        "certificateConfig": {
            "configType": "IMPORTED",
            "certificatePem": cert,
            "certChainPem": chain,
            "privateKeyPem": key,
        }
    })
}

#[tokio::test]
async fn ca_bundle_is_created_and_becomes_active() {
    let lab = Lab::start().await;
    let body =
        json!({"name": "ctm-root", "compartmentId": lab.tenancy.compartment_id, "caBundlePem": lab.ca.cert_pem()});
    let r = lab.call(Method::POST, "/caBundles", Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["lifecycleState"], "CREATING");
    assert_eq!(r.json["name"], "ctm-root");
    assert!(r.json["id"].as_str().expect("id").starts_with("ocid1.cabundle.oc1.eu-frankfurt-1."));
    assert!(r.json["timeCreated"].as_str().expect("time").ends_with('Z'));
    assert!(r.headers.contains_key("etag"));
    let id = r.id();
    assert!(lab.service.wait_until_active(&id, Duration::from_secs(2)).await);
    let r = lab.call(Method::GET, &format!("/caBundles/{id}"), None).await;
    assert_eq!(r.json["lifecycleState"], "ACTIVE");
    assert_eq!(lab.service.ca_bundle_pem(&id).as_deref(), Some(lab.ca.cert_pem()));
    let r = lab.call(Method::GET, &format!("/caBundles?compartmentId={}", lab.tenancy.compartment_id), None).await;
    assert_eq!(r.json["items"].as_array().expect("items").len(), 1);
    // A stale if-match is refused; the current etag (from GET) deletes it.
    let mut req = lab.request(Method::DELETE, &format!("/caBundles/{id}"), None);
    req.headers_mut().insert("if-match", http::HeaderValue::from_static("stale"));
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    lab.send(req).await.assert_error(StatusCode::PRECONDITION_FAILED, "NoEtagMatch", "if-match");
    let etag = lab.call(Method::GET, &format!("/caBundles/{id}"), None).await.headers["etag"].clone();
    let mut req = lab.request(Method::DELETE, &format!("/caBundles/{id}"), None);
    req.headers_mut().insert("if-match", etag);
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    let r = lab.send(req).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = lab.call(Method::GET, &format!("/caBundles?compartmentId={}", lab.tenancy.compartment_id), None).await;
    assert_eq!(r.json["items"].as_array().expect("items").len(), 0);
}

#[tokio::test]
async fn ca_bundle_errors() {
    let lab = Lab::start().await;
    let c = lab.tenancy.compartment_id.clone();
    let r = lab
        .call(Method::POST, "/caBundles", Some(&json!({"name": "x", "compartmentId": c, "caBundlePem": "not pem"})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "caBundlePem contains no PEM certificate");
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let r = lab
        .call(Method::POST, "/caBundles", Some(&json!({"name": "x", "compartmentId": c, "caBundlePem": garbage})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "not a valid X.509 certificate");
    let r = lab
        .call(Method::POST, "/caBundles", Some(&json!({"compartmentId": c, "caBundlePem": lab.ca.cert_pem()})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "name is required");
    let r = lab
        .call(
            Method::POST,
            "/caBundles",
            Some(&json!({"name": "x", "compartmentId": "nope", "caBundlePem": lab.ca.cert_pem()})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "compartmentId");
    let other = hyok_core::ids::ocid("compartment", None);
    let r = lab
        .call(
            Method::POST,
            "/caBundles",
            Some(&json!({"name": "x", "compartmentId": other, "caBundlePem": lab.ca.cert_pem()})),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "compartment");
    let r = lab.call(Method::GET, "/caBundles/ocid1.cabundle.oc1.eu-frankfurt-1.aaaaaaaanothere", None).await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "not found");
    // Syntax error in JSON.
    let mut req = lab.request(Method::POST, "/caBundles", None);
    *req.body_mut() = bytes::Bytes::from_static(b"{\"name\":");
    hyok_test_support::oci::sign(&mut req, &lab.tenancy);
    lab.send(req).await.assert_error(StatusCode::BAD_REQUEST, "CannotParseRequest", "not valid JSON");
}

#[tokio::test]
async fn rsa_chain_imports_as_rsa2048_and_key_is_never_returned() {
    // A manual clock holds the certificate in CREATING until the test moves time on.
    let clock = hyok_core::Clock::manual();
    let config = CertificatesConfig { lifecycle_delay_ms: 200, clock: clock.clone(), ..Default::default() };
    let lab = Lab::start_with(config).await;
    let m = pki::rsa_chain();
    let r = lab
        .call(Method::POST, "/certificates", Some(&import_body(&lab, "oci-api-gw", &m.cert, &m.chain, &m.key)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["lifecycleState"], "CREATING");
    assert_eq!(r.json["configType"], "IMPORTED");
    assert_eq!(r.json["keyAlgorithm"], "RSA2048");
    assert_eq!(r.json["signatureAlgorithm"], "SHA256_WITH_RSA");
    assert_eq!(r.json["subject"]["commonName"], "oci-api-gw.oci-thales.lab");
    assert_eq!(r.json["subject"]["country"], "NL");
    let cv = &r.json["currentVersion"];
    assert_eq!(cv["versionNumber"], 1);
    assert_eq!(cv["stages"], json!(["CURRENT", "LATEST"]));
    assert_eq!(
        cv["subjectAlternativeNames"],
        json!([{"type": "DNS", "value": "oci-api-gw.oci-thales.lab"}, {"type": "IP", "value": "172.16.1.103"}])
    );
    assert!(cv["validity"]["timeOfValidityNotAfter"].as_str().expect("t").ends_with('Z'));
    let id = r.id();
    // Not usable by the gateway until ACTIVE.
    clock.advance(Duration::from_millis(199));
    assert!(!lab.service.wait_until_active(&id, Duration::from_millis(50)).await, "still CREATING");
    assert!(lab.service.tls_material(&id).is_none());
    clock.advance(Duration::from_millis(1));
    assert!(lab.service.wait_until_active(&id, Duration::from_secs(3)).await);
    let got = lab.call(Method::GET, &format!("/certificates/{id}"), None).await;
    assert_eq!(got.json["lifecycleState"], "ACTIVE");
    let list =
        lab.call(Method::GET, &format!("/certificates?compartmentId={}", lab.tenancy.compartment_id), None).await;
    let item = &list.json["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert!(item.get("currentVersionSummary").is_some());
    for body in [&r.json, &got.json, &list.json] {
        let text = body.to_string();
        assert!(!text.contains("PRIVATE KEY"), "private key leaked: {text}");
    }
    let mat = lab.service.tls_material(&id).expect("material");
    assert_eq!(mat.key_algorithm, KeyAlgorithm::Rsa2048);
    assert_eq!(mat.key_pem, m.key);
    assert_eq!(hyok_core::tls::certs_from_pem(&mat.chain_pem).expect("chain").len(), 3);
    // The material really works as a TLS server identity.
    hyok_core::tls::server_config(&mat.chain_pem, &mat.key_pem).expect("usable by rustls");
}

#[tokio::test]
async fn lab_ca_rsa_leaf_under_ecdsa_root_records_both_algorithms() {
    let lab = Lab::start().await;
    let key_pem = pki::rsa_2048(2);
    let issued = lab
        .ca
        .issue_with_key(
            &["oci-api-gw.oci-thales.lab"],
            rcgen::KeyPair::from_pem(&key_pem).expect("k"),
            &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
        )
        .expect("issue");
    let r = lab
        .call(
            Method::POST,
            "/certificates",
            Some(&import_body(&lab, "gw", &issued.cert_pem, &issued.ca_pem, &issued.key_pem)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["keyAlgorithm"], "RSA2048");
    assert_eq!(r.json["signatureAlgorithm"], "SHA256_WITH_ECDSA");
}

#[tokio::test]
async fn ecdsa_certificate_is_recorded_as_ecdsa_p256() {
    let lab = Lab::start().await;
    let m = pki::ec_chain("ec.oci-thales.lab");
    let r = lab.call(Method::POST, "/certificates", Some(&import_body(&lab, "ec", &m.cert, &m.chain, &m.key))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["keyAlgorithm"], "ECDSA_P256");
    assert_eq!(r.json["signatureAlgorithm"], "SHA256_WITH_ECDSA");
    let id = r.id();
    assert!(lab.service.wait_until_active(&id, Duration::from_secs(2)).await);
    let mat = lab.service.tls_material(&id).expect("material");
    assert!(!mat.key_algorithm.is_rsa(), "the gateway refuses it, not this service");
}

/// Each import `(name, certificatePem, certChainPem, privateKeyPem, needle)` is refused as
/// `InvalidParameter` with a message containing `needle`.
async fn assert_imports_refused(lab: &Lab, cases: &[(&str, &str, &str, &str, &str)]) {
    for &(name, cert, chain, key, needle) in cases {
        let r = lab.call(Method::POST, "/certificates", Some(&import_body(lab, name, cert, chain, key))).await;
        r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", needle);
    }
}

#[tokio::test]
async fn mismatched_key_is_refused() {
    let lab = Lab::start().await;
    let a = pki::ec_chain("a.lab");
    let b = pki::ec_chain("b.lab");
    let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_imports_refused(
        &lab,
        &[
            ("mismatch", &a.cert, &a.chain, &b.key, "privateKeyPem does not match certificatePem"),
            ("mismatch", &a.cert, &a.chain, garbage, "privateKeyPem"),
            ("mismatch", &a.cert, &a.chain, encrypted, "encrypted"),
        ],
    )
    .await;
    assert!(lab.call(Method::GET, "/certificates", None).await.json["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn broken_chain_is_refused() {
    let lab = Lab::start().await;
    let a = pki::ec_chain("a.lab");
    let b = pki::ec_chain("b.lab");
    // A chain certificate with the right name but another key: the signature check catches it.
    let fake_root = pki::ca("a.lab root", rcgen::KeyPair::generate().expect("k"), None);
    assert_imports_refused(
        &lab,
        &[
            ("broken", &a.cert, &b.chain, &a.key, "broken chain"),
            ("forged", &a.cert, &fake_root.pem, &a.key, "signature of certificatePem does not verify"),
            // A leaf in place of the chain is not a CA.
            ("leafchain", &a.cert, &a.cert, &a.key, "broken chain"),
        ],
    )
    .await;
}

#[tokio::test]
async fn bad_certificate_pem_and_config_are_refused() {
    let lab = Lab::start().await;
    let a = pki::ec_chain("a.lab");
    let two = format!("{}{}", a.cert, a.chain);
    assert_imports_refused(
        &lab,
        &[
            ("bad", "hello", &a.chain, &a.key, "certificatePem contains no PEM certificate"),
            ("bad", &two, &a.chain, &a.key, "exactly one certificate"),
        ],
    )
    .await;
    let mut body = import_body(&lab, "bad", &a.cert, &a.chain, &a.key);
    body["certificateConfig"]["configType"] = json!("ISSUED_BY_INTERNAL_CA");
    lab.call(Method::POST, "/certificates", Some(&body)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "only IMPORTED",
    );
    body["certificateConfig"].as_object_mut().expect("obj").remove("configType");
    lab.call(Method::POST, "/certificates", Some(&body)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "configType",
    );
    let mut body = import_body(&lab, "bad", &a.cert, &a.chain, &a.key);
    body["certificateConfig"].as_object_mut().expect("obj").remove("certChainPem");
    lab.call(Method::POST, "/certificates", Some(&body)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "certChainPem",
    );
}

#[tokio::test]
async fn names_are_unique_per_compartment() {
    let lab = Lab::start().await;
    let a = pki::ec_chain("a.lab");
    let body = import_body(&lab, "dup", &a.cert, &a.chain, &a.key);
    assert_eq!(lab.call(Method::POST, "/certificates", Some(&body)).await.status, StatusCode::OK);
    lab.call(Method::POST, "/certificates", Some(&body)).await.assert_error(
        StatusCode::CONFLICT,
        "Conflict",
        "already exists",
    );
}

#[tokio::test]
async fn unknown_paths_are_oci_404s() {
    let lab = Lab::start().await;
    lab.call(Method::GET, "/nothing", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "Unknown",
    );
    lab.call(Method::PUT, "/certificates", None).await.assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "PUT",
    );
}
