//! The official `oci` CLI against the lab's Certificates service, when the CLI is installed
//! (`OCI_CLI=/path/to/oci`, or /work/venv-oci/bin/oci, or `oci` on PATH). Skipped otherwise.

use crate::{pki, support::Lab};
use hyok_oci::{CertificatesConfig, KeyAlgorithm};
use hyok_oci_rest::tenancy::CliEndpoint;
use std::{path::PathBuf, process::Command, time::Duration};

pub fn find_cli() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("OCI_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from("/work/venv-oci/bin/oci");
    if venv.exists() {
        return Some(venv);
    }
    let ok = Command::new("oci").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    ok.then(|| PathBuf::from("oci"))
}

#[tokio::test]
async fn official_cli_creates_a_ca_bundle_and_imports_a_certificate() {
    let Some(cli) = find_cli() else {
        eprintln!(
            "SKIPPED: the oci CLI is not installed (python3 -m venv /work/venv-oci && /work/venv-oci/bin/pip install oci-cli)"
        );
        return;
    };
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
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oci-cli/run.sh");
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("bash").arg(&script).env("OCI_CLI", &cli).env("OCI_LAB_DIR", &dir).output(),
    )
    .await
    .expect("CLI run within 5 minutes")
    .expect("run script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run.sh failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("CLI OK"), "{stdout}");
    eprintln!("run.sh stdout:\n{stdout}\nrun.sh stderr:\n{stderr}");
    // The key file is written 0600 with its label, so the CLI has nothing to warn about.
    assert!(!stderr.contains("Permissions on"), "{stderr}");
    assert!(!stderr.to_ascii_lowercase().contains("label"), "{stderr}");
    // What the CLI created is visible in-process.
    let cert_id = stdout.lines().find_map(|l| l.strip_prefix("certificate=")).expect("certificate id line").trim();
    let mat = lab.service.tls_material(cert_id).expect("imported certificate is ACTIVE");
    assert_eq!(mat.key_algorithm, KeyAlgorithm::Rsa2048);
    assert_eq!(mat.key_pem, m.key);
}
