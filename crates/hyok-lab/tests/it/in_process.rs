//! A lab started in-process, as other crates' tests start it.

use hyok_lab::{Lab, LabOptions};

#[tokio::test]
async fn lab_dials_follow_the_world() {
    hyok_test_support::init();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let lab = Lab::start(LabOptions::ephemeral(dir.to_path_buf()), &|_| {}).await.expect("lab starts");
    let info = lab.write_lab_json().expect("lab.json");
    // From the gateway's address in spoke A, CTM's name does not resolve until Task 2.
    let dial = lab.dial_from("172.16.1.103".parse().expect("ip"));
    let e = hyok_core::client::Dial::dial(&dial, "ctm1.oci-thales.lab", 443).await.expect_err("not resolvable yet");
    assert!(e.to_string().contains("cannot resolve ctm1.oci-thales.lab in VCN fra-spoke-a-vcn"), "{e}");
    // The hub resolves it and reaches CTM over the VPN to AMS.
    let hub = lab.dial_from("10.10.1.50".parse().expect("ip"));
    let d = hyok_core::client::Dial::dial(&hub, "ctm1.oci-thales.lab", 443).await.expect("hub reaches CTM");
    assert!(d.label.starts_with("10.222.10.21:443"), "{}", d.label);
    assert!(info.dns.vcn_resolvers.iter().any(|r| r.vcn == "fra-spoke-a-vcn"));
    lab.shutdown().await;
    assert!(!dir.join("lab.json").exists());
}

#[tokio::test]
async fn trace_explains_a_failed_hop() {
    hyok_test_support::init();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let lab = Lab::start(LabOptions::ephemeral(dir.to_path_buf()), &|_| {}).await.expect("lab starts");
    lab.write_lab_json().expect("lab.json");
    let client = lab
        .client_from("172.16.1.104".parse().expect("ip"), "private-endpoint", lab.public_ca.cert_pem())
        .expect("client");
    let mut req = http::Request::get("https://oci-api-gw.oci-thales.lab/api/v1/cckm/oci/ekm/v1/vaults/x/metadata")
        .header("opc-request-id", "trace-test-1")
        .body(axum::body::Body::empty())
        .expect("request");
    req.extensions_mut().insert(hyok_core::client::HopName("private endpoint → API gateway".into()));
    client.send(req).await.expect_err("spoke A cannot resolve the gateway before Task 2");

    let hops = hyok_lab_client::trace::load(dir, Some("trace-test-1")).await.expect("trace");
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0].outcome, hyok_core::Outcome::DnsFailed);
    let text = hyok_lab_client::trace::render(&hops);
    assert!(text.contains("private endpoint → API gateway"), "{text}");
    assert!(text.contains("cannot resolve oci-api-gw.oci-thales.lab in VCN fra-spoke-a-vcn"), "{text}");
    assert!(text.contains("where it failed"), "{text}");
    // --last finds the same request, and the file works once the lab is down.
    lab.shutdown().await;
    let last = hyok_lab_client::trace::load(dir, None).await.expect("trace from file");
    assert_eq!(last, hops);
}

#[tokio::test]
async fn endpoints_created_at_run_time_follow_the_network_and_join_lab_json() {
    use hyok_core::host::{Endpoint, ServiceHost};
    hyok_test_support::init();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let lab = Lab::start(LabOptions::ephemeral(dir.to_path_buf()), &|_| {}).await.expect("lab starts");
    lab.write_lab_json().expect("lab.json");
    // A "gateway" at 172.16.1.103 in spoke A.
    let cert = lab.public_ca.issue_server(&["gw.test", "172.16.1.103"]).expect("cert");
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("tls");
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "gateway" }));
    let ep = Endpoint {
        name: "api-gateway test".into(),
        kind: "api-gateway".into(),
        host: "gw.test".into(),
        ip: "172.16.1.103".parse().expect("ip"),
        port: 443,
    };
    lab.host.host(ep, router, tls).await.expect("hosted");
    let info = hyok_lab_client::LabInfo::load(dir).expect("lab.json");
    let created = info.service("api-gateway test").expect("listed in lab.json");
    assert!(created.created);
    // The private endpoint's address in the same subnet is denied by the default security list.
    let client = lab.client_from("172.16.1.104".parse().expect("ip"), "pe", lab.public_ca.cert_pem()).expect("client");
    let req = || http::Request::get("https://172.16.1.103/").body(axum::body::Body::empty()).expect("req");
    let e = client.send(req()).await.expect_err("denied");
    assert!(e.to_string().contains("no ingress rule"), "{e}");
    // From the hub (routes through the DRG; spoke A's list still has no rule for 443 from the hub).
    let hub = lab.client_from("10.10.1.9".parse().expect("ip"), "hub", lab.public_ca.cert_pem()).expect("client");
    let e = hub.send(req()).await.expect_err("denied too");
    assert!(e.to_string().contains("from 10.10.1.9"), "{e}");
    lab.host.unhost("172.16.1.103".parse().expect("ip"), 443).await;
    let info = hyok_lab_client::LabInfo::load(dir).expect("lab.json");
    assert!(info.service("api-gateway test").is_none());
    lab.shutdown().await;
}
