//! A client written for the real CipherTrust Manager REST API — the PyPI `ciphertrust-sdk` —
//! authenticates and lists keys against the lab's CTM, unchanged (tests/python-ctm/test_sdk.py).

use crate::support::TestLab;
use std::path::PathBuf;

/// The Python that has `ciphertrust-sdk` (its own venv: it pins an old PyJWT that the `oci` CLI
/// cannot use): `HYOK_PYTHON`, the CI venv, or none.
fn python_with_sdk() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("HYOK_PYTHON") {
        candidates.push(p.into());
    }
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/hyok-lab/venv-ctm/bin/python3"));
    }
    candidates.push("/work/venv-ctm/bin/python3".into());
    candidates.into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import ciphertrust, dateutil"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test]
async fn ciphertrust_sdk_authenticates_and_lists_keys() {
    let Some(python) = python_with_sdk() else {
        hyok_test_support::skip::missing_tool(
            "no Python with ciphertrust-sdk (CI installs it: pip install ciphertrust-sdk python-dateutil)",
        );
        return;
    };
    let t = TestLab::start().await;
    let ctm = t.info.service("ctm-ams").expect("CTM in lab.json").clone();
    let creds = &t.info.credentials["ctm"];
    let ca = t.dir.join(t.info.ca.ctm_root.as_deref().expect("CTM root in lab.json"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python-ctm/test_sdk.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .env("CTM_HOST", &ctm.host)
        .env("CTM_CA", &ca)
        .env("CTM_USER", creds["username"].as_str().expect("username"))
        .env("CTM_PASSWORD", creds["password"].as_str().expect("password"))
        .env("CTM_CONNECT", ctm.host_address.to_string())
        .output()
        .await
        .expect("python runs");
    let transcript = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    t.stop().await;
    assert!(out.status.success(), "ciphertrust-sdk check failed:\n{transcript}");
}
