//! Real names from the host: the official `oci` CLI with only `oci/env` sourced (HTTPS_PROXY,
//! NO_PROXY, REQUESTS_CA_BUNDLE) and no `--endpoint` for the regional services, through the
//! lab's HTTPS proxy; the vault's own endpoints taken from the vault object; curl to CTM by
//! name; a name the lab does not serve refused.

use crate::support::{TestLab, tool};
use std::path::Path;

/// Run `oci ARGS` with nothing but the lab's env file: `source oci/env; oci ARGS`.
fn oci(cli: &Path, dir: &Path, args: &str) -> serde_json::Value {
    let script = format!(
        "set -e; unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy NO_PROXY no_proxy ALL_PROXY all_proxy; \
         . '{}/oci/env'; exec '{}' {args}",
        dir.display(),
        cli.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING", "True")
        .env("SUPPRESS_LABEL_WARNING", "True")
        .output()
        .expect("bash runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "oci {args} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    if stdout.trim().is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("oci {args}: {e}\n{stdout}"))
}

fn text<'a>(v: &'a serde_json::Value, path: &str) -> &'a str {
    v.pointer(path).and_then(|x| x.as_str()).unwrap_or_else(|| panic!("{path} in {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oci_cli_reaches_every_real_name_through_the_proxy() {
    let Some(cli) = hyok_test_support::oci_cli::cli_or_skip() else { return };
    let t = TestLab::start().await;
    let scenario = hyok_lab_client::scenario::load("oci-hyok-api-gateway").expect("scenario");
    let mut runner = hyok_lab_client::scenario::Runner::new(&t.dir).expect("runner");
    let report = runner.run(&scenario, Some(17), &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    let dir = t.dir.clone();
    let compartment = t.info.credentials["oci"]["compartment"].as_str().expect("compartment").to_string();
    let proxy = t.info.proxy.clone().expect("lab.json names the proxy");

    // The CLI is a blocking child process; the lab keeps serving on the runtime's other threads.
    let c = compartment.clone();
    let ran = tokio::task::spawn_blocking(move || {
        // The region from the config alone: kms.eu-frankfurt-1.oraclecloud.com via CONNECT.
        let vaults = oci(&cli, &dir, &format!("kms management vault list -c {c}"));
        let vault = &vaults["data"][0];
        let vault_id = text(vault, "/id").to_string();
        let got = oci(&cli, &dir, &format!("kms management vault get --vault-id {vault_id}"));
        let management = text(&got, "/data/management-endpoint").to_string();
        let crypto = text(&got, "/data/crypto-endpoint").to_string();
        assert!(management.ends_with("-management.kms.eu-frankfurt-1.oraclecloud.com"), "{management}");
        assert!(!management.contains("127.0.0.1") && !crypto.contains("127.0.0.1"), "real names: {got}");

        // The vault's endpoints as the vault object gives them.
        let keys = oci(&cli, &dir, &format!("kms management key list -c {c} --endpoint {management}"));
        let key_id = text(&keys, "/data/0/id").to_string();
        let key = oci(&cli, &dir, &format!("kms management key get --key-id {key_id} --endpoint {management}"));
        assert_eq!(text(&key, "/data/lifecycle-state"), "ENABLED", "{key}");
        let sealed = oci(
            &cli,
            &dir,
            &format!("kms crypto encrypt --key-id {key_id} --plaintext aHlvayBwcm94eQ== --endpoint {crypto}"),
        );
        let ciphertext = text(&sealed, "/data/ciphertext").to_string();
        let opened = oci(
            &cli,
            &dir,
            &format!("kms crypto decrypt --key-id {key_id} --ciphertext {ciphertext} --endpoint {crypto}"),
        );
        assert_eq!(text(&opened, "/data/plaintext"), "aHlvayBwcm94eQ==", "{opened}");

        // Object Storage by its regional name.
        let ns = oci(&cli, &dir, "os ns get");
        let ns = text(&ns, "/data").to_string();
        let buckets = oci(&cli, &dir, &format!("os bucket list -c {c} --namespace {ns}"));
        assert!(buckets["data"].as_array().is_some_and(|b| b.iter().any(|b| b["name"] == "OCI_EKMS_Test_Bucket")));
        let objects = oci(&cli, &dir, &format!("os object list -ns {ns} -bn OCI_EKMS_Test_Bucket"));
        assert!(objects["data"].as_array().is_some_and(|o| o.iter().any(|o| o["name"] == "hyok-test.txt")));
        let out = dir.join("object.out");
        oci(
            &cli,
            &dir,
            &format!("os object get -ns {ns} -bn OCI_EKMS_Test_Bucket --name hyok-test.txt --file {}", out.display()),
        );
        let body = std::fs::read_to_string(&out).expect("object");
        assert!(body.contains("Hold Your Own Key"), "{body}");

        // --endpoint to the loopback socket still goes straight there (NO_PROXY).
        let kms_url = format!("https://{}", t_service_address(&dir, "oci-kms"));
        let direct = oci(&cli, &dir, &format!("kms management vault list -c {c} --endpoint {kms_url}"));
        assert_eq!(text(&direct, "/data/0/id"), vault_id);
    });
    let result = ran.await;

    // curl by CTM's name through the proxy, no --connect-to.
    let ctm_ok = curl_ctm(&t, &proxy.url);
    // A name the lab does not serve: refused with a text body naming it.
    let refused = refusal(proxy.address).await;
    t.stop().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
    if let Some((code, body)) = ctm_ok {
        assert_eq!(code, "200", "CTM by name through the proxy: {body}");
        assert!(body.contains("jwt"), "{body}");
    }
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(refused.contains("example.com:443 is not a name this lab serves"), "{refused}");
}

/// A service's loopback socket from lab.json.
fn t_service_address(dir: &Path, name: &str) -> String {
    let info = hyok_lab_client::LabInfo::load(dir).expect("lab.json");
    info.service(name).expect("service").host_address.to_string()
}

/// `POST https://ctm1.oci-thales.lab/api/v1/auth/tokens` with curl through the proxy: status
/// and body (None when curl is missing).
fn curl_ctm(t: &TestLab, proxy: &str) -> Option<(String, String)> {
    let creds = &t.info.credentials["ctm"];
    let body = serde_json::json!({
        "grant_type": "password",
        "username": creds["username"],
        "password": creds["password"],
    })
    .to_string();
    let bundle = t.dir.join(&t.info.ca.bundle);
    let bundle = bundle.to_string_lossy();
    let out = tool(
        "curl",
        &[
            "-sS",
            "--noproxy",
            "",
            "--proxy",
            proxy,
            "--cacert",
            &bundle,
            "-H",
            "content-type: application/json",
            "-d",
            &body,
            "-w",
            "\n%{http_code}",
            "https://ctm1.oci-thales.lab/api/v1/auth/tokens",
        ],
    )?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    Some((code.trim().to_string(), format!("{body}{}", String::from_utf8_lossy(&out.stderr))))
}

async fn refusal(proxy: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(proxy).await.expect("proxy");
    s.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
