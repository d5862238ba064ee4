//! Network model, lab DNS and the dialer over real sockets.

use axum::{Router, routing::get};
use hyok_core::{
    client::{ClientError, DialError, HttpClient},
    pki::LabCa,
};
use hyok_dns::{DnsModel, RecordData, model::RecordOp};
use hyok_dns_server::DnsServer;
use hyok_netsim::{AddressBook, IngressRule, NetworkModel, VcnDial, dial::query_a};
use std::net::Ipv4Addr;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

struct World {
    net: NetworkModel,
    dns: DnsModel,
    book: AddressBook,
    spoke_list: String,
    spoke_resolver: String,
    hub_view: String,
    spoke_dns: DnsServer,
    ca: LabCa,
    _server: hyok_core::server::Server,
}

async fn world() -> World {
    hyok_test_support::init();
    let net = NetworkModel::new();
    let dns = DnsModel::new();
    let book = AddressBook::new();
    let hub = net.create_vcn("hub-vcn", "FRA", "10.10.0.0/16", "c", "hub", true).expect("hub");
    let spoke = net.create_vcn("spoke-a-vcn", "FRA", "172.16.0.0/16", "c", "spokea", true).expect("spoke");
    let list = net.create_default_security_list(&spoke.id).expect("list");
    net.create_subnet(&spoke.id, "spoke-a-private", "172.16.1.0/24", vec![list.id.clone()], "priv").expect("subnet");
    net.add_link("drg-spoke-a", &spoke.id, &hub.id, hyok_netsim::LinkKind::DrgAttachment).expect("link");
    dns.create_resolver(&hub.id, "hub-vcn", "c");
    let spoke_resolver = dns.create_resolver(&spoke.id, "spoke-a-vcn", "c");
    let hub_view = dns.create_view("hub-private-view", "c", false);
    let zone = dns.create_zone("oci-thales.lab", &hub_view.id, "c").expect("zone");
    dns.patch_records(
        &zone.id,
        &[(
            RecordOp::Add,
            RecordData {
                domain: "oci-api-gw.oci-thales.lab".into(),
                rtype: "A".into(),
                rdata: "172.16.1.103".into(),
                ttl: 0,
            },
        )],
    )
    .expect("record");
    let spoke_dns = DnsServer::start(dns.clone(), &spoke_resolver.id, ([127, 0, 0, 1], 0).into()).await.expect("dns");
    // A "gateway" at 172.16.1.103:443 with a lab certificate for its FQDN and IP.
    let ca = LabCa::generate("Test Root").expect("ca");
    let router = Router::new().route("/ping", get(|| async { "pong" }));
    let server = hyok_test_support::serve_tls(&ca, &["oci-api-gw.oci-thales.lab", "172.16.1.103"], router).await;
    book.register(ip("172.16.1.103"), 443, "api-gateway", server.local_addr);
    World {
        net,
        dns,
        book,
        spoke_list: list.id,
        spoke_resolver: spoke_resolver.id,
        hub_view: hub_view.id,
        spoke_dns,
        ca,
        _server: server,
    }
}

fn client(w: &World, ca_pem: &str) -> HttpClient {
    let dial = VcnDial::new(
        w.net.clone(),
        w.dns.clone(),
        w.book.clone(),
        ip("172.16.1.104"),
        &w.spoke_resolver,
        "VCN spoke-a-vcn",
        w.spoke_dns.local_addr,
    );
    HttpClient::new(std::sync::Arc::new(dial), hyok_core::tls::client_config(ca_pem).expect("tls"))
}

async fn get_ping(c: &HttpClient, url: &str) -> Result<String, ClientError> {
    let req = http::Request::get(url).body(axum::body::Body::empty()).expect("req");
    let resp = c.send(req).await?;
    Ok(String::from_utf8_lossy(resp.body()).into_owned())
}

fn allow_subnet(w: &World) {
    let mut rules = w.net.security_list(&w.spoke_list).expect("list").ingress_security_rules;
    rules.push(IngressRule {
        source: "172.16.1.0/24".into(),
        source_type: "CIDR_BLOCK".into(),
        protocol: "all".into(),
        is_stateless: false,
        tcp_options: None,
        udp_options: None,
        icmp_options: None,
        description: Some("Task 5".into()),
    });
    w.net.update_security_list(&w.spoke_list, Some(rules), None, None).expect("update");
}

