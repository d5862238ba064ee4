//! CCKM for OCI management: tenancy, issuers (discovery + protected JWKS), vaults, keys,
//! versions, block/unblock, delete rules.

use crate::support::{CTM_IP, KMS_CLIENT, Lab, RESOURCE_CLIENT, good_claims, mint};
use http::StatusCode;
use hyok_core::Outcome;
use hyok_ctm::CtmConfig;
use serde_json::json;
use std::sync::atomic::Ordering;

#[tokio::test]
async fn tenancy_issuer_vault_key_happy_path() {
    let lab = Lab::start().await;
    let setup = lab.setup().await;

    let (_, ts) = lab.mgmt("GET", "/api/v1/cckm/oci/tenancy", None).await;
    assert_eq!(ts["total"], 1);
    assert_eq!(ts["resources"][0]["tenancy"], "oci-thales");
    assert!(ts["resources"][0]["tenancy_ocid"].as_str().expect("ocid").starts_with("ocid1.tenancy.oc1.."));

    let (_, issuer) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/issuers/{}", setup.issuer_id), None).await;
    assert_eq!(issuer["issuer"], "https://identity.oraclecloud.com/");
    assert_eq!(issuer["jwks_uri"], format!("https://{}/admin/v1/SigningCert/jwk", lab.idp.host()));
    // The discovery document and the JWKS were fetched over HTTPS, and recorded as hops.
    assert_eq!(lab.idp.state.jwks_fetches.load(Ordering::SeqCst), 1);
    let hops = lab.events.last(10);
    assert!(hops.iter().any(|h| h.hop.contains("OpenID configuration") && h.outcome == Outcome::Ok));
    assert!(hops.iter().any(|h| h.hop.contains("JWKS") && h.outcome == Outcome::Ok));

    assert_eq!(setup.endpoint_url, format!("https://{CTM_IP}/api/v1/cckm/oci/ekm/v1/vaults/{}", setup.vault_id));
    let (_, vault) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/vaults/{}", setup.vault_id), None).await;
    assert_eq!(vault["client_application_id"], KMS_CLIENT);
    assert_eq!(vault["blocked"], false);
    assert_eq!(vault["uri"], format!("kylo:kylo:cckm:oci-vault:{}", setup.vault_id));
    let (_, vaults) = lab.mgmt("GET", "/api/v1/cckm/oci/vaults", None).await;
    assert_eq!(vaults["total"], 1);

    let (_, key) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys/{}", setup.key_id), None).await;
    assert_eq!(key["cckm_vault_id"], setup.vault_id.as_str());
    assert_eq!(key["hyok_key_params"]["linked_state"], false);
    // A new local source key was made: AES-256, undeletable, unexportable.
    let src = key["hyok_key_params"]["source_key_identifier"].as_str().expect("source");
    let (_, local) = lab.mgmt("GET", &format!("/api/v1/vault/keys2/{src}"), None).await;
    assert_eq!(local["size"], 256);
    assert_eq!(local["undeletable"], true);
    assert_eq!(local["unexportable"], true);
    let (_, versions) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys/{}/versions", setup.key_id), None).await;
    assert_eq!(versions["total"], 1);
    let (_, keys) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys?cckm_vault_id={}", setup.vault_id), None).await;
    assert_eq!(keys["total"], 1);
}

