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
