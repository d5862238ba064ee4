//! Networking API over a small world built directly in the models, on real TLS sockets.

use crate::support::{Reply, api_key};
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use hyok_core::{
    Clock,
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::Server,
};
use hyok_dns::{DnsModel, RecordData, model::RecordOp};
use hyok_netsim::NetworkModel;
use hyok_oci::{DnsApi, DnsConfig, NetworkApi, NetworkConfig, dns, network};
use hyok_oci_rest::{KeyStore, SignatureVerifier, Tenancy};
use hyok_test_support::oci;
use serde_json::{Value, json};
use std::{net::Ipv4Addr, sync::Arc};
use tokio_util::sync::CancellationToken;

/// The hub/spoke world of the tutorial, both APIs, and a signed client.
pub struct World {
    pub tenancy: Tenancy,
    pub net: NetworkModel,
    pub dns: DnsModel,
    pub network_api: NetworkApi,
    pub dns_api: DnsApi,
    pub iaas: Server,
    pub dns_server: Server,
    pub client: HttpClient,
    pub ca: LabCa,
    pub hub_vcn: String,
    pub spoke_vcn: String,
    pub ams_vcn: String,
    pub spoke_subnet: String,
    pub spoke_list: String,
    pub hub_resolver: String,
    pub spoke_resolver: String,
    /// The AMS VCN's resolver: another region's, which the FRA DNS API does not show.
    pub ams_resolver: String,
    pub hub_view: String,
    /// The DNS API's clock: manual, except for the official CLI, which waits in real time.
    pub clock: Clock,
}

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

impl World {
    pub async fn start() -> Self {
        Self::start_with(Clock::manual()).await
    }

    pub async fn start_with(clock: Clock) -> Self {
        Self::start_on("127.0.0.1:0", "127.0.0.1:0", clock).await
    }

    pub async fn start_on(iaas_addr: &str, dns_addr: &str, clock: Clock) -> Self {
        hyok_core::tls::install_crypto_provider();
        let tenancy = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let verifier = Arc::new(SignatureVerifier::new(keys));
        let c = tenancy.compartment_id.clone();

        let net = NetworkModel::new();
        let hub = net.create_vcn("fra-hub-vcn", "FRA", "10.10.0.0/16", &c, "hub", true).expect("hub");
        let hub_list = net.create_default_security_list(&hub.id).expect("hub list");
        net.create_subnet(&hub.id, "fra-hub-private-subnet", "10.10.1.0/24", vec![hub_list.id], "hubpriv")
            .expect("hub subnet");
        let spoke = net.create_vcn("fra-spoke-a-vcn", "FRA", "172.16.0.0/16", &c, "spokea", true).expect("spoke");
        let spoke_list = net.create_default_security_list(&spoke.id).expect("spoke list");
        let spoke_subnet = net
            .create_subnet(
                &spoke.id,
                "fra-spoke-a-private-subnet",
                "172.16.1.0/24",
                vec![spoke_list.id.clone()],
                "spokeapriv",
            )
            .expect("spoke subnet");
        let ams = net.create_vcn("ams-vcn", "AMS", "10.222.0.0/16", &c, "ams", true).expect("ams");
        let ams_list = net.create_default_security_list(&ams.id).expect("ams list");
        net.create_subnet(&ams.id, "ams-private-subnet", "10.222.10.0/24", vec![ams_list.id], "amspriv")
            .expect("ams subnet");

        let dnsm = DnsModel::new();
        let hub_resolver = dnsm.create_resolver(&hub.id, &hub.display_name, &c);
        let spoke_resolver = dnsm.create_resolver(&spoke.id, &spoke.display_name, &c);
        let ams_resolver = dnsm.create_resolver(&ams.id, &ams.display_name, &c);
        let hub_view = dnsm.create_view("fra-hub-private-view", &c, false);
        let zone = dnsm.create_zone("oci-thales.lab", &hub_view.id, &c).expect("zone");
        dnsm.patch_records(
            &zone.id,
            &[(
                RecordOp::Add,
                RecordData {
                    domain: "ctm1.oci-thales.lab".into(),
                    rtype: "A".into(),
                    rdata: "10.222.10.21".into(),
                    ttl: 30,
                },
            )],
        )
        .expect("record");
        dnsm.set_attached_views(&hub_resolver.id, vec![hub_view.id.clone()]).expect("attach hub");

        let compartments = vec![c.clone(), tenancy.tenancy_id.clone()];
        let network_api = NetworkApi::new(
            NetworkConfig { compartments: compartments.clone(), ..Default::default() },
            net.clone(),
            dnsm.clone(),
            verifier.clone(),
        );
        let dns_config =
            DnsConfig { compartments, clock: clock.clone(), network: Some(net.clone()), ..Default::default() };
        let dns_api = DnsApi::new(dns_config, dnsm.clone(), verifier);

        let ca = LabCa::generate("HYOK Lab Test Web Root").expect("ca");
        let leaf = ca.issue_server(&[network::HOST, dns::HOST, "127.0.0.1"]).expect("leaf");
        let tls = hyok_core::tls::server_config(&leaf.chain_pem(), &leaf.key_pem).expect("tls");
        let serve = |addr: &str, router| {
            let addr = addr.parse().expect("addr");
            let tls = tls.clone();
            async move {
                let listener = hyok_core::server::bind(addr).await.expect("bind");
                hyok_core::server::serve(listener, router, Some(tls), CancellationToken::new())
            }
        };
        let iaas = serve(iaas_addr, network::router(network_api.clone())).await;
        let dns_server = serve(dns_addr, dns::router(dns_api.clone())).await;
        let dial =
            StaticDial::new().pin(network::HOST, 443, iaas.local_addr).pin(dns::HOST, 443, dns_server.local_addr);
        let client = HttpClient::new(Arc::new(dial), hyok_core::tls::client_config(ca.cert_pem()).expect("client tls"));
        Self {
            tenancy,
            net,
            dns: dnsm,
            network_api,
            dns_api,
            iaas,
            dns_server,
            client,
            ca,
            hub_vcn: hub.id,
            spoke_vcn: spoke.id,
            ams_vcn: ams.id,
            spoke_subnet: spoke_subnet.id,
            spoke_list: spoke_list.id,
            hub_resolver: hub_resolver.id,
            spoke_resolver: spoke_resolver.id,
            ams_resolver: ams_resolver.id,
            hub_view: hub_view.id,
            clock,
        }
    }