#[tokio::test]
async fn protected_jwks_is_fetched_with_resource_app_credentials() {
    let lab = Lab::start_with(CtmConfig::default(), true).await;
    lab.mgmt(
        "POST",
        "/api/v1/cckm/oci/add-tenancy",
        Some(json!({"tenancy": "t", "tenancy_ocid": hyok_core::ids::ocid("tenancy", None)})),
    )
    .await;
    // Without credentials the IdP answers 401 and the issuer is refused.
    let (s, e) = lab
        .create_issuer(json!({"name": "i0", "openid_config_url": lab.idp.openid_url(), "jwks_uri_protected": false}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").contains("401"), "{e}");
    assert!(
        lab.events
            .last(5)
            .iter()
            .any(|h| h.hop.contains("JWKS") && h.outcome == Outcome::Error && h.status == Some(401))
    );
    let (s, _) = lab
        .create_issuer(json!({"name": "i1", "openid_config_url": lab.idp.openid_url(), "jwks_uri_protected": true}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "client_id/secret are required when protected");
    let (s, wrong) = lab
        .create_issuer(json!({"name": "i2", "openid_config_url": lab.idp.openid_url(), "jwks_uri_protected": true,
                        "client_id": RESOURCE_CLIENT, "client_secret": "wrong"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{wrong}");
    let setup = lab.setup().await;
    let (_, issuer) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/issuers/{}", setup.issuer_id), None).await;
    assert_eq!(issuer["client_id"], RESOURCE_CLIENT);
    assert!(issuer.get("client_secret").is_none(), "client_secret is write-only");
    // And tokens verify against that JWKS.
    let (s, _, v) = lab.ekm("GET", &format!("{}/metadata", setup.endpoint_url), &mint(&good_claims()), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn issuer_by_issuer_and_jwks_uri_and_errors() {
    let lab = Lab::start().await;
    let jwks_uri = format!("https://{}/admin/v1/SigningCert/jwk", lab.idp.host());
    let direct = json!({"name": "direct", "issuer": "https://identity.oraclecloud.com/", "jwks_uri": jwks_uri,
                        "jwks_uri_protected": false});
    let (s, i) = lab.create_issuer(direct).await;
    assert_eq!(s, StatusCode::CREATED, "{i}");
    let (s, _) = lab
        .create_issuer(
            json!({"name": "direct", "openid_config_url": lab.idp.openid_url(), "jwks_uri_protected": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let down = "https://127.0.0.1:1/.well-known/openid-configuration";
    let (s, e) =
        lab.create_issuer(json!({"name": "down", "openid_config_url": down, "jwks_uri_protected": false})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").contains("127.0.0.1:1"), "{e}");
    assert!(lab.events.last(3).iter().any(|h| h.outcome == Outcome::Unreachable));
    let (s, _) = lab.create_issuer(json!({"name": "x", "jwks_uri_protected": false})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, list) = lab.mgmt("GET", "/api/v1/cckm/oci/issuers", None).await;
    assert_eq!(list["total"], 1);
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/issuers/{}", i["id"].as_str().expect("id")), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn vault_endpoint_url_port_and_fqdn_rules() {
    let lab = Lab::start().await;
    let setup = lab.setup().await;
    let body = |name: &str, host: &str, port: u16| {
        json!({"vault_name": name, "tenancy": "oci-thales", "issuer_id": setup.issuer_id, "client_application_id": KMS_CLIENT,
               "endpoint_url_hostname": host, "endpoint_url_port": port})
    };
    let (s, v) =
        lab.mgmt("POST", "/api/v1/cckm/oci/create-external-vault", Some(body("v8443", "172.16.1.103", 8443))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        v["endpoint_url"],
        format!("https://172.16.1.103:8443/api/v1/cckm/oci/ekm/v1/vaults/{}", v["id"].as_str().expect("id"))
    );
    let (s, e) = lab
        .mgmt("POST", "/api/v1/cckm/oci/create-external-vault", Some(body("vfqdn", "oci-api-gw.oci-thales.lab", 443)))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().expect("message").contains("FQDN"));
    let (s, _) =
        lab.mgmt("POST", "/api/v1/cckm/oci/create-external-vault", Some(body("v8443", "172.16.1.103", 443))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut missing_tenancy = body("vt", "172.16.1.103", 443);
    missing_tenancy["tenancy"] = json!("unknown");
    let (s, _) = lab.mgmt("POST", "/api/v1/cckm/oci/create-external-vault", Some(missing_tenancy)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An issuer used by a vault cannot be deleted; a vault with keys cannot be deleted.
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/issuers/{}", setup.issuer_id), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/vaults/{}", setup.vault_id), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/vaults/{}", v["id"].as_str().expect("id")), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn external_key_from_existing_local_key_rotation_and_delete_rules() {
    let lab = Lab::start().await;
    let setup = lab.setup().await;
    let (_, local) = lab
        .mgmt(
            "POST",
            "/api/v1/vault/keys2",
            Some(json!({"name": "src", "algorithm": "aes", "size": 256, "undeletable": true, "unexportable": true})),
        )
        .await;
    let src = local["id"].as_str().expect("id");
    let (s, key) = lab
        .mgmt("POST", "/api/v1/cckm/oci/create-external-key", Some(json!({"vault": setup.vault_id, "name": "k2", "source_key_tier": "local", "source_key_identifier": src})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    assert_eq!(key["hyok_key_params"]["source_key_identifier"], src);
    let key_id = key["id"].as_str().expect("id").to_string();
    let (s, _) = lab
        .mgmt("POST", "/api/v1/cckm/oci/create-external-key", Some(json!({"vault": setup.vault_id, "name": "k2"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "key names are unique within a vault");
    let (_, small) = lab.mgmt("POST", "/api/v1/vault/keys2", Some(json!({"name": "small", "size": 128}))).await;
    let (s, _) = lab
        .mgmt(
            "POST",
            "/api/v1/cckm/oci/create-external-key",
            Some(json!({"vault": setup.vault_id, "name": "k3", "source_key_identifier": small["id"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "AES-256 only");

    // Rotation adds a version that becomes current.
    let (s, v2) = lab
        .mgmt(
            "POST",
            &format!("/api/v1/cckm/oci/keys/{key_id}/versions"),
            Some(json!({"source_key_tier": "local", "is_native": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, versions) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys/{key_id}/versions"), None).await;
    assert_eq!(versions["total"], 2);
    let (_, k) = lab.mgmt("GET", &format!("/api/v1/cckm/oci/keys/{key_id}"), None).await;
    assert_eq!(k["hyok_key_params"]["current_version_id"], v2["id"]);
    let (s, one) = lab
        .mgmt("GET", &format!("/api/v1/cckm/oci/keys/{key_id}/versions/{}/", v2["id"].as_str().expect("id")), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["hyok_key_version_params"]["oci_key_id"], key_id.as_str());

    // The source key is in use: it cannot be deleted even when deletable.
    lab.mgmt("PATCH", &format!("/api/v1/vault/keys2/{src}"), Some(json!({"undeletable": false}))).await;
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/vault/keys2/{src}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Once OCI read its metadata the key is linked and cannot be deleted.
    let (s, _, _) = lab
        .ekm("GET", &format!("{}/keys/{}/metadata", setup.endpoint_url, setup.key_id), &mint(&good_claims()), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, linked) = lab.mgmt("GET", "/api/v1/cckm/oci/keys?linked_state=true", None).await;
    assert_eq!(linked["total"], 1);
    let (s, e) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/keys/{}", setup.key_id), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(e["message"].as_str().expect("message").contains("unlinked"));
    // The unlinked key can be deleted, and then its source key too.
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/cckm/oci/keys/{key_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = lab.mgmt("DELETE", &format!("/api/v1/vault/keys2/{src}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn block_and_unblock_show_in_management_objects() {
    let lab = Lab::start().await;
    let setup = lab.setup().await;
    let (s, v) = lab.mgmt("POST", &format!("/api/v1/cckm/oci/vaults/{}/block", setup.vault_id), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["blocked"], true);
    let (_, blocked) = lab.mgmt("GET", "/api/v1/cckm/oci/vaults?blocked=true", None).await;
    assert_eq!(blocked["total"], 1);
    let (_, v) = lab.mgmt("POST", &format!("/api/v1/cckm/oci/vaults/{}/unblock", setup.vault_id), None).await;
    assert_eq!(v["blocked"], false);
    let (_, k) = lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/block", setup.key_id), None).await;
    assert_eq!(k["hyok_key_params"]["blocked"], true);
    let (_, k) = lab.mgmt("POST", &format!("/api/v1/cckm/oci/keys/{}/unblock", setup.key_id), None).await;
    assert_eq!(k["hyok_key_params"]["blocked"], false);
    let (s, _) = lab.mgmt("POST", "/api/v1/cckm/oci/keys/00000000-0000-0000-0000-000000000000/block", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
