//! The route matrix through the data plane against a real TLS backend.

use crate::support::*;
use hyok_apigw::GatewayError;
use hyok_core::{Outcome, client::StaticDial};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn route_matrix_through_the_gateway() {
    let w = World::new();
    let backend_cert = w.ctm_ca.issue_server(&[CTM_HOST]).expect("ctm cert");
    let backend = echo_backend(&backend_cert).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string()]);
    let mut ekm = tutorial_spec();
    let extra = spec(json!({"routes": [
        {"path": "/items/{id}", "methods": ["GET"],
         "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/echo/item/${{request.path[id]}}?tag=${{request.headers[x-tag]}}")}},
        {"path": "/ping", "methods": ["GET"],
         "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "pong", "headers": [{"name": "x-stock", "value": "1"}]}}
    ]}));
    ekm.routes.extend(extra.routes);
    gw.set_deployment("dep-ekm", EKM_PREFIX, &ekm).expect("deploy ekm");
    let only = spec(json!({"routes": [{"path": "/only", "methods": ["GET"],
        "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/only")}}]}));
    gw.set_deployment("dep-v2", "/v2", &only).expect("deploy v2");
    let server = serve_gateway(&gw).await;
    let c = w.client(&server);

    // Prefix + {path*}: the tutorial's route; headers pass through, hop-by-hop ones do not.
    let (st, h, v) = get(
        &c,
        &format!("{EKM_PREFIX}/vaults/v1/metadata?x=1"),
        &[
            ("opc-request-id", "rid-matrix-1"),
            ("authorization", "Bearer abc.def.ghi"),
            ("x-forwarded-for", "10.0.0.9"),
            ("keep-alive", "timeout=5"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], format!("{EKM_PREFIX}/vaults/v1/metadata"));
    assert_eq!(v["query"], "x=1");
    assert_eq!(v["headers"]["opc-request-id"], "rid-matrix-1");
    assert_eq!(v["headers"]["authorization"], "Bearer abc.def.ghi");
    assert_eq!(v["headers"]["x-forwarded-for"], "10.0.0.9, 127.0.0.1");
    assert_eq!(v["headers"]["host"], CTM_HOST);
    assert!(v["headers"].get("keep-alive").is_none(), "hop-by-hop header forwarded: {v}");
    assert_eq!(h.get("opc-request-id").expect("rid echoed"), "rid-matrix-1");
    assert_eq!(h.get("x-backend").expect("backend header"), "echo");
    let hops = w.events.by_request("rid-matrix-1");
    let hop = hops.iter().find(|e| e.hop == "API gateway → backend").expect("hop recorded");
    assert_eq!(hop.outcome, Outcome::Ok);
    assert_eq!(hop.status, Some(200));
    assert_eq!(hop.destination, format!("https://{CTM_HOST}{EKM_PREFIX}/vaults/v1/metadata"));

    // A request id is minted when the caller sends none, and forwarded.
    let (st, h, v) = get(&c, &format!("{EKM_PREFIX}/x"), &[]).await;
    assert_eq!(st, 200);
    let rid = h.get("opc-request-id").expect("minted rid").to_str().expect("ascii").to_string();
    assert_eq!(v["headers"]["opc-request-id"], rid);
    assert_eq!(v["headers"]["x-forwarded-for"], "127.0.0.1");

    // POST with a body streams through.
    let (st, _, v) = send(
        &c,
        "POST",
        &format!("{EKM_PREFIX}/vaults/v1/keys/k1/encrypt"),
        &[("content-type", "application/json")],
        vec![b'a'; 70_000],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body_len"], 70_000);

    // {path*} also matches the bare prefix (empty wildcard).
    let (st, _, v) = get(&c, EKM_PREFIX, &[]).await;
    assert_eq!(st, 200);
    assert_eq!(v["path"], format!("{EKM_PREFIX}/"));

    // {id} param and templating with a header; the more specific route wins over {path*}.
    let (st, _, v) = get(&c, &format!("{EKM_PREFIX}/items/42"), &[("x-tag", "blue sky")]).await;
    assert_eq!(st, 200);
    assert_eq!(v["path"], "/echo/item/42");
    assert_eq!(v["query"], "tag=blue%20sky");

    // Stock response.
    let req = http::Request::get(url(&format!("{EKM_PREFIX}/ping"))).body(axum::body::Body::empty()).expect("req");
    let resp = c.send(req).await.expect("stock");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), b"pong");
    assert_eq!(resp.headers().get("x-stock").expect("stock header"), "1");

    // Route exists, method does not: 405 with Allow.
    let (st, h, v) = send(&c, "DELETE", &format!("{EKM_PREFIX}/items/42"), &[], vec![]).await;
    assert_eq!(st, 405);
    assert_eq!(v, json!({"code": 405, "message": "Method Not Allowed"}));
    assert_eq!(h.get("allow").expect("allow"), "GET, POST");

    // No deployment / no route: 404.
    let (st, _, v) = get(&c, "/elsewhere", &[]).await;
    assert_eq!(st, 404);
    assert_eq!(v, json!({"code": 404, "message": "Not Found"}));
    let (st, _, _) = get(&c, "/v2/nothing", &[("opc-request-id", "rid-404")]).await;
    assert_eq!(st, 404);
    assert!(w.events.by_request("rid-404").iter().any(|e| e.status == Some(404) && e.reason.contains("no route")));
    // A prefix only matches whole segments.
    let (st, _, _) = get(&c, "/v2only", &[]).await;
    assert_eq!(st, 404);
    let (st, _, v) = get(&c, "/v2/only", &[]).await;
    assert_eq!(st, 200);
    assert_eq!(v["path"], "/only");

    // Prefixes are unique per gateway; removal takes effect at once.
    let err = gw.set_deployment("dep-other", "/v2", &only).expect_err("prefix conflict");
    assert!(matches!(err, GatewayError::PrefixConflict { .. }), "{err}");
    assert!(err.to_string().contains("dep-v2"));
    assert!(gw.remove_deployment("dep-v2"));
    assert!(!gw.remove_deployment("dep-v2"));
    let (st, _, _) = get(&c, "/v2/only", &[]).await;
    assert_eq!(st, 404);
    assert_eq!(gw.deployments(), vec![("dep-ekm".to_string(), EKM_PREFIX.to_string())]);
    server.shutdown().await;
    backend.shutdown().await;
}
