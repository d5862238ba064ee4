//! The crypto API on the vault's crypto endpoint, backed by CTM's vendor API.

use crate::support::{World, b64, crypto, mgmt, unb64};
use http::{Method, StatusCode};
use hyok_core::{Clock, host::ServiceHost as _};
use hyok_kms::HOP_TOKEN;
use serde_json::json;
use std::time::Duration;

async fn ready(w: &World) -> (serde_json::Value, String) {
    let vault = w.active_vault().await;
    let key = w.key_settled(&vault, &w.ctm_key_id).await;
    assert_eq!(key["lifecycleState"], "ENABLED", "{key}");
    (vault, key["id"].as_str().expect("key id").to_string())
}

#[tokio::test]
async fn encrypt_decrypt_and_data_keys_round_trip() {
    let w = World::start().await;
    let (vault, key) = ready(&w).await;
    let pt = b"Hold Your Own Key";

    let r = w.encrypt(&vault, &key, pt, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["keyId"], key.as_str());
    assert_eq!(r.json["encryptionAlgorithm"], "AES_256_GCM");
    let ct = r.json["ciphertext"].clone();
    assert!(!unb64(&ct).windows(pt.len()).any(|w| w == pt), "ciphertext must not contain the plaintext");
    let d = w.decrypt(&vault, &key, &ct, None).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(unb64(&d.json["plaintext"]), pt);
    assert_eq!(d.json["keyVersionId"], r.json["keyVersionId"]);
    assert!(d.json["plaintextChecksum"].as_str().is_some_and(|c| c.parse::<u32>().is_ok()));
    assert_ne!(w.encrypt(&vault, &key, pt, None).await.json["ciphertext"], ct, "fresh IV per call");

    // Associated data is bound: required and must match.
    let aad = json!({"bucket": "hyok-bucket", "object": "a.txt"});
    let r = w.encrypt(&vault, &key, pt, Some(aad.clone())).await;
    let ct_aad = r.json["ciphertext"].clone();
    assert_eq!(unb64(&w.decrypt(&vault, &key, &ct_aad, Some(aad)).await.json["plaintext"]), pt);
    let d = w.decrypt(&vault, &key, &ct_aad, None).await;
    assert_eq!((d.status, d.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")));
    let d = w.decrypt(&vault, &key, &ct_aad, Some(json!({"bucket": "other", "object": "a.txt"}))).await;
    assert_eq!(d.status, StatusCode::BAD_REQUEST, "{}", d.text);

    // Tampered ciphertext → 400 InvalidParameter (envelope or AEAD check).
    let mut raw = unb64(&ct);
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let d = w.decrypt(&vault, &key, &json!(b64(&raw)), None).await;
    assert_eq!((d.status, d.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{}", d.text);
    let d = w.decrypt(&vault, &key, &json!("bm90IGFuIGVudmVsb3Bl"), None).await;
    assert_eq!(d.json["code"], "InvalidParameter");

    // Data encryption keys: plaintext only on request; the ciphertext decrypts to it.
    let url = format!("{}/20180608/generateDataEncryptionKey", crypto(&vault));
    let generate_key = |include_plaintext: bool, length: u32| {
        let body = json!({"keyId": key, "includePlaintextKey": include_plaintext, "keyShape": {"algorithm": "AES", "length": length}});
        w.oci(Method::POST, &url, Some(body))
    };
    let g = generate_key(true, 32).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    let dek = unb64(&g.json["plaintext"]);
    assert_eq!(dek.len(), 32);
    assert_eq!(unb64(&w.decrypt(&vault, &key, &g.json["ciphertext"], None).await.json["plaintext"]), dek);
    let g = generate_key(false, 16).await;
    assert_eq!(g.status, StatusCode::OK);
    assert!(g.json.get("plaintext").is_none());
    assert_eq!(unb64(&w.decrypt(&vault, &key, &g.json["ciphertext"], None).await.json["plaintext"]).len(), 16);
    let g = generate_key(true, 20).await;
    assert_eq!(g.status, StatusCode::BAD_REQUEST);

    // After a rotation, old ciphertexts still decrypt (routed to their version) and new ones use v2.
    let (_, ver) = w
        .ctm_api
        .call(Method::POST, &format!("/api/v1/cckm/oci/keys/{}/versions", w.ctm_key_id), Some(json!({})))
        .await;
    let key_url = format!("{}/20180608/keys/{key}", mgmt(&vault));
    let r =
        w.oci(Method::POST, &format!("{key_url}/keyVersions"), Some(json!({"externalKeyVersionId": ver["id"]}))).await;
    let v2 = r.json["id"].as_str().expect("v2").to_string();
    w.wait_state(&format!("{key_url}/keyVersions/{v2}"), "ENABLED").await;
    let r = w.encrypt(&vault, &key, pt, None).await;
    assert_eq!(r.json["keyVersionId"], v2.as_str());
    assert_eq!(unb64(&w.decrypt(&vault, &key, &r.json["ciphertext"], None).await.json["plaintext"]), pt);
    let d = w.decrypt(&vault, &key, &ct, None).await;
    assert_eq!(unb64(&d.json["plaintext"]), pt);
    assert_ne!(d.json["keyVersionId"], v2.as_str());

    // A ciphertext of another key reference is refused.
    let other_ctm = w.ctm_api.key(&w.ctm_vault_id, "hyok-key-2").await;
    let other = w.key_settled(&vault, &other_ctm).await;
    let d = w.decrypt(&vault, other["id"].as_str().expect("id"), &ct, None).await;
    assert_eq!((d.status, d.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{}", d.text);

    // One token served every call above (cached per vault).
    let tokens = w.host.events().last(10_000).into_iter().filter(|h| h.hop == HOP_TOKEN).count();
    assert_eq!(tokens, 1);
    // Unsigned crypto calls are refused.
    let r = w
        .send(Method::POST, &format!("{}/20180608/encrypt", crypto(&vault)), &[], Some(bytes::Bytes::from("{}")), false)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn blocking_in_the_key_manager_and_disabling_in_oci_stop_crypto() {
    let w = World::start().await;
    let (vault, key) = ready(&w).await;
    let ct = w.encrypt(&vault, &key, b"data", None).await.json["ciphertext"].clone();

    let block = |what: &'static str, id: String| {
        let w = &w;
        async move {
            let (s, v) = w.ctm_api.call(Method::POST, &format!("/api/v1/cckm/oci/{what}/{id}"), None).await;
            assert!(s.is_success(), "{v}");
        }
    };
    block("keys", format!("{}/block", w.ctm_key_id)).await;
    let r = w.encrypt(&vault, &key, b"data", None).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("IncorrectState")), "{}", r.text);
    assert!(r.json["message"].as_str().expect("msg").contains("403"), "{}", r.text);
    let d = w.decrypt(&vault, &key, &ct, None).await;
    assert_eq!(d.status, StatusCode::CONFLICT);
    block("keys", format!("{}/unblock", w.ctm_key_id)).await;
    assert_eq!(w.decrypt(&vault, &key, &ct, None).await.status, StatusCode::OK);

    block("vaults", format!("{}/block", w.ctm_vault_id)).await;
    assert_eq!(w.encrypt(&vault, &key, b"data", None).await.status, StatusCode::CONFLICT);
    block("vaults", format!("{}/unblock", w.ctm_vault_id)).await;
    assert_eq!(w.encrypt(&vault, &key, b"data", None).await.status, StatusCode::OK);

    // Disabled key reference → 409 without asking the key manager.
    let key_url = format!("{}/20180608/keys/{key}", mgmt(&vault));
    w.oci(Method::POST, &format!("{key_url}/actions/disable"), None).await;
    let before = w.ctm.audit_records().len();
    let r = w.encrypt(&vault, &key, b"data", None).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("IncorrectState")));
    assert_eq!(w.ctm.audit_records().len(), before);
    w.oci(Method::POST, &format!("{key_url}/actions/enable"), None).await;
    assert_eq!(w.decrypt(&vault, &key, &ct, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_client_secret_breaks_the_vault_at_the_next_token() {
    // Resource_App tokens live 60 s, so KMS refreshes after 48 s on its (manual) clock.
    let w = World::start_with(Some(60), Clock::manual()).await;
    let (vault, key) = ready(&w).await;
    assert_eq!(w.encrypt(&vault, &key, b"x", None).await.status, StatusCode::OK);
    w.idcs.rotate_secret(&w.client).await;
    // The cached token still works...
    assert_eq!(w.encrypt(&vault, &key, b"x", None).await.status, StatusCode::OK);
    w.clock.advance(Duration::from_secs(47));
    assert_eq!(w.encrypt(&vault, &key, b"x", None).await.status, StatusCode::OK, "not refreshed yet");
    // ...until it is refreshed with the old secret, which OCI cannot update.
    w.clock.advance(Duration::from_secs(13));
    let r = w.encrypt(&vault, &key, b"x", None).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("ServiceUnavailable")),
        "{}",
        r.text
    );
    let msg = r.json["message"].as_str().expect("msg");
    assert!(msg.contains(HOP_TOKEN) && msg.contains("invalid_client"), "{msg}");
}
