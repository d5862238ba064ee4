//! DNS API: views, private zones, records and resolvers over a small world, on real TLS sockets,
//! and a real DNS server whose answers follow the API.

use crate::network::World;
use http::{Method, StatusCode};
use hyok_dns::Resolution;
use hyok_dns_server::DnsServer;
use hyok_oci::DnsConfig;
use hyok_oci_rest::tenancy::CliEndpoint;
use serde_json::{Value, json};
use std::{net::Ipv4Addr, time::Duration};

/// The resource once the DNS API's lifecycle delay has passed: states are computed when read,
/// so moving the World's manual clock on is enough.
async fn after_delay(w: &World, path: &str, state: &str) -> Value {
    w.clock.advance(Duration::from_millis(DnsConfig::default().lifecycle_delay_ms));
    let r = w.dns(Method::GET, path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["lifecycleState"], state, "{path}: {:?}", r.json);
    r.json
}

fn domains(r: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = r["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["domain"].as_str().expect("domain").to_string(),
                i["rtype"].as_str().expect("rtype").to_string(),
                i["rdata"].as_str().expect("rdata").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn views_zones_and_records_crud() {
    let w = World::start().await;
    let c = w.tenancy.compartment_id.clone();

    // Views.
    let create_view = || {
        let mut req = w.request(
            Method::POST,
            &crate::network::dns_url("/views"),
            Some(&json!({"compartmentId": c, "displayName": "spoke-b-view"})),
        );
        req.headers_mut().insert("opc-retry-token", http::HeaderValue::from_static("view-token-1"));
        hyok_test_support::oci::sign(&mut req, &w.tenancy);
        req
    };
    let r = w.send(create_view()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let view = r.id();
    assert!(view.starts_with("ocid1.dnsview.oc1.eu-frankfurt-1."));
    assert_eq!(r.json["isProtected"], false);
    assert_eq!(r.json["lifecycleState"], "ACTIVE");
    assert_eq!(r.json["self"], crate::network::dns_url(&format!("/views/{view}")));
    assert_eq!(r.headers["location"], r.json["self"].as_str().expect("self"));
    let replay = w.send(create_view()).await;
    assert_eq!(replay.id(), view, "same retry token, same view");
    assert_eq!(
        (replay.status, &replay.headers["location"]),
        (StatusCode::CREATED, &r.headers["location"]),
        "replayed whole"
    );
    let r = w.dns(Method::GET, &format!("/views?compartmentId={c}&scope=PRIVATE"), None).await;
    let names: Vec<&str> =
        r.json.as_array().expect("array").iter().map(|v| v["displayName"].as_str().expect("n")).collect();
    assert_eq!(names.iter().filter(|n| **n == "spoke-b-view").count(), 1, "{names:?}");
    assert!(names.contains(&"fra-hub-private-view") && names.contains(&"fra-spoke-a-vcn"), "{names:?}");
    let r = w
        .dns(
            Method::PUT,
            &format!("/views/{view}"),
            Some(&json!({"displayName": "spoke-b-private-view", "freeformTags": {"lab": "yes"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["displayName"], "spoke-b-private-view");
    assert_eq!(r.json["freeformTags"], json!({"lab": "yes"}));
    w.dns(Method::POST, "/views", Some(&json!({"displayName": "x"}))).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "compartmentId",
    );

    // Zones: scope and viewId as query parameters, as the CLI sends them.
    let body = json!({"name": "spoke-b.lab", "compartmentId": c, "zoneType": "PRIMARY", "migrationSource": "NONE"});
    let r = w.dns(Method::POST, &format!("/zones?scope=PRIVATE&viewId={view}&compartmentId={c}"), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let zone = r.id();
    assert!(zone.starts_with("ocid1.dns-zone.oc1.eu-frankfurt-1."));
    assert_eq!(r.json["lifecycleState"], "CREATING");
    assert_eq!(r.json["scope"], "PRIVATE");
    assert_eq!(r.json["zoneType"], "PRIMARY");
    assert_eq!(r.json["viewId"], view.as_str());
    assert_eq!(r.json["serial"], 1);
    assert_eq!(r.json["version"], "1");
    assert_eq!(r.json["nameservers"], json!([]));
    let z = after_delay(&w, &format!("/zones/{zone}"), "ACTIVE").await;
    assert_eq!(z["name"], "spoke-b.lab");
    // By name, too.
    let r = w.dns(Method::GET, &format!("/zones/spoke-b.lab?scope=PRIVATE&viewId={view}"), None).await;
    assert_eq!(r.id(), zone);
    let r = w.dns(Method::GET, &format!("/zones?compartmentId={c}&scope=PRIVATE&viewId={view}"), None).await;
    let zones = r.json.as_array().expect("array");
    assert_eq!(zones.len(), 1);
    assert!(zones[0].get("nameservers").is_none(), "ZoneSummary");
    let r = w.dns(Method::GET, &format!("/zones?compartmentId={c}&scope=GLOBAL"), None).await;
    assert_eq!(r.json, json!([]), "the lab has no global zones");

    // Zone errors.
    w.dns(Method::POST, "/zones", Some(&json!({"name": "spoke-b.lab", "compartmentId": c, "zoneType": "PRIMARY", "scope": "PRIVATE", "viewId": view})))
        .await
        .assert_error(StatusCode::CONFLICT, "Conflict", "already exists");
    w.dns(
        Method::POST,
        "/zones",
        Some(&json!({"name": "bad name.lab", "compartmentId": c, "scope": "PRIVATE", "viewId": view})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "name");
    w.dns(Method::POST, "/zones", Some(&json!({"name": "x.lab", "compartmentId": c, "zoneType": "PRIMARY"})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "scope must be PRIVATE");
    w.dns(Method::POST, "/zones", Some(&json!({"name": "x.lab", "compartmentId": c, "scope": "PRIVATE"})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "viewId");
    w.dns(
        Method::POST,
        "/zones",
        Some(
            &json!({"name": "x.lab", "compartmentId": c, "scope": "PRIVATE", "zoneType": "SECONDARY", "viewId": view}),
        ),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "PRIMARY");
    let spoke_default = w.dns.resolver(&w.spoke_resolver).expect("resolver").default_view_id;
    w.dns(
        Method::POST,
        "/zones",
        Some(&json!({"name": "x.oraclevcn.com", "compartmentId": c, "scope": "PRIVATE", "viewId": spoke_default})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "oraclevcn.com");
    w.dns(Method::GET, "/zones/ocid1.dns-zone.oc1.eu-frankfurt-1.nothere", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );

    // Records.
    let add = json!({"items": [
        {"domain": "gw.spoke-b.lab", "rtype": "A", "rdata": "172.16.2.10", "ttl": 30, "operation": "ADD"},
        {"domain": "api.spoke-b.lab", "rtype": "CNAME", "rdata": "gw.spoke-b.lab", "ttl": 30, "operation": "ADD"},
    ]});
    let r = w.dns(Method::PATCH, &format!("/zones/{zone}/records"), Some(&add)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        domains(&r.json),
        vec![
            ("api.spoke-b.lab".into(), "CNAME".into(), "gw.spoke-b.lab.".into()),
            ("gw.spoke-b.lab".into(), "A".into(), "172.16.2.10".into()),
        ]
    );
    let item = &r.json["items"][0];
    assert_eq!(item["isProtected"], false);
    assert_eq!(item["recordHash"].as_str().expect("hash").len(), 32);
    assert_eq!(item["rrsetVersion"], "2");
    assert_eq!(r.headers["opc-total-items"], "2");
    let records_etag = r.headers["etag"].to_str().expect("etag").to_string();
    let got = w.dns(Method::GET, &format!("/zones/spoke-b.lab/records?viewId={view}&rtype=A"), None).await;
    assert_eq!(domains(&got.json), vec![("gw.spoke-b.lab".into(), "A".into(), "172.16.2.10".into())]);
    let got = w.dns(Method::GET, &format!("/zones/{zone}/records/api.spoke-b.lab"), None).await;
    assert_eq!(got.json["items"].as_array().expect("items").len(), 1);
    let got = w.dns(Method::GET, &format!("/zones/{zone}/records/gw.spoke-b.lab/A"), None).await;
    assert_eq!(got.json["items"][0]["rdata"], "172.16.2.10");
    w.dns(Method::GET, &format!("/zones/{zone}/records/gw.other.lab"), None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "not inside zone",
    );
    // The records answer real DNS at once through a resolver that has the view attached.
    w.dns.set_attached_views(&w.spoke_resolver, vec![view.clone()]).expect("attach");
    let ans = w.dns.resolve(&w.spoke_resolver, "api.spoke-b.lab", "A").expect("resolve");
    assert_eq!(ans.first_ipv4(), Some("172.16.2.10".parse().expect("ip")));

    // A bad item refuses the whole patch, naming the item.
    let bad = json!({"items": [
        {"domain": "ok.spoke-b.lab", "rtype": "A", "rdata": "172.16.2.11", "ttl": 30, "operation": "ADD"},
        {"domain": "bad.spoke-b.lab", "rtype": "A", "rdata": "172.16.2.300", "ttl": 30, "operation": "ADD"},
    ]});
    w.dns(Method::PATCH, &format!("/zones/{zone}/records"), Some(&bad)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "items[1]: invalid record: rdata",
    );
    let outside =
        json!({"items": [{"domain": "x.other.lab", "rtype": "A", "rdata": "1.2.3.4", "ttl": 30, "operation": "ADD"}]});
    w.dns(Method::PATCH, &format!("/zones/{zone}/records"), Some(&outside)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "not inside zone",
    );
    let no_op = json!({"items": [{"domain": "x.spoke-b.lab", "rtype": "A", "rdata": "1.2.3.4", "ttl": 30}]});
    w.dns(Method::PATCH, &format!("/zones/{zone}/records"), Some(&no_op)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "items[0].operation",
    );
    let mx = json!({"items": [{"domain": "spoke-b.lab", "rtype": "MX", "rdata": "10 mail.spoke-b.lab.", "ttl": 30, "operation": "ADD"}]});
    w.dns(Method::PATCH, &format!("/zones/{zone}/records"), Some(&mx)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "items[0]: invalid record: rtype MX",
    );
    // if-match on the records collection.
    let stale = w
        .signed(Method::PATCH, &crate::network::dns_url(&format!("/zones/{zone}/records")), Some(&bad), Some("stale"))
        .await;
    stale.assert_error(StatusCode::PRECONDITION_FAILED, "NoEtagMatch", "if-match");
    let remove = json!({"items": [{"domain": "api.spoke-b.lab", "rtype": "CNAME", "operation": "REMOVE"}]});
    let r = w
        .signed(
            Method::PATCH,
            &crate::network::dns_url(&format!("/zones/{zone}/records")),
            Some(&remove),
            Some(&records_etag),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(domains(&r.json), vec![("gw.spoke-b.lab".into(), "A".into(), "172.16.2.10".into())]);
    assert!(matches!(
        w.dns.resolve(&w.spoke_resolver, "api.spoke-b.lab", "A").expect("r"),
        Resolution::NxDomain { .. }
    ));
    // PUT replaces everything.
    let put = json!({"items": [{"domain": "new.spoke-b.lab", "rtype": "TXT", "rdata": "\"hello\"", "ttl": 60}]});
    let r = w.dns(Method::PUT, &format!("/zones/{zone}/records"), Some(&put)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(domains(&r.json), vec![("new.spoke-b.lab".into(), "TXT".into(), "\"hello\"".into())]);
    let z = w.dns(Method::GET, &format!("/zones/{zone}"), None).await;
    assert_eq!(z.json["serial"], 4, "each change bumps the serial");

    // Deleting: a view holding a zone (or attached to a resolver) is in use; a protected one never goes.
    w.dns(Method::DELETE, &format!("/views/{view}"), None).await.assert_error(
        StatusCode::CONFLICT,
        "Conflict",
        "zones",
    );
    let r = w.dns(Method::DELETE, &format!("/zones/{zone}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    w.dns(Method::GET, &format!("/zones/{zone}"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );
    w.dns(Method::DELETE, &format!("/views/{view}"), None).await.assert_error(
        StatusCode::CONFLICT,
        "Conflict",
        "attached",
    );
    w.dns.set_attached_views(&w.spoke_resolver, vec![]).expect("detach");
    let r = w.dns(Method::DELETE, &format!("/views/{view}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    w.dns(Method::GET, &format!("/views/{view}"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );
    w.dns(Method::DELETE, &format!("/views/{spoke_default}"), None).await.assert_error(
        StatusCode::CONFLICT,
        "Conflict",
        "protected",
    );
    assert!(w.dns.view(&spoke_default).is_some());
}

#[tokio::test]
async fn attaching_the_hub_view_to_the_spoke_resolver_changes_live_dns() {
    let w = World::start().await;
    let dns_server = DnsServer::start(w.dns.clone(), &w.spoke_resolver, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("dns server");
    let host = "ctm1.oci-thales.lab";
    let before = hyok_core::dns::query_a(dns_server.local_addr, host).await.expect("dns answer");
    let code = before.expect_err("NXDOMAIN before the hub view is attached");
    assert!(format!("{code:?}").contains("NXDomain"), "{code:?}");
    assert!(matches!(w.dns.resolve(&w.spoke_resolver, host, "A").expect("r"), Resolution::NxDomain { .. }));

    let r = w.dns(Method::GET, &format!("/resolvers/{}", w.spoke_resolver), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["attachedViews"], json!([]));
    assert_eq!(r.json["attachedVcnId"], w.spoke_vcn.as_str());
    assert_eq!(r.json["isProtected"], true);
    assert_eq!(r.json["lifecycleState"], "ACTIVE");
    let default_view = r.json["defaultViewId"].as_str().expect("default view").to_string();
    let etag = r.headers["etag"].to_str().expect("etag").to_string();

    let url = crate::network::dns_url(&format!("/resolvers/{}", w.spoke_resolver));
    let body = json!({"attachedViews": [{"viewId": w.hub_view}]});
    w.signed(Method::PUT, &url, Some(&body), Some("stale")).await.assert_error(
        StatusCode::PRECONDITION_FAILED,
        "NoEtagMatch",
        "if-match",
    );
    let r = w.signed(Method::PUT, &url, Some(&body), Some(&etag)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["lifecycleState"], "UPDATING");
    assert_eq!(r.json["attachedViews"], json!([{"viewId": w.hub_view}]));
    // Live at once, on the wire and in the model.
    let after = hyok_core::dns::query_a(dns_server.local_addr, host).await.expect("dns answer");
    assert_eq!(after.expect("answer"), vec!["10.222.10.21".parse::<Ipv4Addr>().expect("ip")]);
    let ans = w.dns.resolve(&w.spoke_resolver, host, "A").expect("resolve");
    assert_eq!(ans.first_ipv4(), Some("10.222.10.21".parse().expect("ip")));
    let settled = after_delay(&w, &format!("/resolvers/{}", w.spoke_resolver), "ACTIVE").await;
    assert_eq!(settled["attachedViews"], json!([{"viewId": w.hub_view}]));

    let c = &w.tenancy.compartment_id;
    let r = w.dns(Method::GET, &format!("/resolvers?compartmentId={c}&scope=PRIVATE"), None).await;
    let list = r.json.as_array().expect("array");
    // Only this region's resolvers: the AMS VCN's, which FRA Networking does not know, is not
    // listed nor found (OCI's DNS API is regional).
    let mut vcns: Vec<&str> = list.iter().filter_map(|x| x["attachedVcnId"].as_str()).collect();
    vcns.sort_unstable();
    let mut fra = vec![w.hub_vcn.as_str(), w.spoke_vcn.as_str()];
    fra.sort_unstable();
    assert_eq!(vcns, fra, "{list:?}");
    assert!(list.iter().all(|x| x.get("attachedViews").is_none()), "ResolverSummary");
    for r in list {
        let vcn = r["attachedVcnId"].as_str().expect("vcn");
        assert_eq!(w.iaas(Method::GET, &format!("/vcns/{vcn}"), None).await.status, StatusCode::OK, "{vcn}");
    }
    w.dns(Method::GET, &format!("/resolvers/{}", w.ams_resolver), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );
    assert!(w.dns_api.model().resolver(&w.ams_resolver).is_some(), "it exists, in another region");

    // Refusals name the item.
    let unknown =
        json!({"attachedViews": [{"viewId": w.hub_view}, {"viewId": "ocid1.dnsview.oc1.eu-frankfurt-1.nothere"}]});
    w.dns(Method::PUT, &format!("/resolvers/{}", w.spoke_resolver), Some(&unknown)).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "attachedViews[1].viewId",
    );
    let own = json!({"attachedViews": [{"viewId": default_view}]});
    w.dns(Method::PUT, &format!("/resolvers/{}", w.spoke_resolver), Some(&own)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "attachedViews[0].viewId",
    );
    let missing = json!({"attachedViews": [{}]});
    w.dns(Method::PUT, &format!("/resolvers/{}", w.spoke_resolver), Some(&missing)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "attachedViews[0].viewId",
    );
    let rules = json!({"rules": [{"action": "FORWARD"}]});
    w.dns(Method::PUT, &format!("/resolvers/{}", w.spoke_resolver), Some(&rules)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "rules",
    );
    assert_eq!(w.dns.resolver(&w.spoke_resolver).expect("r").attached_views, vec![w.hub_view.clone()], "unchanged");

    // Detaching (an empty list replaces the old one) takes the name away again.
    let r = w.dns(Method::PUT, &format!("/resolvers/{}", w.spoke_resolver), Some(&json!({"attachedViews": []}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let gone = hyok_core::dns::query_a(dns_server.local_addr, host).await.expect("dns answer");
    assert!(gone.is_err(), "{gone:?}");
    dns_server.shutdown().await;
}

#[tokio::test]
async fn unsigned_and_unknown_dns_requests() {
    let w = World::start().await;
    let unsigned = w.request(
        Method::PUT,
        &crate::network::dns_url(&format!("/resolvers/{}", w.spoke_resolver)),
        Some(&json!({"attachedViews": [{"viewId": w.hub_view}]})),
    );
    w.send(unsigned).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "Authorization");
    assert!(w.dns.resolver(&w.spoke_resolver).expect("r").attached_views.is_empty());
    w.dns(Method::GET, "/resolvers/ocid1.dnsresolver.oc1.eu-frankfurt-1.nothere", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "not found",
    );
    w.dns(Method::DELETE, &format!("/resolvers/{}", w.spoke_resolver), None).await.assert_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "not modelled",
    );
    w.dns(Method::GET, "/steeringPolicies", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "Unknown resource path",
    );
}

#[tokio::test]
async fn view_and_resolver_lists_filter_sort_and_page() {
    let w = World::start().await;
    let c = &w.tenancy.compartment_id;
    let names = |r: &crate::support::Reply| -> Vec<String> {
        r.json.as_array().expect("array").iter().map(|v| v["displayName"].as_str().expect("n").to_string()).collect()
    };
    let all = w.dns(Method::GET, &format!("/resolvers?compartmentId={c}&sortBy=displayName&sortOrder=ASC"), None).await;
    let mut sorted = names(&all);
    assert!(sorted.len() >= 2, "{sorted:?}");
    assert!(sorted.is_sorted(), "{sorted:?}");
    let desc =
        w.dns(Method::GET, &format!("/resolvers?compartmentId={c}&sortBy=displayName&sortOrder=DESC"), None).await;
    sorted.reverse();
    assert_eq!(names(&desc), sorted);

    // displayName and id pick one; GLOBAL scope lists nothing (the lab's DNS is private).
    let one = &sorted[0];
    let r = w.dns(Method::GET, &format!("/resolvers?compartmentId={c}&displayName={one}"), None).await;
    assert_eq!(names(&r), vec![one.clone()]);
    let r = w.dns(Method::GET, &format!("/views?compartmentId={c}&id={}", w.hub_view), None).await;
    assert_eq!(r.json.as_array().map(|a| a.len()), Some(1), "{:?}", r.json);
    assert_eq!(r.json[0]["id"], w.hub_view.as_str());
    let r = w.dns(Method::GET, &format!("/views?compartmentId={c}&scope=GLOBAL"), None).await;
    assert_eq!(r.json, json!([]));
    let r = w.dns(Method::GET, &format!("/views?compartmentId={c}&lifecycleState=DELETED"), None).await;
    assert_eq!(r.json, json!([]));

    // One per page, with opc-next-page, until the last.
    let (mut seen, mut page) = (Vec::new(), String::new());
    loop {
        let r = w.dns(Method::GET, &format!("/views?compartmentId={c}&sortBy=displayName&limit=1{page}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        seen.extend(names(&r));
        match r.headers.get("opc-next-page").and_then(|v| v.to_str().ok()) {
            Some(next) => page = format!("&page={next}"),
            None => break,
        }
    }
    let whole = w.dns(Method::GET, &format!("/views?compartmentId={c}&sortBy=displayName"), None).await;
    assert_eq!(seen, names(&whole));
    assert!(seen.len() >= 2, "{seen:?}");

    // Refusals, checked before any row: state, sort key, compartment.
    w.dns(Method::GET, &format!("/views?compartmentId={c}&lifecycleState=SLEEPING"), None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "lifecycleState",
    );
    w.dns(Method::GET, &format!("/resolvers?compartmentId={c}&sortBy=name"), None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "sortBy",
    );
    let r = w.dns(Method::GET, "/views", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
}

/// The official `oci` CLI against both routers (skipped when the CLI is not installed).
#[tokio::test]
async fn official_cli_updates_security_list_and_private_dns() {
    let Some(cli) = hyok_test_support::oci_cli::cli_or_skip() else { return };
    let w = World::start_with(hyok_core::Clock::system()).await;
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let ca_path = dir.join("lab-root.pem");
    std::fs::write(&ca_path, w.ca.cert_pem()).expect("ca");
    let endpoints = [
        CliEndpoint { name: "network".into(), url: format!("https://127.0.0.1:{}", w.iaas.local_addr.port()) },
        CliEndpoint { name: "dns".into(), url: format!("https://127.0.0.1:{}", w.dns_server.local_addr.port()) },
    ];
    hyok_oci_rest::write_cli_config(&dir, &w.tenancy, Some(&ca_path), &endpoints).expect("config");
    let (client, gw) = (crate::network::ip("172.16.1.104"), crate::network::ip("172.16.1.103"));
    assert!(w.net.check_tcp(client, gw, 443).is_err());
    let env = [
        ("OCI_LAB_SPOKE_VCN_ID", w.spoke_vcn.as_str()),
        ("OCI_LAB_SPOKE_SECURITY_LIST_ID", &w.spoke_list),
        ("OCI_LAB_SPOKE_RESOLVER_ID", &w.spoke_resolver),
        ("OCI_LAB_HUB_VIEW_ID", &w.hub_view),
    ];
    let out = hyok_test_support::oci_cli::run_script("network_dns.sh", &cli, &dir, &env).await;
    // What the CLI changed is live in the models.
    w.net.check_tcp(client, gw, 443).expect("Task 5 rule added by the CLI");
    let ans = w.dns.resolve(&w.spoke_resolver, "ctm1.oci-thales.lab", "A").expect("resolve");
    assert_eq!(ans.first_ipv4(), Some("10.222.10.21".parse().expect("ip")));
    let view_id = out.value("view");
    let zone = w.dns.zones().into_iter().find(|z| z.view_id == view_id).expect("zone created by the CLI");
    assert!(zone.records.iter().any(|r| r.domain == format!("gw.{}", zone.name) && r.rdata == "172.16.1.103"));
}
