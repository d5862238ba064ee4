//! The official `oci` CLI (skipped when not installed) reads the KMS lists as the SDK's summary
//! models and shows the lab's refusal of operations it does not model (tests/oci-cli/kms.sh).

use crate::support::World;
use http::Method;
use hyok_core::host::ServiceHost as _;
use hyok_oci_rest::tenancy::CliEndpoint;

#[tokio::test]
async fn official_cli_lists_vaults_keys_and_endpoints_and_sees_what_is_not_modelled() {
    let Some(cli) = hyok_test_support::oci_cli::cli_or_skip() else { return };
    let w = World::start().await;
    let vault = w.active_vault().await;
    let vault_id = vault["id"].as_str().expect("vault id").to_string();
    let created = w.create_key(&vault, &w.ctm_key_id, 32).await;
    let key_id = created.json["id"].as_str().expect("key id").to_string();
    let key = w.wait_not(&format!("{}/20180608/keys/{key_id}", crate::support::mgmt(&vault)), "CREATING").await;
    assert_eq!(key["lifecycleState"], "ENABLED", "{key}");
    let pe_id = vault["externalKeyManagerMetadataSummary"]["privateEndpointId"].as_str().expect("pe").to_string();
    let served = w.kms.served(&vault_id).expect("served");

    let tmp = tempfile::TempDir::new().expect("dir");
    let dir = tmp.path();
    let ca_path = dir.join("public-root.pem");
    std::fs::write(&ca_path, w.host.public_ca().cert_pem()).expect("ca");
    let endpoints = [
        CliEndpoint { name: "kms".into(), url: format!("https://127.0.0.1:{}", w.regional_addr.port()) },
        CliEndpoint {
            name: "kms-management".into(),
            url: format!("https://127.0.0.1:{}", served.management_real.port()),
        },
    ];
    hyok_oci_rest::write_cli_config(dir, &w.tenancy, Some(&ca_path), &endpoints).expect("cli config");
    let env = [
        ("OCI_LAB_VAULT_ID", vault_id.as_str()),
        ("OCI_LAB_KEY_ID", key_id.as_str()),
        ("OCI_LAB_PRIVATE_ENDPOINT_ID", pe_id.as_str()),
    ];
    let out = hyok_test_support::oci_cli::run_script("kms.sh", &cli, dir, &env).await;
    assert_eq!(out.value("key-version"), key["currentKeyVersion"].as_str().expect("current version"));

    // The refused updates changed nothing.
    let r = w.oci(Method::GET, &w.regional(&format!("/vaults/{vault_id}")), None).await;
    assert_eq!(
        (r.json["displayName"].as_str(), r.json["lifecycleState"].as_str()),
        (Some("OCI_EKMS_Vault"), Some("ACTIVE"))
    );
}
