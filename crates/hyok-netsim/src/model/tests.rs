//! Unit tests of the network model.

use super::*;
use std::net::Ipv4Addr;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

fn spoke() -> (NetworkModel, Subnet, SecurityList) {
    let m = NetworkModel::new();
    let v = m.create_vcn("spoke-a-vcn", "FRA", "172.16.0.0/16", "c", "spokea", true).expect("vcn");
    let l = m.create_default_security_list(&v.id).expect("list");
    let s = m.create_subnet(&v.id, "private-subnet", "172.16.1.0/24", vec![l.id.clone()], "priv").expect("subnet");
    (m, s, l)
}

#[test]
fn same_subnet_is_denied_until_ingress_rule() {
    let (m, _s, l) = spoke();
    let e = m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 443).expect_err("denied");
    assert!(matches!(e, Denial::Ingress { .. }), "{e}");
    assert!(e.to_string().contains("Default Security List for spoke-a-vcn"), "{e}");
    let mut ingress = l.ingress_security_rules.clone();
    ingress.push(IngressRule {
        source: "172.16.1.0/24".into(),
        source_type: "CIDR_BLOCK".into(),
        protocol: "all".into(),
        is_stateless: false,
        tcp_options: None,
        udp_options: None,
        icmp_options: None,
        description: None,
    });
    let before = m.epoch();
    m.update_security_list(&l.id, Some(ingress), None, None).expect("update");
    assert!(m.epoch() > before);
    let ok = m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 443).expect("allowed");
    assert!(ok.ingress_rule.expect("rule").contains("ingress rule 4"));
    // SSH from anywhere is in the default list.
    m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 22).expect("ssh allowed");
}

#[test]
fn routes_follow_links_and_name_down_links() {
    let (m, s, _) = spoke();
    let spoke_vcn = s.vcn_id.clone();
    let ams = m.create_vcn("ams-vcn", "AMS", "10.222.0.0/16", "c", "ams", true).expect("vcn");
    let web = m
        .create_security_list(
            &ams.id,
            "ctm-https",
            vec![IngressRule {
                source: "172.16.0.0/12".into(),
                source_type: "CIDR_BLOCK".into(),
                protocol: "6".into(),
                is_stateless: false,
                tcp_options: Some(PortOptions {
                    destination_port_range: Some(PortRange { min: 443, max: 443 }),
                    source_port_range: None,
                }),
                udp_options: None,
                icmp_options: None,
                description: None,
            }],
            vec![],
        )
        .expect("list");
    m.create_subnet(&ams.id, "ams-private", "10.222.10.0/24", vec![web.id], "amspriv").expect("subnet");
    let err = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect_err("no link");
    assert!(matches!(err, Denial::NoRoute { .. }), "{err}");
    let hub = m.create_vcn("hub-vcn", "FRA", "10.10.0.0/16", "c", "hub", true).expect("hub");
    m.add_link("drg-spoke-a", &spoke_vcn, &hub.id, LinkKind::DrgAttachment).expect("link");
    m.add_link("vpn-fra-ams", &hub.id, &ams.id, LinkKind::SiteToSiteVpn).expect("link");
    let ok = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect("route");
    assert_eq!(ok.path, "spoke-a-vcn → hub-vcn → ams-vcn");
    assert!(matches!(m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 8443), Err(Denial::Ingress { .. })));
    m.set_link_up("vpn-fra-ams", false).expect("down");
    let err = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect_err("down");
    assert!(err.to_string().contains("Site-to-Site VPN vpn-fra-ams is down"), "{err}");
}

#[test]
fn bad_input_is_refused_clearly() {
    let (m, s, l) = spoke();
    assert!(matches!(m.create_vcn("x", "FRA", "10.0.0.0/33", "c", "x", true), Err(NetError::InvalidCidr(_))));
    assert!(matches!(
        m.create_subnet(&s.vcn_id, "o", "172.16.1.128/25", vec![], "o"),
        Err(NetError::OverlappingSubnet { .. })
    ));
    assert!(matches!(
        m.create_subnet(&s.vcn_id, "o", "10.9.0.0/24", vec![], "o"),
        Err(NetError::SubnetOutsideVcn { .. })
    ));
    let bad = IngressRule {
        source: "nope".into(),
        source_type: "CIDR_BLOCK".into(),
        protocol: "6".into(),
        is_stateless: false,
        tcp_options: None,
        udp_options: None,
        icmp_options: None,
        description: None,
    };
    let e = m.update_security_list(&l.id, Some(vec![bad]), None, None).expect_err("bad rule");
    assert!(e.to_string().contains("source \"nope\""), "{e}");
}

#[test]
fn allocation_is_deterministic() {
    let (m, s, _) = spoke();
    m.set_allocation_start(&s.id, ip("172.16.1.103")).expect("start");
    assert_eq!(m.allocate_ip(&s.id, "API-GW").expect("ip"), ip("172.16.1.103"));
    assert_eq!(m.allocate_ip(&s.id, "pe").expect("ip"), ip("172.16.1.104"));
    m.release_ip(ip("172.16.1.103"));
    assert_eq!(m.allocate_ip(&s.id, "again").expect("ip"), ip("172.16.1.103"));
}