    pub fn request(&self, method: Method, url: &str, body: Option<&Value>) -> Request<Bytes> {
        oci::json_request(method, url, body)
    }

    pub async fn send(&self, req: Request<Bytes>) -> Reply {
        oci::send(&self.client, req.map(Body::from)).await
    }

    /// Sign and send, optionally with `if-match`.
    pub async fn signed(&self, method: Method, url: &str, body: Option<&Value>, if_match: Option<&str>) -> Reply {
        let mut req = self.request(method, url, body);
        if let Some(e) = if_match {
            req.headers_mut().insert("if-match", HeaderValue::from_str(e).expect("etag"));
        }
        oci::send_signed(&self.client, &self.tenancy, req).await
    }

    /// A Networking API call.
    pub async fn iaas(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.signed(method, &iaas_url(path), body, None).await
    }

    /// A DNS API call.
    pub async fn dns(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.signed(method, &dns_url(path), body, None).await
    }
}

pub fn iaas_url(path: &str) -> String {
    format!("https://{}{}{}", network::HOST, network::BASE_PATH, path)
}

pub fn dns_url(path: &str) -> String {
    format!("https://{}{}{}", dns::HOST, dns::BASE_PATH, path)
}

fn items(r: &Reply) -> &Vec<Value> {
    r.json.as_array().unwrap_or_else(|| panic!("expected a JSON array, got {:?}", r.json))
}

fn task5_rule() -> Value {
    json!({"source": "172.16.1.0/24", "sourceType": "CIDR_BLOCK", "protocol": "all", "isStateless": false,
           "description": "Task 5: all traffic inside the spoke A private subnet"})
}

