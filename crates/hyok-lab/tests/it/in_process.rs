//! A lab started in-process, as other crates' tests start it.

use hyok_lab::{Lab, LabOptions};

#[tokio::test]
async fn lab_dials_follow_the_world() {
    hyok_test_support::init();
    let dir = std::env::temp_dir().join(format!("hyok-lab-inproc-{}", hyok_core::ids::hex32()));
    let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.expect("lab starts");
    let info = lab.write_lab_json().expect("lab.json");
    // From the gateway's address in spoke A, CTM's name does not resolve until Task 2.
    let dial = lab.dial_from("172.16.1.103".parse().expect("ip"));
    let e = hyok_core::client::Dial::dial(&dial, "ctm1.oci-thales.lab", 443).await.expect_err("not resolvable yet");
    assert!(e.to_string().contains("cannot resolve ctm1.oci-thales.lab in VCN fra-spoke-a-vcn"), "{e}");
    // The hub resolves it.
    let hub = lab.dial_from("10.10.1.50".parse().expect("ip"));
    let e = hyok_core::client::Dial::dial(&hub, "ctm1.oci-thales.lab", 443)
        .await
        .expect_err("resolves but nothing listens yet");
    assert!(!e.to_string().contains("cannot resolve"), "{e}");
    assert!(info.dns.vcn_resolvers.iter().any(|r| r.vcn == "fra-spoke-a-vcn"));
    lab.shutdown().await;
    assert!(!dir.join("lab.json").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn trace_explains_a_failed_hop() {
    hyok_test_support::init();
    let dir = std::env::temp_dir().join(format!("hyok-lab-trace-{}", hyok_core::ids::hex32()));
    let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.expect("lab starts");
    lab.write_lab_json().expect("lab.json");
    let client = lab.client_from("172.16.1.104".parse().expect("ip"), "private-endpoint", lab.public_ca.cert_pem()).expect("client");
    let mut req = http::Request::get("https://oci-api-gw.oci-thales.lab/api/v1/cckm/oci/ekm/v1/vaults/x/metadata")
        .header("opc-request-id", "trace-test-1")
        .body(axum::body::Body::empty())
        .expect("request");
    req.extensions_mut().insert(hyok_core::client::HopName("private endpoint → API gateway".into()));
    client.send(req).await.expect_err("spoke A cannot resolve the gateway before Task 2");

    let hops = hyok_lab::trace::load(&dir, Some("trace-test-1")).await.expect("trace");
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0].outcome, hyok_core::Outcome::DnsFailed);
    let text = hyok_lab::trace::render(&hops);
    assert!(text.contains("private endpoint → API gateway"), "{text}");
    assert!(text.contains("cannot resolve oci-api-gw.oci-thales.lab in VCN fra-spoke-a-vcn"), "{text}");
    assert!(text.contains("first failing hop"), "{text}");
    // --last finds the same request, and the file works once the lab is down.
    lab.shutdown().await;
    let last = hyok_lab::trace::load(&dir, None).await.expect("trace from file");
    assert_eq!(last, hops);
    let _ = std::fs::remove_dir_all(dir);
}
