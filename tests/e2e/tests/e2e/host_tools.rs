//! `dig` against the lab's resolvers, as the README documents it.

use crate::support::{TestLab, tool};

fn dig(server: std::net::SocketAddr, extra: &[&str], name: &str) -> Option<String> {
    let at = format!("@{}", server.ip());
    let port = server.port().to_string();
    let mut args = vec![at.as_str(), "-p", port.as_str(), name, "A", "+time=2", "+tries=1"];
    args.extend_from_slice(extra);
    let out = tool("dig", &args)?;
    assert!(out.status.success(), "dig failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn dig_sees_the_views_of_each_vcn() {
    let t = TestLab::start().await;
    let host = t.info.dns.host_resolver;
    let spoke = t.info.dns.vcn_resolvers.iter().find(|r| r.vcn == "fra-spoke-a-vcn").expect("spoke resolver").address;
    let hub = t.info.dns.vcn_resolvers.iter().find(|r| r.vcn == "fra-hub-vcn").expect("hub resolver").address;
    let (host, spoke, hub) = (host, spoke, hub);
    let outputs = tokio::task::spawn_blocking(move || {
        (
            dig(host, &["+short"], "ctm1.oci-thales.lab"),
            dig(hub, &["+tcp", "+short"], "oci-api-gw.oci-thales.lab"),
            dig(spoke, &[], "ctm1.oci-thales.lab"),
        )
    })
    .await
    .expect("dig runs");
    let (Some(h), Some(hub_tcp), Some(sp)) = outputs else { return t.stop().await };
    assert_eq!(h.trim(), "10.222.10.21");
    assert_eq!(hub_tcp.trim(), "172.16.1.103");
    // Before Task 2, spoke A's resolver does not know the lab zone.
    assert!(sp.contains("status: NXDOMAIN"), "{sp}");
    t.stop().await;
}
