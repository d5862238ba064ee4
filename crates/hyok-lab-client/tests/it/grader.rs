//! The grader's verdicts from recorded answers, without a lab. `fixtures/*.json` are what
//! `check::see` read from real labs in the named states (recorded by hyok-lab's
//! `record_the_graders_fixtures`); the wrong cases that need no lab of their own are made by
//! changing one field of a recording, as a student would.

use hyok_lab_client::check::{CheckReport, Seen, Setup, Status, TaskCheck, grade};
use serde_json::{Value, json};
use std::ops::RangeInclusive;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/it/fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fixture` with the value at each JSON pointer replaced.
fn changed(name: &str, edits: &[(&str, Value)]) -> Value {
    let mut v = fixture(name);
    for (pointer, new) in edits {
        *v.pointer_mut(pointer).unwrap_or_else(|| panic!("{name}: no {pointer}")) = new.clone();
    }
    v
}

struct Graded {
    setup: Setup,
    tasks: Vec<TaskCheck>,
}

fn graded(recording: Value) -> Graded {
    let seen: Seen = serde_json::from_value(recording).expect("a recording of what the grader saw");
    let (setup, tasks) = grade(&seen);
    assert_eq!(tasks.iter().map(|t| t.number).collect::<Vec<_>>(), (1..=18).collect::<Vec<_>>());
    Graded { setup, tasks }
}

impl Graded {
    fn status(&self, n: u32) -> Status {
        self.tasks[n as usize - 1].status
    }

    fn details(&self, n: u32) -> String {
        self.tasks[n as usize - 1].details.join("\n")
    }

    fn render(&self) -> String {
        let report = CheckReport { lab_dir: "/lab".into(), setup: self.setup, tasks: self.tasks.clone(), millis: 0.0 };
        report.render()
    }

    /// Tasks in `range` have `want`.
    fn all(&self, range: RangeInclusive<u32>, want: Status) -> &Self {
        for n in range {
            assert_eq!(self.status(n), want, "task {n}: {}\n\n{}", self.details(n), self.render());
        }
        self
    }

    /// Task `n` has `want`, and its details hold every one of `texts`.
    fn says(&self, n: u32, want: Status, texts: &[&str]) -> &Self {
        assert_eq!(self.status(n), want, "task {n}: {}", self.details(n));
        let details = self.details(n);
        for t in texts {
            assert!(details.contains(t), "task {n} should say {t:?}:\n{details}");
        }
        self
    }
}

// ---- states recorded from labs ---------------------------------------------------------------

#[test]
fn a_fresh_lab_has_only_task_1_done() {
    let g = graded(fixture("fresh"));
    assert_eq!(g.setup, Setup::ApiGateway);
    g.all(1..=1, Status::Done)
        .all(2..=18, Status::NotDone)
        .says(
            2,
            Status::NotDone,
            &["attachedViews of fra-spoke-a-vcn's resolver holds [", "attach fra-hub-private-view"],
        )
        .says(5, Status::NotDone, &["lets TCP 443 in from the whole subnet", "add source 172.16.1.0/24, TCP 443"])
        .says(6, Status::NotDone, &["no API gateway in the compartment"])
        .says(17, Status::NotDone, &["no bucket OCI_EKMS_Test_Bucket"]);
}

#[test]
fn tasks_follow_the_tutorial_up_to_task_7() {
    graded(fixture("tutorial-until-7"))
        .all(1..=7, Status::Done)
        .all(8..=18, Status::NotDone)
        .says(2, Status::Done, &["fra-hub-private-view is attached", "resolves CTM's name to 10.222.10.21"])
        .says(3, Status::Done, &["server certificate for oci-api-gw.oci-thales.lab (RSA 2048)"])
        .says(6, Status::Done, &["gateway API-GW is ACTIVE, PRIVATE in fra-spoke-a-private-subnet at 172.16.1.103"])
        .says(8, Status::NotDone, &["no Resource_App and no Client_App in the identity domain"])
        .says(12, Status::NotDone, &["no EKMS private endpoint"]);
}

#[test]
fn the_whole_tutorial_is_all_done() {
    let g = graded(fixture("tutorial-done"));
    assert_eq!(g.setup, Setup::ApiGateway);
    g.all(1..=18, Status::Done)
        .says(5, Status::Done, &["covers 172.16.1.104 (the private endpoint)"])
        .says(12, Status::Done, &["calls 172.16.1.103:443 and trusts CTM's root CA"])
        .says(18, Status::Done, &["is readable; the key is not blocked in CTM now"]);
    let text = g.render();
    assert!(text.contains("Task  1  done") && text.contains("18 of 18 tasks done, 0 not done, 0 wrong"), "{text}");
}

#[test]
fn a_blocked_key_leaves_task_18_to_do() {
    graded(fixture("key-blocked"))
        .all(1..=16, Status::Done)
        // The bucket refuses even its metadata with its key blocked: it exists, so 17 is done.
        .says(17, Status::Done, &["refuses right now (HTTP 409 KmsKeyDisabled)"])
        .says(18, Status::NotDone, &["HTTP 409 KmsKeyDisabled", "the key is blocked; unblock it in CTM"]);
}

#[test]
fn a_blocked_vault_is_named_in_task_18() {
    graded(fixture("vault-blocked-instead-of-key")).all(1..=17, Status::Done).says(
        18,
        Status::NotDone,
        &["external vault `OCI` is blocked in CTM", "blocking the vault, not the key, is the misstep"],
    );
}

#[test]
fn the_direct_setup_needs_no_gateway() {
    let g = graded(fixture("direct-done"));
    assert_eq!(g.setup, Setup::Direct);
    g.all(1..=18, Status::Done);
    for n in [3, 4, 6, 7] {
        g.says(n, Status::Done, &["not needed: the private endpoint talks to CTM (10.222.10.21) directly"]);
    }
    assert!(g.render().contains("private endpoint → CTM directly, no API gateway"));
}

#[test]
fn an_ecdsa_gateway_certificate_is_wrong_in_tasks_3_and_4() {
    let g = graded(fixture("ecdsa-gateway-certificate"));
    g.all(1..=2, Status::Done)
        .says(3, Status::Wrong, &["has an ECDSA P-256 key; OCI API Gateway accepts only RSA keys"])
        .says(4, Status::Wrong, &["keyAlgorithm ECDSA_P256", "needs an RSA certificate"])
        // OCI refused the gateway: none exists, and the hint says why the next try fails too.
        .says(6, Status::NotDone, &["keyAlgorithm ECDSA_P256, which a gateway refuses (RSA only): fix Task 3 first"]);
    // Wrong tasks name the task on every hint line.
    assert!(g.render().contains("          Task 3: the certificate for oci-api-gw.oci-thales.lab"), "{}", g.render());
}

#[test]
fn a_hub_view_not_attached_fails_the_deployment() {
    graded(fixture("hub-view-not-attached"))
        .says(
            2,
            Status::NotDone,
            &["attachedViews of fra-spoke-a-vcn's resolver holds []", "attach fra-hub-private-view"],
        )
        .all(3..=6, Status::Done)
        .says(
            7,
            Status::Wrong,
            &[
                "is FAILED (lifecycleDetails: cannot resolve ctm1.oci-thales.lab in VCN fra-spoke-a-vcn",
                "finish Task 2",
            ],
        );
}

#[test]
fn swapped_app_credentials_name_the_app() {
    graded(fixture("swapped-app-credentials"))
        .all(1..=12, Status::Done)
        .says(
            13,
            Status::Wrong,
            &["external vault `OCI` uses client id of Resource_App; OCI's tokens come from Client_App"],
        )
        .says(14, Status::Wrong, &["clientAppId of Resource_App", "FAILED", "invalid_scope"])
        .all(15..=18, Status::NotDone);
}

#[test]
fn a_secret_rotated_after_the_vault_fails_the_key_reference() {
    let g = graded(fixture("secret-rotated-after-vault"));
    g.all(1..=15, Status::Done).says(
        16,
        Status::Wrong,
        &["key OCI_Key_Reference is FAILED (lifecycleDetails:", "invalid_client", "no longer Client_App's secret"],
    );
    assert!(!g.details(16).contains("externalKeyId"), "a failed link has no key id to blame: {}", g.details(16));
}

// ---- one field changed in a finished tutorial -------------------------------------------------

#[test]
fn a_wrong_backend_path_names_the_field_and_the_expected_url() {
    let url = "https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v2/${request.path[path]}";
    graded(changed("tutorial-done", &[("/deployments/Ok/0/specification/routes/0/backend/url", json!(url))])).says(
        7,
        Status::Wrong,
        &[
            &format!("backend url {url:?}"),
            "expected \"https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v1/${request.path[path]}\"",
        ],
    );
}

#[test]
fn a_route_without_post_is_wrong() {
    graded(changed("tutorial-done", &[("/deployments/Ok/0/specification/routes/0/methods", json!(["GET"]))])).says(
        7,
        Status::Wrong,
        &["route /{path*} has methods [\"GET\"]; expected GET and POST"],
    );
}

#[test]
fn a_wrong_primary_audience_is_task_8_wrong() {
    graded(changed("tutorial-done", &[("/apps/Ok/resource/0/audience", json!("https://172.16.1.10/"))])).says(
        8,
        Status::Wrong,
        &["primary audience \"https://172.16.1.10/\"; expected \"https://172.16.1.103/\""],
    );
}

#[test]
fn a_missing_ingress_rule_is_task_5_not_done() {
    let mut v = fixture("tutorial-done");
    let rules =
        v.pointer_mut("/subnet/Ok/security_lists/0/ingressSecurityRules").and_then(Value::as_array_mut).expect("rules");
    rules.retain(|r| r["description"] != "Task 5: private endpoint to API gateway");
    graded(v).says(
        5,
        Status::NotDone,
        &[
            "no ingress rule in the security lists of fra-spoke-a-private-subnet",
            "from 172.16.1.104 (the private endpoint)",
        ],
    );
}

#[test]
fn a_rule_for_another_port_does_not_count() {
    let rule = json!({
        "protocol": "6", "source": "172.16.1.0/24", "sourceType": "CIDR_BLOCK", "isStateless": false,
        "tcpOptions": { "destinationPortRange": { "min": 8443, "max": 8443 } }
    });
    graded(changed("tutorial-done", &[("/subnet/Ok/security_lists/0/ingressSecurityRules/3", rule)])).says(
        5,
        Status::NotDone,
        &["lets TCP 443 in from 172.16.1.104"],
    );
    // A /32 for the private endpoint itself is enough.
    let rule =
        json!({ "protocol": "6", "source": "172.16.1.104/32", "sourceType": "CIDR_BLOCK", "isStateless": false });
    graded(changed("tutorial-done", &[("/subnet/Ok/security_lists/0/ingressSecurityRules/3", rule)])).says(
        5,
        Status::Done,
        &["lets TCP 443 in from 172.16.1.104/32"],
    );
}

#[test]
fn a_foreign_ca_bundle_on_the_private_endpoint_is_task_12_wrong() {
    // The gateway's own certificate instead of CTM's root CA.
    let recording = fixture("tutorial-done");
    let gateway_cert = recording.pointer("/ctm/Ok/issued/0/cert").cloned().expect("CTM's issued certificate");
    graded(changed("tutorial-done", &[("/pes/Ok/0/caBundle", gateway_cert)])).says(
        12,
        Status::Wrong,
        &["has a caBundle holding [CN=oci-api-gw.oci-thales.lab]", "expected CTM's root CA (", "gateway's certificate"],
    );
}

#[test]
fn a_private_endpoint_calling_neither_gateway_nor_ctm_is_wrong() {
    graded(changed("tutorial-done", &[("/pes/Ok/0/externalKeyManagerIp", json!("172.16.1.10"))])).says(
        12,
        Status::Wrong,
        &["externalKeyManagerIp 172.16.1.10; expected the API gateway's IP 172.16.1.103 (or CTM's 10.222.10.21"],
    );
}

#[test]
fn a_resolver_answering_another_address_is_task_2_wrong() {
    graded(changed("tutorial-done", &[("/dns/Ok/lookup", json!({ "Ok": ["10.111.10.21"] }))])).says(
        2,
        Status::Wrong,
        &["answers [10.111.10.21] for CTM's name; expected 10.222.10.21 (CTM1)"],
    );
}

#[test]
fn a_resource_still_being_created_is_not_done_yet() {
    graded(changed("tutorial-done", &[("/deployments/Ok/0/lifecycleState", json!("CREATING"))])).says(
        7,
        Status::NotDone,
        &["deployment API-GW-DEPLOYMENT is CREATING, not yet ACTIVE; run the check again in a moment"],
    );
}

#[test]
fn a_tenancy_for_another_ocid_is_task_11_wrong() {
    graded(changed("tutorial-done", &[("/ctm/Ok/tenancies/0/tenancy_ocid", json!("ocid1.tenancy.oc1..other"))])).says(
        11,
        Status::Wrong,
        &["tenancy_ocid \"ocid1.tenancy.oc1..other\"; expected the lab tenancy ocid1.tenancy"],
    );
}

#[test]
fn an_identity_provider_for_another_domain_is_task_9_wrong() {
    let url = "https://idcs-0000.identity.oraclecloud.com/.well-known/openid-configuration";
    graded(changed("tutorial-done", &[("/ctm/Ok/issuers/0/openid_config_url", json!(url))])).says(
        9,
        Status::Wrong,
        &[&format!("openid_config_url {url:?}"), "(this lab's identity domain)"],
    );
}

// ---- services that did not answer, and Object Storage's cases ---------------------------------

#[test]
fn a_service_that_did_not_answer_leaves_its_tasks_not_done_with_the_reason() {
    let why = "GET https://kms.eu-frankfurt-1.oraclecloud.com/20180608/vaults did not get an answer: timed out";
    graded(changed("tutorial-done", &[("/vaults", json!({ "Err": why }))]))
        .says(14, Status::NotDone, &["cannot read the KMS service: GET https://kms", "timed out"])
        .says(16, Status::NotDone, &["no ACTIVE OCI vault yet (Task 14)"]);
    let why = "CipherTrust Manager refused the lab's login: HTTP 401";
    graded(changed("tutorial-done", &[("/ctm", json!({ "Err": why }))]))
        .says(3, Status::NotDone, &[&format!("cannot read CipherTrust Manager: {why}")])
        .says(10, Status::NotDone, &["cannot read CipherTrust Manager"])
        .says(11, Status::NotDone, &["cannot read CipherTrust Manager"]);
}

#[test]
fn object_storage_not_running_or_without_the_bucket() {
    graded(changed("tutorial-done", &[("/storage", json!({ "Ok": "not_running" }))]))
        .says(17, Status::NotDone, &["Object Storage is not running in this lab"])
        .says(18, Status::NotDone, &["Object Storage is not running in this lab"]);
    graded(changed("tutorial-done", &[("/storage", json!({ "Ok": "no_bucket" }))]))
        .says(17, Status::NotDone, &["no bucket OCI_EKMS_Test_Bucket"])
        .says(18, Status::NotDone, &["no bucket OCI_EKMS_Test_Bucket yet (Task 17)"]);
}

#[test]
fn an_empty_bucket_asks_for_an_upload() {
    graded(changed(
        "tutorial-done",
        &[("/storage/Ok/seen/objects", json!([])), ("/storage/Ok/seen/read", Value::Null)],
    ))
    .says(17, Status::Done, &["bucket OCI_EKMS_Test_Bucket is encrypted with ocid1.key."])
    .says(18, Status::NotDone, &["is empty: upload a file, block the key in CTM, then unblock it"]);
}

#[test]
fn a_bucket_with_oracle_managed_keys_is_task_17_wrong() {
    graded(changed("tutorial-done", &[("/storage/Ok/seen/bucket/kmsKeyId", Value::Null)])).says(
        17,
        Status::Wrong,
        &["has no kmsKeyId (Oracle-managed keys); expected the key reference OCI_Key_Reference"],
    );
}

#[test]
fn a_read_that_failed_otherwise_is_task_18_wrong() {
    let read = json!({ "failed": { "name": "hyok-test.txt", "why": "GET … answered HTTP 503: KmsUnavailable" } });
    graded(changed("tutorial-done", &[("/storage/Ok/seen/read", read)])).says(
        18,
        Status::Wrong,
        &["reading object \"hyok-test.txt\" failed: GET … answered HTTP 503: KmsUnavailable"],
    );
}

#[test]
fn a_recording_reads_back_as_it_was_written() {
    for name in ["fresh", "tutorial-done", "key-blocked", "direct-done"] {
        let recording = fixture(name);
        let seen: Seen = serde_json::from_value(recording.clone()).expect("recording");
        assert_eq!(serde_json::to_value(&seen).expect("json"), recording, "{name}");
    }
}
