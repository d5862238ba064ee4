//! The testcontainers module against the real image. Part of the container suite: runs with
//! `HYOK_DOCKER_TESTS=1` after docker/build.sh, says SKIPPED otherwise.

use hyok_lab_testcontainers::HyokLab;

fn enabled() -> bool {
    if std::env::var("HYOK_DOCKER_TESTS").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED: container suite (set HYOK_DOCKER_TESTS=1 with a Docker engine and the hyok-lab:dev image)");
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
