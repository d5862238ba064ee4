//! The lab identity and the CLI config files.

use crate::support::api_key;
use hyok_oci_rest::{ApiKey, Tenancy, tenancy::CliEndpoint};

use std::process::Command;

#[test]
fn cli_config_files_have_the_shape_and_modes_the_cli_expects() {
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let dir = tmp.path().join("oci");
    let t = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
    let ca = dir.join("ca.pem");
    let files = hyok_oci_rest::write_cli_config(
        &dir,
        &t,
        Some(&ca),
        &[CliEndpoint { name: "certificates".into(), url: "https://127.0.0.1:1234".into() }],
    )
    .expect("write");
    let config = std::fs::read_to_string(&files.config).expect("config");
    assert!(config.starts_with("[DEFAULT]\n"));
    for line in [
        format!("user={}", t.user_id),
        format!("fingerprint={}", t.api_key.fingerprint()),
        format!("tenancy={}", t.tenancy_id),
        "region=eu-frankfurt-1".to_string(),
        format!("key_file={}", files.key.display()),
    ] {
        assert!(config.lines().any(|l| l == line), "{line} missing in {config}");
    }
    let key = std::fs::read_to_string(&files.key).expect("key");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(key.ends_with("-----END PRIVATE KEY-----\nOCI_API_KEY\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files.key).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    let reloaded = ApiKey::from_pem(&key).expect("reload labelled key");
    assert_eq!(reloaded.fingerprint(), t.api_key.fingerprint());
    let env = std::fs::read_to_string(&files.env).expect("env");
    assert!(env.contains("export OCI_LAB_CERTIFICATES_ENDPOINT='https://127.0.0.1:1234'"));
    assert!(env.contains("export REQUESTS_CA_BUNDLE="));
    assert!(t.key_id().starts_with("ocid1.tenancy.oc1..aaaaaaaa"));
    assert_eq!(t.key_id().split('/').count(), 3);

    // The fingerprint agrees with OpenSSL's, when OpenSSL is installed.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("openssl pkey -pubin -in '{}' -outform DER | openssl md5 -c", files.public_key.display()))
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                text.trim().ends_with(t.api_key.fingerprint()),
                "openssl says {text}, we say {}",
                t.api_key.fingerprint()
            );
        }
        _ => eprintln!("openssl not available; fingerprint cross-check skipped"),
    }
    let fp = t.api_key.fingerprint();
    assert_eq!(fp.len(), 47);
    assert!(fp.split(':').all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit())));
}
