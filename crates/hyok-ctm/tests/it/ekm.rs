//! The External KMS vendor API over real TLS: metadata, crypto round trip, blocking, errors,
//! request ids, random bytes, audit records.

use crate::support::{KMS_CLIENT, Lab, good_claims, mint};
use base64::{Engine, engine::general_purpose::STANDARD};
use http::StatusCode;
use serde_json::{Value, json};

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

#[tokio::test]
async fn metadata_endpoints_describe_vault_key_and_version() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let t = mint(&good_claims());
    let (st, h, v) = lab
        .call(
            "GET",
            &format!("{}/metadata", s.endpoint_url),
            &[("authorization", &format!("Bearer {t}")), ("opc-request-id", "oci-req-1")],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"state": "ACTIVE", "vendor": "Thales CTM"}));
    assert_eq!(h.get("opc-request-id").and_then(|x| x.to_str().ok()), Some("oci-req-1"));

    let (st, _, k) = lab.ekm("GET", &format!("{}/keys/{}/metadata", s.endpoint_url, s.key_id), &t, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(k["keyId"], s.key_id.as_str());
    assert_eq!(k["keyShape"], json!({"algorithm": "AES", "length": 256}));
    assert_eq!(k["state"], "ACTIVE");
    assert_eq!(k["keyOps"], json!(["ENCRYPT", "DECRYPT"]));
    let ver = k["currentKeyVersionId"].as_str().expect("version");

    let (st, _, kv) =
        lab.ekm("GET", &format!("{}/keys/{}/keyVersions/{ver}/metadata", s.endpoint_url, s.key_id), &t, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(kv["keyVersionId"], ver);
    assert_eq!(kv["state"], "ACTIVE");

    let (st, _, e) =
        lab.ekm("GET", &format!("{}/keys/{}/keyVersions/nope/metadata", s.endpoint_url, s.key_id), &t, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(e, json!({"code": "404", "message": "Invalid Key details"}));
    let (st, _, e) = lab
        .ekm("GET", &format!("{}/keys/00000000-0000-0000-0000-000000000000/metadata", s.endpoint_url), &t, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(e["message"], "Invalid key details provided");
    let other_vault = s.endpoint_url.replace(&s.vault_id, "00000000-0000-0000-0000-000000000000");
    let (st, _, e) = lab.ekm("GET", &format!("{other_vault}/metadata"), &t, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(e["message"], "Error in getting OCI vault");
}

async fn encrypt(lab: &Lab, url: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = lab.ekm("POST", &format!("{url}/keys/{key}/encrypt"), &mint(&good_claims()), Some(body)).await;
    (s, v)
}

async fn decrypt(lab: &Lab, url: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = lab.ekm("POST", &format!("{url}/keys/{key}/decrypt"), &mint(&good_claims()), Some(body)).await;
    (s, v)
}

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_aad_and_versions() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let pt = b"a 32-byte data encryption key!!!";
    let (st, blob) =
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(pt), "aad": b64(b"ctx"), "mode": "AES_GCM"}))
            .await;
    assert_eq!(st, StatusCode::OK, "{blob}");
    let ct = STANDARD.decode(blob["ciphertext"].as_str().expect("ct")).expect("b64");
    assert_eq!(ct.len(), pt.len());
    assert_ne!(&ct[..], &pt[..]);
    assert_eq!(STANDARD.decode(blob["iv"].as_str().expect("iv")).expect("iv").len(), 12);
    assert_eq!(STANDARD.decode(blob["tag"].as_str().expect("tag")).expect("tag").len(), 16);
    let v1 = blob["keyVersionId"].as_str().expect("version").to_string();

    // The encrypt output is the decrypt input, unchanged.
    let (st, out) = decrypt(&lab, &s.endpoint_url, &s.key_id, blob.clone()).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    assert_eq!(STANDARD.decode(out["plaintext"].as_str().expect("pt")).expect("b64"), pt);

    // Two encryptions of the same plaintext differ (fresh IV).
    let (_, again) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(pt), "aad": b64(b"ctx")})).await;
    assert_ne!(again["ciphertext"], blob["ciphertext"]);

    // Rotation: new encryptions use the new version, old blobs still decrypt with theirs.
    let (st, v2) = lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/versions", s.key_id), Some(json!({}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, blob2) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"new")})).await;
    assert_eq!(blob2["keyVersionId"], v2["id"]);
    let (st, _) = decrypt(&lab, &s.endpoint_url, &s.key_id, blob.clone()).await;
    assert_eq!(st, StatusCode::OK);
    let (_, pinned) =
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"old"), "keyVersionId": v1})).await;
    assert_eq!(pinned["keyVersionId"], v1.as_str());
    let (st, _) = decrypt(&lab, &s.endpoint_url, &s.key_id, blob2).await;
    assert_eq!(st, StatusCode::OK);

    // Caller-supplied IV is used as given.
    let iv = [7u8; 12];
    let (_, withiv) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x"), "iv": b64(&iv)})).await;
    assert_eq!(withiv["iv"], b64(&iv));
    let (st, e) =
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x"), "iv": b64(&[1u8; 8])})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    let (st, _) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x"), "mode": "AES_CBC"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_input_tampering_and_foreign_ciphertext_are_400() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let (_, other) = lab
        .mgmt("POST", "/api/v1/cckm/oci/create-external-key", Some(json!({"vault": s.vault_id, "name": "other"})))
        .await;
    let other_id = other["id"].as_str().expect("id");

    let (st, e) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": "abc$def"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(e, json!({"code": "400", "message": "Bad Request: illegal base64 data at input byte 3"}));

    let (_, blob) =
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"secret data"), "aad": b64(b"a")})).await;
    let mut ct = STANDARD.decode(blob["ciphertext"].as_str().expect("ct")).expect("b64");
    ct[0] ^= 1;
    let mut tampered = blob.clone();
    tampered["ciphertext"] = json!(b64(&ct));
    let (st, e) = decrypt(&lab, &s.endpoint_url, &s.key_id, tampered).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").starts_with("Error in decryption"), "{e}");
    assert!(e["message"].as_str().expect("message").contains("AEAD decrypt final failed"));

    let mut wrong_aad = blob.clone();
    wrong_aad["aad"] = json!(b64(b"b"));
    assert_eq!(decrypt(&lab, &s.endpoint_url, &s.key_id, wrong_aad).await.0, StatusCode::BAD_REQUEST);
    let mut bad_tag = blob.clone();
    bad_tag["tag"] = json!("!!!!");
    let (st, e) = decrypt(&lab, &s.endpoint_url, &s.key_id, bad_tag).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").contains("illegal base64 data at input byte 0"));

    // Another key's blob, as is and with its key references stripped.
    let (st, e) = decrypt(&lab, &s.endpoint_url, other_id, blob.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    let mut stripped = blob.clone();
    stripped.as_object_mut().expect("object").remove("keyVersionId");
    stripped.as_object_mut().expect("object").remove("keyId");
    let (st, _) = decrypt(&lab, &s.endpoint_url, other_id, stripped).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, _, e) = lab
        .ekm(
            "POST",
            &format!("{}/keys/{}/encrypt", s.endpoint_url, s.key_id),
            &mint(&good_claims()),
            Some(json!({"nope": 1})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").starts_with("Bad Request"));
}

#[tokio::test]
async fn blocked_key_or_vault_is_403_until_unblocked() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let (_, blob) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"hello")})).await;

    lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/block", s.key_id), None).await;
    let (st, e) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"hello")})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(e, json!({"code": "403", "message": "OCI key is not in Active state to perform the operation."}));
    assert_eq!(decrypt(&lab, &s.endpoint_url, &s.key_id, blob.clone()).await.0, StatusCode::FORBIDDEN);
    let (_, _, meta) =
        lab.ekm("GET", &format!("{}/keys/{}/metadata", s.endpoint_url, s.key_id), &mint(&good_claims()), None).await;
    assert_eq!(meta["state"], "BLOCKED");
    let (st, _, e) = lab
        .ekm(
            "POST",
            &format!("{}/keys/{}/generateRandomBytes", s.endpoint_url, s.key_id),
            &mint(&good_claims()),
            Some(json!({"length": 16})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(e["message"], "Key is in disabled state.");
    lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/unblock", s.key_id), None).await;
    assert_eq!(decrypt(&lab, &s.endpoint_url, &s.key_id, blob.clone()).await.0, StatusCode::OK);

    lab.mgmt("POST", &format!("/api/v1/cckm/oci/vaults/{}/block", s.vault_id), None).await;
    assert_eq!(
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x")})).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, _, vm) = lab.ekm("GET", &format!("{}/metadata", s.endpoint_url), &mint(&good_claims()), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(vm["state"], "BLOCKED");
    let (st, _, _) = lab
        .ekm(
            "POST",
            &format!("{}/generateRandomBytes", s.endpoint_url),
            &mint(&good_claims()),
            Some(json!({"length": 16})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    lab.mgmt("POST", &format!("/api/v1/cckm/oci/vaults/{}/unblock", s.vault_id), None).await;
    let (st, out) = decrypt(&lab, &s.endpoint_url, &s.key_id, blob).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(out["plaintext"], b64(b"hello"));
}

#[tokio::test]
async fn source_key_state_controls_crypto() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let (_, blob) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"hello")})).await;
    let (_, key) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys/{}", s.key_id), None).await;
    let src = key["hyok_key_params"]["source_key_identifier"].as_str().expect("src").to_string();
    lab.mgmt("POST", &format!("/api/v1/vault/keys2/{src}/revoke"), Some(json!({"reason": "superseded"}))).await;
    // Deactivated: no new encryptions, old data still decrypts.
    assert_eq!(
        encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x")})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(decrypt(&lab, &s.endpoint_url, &s.key_id, blob.clone()).await.0, StatusCode::OK);
    lab.mgmt("POST", &format!("/api/v1/vault/keys2/{src}/destroy"), None).await;
    assert_eq!(decrypt(&lab, &s.endpoint_url, &s.key_id, blob).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn random_bytes_at_vault_and_key_level() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let t = mint(&good_claims());
    for url in [
        format!("{}/generateRandomBytes", s.endpoint_url),
        format!("{}/keys/{}/generateRandomBytes", s.endpoint_url, s.key_id),
    ] {
        let (st, _, v) = lab.ekm("POST", &url, &t, Some(json!({"length": 48}))).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(STANDARD.decode(v["randomBytes"].as_str().expect("bytes")).expect("b64").len(), 48);
        let (st, _, _) = lab.ekm("POST", &url, &t, Some(json!({"length": 0}))).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, _, _) = lab.ekm("POST", &url, &t, Some(json!({"length": 65536}))).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn every_vendor_call_is_audited() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    let t = mint(&good_claims());
    lab.call(
        "GET",
        &format!("{}/metadata", s.endpoint_url),
        &[("authorization", &format!("Bearer {t}")), ("opc-request-id", "audit-1")],
        None,
    )
    .await;
    let (_, blob) = encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x")})).await;
    lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/block", s.key_id), None).await;
    encrypt(&lab, &s.endpoint_url, &s.key_id, json!({"plaintext": b64(b"x")})).await;
    lab.ekm("GET", &format!("{}/metadata", s.endpoint_url), "not-a-jwt", None).await;

    let (st, recs) = lab.mgmt("GET", &format!("/api/v1/audit/records?vault_id={}", s.vault_id), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(recs["total"], 4);
    let r = &recs["resources"];
    // Newest first.
    assert_eq!(r[0]["operation"], "GetVaultMetadata");
    assert_eq!(r[0]["result"], "failure");
    assert_eq!(r[0]["status"], 401);
    assert_eq!(r[1]["operation"], "Encrypt");
    assert_eq!(r[1]["status"], 403);
    assert_eq!(r[1]["client_id"], KMS_CLIENT);
    assert_eq!(r[2]["operation"], "Encrypt");
    assert_eq!(r[2]["result"], "success");
    assert_eq!(r[2]["key_id"], s.key_id.as_str());
    assert_eq!(r[2]["key_version_id"], blob["keyVersionId"]);
    assert_eq!(r[3]["request_id"], "audit-1");
    let (_, only) = lab.mgmt("GET", "/api/v1/audit/records?result=success&operation=Encrypt", None).await;
    assert_eq!(only["total"], 1);
    assert_eq!(lab.ctm.audit_records().len(), 4);
}
