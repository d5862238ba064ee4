//! `hyok-lab check` against labs configured through the public APIs, over real sockets.

use hyok_lab::{Lab, LabOptions};
use hyok_lab_client::{
    check::{CheckReport, Setup, Status, check},
    scenario::{self, Runner, Scenario},
};
use std::{path::Path, sync::Arc, time::Instant};

/// At most two of these labs at once: each takes some 20 ports, and other tests in this binary
/// pick ports too.
static LABS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

struct Provisioned {
    lab: Arc<Lab>,
    dir: tempfile::TempDir,
    runner: Runner,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Provisioned {
    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stop the lab; its dir goes with the `TempDir`.
    async fn down(self) {
        self.lab.shutdown().await;
    }
}

/// A fresh lab with `scenario` run up to task `until` (nothing when `scenario` is None).
async fn lab_with(tag: &str, scenario: Option<&str>, until: Option<u32>) -> Provisioned {
    hyok_test_support::init();
    let dir = tempfile::Builder::new().prefix(&format!("hyok-lab-check-{tag}-")).tempdir().expect("temp dir");
    let slot = LABS.acquire().await.expect("semaphore is never closed");
    // A DNS server binds UDP on a free port, then TCP on the same number, which another process
    // may hold: start again on that rare clash.
    let mut attempt = 0;
    let lab = loop {
        attempt += 1;
        match Lab::start(LabOptions::ephemeral(dir.path().to_path_buf()), &|_| {}).await {
            Ok(lab) => break lab,
            Err(e) if attempt < 3 && format!("{e:?}").contains("AddrInUse") => continue,
            Err(e) => panic!("lab starts: {e}"),
        }
    };
    lab.write_lab_json().expect("lab.json");
    let mut runner = Runner::new(dir.path()).expect("runner");
    if let Some(name) = scenario {
        let s = scenario::load(name).expect("shipped scenario");
        let report = runner.run(&s, until, &|_| {}).await;
        // Misconfiguration scenarios pass when they fail where they say they will.
        assert!(report.passed, "{name}: {:?}", report.problem);
    }
    Provisioned { lab, dir, runner, _slot: slot }
}

fn status_of(r: &CheckReport, n: u32) -> Status {
    r.task(n).unwrap_or_else(|| panic!("task {n} in the report")).status
}

fn details_of(r: &CheckReport, n: u32) -> String {
    r.task(n).map(|t| t.details.join("\n")).unwrap_or_default()
}

fn assert_statuses(r: &CheckReport, range: std::ops::RangeInclusive<u32>, want: Status) {
    for n in range {
        assert_eq!(status_of(r, n), want, "task {n}: {}\n\n{}", details_of(r, n), r.render());
    }
}

#[tokio::test]
async fn a_fresh_lab_has_only_task_1_done_and_tasks_follow_provisioning() {
    let mut p = lab_with("fresh", None, None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(r.tasks.len(), 18);
    assert_statuses(&r, 1..=1, Status::Done);
    assert_statuses(&r, 2..=18, Status::NotDone);
    assert!(!r.all_done());
    assert_eq!(r.setup, Setup::ApiGateway);
    assert!(details_of(&r, 2).contains("attach fra-hub-private-view"), "{}", details_of(&r, 2));
    assert!(details_of(&r, 5).contains("TCP 443"), "{}", details_of(&r, 5));
    // --json: the same verdicts for machines.
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["tasks"][0]["status"], "done");
    assert_eq!(json["tasks"][1]["status"], "not_done");
    assert_eq!(json["setup"], "api_gateway");
    let text = r.render();
    assert!(text.contains("Task  1  done") && text.contains("Task 18  not done"), "{text}");

    // Tasks 2-7 through the APIs: exactly those become done.
    let s = scenario::load("oci-hyok-api-gateway").expect("shipped scenario");
    let report = p.runner.run(&s, Some(7), &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=7, Status::Done);
    assert_statuses(&r, 8..=18, Status::NotDone);
    // The live DNS lookup through spoke A's resolver is part of Task 2's verdict.
    assert!(details_of(&r, 2).contains("10.222.10.21"), "{}", details_of(&r, 2));
    p.down().await;
}

#[tokio::test]
async fn the_whole_tutorial_is_all_done_and_task_18_reads_the_object_live() {
    let mut p = lab_with("full", Some("oci-hyok-api-gateway"), None).await;
    let t0 = Instant::now();
    let r = check(p.dir()).await.expect("check");
    eprintln!("check of a completed lab took {:?} (report says {:.1} ms)", t0.elapsed(), r.millis);
    assert_statuses(&r, 1..=18, Status::Done);
    assert!(r.all_done(), "{}", r.render());
    assert!(details_of(&r, 18).contains("is readable; the key is not blocked in CTM now"), "{}", details_of(&r, 18));

    // A blocked key: the read answers 409 and the check says what to do.
    let block = Scenario::parse("block-key", BLOCK_KEY).expect("scenario");
    let report = p.runner.run(&block, None, &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=17, Status::Done);
    assert_eq!(status_of(&r, 18), Status::NotDone);
    let t18 = details_of(&r, 18);
    assert!(t18.contains("HTTP 409 KmsKeyDisabled") && t18.contains("the key is blocked; unblock it in CTM"), "{t18}");
    p.down().await;
}

#[tokio::test]
async fn the_direct_setup_is_all_done_without_a_gateway() {
    let p = lab_with("direct", Some("oci-hyok-direct"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(r.setup, Setup::Direct);
    assert!(r.all_done(), "{}", r.render());
    assert!(details_of(&r, 6).contains("not needed"), "{}", details_of(&r, 6));
    p.down().await;
}

#[tokio::test]
async fn an_ecdsa_gateway_certificate_is_wrong_in_tasks_3_and_4() {
    let p = lab_with("ecdsa", Some("misconfig-ecdsa-gateway-certificate"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=2, Status::Done);
    assert_eq!(status_of(&r, 3), Status::Wrong, "{}", r.render());
    let t3 = details_of(&r, 3);
    assert!(t3.contains("ECDSA P-256 key") && t3.contains("only RSA"), "{t3}");
    assert_eq!(status_of(&r, 4), Status::Wrong);
    assert!(details_of(&r, 4).contains("keyAlgorithm ECDSA_P256"), "{}", details_of(&r, 4));
    // OCI refused to create the gateway with that certificate, so there is none; the check
    // says why the next try will fail too.
    assert_eq!(status_of(&r, 6), Status::NotDone);
    let t6 = details_of(&r, 6);
    assert!(t6.contains("keyAlgorithm ECDSA_P256, which a gateway refuses (RSA only)"), "{t6}");
    assert!(r.render().contains("Task 3: the certificate for oci-api-gw.oci-thales.lab"), "{}", r.render());
    p.down().await;
}

#[tokio::test]
async fn swapped_app_credentials_name_the_app_in_task_13_and_14() {
    let p = lab_with("swapped", Some("misconfig-swapped-app-credentials"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=12, Status::Done);
    assert_eq!(status_of(&r, 13), Status::Wrong, "{}", r.render());
    assert!(
        r.render().contains(
            "Task 13: external vault `OCI` uses client id of Resource_App; OCI's tokens come from Client_App"
        ),
        "{}",
        r.render()
    );
    assert_eq!(status_of(&r, 14), Status::Wrong);
    let t14 = details_of(&r, 14);
    assert!(t14.contains("clientAppId of Resource_App"), "{t14}");
    assert!(t14.contains("FAILED") && t14.contains("invalid_scope"), "{t14}");
    assert_statuses(&r, 15..=18, Status::NotDone);
    p.down().await;
}

#[tokio::test]
async fn a_hub_view_not_attached_is_task_2_not_done() {
    let p = lab_with("hubview", Some("misconfig-hub-view-not-attached"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 2), Status::NotDone);
    let t2 = details_of(&r, 2);
    assert!(
        t2.contains("attachedViews of fra-spoke-a-vcn's resolver holds [") && t2.contains("fra-hub-private-view"),
        "{t2}"
    );
    assert_statuses(&r, 3..=6, Status::Done);
    // The deployment could not resolve CTM from spoke A: FAILED with the reason.
    assert_eq!(status_of(&r, 7), Status::Wrong, "{}", r.render());
    let t7 = details_of(&r, 7);
    assert!(t7.contains("FAILED (lifecycleDetails: cannot resolve ctm1.oci-thales.lab"), "{t7}");
    assert!(t7.contains("finish Task 2"), "{t7}");
    p.down().await;
}

#[tokio::test]
async fn a_secret_rotated_after_the_vault_fails_the_key_reference() {
    let p = lab_with("rotated", Some("misconfig-secret-rotated-after-vault"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=15, Status::Done);
    assert_eq!(status_of(&r, 16), Status::Wrong, "{}", r.render());
    let t16 = details_of(&r, 16);
    assert!(
        t16.contains("key OCI_Key_Reference is FAILED (lifecycleDetails:") && t16.contains("invalid_client"),
        "{t16}"
    );
    assert!(t16.contains("clientAppSecret is no longer Client_App's secret"), "{t16}");
    assert!(!t16.contains("externalKeyId"), "a failed link has no key id to blame: {t16}");
    p.down().await;
}

#[tokio::test]
async fn a_wrong_backend_path_and_a_wrong_audience_name_the_field() {
    let p = lab_with("backend", Some("misconfig-wrong-backend-path"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 7), Status::Wrong, "{}", r.render());
    let t7 = details_of(&r, 7);
    assert!(
        t7.contains("backend url \"https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v2/${request.path[path]}\""),
        "{t7}"
    );
    assert!(
        t7.contains("expected \"https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v1/${request.path[path]}\""),
        "{t7}"
    );
    p.down().await;

    let p = lab_with("audience", Some("misconfig-wrong-primary-audience"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 8), Status::Wrong, "{}", r.render());
    let t8 = details_of(&r, 8);
    assert!(t8.contains("primary audience \"https://172.16.1.10/\"; expected \"https://172.16.1.103/\""), "{t8}");
    p.down().await;
}

#[tokio::test]
async fn a_missing_ingress_rule_and_a_foreign_ca_bundle_are_reported() {
    let p = lab_with("ingress", Some("misconfig-missing-ingress-rule"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 5), Status::NotDone, "{}", r.render());
    assert!(details_of(&r, 5).contains("from 172.16.1.104 (the private endpoint)"), "{}", details_of(&r, 5));
    p.down().await;

    let p = lab_with("pe-ca", Some("misconfig-gateway-ca-missing-from-private-endpoint"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 12), Status::Wrong, "{}", r.render());
    let t12 = details_of(&r, 12);
    assert!(
        t12.contains("caBundle holding [")
            && t12.contains("HYOK Lab Public Root CA")
            && t12.contains("expected CTM's root CA"),
        "{t12}"
    );
    p.down().await;
}

const BLOCK_KEY: &str = r#"
name = "block-key"
title = "Block CM_Key in CTM and leave it blocked"

[[task]]
number = 18
title = "Block the key"

[[task.step]]
name = "Block CM_Key"
service = "ctm-ams"
method = "POST"
path = "/api/v1/cckm/oci/keys/{{ctm_key}}/block"
auth = "bearer:{{ctm_jwt}}"
"#;

#[tokio::test]
async fn a_blocked_vault_is_named_in_task_18() {
    // The whole vault blocked instead of the key.
    let p = lab_with("vault-blocked", Some("misconfig-vault-blocked-instead-of-key"), None).await;
    let r = check(p.dir()).await.expect("check");
    assert_eq!(status_of(&r, 18), Status::NotDone, "{}", r.render());
    assert!(details_of(&r, 18).contains("external vault `OCI` is blocked in CTM"), "{}", details_of(&r, 18));
    p.down().await;
}

const EMPTY_BUCKET: &str = r#"
name = "empty-bucket"
title = "Task 17's bucket, without uploading anything"

[[task]]
number = 17
title = "Create the bucket only"

[[task.step]]
name = "read the Object Storage namespace"
service = "oci-objectstorage"
path = "/n"
auth = "oci"
capture = { namespace = "/" }

[[task.step]]
name = "Create Bucket OCI_EKMS_Test_Bucket encrypted with OCI_Key_Reference"
service = "oci-objectstorage"
method = "POST"
path = "/n/{{namespace}}/b"
auth = "oci"
json = { name = "OCI_EKMS_Test_Bucket", compartmentId = "{{oci.compartment}}", kmsKeyId = "{{oci_key_id}}" }
"#;

#[tokio::test]
async fn an_empty_bucket_asks_for_an_upload() {
    let mut p = lab_with("empty", Some("oci-hyok-api-gateway"), Some(16)).await;
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=16, Status::Done);
    assert_statuses(&r, 17..=18, Status::NotDone);
    assert!(details_of(&r, 17).contains("no bucket OCI_EKMS_Test_Bucket"), "{}", details_of(&r, 17));

    let bucket = Scenario::parse("empty-bucket", EMPTY_BUCKET).expect("scenario");
    let report = p.runner.run(&bucket, None, &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    let r = check(p.dir()).await.expect("check");
    assert_statuses(&r, 1..=17, Status::Done);
    assert_eq!(status_of(&r, 18), Status::NotDone);
    assert!(
        details_of(&r, 18).contains("upload a file, block the key in CTM, then unblock it"),
        "{}",
        details_of(&r, 18)
    );
    p.down().await;
}

#[tokio::test]
async fn no_lab_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = check(dir.path()).await.expect_err("no lab.json");
    assert!(e.contains("no lab is running"), "{e}");
}

/// Where hyok-lab-client's grader tests keep their recorded answers.
fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hyok-lab-client/tests/it/fixtures")
}

/// Records what the grader reads from labs in these states, as the fixtures of hyok-lab-client's
/// grader tests, which grade them without a lab. Run it when the lab's answers change shape:
/// `cargo test -p hyok-lab --test it record_the_graders_fixtures -- --ignored`.
#[tokio::test]
#[ignore = "rewrites hyok-lab-client/tests/it/fixtures"]
async fn record_the_graders_fixtures() {
    let states = [
        ("fresh", None, None, None),
        ("tutorial-until-7", Some("oci-hyok-api-gateway"), Some(7), None),
        ("tutorial-done", Some("oci-hyok-api-gateway"), None, None),
        ("key-blocked", Some("oci-hyok-api-gateway"), None, Some(BLOCK_KEY)),
        ("direct-done", Some("oci-hyok-direct"), None, None),
        ("ecdsa-gateway-certificate", Some("misconfig-ecdsa-gateway-certificate"), None, None),
        ("hub-view-not-attached", Some("misconfig-hub-view-not-attached"), None, None),
        ("swapped-app-credentials", Some("misconfig-swapped-app-credentials"), None, None),
        ("secret-rotated-after-vault", Some("misconfig-secret-rotated-after-vault"), None, None),
        ("vault-blocked-instead-of-key", Some("misconfig-vault-blocked-instead-of-key"), None, None),
    ];
    std::fs::create_dir_all(fixtures_dir()).expect("fixtures dir");
    for (fixture, scenario, until, then) in states {
        let mut p = lab_with(fixture, scenario, until).await;
        if let Some(then) = then {
            let report = p.runner.run(&Scenario::parse(fixture, then).expect("scenario"), None, &|_| {}).await;
            assert!(report.passed, "{fixture}: {:?}", report.problem);
        }
        let seen = hyok_lab_client::check::see(p.dir()).await.expect("the lab answers");
        // The recording grades as the lab does.
        let live = check(p.dir()).await.expect("check");
        let (setup, tasks) = hyok_lab_client::check::grade(&seen);
        assert_eq!(setup, live.setup, "{fixture}");
        let statuses = |t: &[hyok_lab_client::check::TaskCheck]| t.iter().map(|t| t.status).collect::<Vec<_>>();
        assert_eq!(statuses(&tasks), statuses(&live.tasks), "{fixture}: {}", live.render());
        let json = serde_json::to_string_pretty(&seen).expect("json");
        std::fs::write(fixtures_dir().join(format!("{fixture}.json")), json + "\n").expect("write fixture");
        eprintln!("{fixture}: {}", live.render());
        p.down().await;
    }
}
