//! An API deployment becomes ACTIVE only when its backend is reachable through the network
//! model: FAILED for no route and for a security list, then ACTIVE once the cause is fixed.

use hyok_lab::{Lab, LabOptions};
use hyok_lab_client::scenario::{Runner, Scenario, load};

const CREATE: &str = r#"
name = "deploy"
title = "Task 7 alone"
[[task]]
number = 7
title = "Create an API deployment"
[[task.step]]
name = "create the deployment"
service = "oci-apigateway"
method = "POST"
path = "/20190501/deployments"
auth = "oci"
capture = { deployment_id = "/id" }
wait = { path = "/20190501/deployments/{{deployment_id}}", field = "/lifecycleState", until = "ACTIVE", fail_on = ["FAILED"], details = "/lifecycleDetails" }
[task.step.json]
displayName = "API-GW-DEPLOYMENT"
compartmentId = "{{oci.compartment}}"
gatewayId = "{{gateway_id}}"
pathPrefix = "/api/v1/cckm/oci/ekm/v1"
specification = { routes = [{ path = "/{path*}", methods = ["GET", "POST"], backend = { type = "HTTP_BACKEND", url = "https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v1/${request.path[path]}" } }] }
"#;

const REDEPLOY: &str = r#"
name = "redeploy"
title = "Task 7 again"
[[task]]
number = 7
title = "Redeploy"
[[task.step]]
name = "update the deployment (re-checks the backend)"
service = "oci-apigateway"
method = "PUT"
path = "/20190501/deployments/{{deployment_id}}"
auth = "oci"
json = {}
wait = { path = "/20190501/deployments/{{deployment_id}}", field = "/lifecycleState", until = "ACTIVE", fail_on = ["FAILED"], details = "/lifecycleDetails" }
"#;

fn failure(report: &hyok_lab_client::scenario::Report) -> String {
    report.problem.clone().unwrap_or_default()
}

#[tokio::test]
async fn deployment_fails_for_each_network_cause_then_recovers() {
    hyok_test_support::init();
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = Lab::start(LabOptions::ephemeral(dir.path().to_path_buf()), &|_| {}).await.expect("lab starts");
    lab.write_lab_json().expect("lab.json");
    let mut runner = Runner::new(dir.path()).expect("runner");
    let tutorial = load("oci-hyok-api-gateway").expect("scenario");
    let r = runner.run(&tutorial, Some(6), &|_| {}).await;
    assert!(r.passed, "{:?}", r.problem);
    let create = Scenario::parse("create", CREATE).expect("inline scenario");
    let redeploy = Scenario::parse("redeploy", REDEPLOY).expect("inline scenario");

    // No route: spoke A's DRG attachment is down (AMS is also reachable over ASH and the RPC,
    // so losing the FRA-AMS VPN alone would not cut it off).
    lab.net.set_link_up("drg-fra-hub-spoke-a", false).expect("link");
    let r = runner.run(&create, None, &|_| {}).await;
    let why = failure(&r);
    assert!(why.contains("no route") && why.contains("drg-fra-hub-spoke-a is down"), "{why}");
    lab.net.set_link_up("drg-fra-hub-spoke-a", true).expect("link");
    let r = runner.run(&redeploy, None, &|_| {}).await;
    assert!(r.passed, "{:?}", r.problem);

    // Security list: AMS stops letting HTTPS in.
    let ams = lab.net.security_lists().into_iter().find(|l| l.display_name == "ams-ctm-https").expect("list");
    lab.net.update_security_list(&ams.id, Some(Vec::new()), None, None).expect("strip");
    let r = runner.run(&redeploy, None, &|_| {}).await;
    let why = failure(&r);
    assert!(why.contains("security list denies") && why.contains("ams-ctm-https"), "{why}");
    lab.net.update_security_list(&ams.id, Some(ams.ingress_security_rules.clone()), None, None).expect("restore");
    let r = runner.run(&redeploy, None, &|_| {}).await;
    assert!(r.passed, "{:?}", r.problem);

    lab.shutdown().await;
}
