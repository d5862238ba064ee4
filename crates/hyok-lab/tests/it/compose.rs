//! The pieces of the split lab (compose topology) that work without Docker: the DNS service
//! answering from the region's model over the region's internal API, and a container's dialer
//! (real DNS, then the region's network decision). The whole topology runs in the container suite.

use hyok_core::client::Dial;
use hyok_lab::{
    Lab, LabOptions,
    compose::{ContainerDial, RegionClient, Role, ServeOptions},
};
use std::net::{Ipv4Addr, SocketAddr};

struct Region {
    lab: std::sync::Arc<Lab>,
    /// The lab dir, removed with it.
    tmp: tempfile::TempDir,
    admin: SocketAddr,
    token: String,
}

async fn region() -> Region {
    hyok_test_support::init();
    let tmp = tempfile::tempdir().expect("temp dir");
    let lab = Lab::start(LabOptions::ephemeral(tmp.path().to_path_buf()), &|_| {}).await.expect("lab starts");
    let info = lab.write_lab_json().expect("lab.json");
    let admin: SocketAddr = info.admin.url.trim_start_matches("http://").parse().expect("admin address");
    Region { lab, tmp, admin, token: info.admin.token }
}

impl Region {
    fn dir(&self) -> &std::path::Path {
        self.tmp.path()
    }
}

fn client(r: &Region, token: &str) -> RegionClient {
    RegionClient::new(r.admin, token.to_string(), r.lab.public_ca.cert_pem()).expect("region client")
}

#[tokio::test]
async fn the_dns_service_answers_from_the_regions_model() {
    let r = region().await;
    std::fs::create_dir_all(r.dir().join("compose")).expect("dir");
    std::fs::write(r.dir().join("compose/internal.token"), &r.token).expect("token file");
    let opts = ServeOptions {
        lab_dir: r.dir().to_path_buf(),
        world: hyok_lab::world::DEFAULT_WORLD.to_string(),
        port_base: 0,
        advertise: Ipv4Addr::LOCALHOST.into(),
        region: r.admin,
        dns: Ipv4Addr::LOCALHOST.into(),
        data_plane: SocketAddr::from(([127, 0, 0, 1], 9)),
    };
    let dns = hyok_lab::compose::serve(Role::Dns, opts).await.expect("dns service");
    let servers = dns.dns_servers();
    let at = |sel: &str| servers.iter().find(|(s, _)| s == sel).map(|(_, a)| *a).expect("resolver served");
    assert_eq!(servers.len(), 2 + 4, "Internet, host and four VCN resolvers: {servers:?}");

    // The hub's view answers for CTM; spoke A has no view attached yet (Task 2).
    let hub = hyok_core::dns::query_a(at("vcn:fra-hub-vcn"), "ctm1.oci-thales.lab").await.expect("answer");
    assert_eq!(hub, Ok(vec!["10.222.10.21".parse::<Ipv4Addr>().expect("ip")]));
    let spoke = hyok_core::dns::query_a(at("vcn:fra-spoke-a-vcn"), "ctm1.oci-thales.lab").await.expect("answer");
    assert!(spoke.is_err(), "{spoke:?}");

    // A container in spoke A cannot resolve CTM, and is told why by the region's model.
    let gw_ip: Ipv4Addr = "172.16.1.103".parse().expect("ip");
    let dial = ContainerDial::at(gw_ip, Some("fra-spoke-a-vcn"), at("vcn:fra-spoke-a-vcn"), client(&r, &r.token));
    let e = dial.dial("ctm1.oci-thales.lab", 443).await.expect_err("not resolvable before Task 2");
    assert!(e.to_string().contains("cannot resolve ctm1.oci-thales.lab in VCN fra-spoke-a-vcn: NXDOMAIN"), "{e}");

    // Task 2 in the region's model: the answer changes at once, and the dial leads to the address
    // itself (in the compose topology, CTM's container).
    let spoke_rid = r.lab.world.resolvers["fra-spoke-a-vcn"].clone();
    let hub_view = r.lab.world.views["fra-hub-private-view"].clone();
    r.lab.dns.set_attached_views(&spoke_rid, vec![hub_view]).expect("attach view");
    let d = dial.dial("ctm1.oci-thales.lab", 443).await.expect("resolves and is allowed");
    assert_eq!(d.real, SocketAddr::from(([10, 222, 10, 21], 443)));

    // The private endpoint's address reaching the gateway needs Task 5's ingress rule.
    let pe = ContainerDial::at(
        "172.16.1.104".parse().expect("ip"),
        Some("fra-spoke-a-vcn"),
        at("vcn:fra-spoke-a-vcn"),
        client(&r, &r.token),
    );
    let e = pe.dial("172.16.1.103", 443).await.expect_err("security list");
    assert!(matches!(e, hyok_core::client::DialError::Denied(_)), "{e:?}");
    assert!(e.to_string().contains("allows TCP 443 from 172.16.1.104"), "{e}");

    // The internal API wants the shared token.
    let e = client(&r, "wrong-token-0123456789").check(gw_ip, gw_ip, 443).await.expect_err("401");
    assert!(e.contains("401"), "{e}");
    let e = ContainerDial::at(
        gw_ip,
        Some("fra-spoke-a-vcn"),
        at("vcn:fra-spoke-a-vcn"),
        client(&r, "wrong-token-0123456789"),
    )
    .dial("10.222.10.21", 443)
    .await
    .expect_err("no decision without the token");
    assert!(e.to_string().contains("401"), "{e}");

    dns.shutdown().await;
    r.lab.shutdown().await;
}