#[tokio::test]
async fn vcns_subnets_and_security_lists_are_listed_and_read() {
    let w = World::start().await;
    let c = &w.tenancy.compartment_id;
    let r = w.iaas(Method::GET, &format!("/vcns?compartmentId={c}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert!(r.headers.contains_key("opc-request-id"));
    let vcns = items(&r);
    let names: Vec<&str> = vcns.iter().map(|v| v["displayName"].as_str().expect("name")).collect();
    assert_eq!(vcns.len(), 2, "only the FRA region's VCNs: {names:?}");
    assert!(!names.contains(&"ams-vcn"));
    let spoke = vcns.iter().find(|v| v["id"] == w.spoke_vcn.as_str()).expect("spoke listed");
    assert_eq!(spoke["lifecycleState"], "AVAILABLE");
    assert_eq!(spoke["cidrBlock"], "172.16.0.0/16");
    assert_eq!(spoke["cidrBlocks"], json!(["172.16.0.0/16"]));
    assert_eq!(spoke["defaultSecurityListId"], w.spoke_list.as_str());
    assert_eq!(spoke["vcnDomainName"], "spokea.oraclevcn.com");
    assert_eq!(spoke["compartmentId"], c.as_str());
    assert!(spoke["timeCreated"].as_str().expect("time").ends_with('Z'));
    // The SDK's `Vcn` has a default route table and DHCP options, made with the VCN.
    let (rt, dhcp) = (spoke["defaultRouteTableId"].as_str().expect("rt"), spoke["defaultDhcpOptionsId"].as_str());
    assert!(rt.starts_with("ocid1.routetable.") && hyok_core::ids::is_ocid(rt), "{rt}");
    assert!(dhcp.is_some_and(|d| d.starts_with("ocid1.dhcpoptions.")), "{dhcp:?}");
    let hub = vcns.iter().find(|v| v["id"] == w.hub_vcn.as_str()).expect("hub listed");
    assert_ne!(hub["defaultRouteTableId"], spoke["defaultRouteTableId"], "one route table per VCN");

    let r = w.iaas(Method::GET, &format!("/vcns?compartmentId={c}&displayName=fra-hub-vcn"), None).await;
    assert_eq!(items(&r).len(), 1);
    // Paging: one per page, the token leads to the other.
    let r = w.iaas(Method::GET, &format!("/vcns?compartmentId={c}&limit=1&sortBy=DISPLAYNAME"), None).await;
    assert_eq!(items(&r)[0]["displayName"], "fra-hub-vcn");
    let next = r.headers.get("opc-next-page").expect("next page").to_str().expect("ascii").to_string();
    let r = w.iaas(Method::GET, &format!("/vcns?compartmentId={c}&limit=1&sortBy=DISPLAYNAME&page={next}"), None).await;
    assert_eq!(items(&r)[0]["displayName"], "fra-spoke-a-vcn");
    assert!(!r.headers.contains_key("opc-next-page"));

    let r = w.iaas(Method::GET, &format!("/vcns/{}", w.spoke_vcn), None).await;
    assert_eq!(r.json["displayName"], "fra-spoke-a-vcn");
    assert!(r.headers.contains_key("etag"));
    w.iaas(Method::GET, &format!("/vcns/{}", w.ams_vcn), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );
    w.iaas(Method::GET, "/vcns", None).await.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "compartmentId");
    let other = hyok_core::ids::ocid("compartment", None);
    w.iaas(Method::GET, &format!("/vcns?compartmentId={other}"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "compartment",
    );

    let r = w.iaas(Method::GET, &format!("/subnets?compartmentId={c}&vcnId={}", w.spoke_vcn), None).await;
    let subnets = items(&r);
    assert_eq!(subnets.len(), 1);
    let s = &subnets[0];
    assert_eq!(s["id"], w.spoke_subnet.as_str());
    assert_eq!(s["cidrBlock"], "172.16.1.0/24");
    assert_eq!(s["vcnId"], w.spoke_vcn.as_str());
    assert_eq!(s["securityListIds"], json!([w.spoke_list]));
    assert_eq!(s["prohibitPublicIpOnVnic"], true);
    assert_eq!(s["virtualRouterIp"], "172.16.1.1");
    assert_eq!(s["subnetDomainName"], "spokeapriv.spokea.oraclevcn.com");
    assert_eq!(s["lifecycleState"], "AVAILABLE");
    // Required in the SDK's `Subnet`: the route table (the VCN's default) and the router's MAC.
    assert_eq!(s["routeTableId"], spoke["defaultRouteTableId"]);
    assert_eq!(s["dhcpOptionsId"], spoke["defaultDhcpOptionsId"]);
    let mac = s["virtualRouterMac"].as_str().expect("mac");
    assert!(mac.starts_with("00:00:17:") && mac.len() == 17, "{mac}");
    let r = w.iaas(Method::GET, &format!("/subnets/{}", w.spoke_subnet), None).await;
    assert_eq!(r.json["displayName"], "fra-spoke-a-private-subnet");
    assert_eq!((&r.json["routeTableId"], &r.json["virtualRouterMac"]), (&s["routeTableId"], &s["virtualRouterMac"]));
    // The ids are stable, and reading the tables they name says why the lab does not serve them.
    let again = w.iaas(Method::GET, &format!("/vcns/{}", w.spoke_vcn), None).await;
    assert_eq!(again.json["defaultRouteTableId"], spoke["defaultRouteTableId"]);
    for path in [format!("/routeTables/{rt}"), format!("/dhcps/{}", dhcp.unwrap_or_default())] {
        w.iaas(Method::GET, &path, None).await.assert_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "is not modelled by the lab",
        );
    }
    let r = w.iaas(Method::GET, &format!("/subnets?compartmentId={c}"), None).await;
    assert_eq!(items(&r).len(), 2, "hub and spoke subnets, not AMS");

    let r = w.iaas(Method::GET, &format!("/securityLists?compartmentId={c}&vcnId={}", w.spoke_vcn), None).await;
    let lists = items(&r);
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0]["displayName"], "Default Security List for fra-spoke-a-vcn");
    let r = w.iaas(Method::GET, &format!("/securityLists/{}", w.spoke_list), None).await;
    assert_eq!(r.json["lifecycleState"], "AVAILABLE");
    let ingress = r.json["ingressSecurityRules"].as_array().expect("ingress");
    assert_eq!(ingress.len(), 3);
    assert_eq!(ingress[0]["tcpOptions"]["destinationPortRange"], json!({"min": 22, "max": 22}));
    assert_eq!(r.json["egressSecurityRules"][0]["destination"], "0.0.0.0/0");
    assert_eq!(r.json["egressSecurityRules"][0]["protocol"], "all");
}

