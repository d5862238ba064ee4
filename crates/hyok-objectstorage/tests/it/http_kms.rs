//! `HttpKmsClient` against a test KMS crypto endpoint over real TLS, with OCI's
//! generateDataEncryptionKey/decrypt shapes and signature verification.

use crate::support::{Lab, NS, OS_IP, obj_path, pattern, service_key, temp_dir};
use axum::{Json, Router, extract::State, response::IntoResponse, routing::post};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use hyok_core::{Outcome, host::Endpoint, host::ServiceHost};
use hyok_objectstorage::{HttpKmsClient, InProcessKms, KmsFailure, kms};
use hyok_oci_rest::OciError;
use hyok_oci_rest::{KeyStore, SignatureVerifier, signing::SignatureHeader};
use parking_lot::Mutex;

use hyok_test_support::LoopbackHost;
use serde_json::{Value, json};
use std::{net::Ipv4Addr, sync::Arc};

const KMS_IP: Ipv4Addr = Ipv4Addr::new(134, 70, 30, 5);

#[derive(Clone, Debug)]
struct Seen {
    op: String,
    signed: Vec<String>,
    key_id: String,
    request_id: String,
    include_plaintext: Option<bool>,
}

struct FakeKms {
    kms: Arc<InProcessKms>,
    seen: Mutex<Vec<Seen>>,
}

fn failure(f: KmsFailure) -> OciError {
    match f {
        KmsFailure::KeyDisabled { detail, .. } => OciError::incorrect_state(detail),
        KmsFailure::KeyNotFound { detail, .. } => OciError::not_found(detail),
        KmsFailure::BadCiphertext { detail } => OciError::invalid_parameter(detail),
        KmsFailure::Unreachable { detail } => {
            OciError::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", detail)
        }
        other => OciError::internal(other),
    }
}

fn record(fake: &FakeKms, op: &str, headers: &HeaderMap, body: &Value) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let sig = SignatureHeader::parse(auth).expect("signature header");
    fake.seen.lock().push(Seen {
        op: op.into(),
        signed: sig.headers,
        key_id: sig.key_id,
        request_id: headers.get("opc-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().into(),
        include_plaintext: body["includePlaintextKey"].as_bool(),
    });
}

async fn generate(State(fake): State<Arc<FakeKms>>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let v: Value = serde_json::from_slice(&body).expect("json");
    record(&fake, "generateDataEncryptionKey", &headers, &v);
    assert_eq!(v["keyShape"], json!({"algorithm": "AES", "length": 32}));
    let key_id = v["keyId"].as_str().expect("keyId");
    match fake.kms.generate_now(key_id) {
        Ok(dk) => {
            let mut out = json!({"ciphertext": dk.wrapped, "plaintextChecksum": "0"});
            if v["includePlaintextKey"] == true {
                out["plaintext"] = B64.encode(dk.plaintext).into();
            }
            Json(out).into_response()
        }
        Err(f) => failure(f).into_response(),
    }
}

async fn decrypt(State(fake): State<Arc<FakeKms>>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    let v: Value = serde_json::from_slice(&body).expect("json");
    record(&fake, "decrypt", &headers, &v);
    let key_id = v["keyId"].as_str().expect("keyId");
    match fake.kms.decrypt_now(key_id, v["ciphertext"].as_str().expect("ciphertext")) {
        Ok(k) => Json(json!({"plaintext": B64.encode(k), "plaintextChecksum": "0", "keyId": key_id})).into_response(),
        Err(f) => failure(f).into_response(),
    }
}

