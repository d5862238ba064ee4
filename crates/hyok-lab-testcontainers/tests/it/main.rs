//! The testcontainers module against the real image. Part of the container suite: runs with
//! `HYOK_DOCKER_TESTS=1` after docker/build.sh, says SKIPPED otherwise.

use hyok_lab_testcontainers::HyokLab;

fn enabled() -> bool {
    if std::env::var("HYOK_DOCKER_TESTS").as_deref() == Ok("1") {
        return true;
    }
    hyok_test_support::skip::not_selected(
        "testcontainers suite (set HYOK_DOCKER_TESTS=1 with a Docker engine and the hyok-lab:dev image)",
    );
    false
}

#[tokio::test]
async fn a_test_gets_a_lab_in_a_few_lines() {
    if !enabled() {
        return;
    }
    hyok_test_support::init();
    let lab = HyokLab::start().await.expect("lab container");
    assert!(lab.url("identity").is_some_and(|u| u.starts_with("https://127.0.0.1:")));
    assert!(std::fs::read_to_string(lab.ca_bundle()).expect("bundle").contains("BEGIN CERTIFICATE"));
    let config = std::fs::read_to_string(lab.oci_config()).expect("oci config");
    assert!(config.contains(&lab.lab_dir().join("oci/oci_api_key.pem").display().to_string()), "{config}");
    let (user, password) = lab.ctm_credentials();
    assert_eq!(user, "admin");
    assert!(!password.is_empty());
    let report = lab.run_scenario("oci-hyok-api-gateway", Some(16)).await.expect("scenario");
    assert!(report.passed, "{:?}", report.problem);
}

#[tokio::test]
async fn a_taken_port_is_named_and_nothing_is_left_behind() {
    if !enabled() {
        return;
    }
    let base = 31_000;
    let _held = std::net::TcpListener::bind(("0.0.0.0", base)).expect("hold the admin port");
    let opts = hyok_lab_testcontainers::Options { port_base: Some(base), ..Default::default() };
    let e = HyokLab::start_with(opts).await.expect_err("the port is taken");
    let text = e.to_string();
    assert!(text.contains(&base.to_string()) && text.contains("address already in use"), "{text}");
    let out = std::process::Command::new("docker")
        // Created but never started: what a failed start would leave (another test's lab may be
        // running at the same time, so running containers do not count).
        .args(["ps", "-a", "--filter", "name=hyok-lab-", "--filter", "status=created", "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    let left: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|n| n.starts_with("hyok-lab-") && !n.starts_with("hyok-lab-test-"))
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "containers left behind: {left:?}");
}