#[tokio::test]
async fn dns_answers_change_when_the_hub_view_is_attached() {
    let w = world().await;
    let before = query_a(w.spoke_dns.local_addr, "oci-api-gw.oci-thales.lab").await.expect("udp");
    assert_eq!(before, Err(hickory_proto::op::ResponseCode::NXDomain));
    w.dns.set_attached_views(&w.spoke_resolver, vec![w.hub_view.clone()]).expect("attach");
    let after = query_a(w.spoke_dns.local_addr, "oci-api-gw.oci-thales.lab").await.expect("udp");
    assert_eq!(after, Ok(vec![ip("172.16.1.103")]));
    // The same question over TCP (length-prefixed), as `dig +tcp` asks it.
    let tcp = tcp_query_a(w.spoke_dns.local_addr, "oci-api-gw.oci-thales.lab").await;
    assert_eq!(tcp, vec![ip("172.16.1.103")]);
}

async fn tcp_query_a(server: std::net::SocketAddr, host: &str) -> Vec<Ipv4Addr> {
    use hickory_proto::{
        op::{Message, MessageType, OpCode, Query},
        rr::{Name, RData, RecordType},
    };
    use std::str::FromStr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut msg = Message::new(7, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(Name::from_str(&format!("{host}.")).expect("name"), RecordType::A));
    let bytes = msg.to_vec().expect("encode");
    let mut s = tokio::net::TcpStream::connect(server).await.expect("tcp");
    s.write_all(&(bytes.len() as u16).to_be_bytes()).await.expect("len");
    s.write_all(&bytes).await.expect("msg");
    let len = s.read_u16().await.expect("resp len") as usize;
    let mut buf = vec![0; len];
    s.read_exact(&mut buf).await.expect("resp");
    let resp = Message::from_vec(&buf).expect("decode");
    resp.answers.iter().filter_map(|r| if let RData::A(a) = &r.data { Some(a.0) } else { None }).collect()
}

#[tokio::test]
async fn dial_fails_on_dns_then_security_list_then_passes() {
    let w = world().await;
    let c = client(&w, w.ca.cert_pem());
    let url = "https://oci-api-gw.oci-thales.lab/ping";
    let e = get_ping(&c, url).await.expect_err("dns");
    assert!(
        matches!(&e, ClientError::Dial(DialError::Dns(m)) if m.contains("VCN spoke-a-vcn") && m.contains("NXDOMAIN")),
        "{e}"
    );
    w.dns.set_attached_views(&w.spoke_resolver, vec![w.hub_view.clone()]).expect("attach");
    let e = get_ping(&c, url).await.expect_err("same subnet denied");
    assert!(
        matches!(&e, ClientError::Dial(DialError::Denied(m)) if m.contains("no ingress rule") && m.contains("TCP 443 from 172.16.1.104")),
        "{e}"
    );
    allow_subnet(&w);
    assert_eq!(get_ping(&c, url).await.expect("allowed"), "pong");
    // By IP too: the certificate carries the IP.
    assert_eq!(get_ping(&c, "https://172.16.1.103/ping").await.expect("by ip"), "pong");
}

#[tokio::test]
async fn a_rule_removed_cuts_pooled_connections_at_once() {
    let w = world().await;
    w.dns.set_attached_views(&w.spoke_resolver, vec![w.hub_view.clone()]).expect("attach");
    allow_subnet(&w);
    let c = client(&w, w.ca.cert_pem());
    assert_eq!(get_ping(&c, "https://172.16.1.103/ping").await.expect("ok"), "pong");
    let mut rules = w.net.security_list(&w.spoke_list).expect("list").ingress_security_rules;
    rules.pop();
    w.net.update_security_list(&w.spoke_list, Some(rules), None, None).expect("remove rule");
    let e = get_ping(&c, "https://172.16.1.103/ping").await.expect_err("denied now");
    assert!(matches!(e, ClientError::Dial(DialError::Denied(_))), "{e}");
}

#[tokio::test]
async fn tls_is_verified_against_the_given_ca_and_name() {
    let w = world().await;
    w.dns.set_attached_views(&w.spoke_resolver, vec![w.hub_view.clone()]).expect("attach");
    allow_subnet(&w);
    let other = LabCa::generate("Some Other Root").expect("ca");
    let c = client(&w, other.cert_pem());
    let e = get_ping(&c, "https://oci-api-gw.oci-thales.lab/ping").await.expect_err("untrusted");
    assert!(
        matches!(&e, ClientError::Tls { reason, .. } if reason.contains("UnknownIssuer") || reason.contains("unknown issuer")),
        "{e}"
    );
    // Nothing listens on another port of the same address.
    let c = client(&w, w.ca.cert_pem());
    let e = get_ping(&c, "https://172.16.1.103:8443/ping").await.expect_err("no listener");
    assert!(matches!(&e, ClientError::Dial(DialError::NoListener(m)) if m.contains("172.16.1.103:8443")), "{e}");
}
