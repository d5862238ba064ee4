//! The official `oci` CLI against the lab's Certificates service, when the CLI is installed
//! (`OCI_CLI=/path/to/oci`, or /work/venv-oci/bin/oci, or `oci` on PATH). Skipped otherwise.

use crate::{pki, support::Lab};
use hyok_oci::{CertificatesConfig, KeyAlgorithm};
use hyok_oci_rest::tenancy::CliEndpoint;
use hyok_test_support::oci_cli;

#[tokio::test]
async fn official_cli_creates_a_ca_bundle_and_imports_a_certificate() {
    let Some(cli) = oci_cli::cli_or_skip() else { return };
    // A fixed port when asked (OCI_LAB_CLI_PORT), an ephemeral one otherwise; the CLI gets it via --endpoint.
    let addr = format!("127.0.0.1:{}", std::env::var("OCI_LAB_CLI_PORT").unwrap_or_else(|_| "0".into()));
    let lab = Lab::start_on(&addr, |t| CertificatesConfig {
        compartments: vec![t.compartment_id.clone(), t.tenancy_id.clone()],
        ..Default::default()
    })
    .await;
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let import = dir.join("import");
    std::fs::create_dir_all(&import).expect("dir");
    let ca_path = dir.join("lab-root.pem");
    std::fs::write(&ca_path, lab.ca.cert_pem()).expect("ca");
    let endpoint = format!("https://127.0.0.1:{}", lab.server.local_addr.port());
    hyok_oci_rest::write_cli_config(
        &dir,
        &lab.tenancy,
        Some(&ca_path),
        &[CliEndpoint { name: "certificates".into(), url: endpoint }],
    )
    .expect("config");
    let m = pki::rsa_chain();
    let wrong = pki::ec_chain("wrong.lab");
    for (f, text) in [
        ("ca.pem", lab.ca.cert_pem()),
        ("cert.pem", &m.cert),
        ("chain.pem", &m.chain),
        ("key.pem", &m.key),
        ("wrong_key.pem", &wrong.key),
    ] {
        std::fs::write(import.join(f), text).expect("write");
    }
    let out = oci_cli::run_script("run.sh", &cli, &dir, &[]).await;
    // The key file is written 0600 with its label, so the CLI has nothing to warn about.
    assert!(!out.stderr.contains("Permissions on"), "{}", out.stderr);
    assert!(!out.stderr.to_ascii_lowercase().contains("label"), "{}", out.stderr);
    // What the CLI created is visible in-process.
    let cert_id = out.value("certificate");
    let mat = lab.service.tls_material(cert_id).expect("imported certificate is ACTIVE");
    assert_eq!(mat.key_algorithm, KeyAlgorithm::Rsa2048);
    assert_eq!(mat.key_pem, m.key);
}