#[tokio::test]
async fn hops_recorded_in_other_containers_show_in_the_regions_events_and_trace() {
    let r = region().await;
    let token = tokio_util::sync::CancellationToken::new();
    let gateway_log = hyok_lab::compose::container_events(r.dir(), Role::ApiGateway, &token).expect("gateway's log");
    let rid = format!("trace-{}", hyok_core::ids::hex32());
    let ts_ms = hyok_core::events::now_ms();
    gateway_log.record(hyok_core::HopEvent {
        ts_ms,
        request_id: rid.clone(),
        hop: "API gateway → backend".into(),
        source: "api-gateway oci-api-gw@172.16.1.103".into(),
        destination: "https://ctm1.oci-thales.lab/api/v1/cckm/oci/ekm/v1/vaults/v1/metadata".into(),
        outcome: hyok_core::Outcome::Error,
        status: Some(401),
        reason: "CipherTrust Manager refused the token".into(),
        decided_by: None,
        duration_us: 900,
    });

    // The region's admin API merges it in, over HTTP with its token; without it, 401.
    let info = hyok_lab_client::LabInfo::load(r.dir()).expect("lab.json");
    let client = info.host_client().expect("client");
    let auth = format!("Bearer {}", info.admin.token);
    let url = format!("{}/events?request_id={rid}", info.admin.url);
    let hops: Vec<hyok_core::HopEvent> = hyok_test_support::eventually("the gateway's hop in /events", || async {
        let (status, v) =
            client.get_json(&url, &[("authorization", auth.as_str())]).await.map_err(|e| e.to_string())?;
        let hops: Vec<hyok_core::HopEvent> = serde_json::from_value(v).map_err(|e| format!("{status}: {e}"))?;
        if hops.is_empty() { Err("not there yet".into()) } else { Ok(hops) }
    })
    .await;
    assert_eq!(hops.len(), 1);
    assert_eq!((hops[0].status, hops[0].ts_ms), (Some(401), ts_ms));
    let (status, _) = client.get_json(&url, &[]).await.expect("answer");
    assert_eq!(status, http::StatusCode::UNAUTHORIZED);
    let (_, recent) = client
        .get_json(&format!("{}/events?last=3", info.admin.url), &[("authorization", auth.as_str())])
        .await
        .expect("answer");
    let recent: Vec<hyok_core::HopEvent> = serde_json::from_value(recent).expect("hops");
    assert!(recent.len() <= 3 && recent.iter().any(|h| h.request_id == rid), "{recent:?}");

    // The trainer's view names the hop inside the gateway container as where it failed.
    let text = hyok_lab_client::trace::render(&hyok_lab_client::trace::load(r.dir(), Some(&rid)).await.expect("trace"));
    assert!(text.contains("where it failed: API gateway → backend — CipherTrust Manager refused the token"), "{text}");

    token.cancel();
    r.lab.shutdown().await;
    // With the region down, trace reads the files.
    let hops = hyok_lab_client::trace::load(r.dir(), Some(&rid)).await.expect("trace from files");
    assert_eq!(hops.len(), 1, "{hops:?}");
}
