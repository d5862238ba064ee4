//! Local CA: root listing, CSR generation, issuing from a CSR, the chain verified by rustls
//! over a real TLS connection, revocation.

use crate::support::{CTM_HOST, Lab};
use axum::{Router, routing::get};
use http::StatusCode;
use hyok_core::{
    client::{ClientError, HttpClient, StaticDial},
    server::{bind, serve},
    tls,
};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

async fn root_id(lab: &Lab) -> String {
    let (s, v) = lab.mgmt("GET", "/api/v1/ca/local-cas?skip=0&limit=10", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 1);
    v["resources"][0]["id"].as_str().expect("ca id").to_string()
}

/// Serve a TLS endpoint with `chain`/`key` for `name` and try to reach it trusting only CTM's CA.
async fn tls_reach(lab: &Lab, name: &str, chain: &str, key: &str) -> Result<StatusCode, ClientError> {
    let cfg = tls::server_config(chain, key).expect("server config");
    let listener = bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let app = Router::new().route("/", get(|| async { "hello" }));
    let server = serve(listener, app, Some(cfg), CancellationToken::new());
    let dial = StaticDial::new().pin(name, 443, server.local_addr);
    let client = HttpClient::new(Arc::new(dial), tls::client_config(&lab.ctm.ca_cert_pem()).expect("client"));
    let r = client.get_json(&format!("https://{name}/"), &[]).await.map(|(s, _)| s);
    server.shutdown().await;
    r
}

