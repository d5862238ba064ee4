//! Backend failures: down (502), slow (504), untrusted certificate (502 + health), network
//! refusals reported with the network model's text.

use crate::support::*;
use hyok_apigw::{HealthFailure, check_backend};
use hyok_core::{
    Outcome,
    client::{BoxFuture, Dial, DialError, Dialed, StaticDial},
    pki::LabCa,
};
use serde_json::json;
use std::{sync::Arc, time::Instant};

const DNS_TEXT: &str =
    "cannot resolve ctm1.oci-thales.lab in VCN spoke-a: no private view holds the zone oci-thales.lab";
const DENIED_TEXT: &str =
    "security list Default Security List for spoke-a denies TCP 443 from 172.16.1.103 to 10.20.0.10";

/// A Dial that refuses like the network model does.
struct Refusing(DialError);

impl Dial for Refusing {
    fn dial(&self, _host: &str, _port: u16) -> BoxFuture<'_, Result<Dialed, DialError>> {
        let e = self.0.clone();
        Box::pin(async move { Err(e) })
    }
}

#[tokio::test]
async fn backend_down_is_502_with_json_body() {
    let w = World::new();
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, dead_addr().await));
    let gw = w.gateway(dial.clone(), vec![w.ctm_ca.cert_pem().to_string()]);
    gw.set_deployment("d", EKM_PREFIX, &tutorial_spec()).expect("deploy");
    let server = serve_gateway(&gw).await;
    let (st, h, v) =
        get(&w.client(&server), &format!("{EKM_PREFIX}/vaults/v/metadata"), &[("opc-request-id", "rid-down")]).await;
    assert_eq!(st, 502);
    assert_eq!(v, json!({"code": 502, "message": "Bad Gateway"}));
    assert_eq!(h.get("opc-request-id").expect("rid"), "rid-down");
    let hop = w.events.by_request("rid-down").into_iter().find(|e| e.hop == "API gateway → backend").expect("hop");
    assert_eq!(hop.outcome, Outcome::Unreachable);
    assert!(hop.reason.contains("connection"), "{}", hop.reason);
    let health = gw.check_deployment("rid-health-down", &tutorial_spec()).await.expect_err("down");
    assert!(matches!(health, HealthFailure::Connect { .. }), "{health}");
    server.shutdown().await;
}

#[tokio::test]
async fn slow_backend_is_504_after_read_timeout() {
    let w = World::new();
    let backend = echo_backend(&w.ctm_ca.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string()]);
    let s = spec(json!({"routes": [{"path": "/{p*}", "backend": {
        "type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/${{request.path[p]}}"), "readTimeoutInSeconds": 1
    }}]}));
    gw.set_deployment("d", "/t", &s).expect("deploy");
    let server = serve_gateway(&gw).await;
    let c = w.client(&server);
    let t0 = Instant::now();
    let (st, _, v) = get(&c, "/t/slow", &[("opc-request-id", "rid-slow")]).await;
    let took = t0.elapsed();
    assert_eq!(st, 504);
    assert_eq!(v, json!({"code": 504, "message": "Gateway Timeout"}));
    assert!(took.as_secs_f32() < 2.8, "answered after {took:?}; the read timeout is 1 s, the backend never answers");
    let hop = w.events.by_request("rid-slow").into_iter().find(|e| e.hop == "API gateway → backend").expect("hop");
    assert!(hop.reason.contains("readTimeoutInSeconds"), "{}", hop.reason);
    // A fast path on the same route still works.
    let (st, _, _) = get(&c, "/t/fast", &[]).await;
    assert_eq!(st, 200);
    server.shutdown().await;
    backend.shutdown().await;
}

#[tokio::test]
async fn a_caller_that_gives_up_leaves_the_backend_hop_as_abandoned() {
    let w = World::new();
    let backend = echo_backend(&w.ctm_ca.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string()]);
    gw.set_deployment("d", EKM_PREFIX, &tutorial_spec()).expect("deploy");
    let server = serve_gateway(&gw).await;
    // The backend never answers (readTimeout 10 s); the caller waits 300 ms.
    let c = w.client(&server);
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        get(&c, &format!("{EKM_PREFIX}/vaults/v/slow"), &[("opc-request-id", "rid-gone")]),
    )
    .await;
    assert!(gave_up.is_err(), "the caller gave up first");
    let hop = hyok_test_support::eventually("the gateway to record the abandoned hop", || async {
        w.events
            .by_request("rid-gone")
            .into_iter()
            .find(|e| e.hop == "API gateway → backend")
            .ok_or_else(|| "no hop yet".to_string())
    })
    .await;
    assert_eq!(hop.outcome, Outcome::Unreachable);
    assert!(hop.reason.starts_with("abandoned after"), "{}", hop.reason);
    assert!(hop.destination.ends_with("/slow"), "{}", hop.destination);
    server.shutdown().await;
    backend.shutdown().await;
}