#[tokio::test]
async fn object_storage_uses_a_real_kms_crypto_endpoint_over_https() {
    let host = LoopbackHost::new();
    let inner = Arc::new(InProcessKms::new());
    let key = inner.create_key();
    let endpoint = hyok_core::ids::kms_vault_endpoints(&key).expect("a key OCID names its vault").crypto;
    let kms_host = endpoint.trim_start_matches("https://").to_string();
    let service_key_id =
        format!("ocid1.tenancy.oc1..aaaaaaaalab/ocid1.user.oc1..aaaaaaaaobjectstorage/{}", service_key().fingerprint());
    let keys = KeyStore::new();
    keys.insert(service_key_id.clone(), service_key().public_key());
    let fake = Arc::new(FakeKms { kms: inner.clone(), seen: Mutex::new(vec![]) });
    let app = Router::new()
        .route("/20180608/generateDataEncryptionKey", post(generate))
        .route("/20180608/decrypt", post(decrypt))
        .with_state(fake.clone());
    let app = hyok_oci_rest::signing::protect(app, Arc::new(SignatureVerifier::new(keys)));
    let cert = host.public_ca().issue_server(&[&kms_host]).expect("cert");
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("tls");
    let ep =
        Endpoint { name: "kms-crypto test".into(), kind: "kms-crypto".into(), host: kms_host, ip: KMS_IP, port: 443 };
    host.host(ep, app, tls).await.expect("host kms");

    let client = HttpKmsClient::new(
        host.dial_from(OS_IP),
        host.public_ca().cert_pem(),
        service_key(),
        service_key_id.clone(),
        host.events(),
    )
    .expect("kms client")
    .with_source("objectstorage@134.70.24.1");
    let lab = Lab::start_on(host.clone(), inner.clone(), Arc::new(client), temp_dir(), |os| os).await;

    lab.bucket("hyok", Some(&key)).await;
    let data = pattern(200_000, 11);
    let put = lab.put_object("hyok", "o", data.clone(), &[("opc-request-id", "test-put-1")]).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    let get = lab.get_object_with("hyok", "o", &[("opc-request-id", "test-get-1")]).await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert!(get.body() == &data);

    let seen = fake.seen.lock().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].op, "generateDataEncryptionKey");
    assert_eq!(seen[0].include_plaintext, Some(false), "the create-time check asks for no key material");
    let put_call = seen.iter().find(|s| s.request_id == "test-put-1").expect("put call");
    assert_eq!(put_call.op, "generateDataEncryptionKey");
    assert_eq!(put_call.include_plaintext, Some(true));
    let get_call = seen.iter().find(|s| s.request_id == "test-get-1").expect("get call");
    assert_eq!(get_call.op, "decrypt");
    for s in &seen {
        assert_eq!(s.key_id, service_key_id);
        assert_eq!(
            s.signed,
            ["date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256"]
        );
    }
    let hops = host.events().by_request("test-get-1");
    let hop = hops.iter().find(|h| h.hop == kms::HOP).expect("hop recorded");
    assert_eq!(hop.outcome, Outcome::Ok);
    assert_eq!(hop.status, Some(200));
    assert_eq!(hop.source, "objectstorage@134.70.24.1");

    // A key KMS does not know (same vault endpoint).
    let unknown = format!("{}.aaaaaaaaunknownkey0000", key.rsplit_once('.').expect("dot").0);
    let body = json!({"name": "other", "compartmentId": lab.tenancy.compartment_id, "kmsKeyId": unknown});
    lab.call(Method::POST, &format!("/n/{NS}/b"), Some(&body)).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrFoundKmsKey",
        "404",
    );

    // Blocked in the key manager: KMS answers 409, Object Storage says the key is disabled.
    inner.set_blocked(&key, true);
    let r = lab.call_with(Method::GET, &obj_path("hyok", "o"), None, &[("opc-request-id", "test-get-2")]).await;
    r.assert_error(StatusCode::CONFLICT, "KmsKeyDisabled", "disabled or blocked");
    let hop = host.events().by_request("test-get-2").into_iter().find(|h| h.hop == kms::HOP).expect("hop");
    assert_eq!((hop.outcome, hop.status), (Outcome::Error, Some(409)));
    inner.set_blocked(&key, false);

    // The crypto endpoint goes away: 503 that names the unreachable key manager.
    host.unhost(KMS_IP, 443).await;
    let r = lab.call_with(Method::GET, &obj_path("hyok", "o"), None, &[("opc-request-id", "test-get-3")]).await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "KmsUnavailable", "unreachable");
    let hop = host.events().by_request("test-get-3").into_iter().find(|h| h.hop == kms::HOP).expect("hop");
    assert_eq!(hop.outcome, Outcome::Unreachable);
}