#[tokio::test]
async fn root_ca_is_listed_and_downloadable() {
    let lab = Lab::start().await;
    let id = root_id(&lab).await;
    let (s, ca) = lab.mgmt("GET", &format!("/api/v1/ca/local-cas/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ca["state"], "active");
    assert_eq!(ca["name"], "CipherTrust Manager Root CA");
    assert_eq!(ca["cert"].as_str().expect("cert"), lab.ctm.ca_cert_pem());
    assert!(ca["uri"].as_str().expect("uri").starts_with("kylo:kylo:"));
    assert_eq!(ca["account"], "kylo:kylo:admin:accounts:kylo");
    assert!(ca["subject"].as_str().expect("subject").contains("CipherTrust Manager Root CA"));
    let (s, e) = lab.mgmt("GET", "/api/v1/ca/local-cas/00000000-0000-0000-0000-000000000000", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["codeDesc"], "NCERRResourceNotFound");
}

#[tokio::test]
async fn web_certificate_is_rsa_for_fqdn_and_ip() {
    let lab = Lab::start().await;
    let web = lab.ctm.web_tls();
    let (_, pem) = x509_parser::pem::parse_x509_pem(web.cert_pem.as_bytes()).expect("pem");
    let cert = pem.parse_x509().expect("x509");
    assert_eq!(cert.public_key().algorithm.algorithm, x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION);
    let sans = cert.subject_alternative_name().expect("ext").expect("san");
    let text = format!("{:?}", sans.value.general_names);
    assert!(text.contains(CTM_HOST), "{text}");
    assert!(text.contains("[10, 222, 10, 21]"), "{text}");
    // Reaching CTM by IP over TLS works as well as by name (OCI connects by IP).
    let (s, _, _) = lab.call("GET", "https://10.222.10.21/api/v1/ca/local-cas", &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn csr(lab: &Lab, body: Value) -> (String, String) {
    let (s, v) = lab.mgmt("POST", "/api/v1/ca/csr", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (v["csr"].as_str().expect("csr").into(), v["key"].as_str().expect("key").into())
}

#[tokio::test]
async fn csr_to_issued_server_cert_verifies_to_ctm_root() {
    let lab = Lab::start().await;
    let ca = root_id(&lab).await;
    for (alg, size) in [("RSA", 2048), ("ECDSA", 256), ("ECDSA", 384)] {
        let name = format!("svc-{}-{size}.oci-thales.lab", alg.to_lowercase());
        let (csr_pem, key_pem) = csr(
            &lab,
            json!({"cn": name, "algorithm": alg, "size": size, "dnsNames": [name], "ipAddresses": ["10.222.10.50"],
                   "names": [{"O": "HYOK Lab", "C": "NL"}]}),
        )
        .await;
        assert!(csr_pem.contains("BEGIN CERTIFICATE REQUEST"));
        assert!(key_pem.contains("PRIVATE KEY"));
        let (s, cert) = lab
            .mgmt(
                "POST",
                &format!("/api/v1/ca/local-cas/{ca}/certs"),
                Some(json!({"csr": csr_pem, "purpose": "server", "duration": 365, "name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{cert}");
        assert_eq!(cert["state"], "active");
        let chain = format!("{}{}", cert["cert"].as_str().expect("cert"), lab.ctm.ca_cert_pem());
        let status = tls_reach(&lab, &name, &chain, &key_pem).await.expect("TLS with issued cert");
        assert_eq!(status, StatusCode::OK);
        // The name is checked too: another name fails verification.
        let err = tls_reach(&lab, "other.oci-thales.lab", &chain, &key_pem).await.expect_err("wrong name");
        assert!(matches!(err, ClientError::Tls { .. }), "{err}");
    }
}

#[tokio::test]
async fn purpose_decides_eku_and_ca_flag_not_the_csr() {
    let lab = Lab::start().await;
    let ca = root_id(&lab).await;
    let name = "client.oci-thales.lab";
    let (csr_pem, key_pem) = csr(&lab, json!({"cn": name, "algorithm": "ECDSA", "dnsNames": [name]})).await;
    let (s, client) = lab
        .mgmt(
            "POST",
            &format!("/api/v1/ca/local-cas/{ca}/certs"),
            Some(json!({"csr": csr_pem, "purpose": "client", "duration": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // A client certificate cannot serve TLS (no serverAuth EKU).
    let chain = format!("{}{}", client["cert"].as_str().expect("cert"), lab.ctm.ca_cert_pem());
    assert!(matches!(tls_reach(&lab, name, &chain, &key_pem).await, Err(ClientError::Tls { .. })));

    let (s, sub) = lab
        .mgmt(
            "POST",
            &format!("/api/v1/ca/local-cas/{ca}/certs"),
            Some(json!({"csr": csr_pem, "purpose": "ca", "duration": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let pem_text = sub["cert"].as_str().expect("cert");
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).expect("pem");
    let cert = pem.parse_x509().expect("x509");
    assert!(cert.is_ca());
    let days = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86400;
    assert!((29..=31).contains(&days), "{days}");

    let (s, e) = lab
        .mgmt("POST", &format!("/api/v1/ca/local-cas/{ca}/certs"), Some(json!({"csr": "garbage", "purpose": "server"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["codeDesc"], "NCERRInvalidParamValue");
    let (s, _) = lab
        .mgmt("POST", &format!("/api/v1/ca/local-cas/{ca}/certs"), Some(json!({"csr": csr_pem, "purpose": "email"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn issued_certs_list_get_revoke_resume_delete() {
    let lab = Lab::start().await;
    let ca = root_id(&lab).await;
    let (csr_pem, _) = csr(&lab, json!({"cn": "a.lab", "algorithm": "ECDSA"})).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, c) = lab
            .mgmt(
                "POST",
                &format!("/api/v1/ca/local-cas/{ca}/certs"),
                Some(json!({"csr": csr_pem, "name": format!("c{i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    let (_, page) = lab.mgmt("GET", &format!("/api/v1/ca/local-cas/{ca}/certs?skip=1&limit=1"), None).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["skip"], 1);
    assert_eq!(page["resources"].as_array().expect("array").len(), 1);
    assert_eq!(page["resources"][0]["id"], ids[1].as_str());

    let (s, r) = lab
        .mgmt(
            "POST",
            &format!("/api/v1/ca/local-cas/{ca}/certs/{}/revoke", ids[0]),
            Some(json!({"reason": "keyCompromise"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["state"], "revoked");
    assert_eq!(r["revoked_reason"], "keyCompromise");
    let (s, _) = lab
        .mgmt("POST", &format!("/api/v1/ca/local-cas/{ca}/certs/{}/revoke", ids[1]), Some(json!({"reason": "because"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = lab.mgmt("POST", &format!("/api/v1/ca/local-cas/{ca}/certs/{}/resume", ids[0]), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    lab.mgmt(
        "POST",
        &format!("/api/v1/ca/local-cas/{ca}/certs/{}/revoke", ids[1]),
        Some(json!({"reason": "certificateHold"})),
    )
    .await;
    let (s, r) = lab.mgmt("POST", &format!("/api/v1/ca/local-cas/{ca}/certs/{}/resume", ids[1]), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["state"], "active");

    let (_, revoked) = lab.mgmt("GET", &format!("/api/v1/ca/local-cas/{ca}/certs?state=revoked"), None).await;
    assert_eq!(revoked["total"], 1);
    let (s, got) = lab.mgmt("GET", &format!("/api/v1/ca/local-cas/{ca}/certs/{}", ids[2]), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got["cert"].as_str().expect("cert").contains("BEGIN CERTIFICATE"));
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/ca/local-cas/{ca}/certs/{}", ids[2]), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = lab.mgmt("GET", &format!("/api/v1/ca/local-cas/{ca}/certs/{}", ids[2]), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