#[tokio::test]
async fn updating_the_security_list_opens_the_gateway_port_at_once() {
    let w = World::start().await;
    let (client, gw) = (ip("172.16.1.104"), ip("172.16.1.103"));
    let denied = w.net.check_tcp(client, gw, 443).expect_err("default list has no ingress from the subnet");
    assert!(denied.to_string().contains("no ingress rule"), "{denied}");

    let url = iaas_url(&format!("/securityLists/{}", w.spoke_list));
    let got = w.signed(Method::GET, &url, None, None).await;
    let etag = got.headers["etag"].to_str().expect("etag").to_string();
    let mut rules = got.json["ingressSecurityRules"].as_array().expect("rules").clone();
    rules.push(task5_rule());
    let body = json!({"ingressSecurityRules": rules});

    w.signed(Method::PUT, &url, Some(&body), Some("stale")).await.assert_error(
        StatusCode::PRECONDITION_FAILED,
        "NoEtagMatch",
        "if-match",
    );
    assert!(w.net.check_tcp(client, gw, 443).is_err(), "a refused update changes nothing");

    let epoch = w.net.epoch();
    let r = w.signed(Method::PUT, &url, Some(&body), Some(&etag)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["ingressSecurityRules"].as_array().expect("rules").len(), 4);
    assert_eq!(r.json["ingressSecurityRules"][3]["source"], "172.16.1.0/24");
    assert_eq!(r.json["egressSecurityRules"].as_array().expect("egress").len(), 1, "egress untouched");
    assert_ne!(r.headers["etag"].to_str().expect("etag"), etag, "etag follows the content");
    assert!(w.net.epoch() > epoch, "the model's epoch moved, so live dialers re-check");
    let allowed = w.net.check_tcp(client, gw, 443).expect("allowed after the update");
    assert!(allowed.ingress_rule.expect("rule").contains("ingress rule 4"));
    let again = w.iaas(Method::GET, &format!("/securityLists/{}", w.spoke_list), None).await;
    assert_eq!(again.json["ingressSecurityRules"][3]["description"], task5_rule()["description"]);

    // Replacing the egress list with nothing cuts traffic again: egress is checked too.
    let r = w
        .iaas(Method::PUT, &format!("/securityLists/{}", w.spoke_list), Some(&json!({"egressSecurityRules": []})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let e = w.net.check_tcp(client, gw, 443).expect_err("no egress");
    assert!(e.to_string().contains("no egress rule"), "{e}");
}

#[tokio::test]
async fn bad_rules_are_refused_naming_index_and_field() {
    let w = World::start().await;
    let path = format!("/securityLists/{}", w.spoke_list);
    let before = w.net.security_list(&w.spoke_list).expect("list");
    let bad_cidr = json!({"ingressSecurityRules": [task5_rule(), {"source": "172.16.1.0/33", "protocol": "all"}]});
    w.iaas(Method::PUT, &path, Some(&bad_cidr)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "ingressSecurityRules[1]: source \"172.16.1.0/33\"",
    );
    let missing = json!({"ingressSecurityRules": [{"source": "10.0.0.0/8"}]});
    w.iaas(Method::PUT, &path, Some(&missing)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "ingressSecurityRules[0]: missing field `protocol`",
    );
    let bad_proto = json!({"egressSecurityRules": [{"destination": "0.0.0.0/0", "protocol": "tcp"}]});
    w.iaas(Method::PUT, &path, Some(&bad_proto)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "egressSecurityRules[0]: protocol \"tcp\"",
    );
    let bad_ports = json!({"ingressSecurityRules": [
        {"source": "0.0.0.0/0", "protocol": "6", "tcpOptions": {"destinationPortRange": {"min": 444, "max": 443}}}
    ]});
    w.iaas(Method::PUT, &path, Some(&bad_ports)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "ingressSecurityRules[0]: port range 444-443",
    );
    let not_array = json!({"ingressSecurityRules": {"source": "0.0.0.0/0"}});
    w.iaas(Method::PUT, &path, Some(&not_array)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "ingressSecurityRules must be an array",
    );
    let service = json!({"ingressSecurityRules": [{"source": "all-fra-services", "sourceType": "SERVICE_CIDR_BLOCK", "protocol": "all"}]});
    w.iaas(Method::PUT, &path, Some(&service)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "ingressSecurityRules[0]: sourceType",
    );
    let after = w.net.security_list(&w.spoke_list).expect("list");
    assert_eq!(after.ingress_security_rules, before.ingress_security_rules, "nothing changed");
    assert_eq!(after.egress_security_rules, before.egress_security_rules);
    w.iaas(
        Method::PUT,
        "/securityLists/ocid1.securitylist.oc1.eu-frankfurt-1.nothere",
        Some(&json!({"egressSecurityRules": []})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "not found");
}

#[tokio::test]
async fn vcn_dns_resolver_association_names_the_resolver() {
    let w = World::start().await;
    let r = w.iaas(Method::GET, &format!("/vcns/{}/dnsResolverAssociation", w.spoke_vcn), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json, json!({"vcnId": w.spoke_vcn, "dnsResolverId": w.spoke_resolver, "lifecycleState": "AVAILABLE"}));
    let hub = w.network_api.dns_resolver_association(&w.hub_vcn).expect("hub association in-process");
    assert_eq!(hub.dns_resolver_id, w.hub_resolver);
    assert_eq!(w.dns_api.get_resolver(&w.hub_resolver).expect("hub resolver").attached_views[0].view_id, w.hub_view);
    w.iaas(Method::GET, "/vcns/ocid1.vcn.oc1.eu-frankfurt-1.nothere/dnsResolverAssociation", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "VCN",
    );
}

#[tokio::test]
async fn unsigned_unknown_and_unmodelled_requests() {
    let w = World::start().await;
    let c = &w.tenancy.compartment_id;
    let unsigned = w.request(Method::GET, &iaas_url(&format!("/vcns?compartmentId={c}")), None);
    w.send(unsigned).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "Authorization");
    let unsigned = w.request(
        Method::PUT,
        &iaas_url(&format!("/securityLists/{}", w.spoke_list)),
        Some(&json!({"egressSecurityRules": []})),
    );
    w.send(unsigned).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "Authorization");
    assert_eq!(w.net.security_list(&w.spoke_list).expect("list").egress_security_rules.len(), 1);
    w.iaas(Method::POST, "/vcns", Some(&json!({"cidrBlock": "10.0.0.0/16", "compartmentId": c}))).await.assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "not modelled",
    );
    w.iaas(Method::DELETE, &format!("/subnets/{}", w.spoke_subnet), None).await.assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "not modelled",
    );
    assert!(w.net.subnet(&w.spoke_subnet).is_some());
    w.iaas(Method::GET, "/internetGateways", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "Unknown resource path",
    );
}