#[tokio::test]
async fn backend_cert_from_another_ca_is_502_and_fails_health() {
    let w = World::new();
    let other = LabCa::generate("Some Other CA").expect("ca");
    let backend = echo_backend(&other.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr));
    let bundles = vec![w.ctm_ca.cert_pem().to_string()];
    let gw = w.gateway(dial.clone(), bundles.clone());
    gw.set_deployment("d", EKM_PREFIX, &tutorial_spec()).expect("deploy");
    let server = serve_gateway(&gw).await;
    let c = w.client(&server);
    let (st, _, v) = get(&c, &format!("{EKM_PREFIX}/vaults/v/metadata"), &[("opc-request-id", "rid-tls")]).await;
    assert_eq!(st, 502);
    assert_eq!(v["code"], 502);
    let hop = w.events.by_request("rid-tls").into_iter().find(|e| e.hop == "API gateway → backend").expect("hop");
    assert_eq!(hop.outcome, Outcome::TlsFailed);
    assert!(hop.reason.contains("TLS"), "{}", hop.reason);

    let url = format!("https://{CTM_HOST}{EKM_PREFIX}/${{request.path[path]}}");
    let f = check_backend(&url, dial.as_ref(), &bundles, true).await.expect_err("untrusted");
    assert!(matches!(f, HealthFailure::CertificateNotTrusted { .. }));
    assert!(f.to_string().starts_with("certificate not trusted:"), "{f}");
    assert_eq!(f.outcome(), Outcome::TlsFailed);
    let f = gw.check_deployment("rid-health-tls", &tutorial_spec()).await.expect_err("untrusted");
    assert!(f.to_string().starts_with("certificate not trusted:"));
    assert!(w.events.by_request("rid-health-tls").iter().any(|e| e.outcome == Outcome::TlsFailed));

    // Adding the right CA bundle at runtime (UpdateGateway caBundles) fixes both.
    gw.set_backend_ca_bundles(vec![w.ctm_ca.cert_pem().to_string(), other.cert_pem().to_string()]).expect("bundles");
    gw.check_deployment("rid-health-ok", &tutorial_spec()).await.expect("trusted now");
    let (st, _, _) = get(&c, &format!("{EKM_PREFIX}/vaults/v/metadata"), &[]).await;
    assert_eq!(st, 200);

    // isSslVerifyDisabled skips verification.
    check_backend(&url, dial.as_ref(), &[w.ctm_ca.cert_pem().to_string()], false).await.expect("verification disabled");
    server.shutdown().await;
    backend.shutdown().await;
}

#[tokio::test]
async fn health_reports_the_network_models_reasons() {
    init();
    let url = format!("https://{CTM_HOST}{EKM_PREFIX}/${{request.path[path]}}");
    let f = check_backend(&url, &Refusing(DialError::Dns(DNS_TEXT.into())), &[], true).await.expect_err("dns");
    assert!(matches!(f, HealthFailure::Dns { .. }));
    assert_eq!(f.to_string(), DNS_TEXT);
    assert_eq!(f.outcome(), Outcome::DnsFailed);
    let f = check_backend(&url, &Refusing(DialError::Denied(DENIED_TEXT.into())), &[], true).await.expect_err("denied");
    assert_eq!(f.to_string(), DENIED_TEXT);
    assert_eq!(f.outcome(), Outcome::Denied);
    let f =
        check_backend(&url, &Refusing(DialError::NoListener("no route to 10.20.0.10 from spoke-a".into())), &[], true)
            .await
            .expect_err("no route");
    assert_eq!(f.to_string(), "no route to 10.20.0.10 from spoke-a");
    // A DNS text that does not name the host gets it added.
    let f = check_backend(&url, &Refusing(DialError::Dns("NXDOMAIN".into())), &[], true).await.expect_err("dns");
    assert_eq!(f.to_string(), format!("cannot resolve {CTM_HOST}: NXDOMAIN"));
}

#[tokio::test]
async fn denied_by_the_network_is_502_with_the_reason_in_the_hop() {
    let w = World::new();
    let gw =
        w.gateway(Arc::new(Refusing(DialError::Denied(DENIED_TEXT.into()))), vec![w.ctm_ca.cert_pem().to_string()]);
    gw.set_deployment("d", EKM_PREFIX, &tutorial_spec()).expect("deploy");
    let server = serve_gateway(&gw).await;
    let (st, _, v) =
        get(&w.client(&server), &format!("{EKM_PREFIX}/vaults/v/metadata"), &[("opc-request-id", "rid-denied")]).await;
    assert_eq!(st, 502);
    assert_eq!(v["message"], "Bad Gateway");
    let hop = w.events.by_request("rid-denied").into_iter().find(|e| e.hop == "API gateway → backend").expect("hop");
    assert_eq!(hop.outcome, Outcome::Denied);
    assert_eq!(hop.reason, DENIED_TEXT);
    let f = gw.check_deployment("rid-h", &tutorial_spec()).await.expect_err("denied");
    assert_eq!(f.to_string(), DENIED_TEXT);
    server.shutdown().await;
}
