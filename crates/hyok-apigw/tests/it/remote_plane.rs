//! The control plane driving its gateways on a data plane in "another process": a
//! `RemoteDataPlane` talking HTTPS to the data-plane agent, whose `LocalDataPlane` hosts the
//! gateways. Everything over real sockets and real TLS.

use crate::control::{Lab, SPOKE_VCN, WorkRequestId, ZoneHost, through_gateway, tutorial_spec};
use crate::support::{CTM_HOST, EKM_PREFIX, dead_addr};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use hyok_apigw::{
    DataPlane, DeploymentRuntimeSpec, LocalDataPlane, RemoteDataPlane, agent_router, control::GATEWAY_PORT,
    plane::AGENT_MAX_BODY_BYTES,
};
use hyok_core::{
    client::{HttpClient, StaticDial},
    host::ServiceHost,
    pki::LabCa,
    server::Server,
};
use hyok_test_support::{LoopbackHost, serve_tls, serve_tls_at};
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc};

const AGENT_HOST: &str = "apigw-dataplane.oci-services.lab";
const AGENT_PORT: u16 = 9443;
const TOKEN: &str = "s3cret-data-plane-token";

fn agent_url() -> String {
    format!("https://{AGENT_HOST}:{AGENT_PORT}")
}

/// The data-plane agent: a `LocalDataPlane` hosting on `host`, its API over TLS on loopback.
struct Agent {
    local: Arc<LocalDataPlane>,
    server: Server,
    ca: LabCa,
}

impl Agent {
    async fn start(host: &LoopbackHost, token: &str) -> Self {
        let local = Arc::new(LocalDataPlane::new(Arc::new(ZoneHost(host.clone()))));
        let ca = LabCa::generate("Data Plane Agent CA").expect("agent ca");
        let server = serve_tls(&ca, &[AGENT_HOST], agent_router(local.clone(), token.to_string())).await;
        Self { local, server, ca }
    }

    /// The agent's process dies (its gateways stop with it) and a new one, knowing nothing,
    /// starts at the same address.
    async fn restart(self, host: &LoopbackHost, token: &str, running: &[&str]) -> Self {
        for id in running {
            self.local.stop_gateway(id).await;
        }
        let addr = self.server.local_addr;
        self.server.shutdown().await;
        let local = Arc::new(LocalDataPlane::new(Arc::new(ZoneHost(host.clone()))));
        let server = serve_tls_at(addr, &self.ca, &[AGENT_HOST], agent_router(local.clone(), token.to_string())).await;
        Self { local, server, ca: self.ca }
    }

    /// The control plane's view of this agent, at `addr` with `token`.
    fn remote(&self, addr: SocketAddr, token: &str) -> Arc<RemoteDataPlane> {
        remote(addr, &self.ca, token)
    }

    /// A raw client for the agent API.
    fn client(&self) -> HttpClient {
        let dial = StaticDial::new().pin(AGENT_HOST, AGENT_PORT, self.server.local_addr);
        HttpClient::new(Arc::new(dial), hyok_core::tls::client_config(self.ca.cert_pem()).expect("tls"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, http::HeaderMap, Value) {
        let mut b = Request::builder().method(method).uri(format!("{}{path}", agent_url()));
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let resp = self.client().send(b.body(Body::from(body)).expect("request")).await.expect("agent answers");
        let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (resp.status(), resp.headers().clone(), json)
    }
}

fn remote(addr: SocketAddr, ca: &LabCa, token: &str) -> Arc<RemoteDataPlane> {
    let dial = StaticDial::new().pin(AGENT_HOST, AGENT_PORT, addr);
    Arc::new(RemoteDataPlane::new(&agent_url(), Arc::new(dial), ca.cert_pem(), token.to_string()).expect("remote"))
}

/// A lab whose control plane runs its gateways on `agent` (same loopback host), through `dp`.
async fn lab_with(host: &LoopbackHost, dp: Arc<RemoteDataPlane>) -> Lab {
    Lab::build("127.0.0.1:0", host.clone(), Some(dp as Arc<dyn DataPlane>)).await
}

#[tokio::test]
async fn remote_data_plane_serves_gateways_and_deployments() {
    let host = LoopbackHost::new();
    let agent = Agent::start(&host, TOKEN).await;
    let dp = agent.remote(agent.server.local_addr, TOKEN);
    let lab = lab_with(&host, dp.clone()).await;

    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id").to_string();
    assert!(agent.local.gateway(&gw_id).is_some(), "the agent runs the gateway");
    assert!(lab.service.gateway_runtime(&gw_id).is_none(), "nothing runs in the control plane's process");
    assert_eq!(dp.deployments(&gw_id).await, Ok(Some(vec![])));
    let hostname = gw["hostname"].as_str().expect("hostname").to_string();
    assert!(host.real(&hostname, GATEWAY_PORT).is_some(), "hosted at its private IP");

    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    host.pin(CTM_HOST, 443, backend.local_addr);
    let dep = lab.create_deployment(&gw_id, &tutorial_spec()).await;
    assert_eq!(dep.status, StatusCode::OK, "{:?}", dep.json);
    let dep_id = dep.id();
    lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;
    assert_eq!(dp.deployments(&gw_id).await, Ok(Some(vec![dep_id.clone()])));
    let (status, echo) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/vaults/v1/keys/k1")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["path"], format!("{EKM_PREFIX}/vaults/v1/keys/k1"));
    // The agent's health check left its hop event under the create's request id.
    let rid = dep.headers.get("opc-request-id").and_then(|v| v.to_str().ok()).expect("request id");
    let events = host.events().by_request(rid);
    assert!(events.iter().any(|e| e.hop.contains("health check")), "{events:?}");

    // Back to the default certificate: made by the control plane, sent to the data plane,
    // which rebuilds the listener with the ACTIVE deployment.
    let upd = lab.call(Method::PUT, &format!("/gateways/{gw_id}"), Some(&json!({"certificateId": ""}))).await;
    assert_eq!(upd.status, StatusCode::ACCEPTED, "{:?}", upd.json);
    lab.wait_state(&format!("/gateways/{gw_id}"), "ACTIVE").await;
    let real = host.real(&hostname, GATEWAY_PORT).expect("hosted");
    let client = HttpClient::new(
        Arc::new(StaticDial::new().pin(&hostname, 443, real)),
        hyok_core::tls::client_config(host.public_ca().cert_pem()).expect("tls"),
    );
    let req =
        Request::builder().uri(format!("https://{hostname}{EKM_PREFIX}/rotated")).body(Body::empty()).expect("req");
    let resp = client.send(req).await.expect("default certificate is trusted by the public root");
    assert_eq!(resp.status(), StatusCode::OK);

    let del = lab.call(Method::DELETE, &format!("/deployments/{dep_id}"), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    lab.wait_state(&format!("/deployments/{dep_id}"), "DELETED").await;
    assert_eq!(dp.deployments(&gw_id).await, Ok(Some(vec![])));
    let del = lab.call(Method::DELETE, &format!("/gateways/{gw_id}"), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    lab.wait_state(&format!("/gateways/{gw_id}"), "DELETED").await;
    assert!(agent.local.gateway(&gw_id).is_none(), "the agent stopped it");
    assert_eq!(dp.deployments(&gw_id).await, Ok(None));
    assert!(client.send(Request::get(format!("https://{hostname}/")).body(Body::empty()).expect("req")).await.is_err());
}

#[tokio::test]
async fn a_restarted_agent_gets_its_gateways_back() {
    let host = LoopbackHost::new();
    let agent = Agent::start(&host, TOKEN).await;
    let addr = agent.server.local_addr;
    let dp = agent.remote(addr, TOKEN);
    let lab = lab_with(&host, dp.clone()).await;
    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id").to_string();
    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    host.pin(CTM_HOST, 443, backend.local_addr);
    let dep = lab.create_deployment(&gw_id, &tutorial_spec()).await;
    let dep_id = dep.id();
    lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;
    assert!(lab.service.reconcile().await.is_empty(), "nothing to do while the agent runs it all");

    let hostname = gw["hostname"].as_str().expect("hostname").to_string();
    let served_at = host.real(&hostname, GATEWAY_PORT).expect("served");
    let agent = agent.restart(&host, TOKEN, &[&gw_id]).await;
    assert_eq!(dp.deployments(&gw_id).await, Ok(None), "the new agent knows nothing");
    assert!(tokio::net::TcpStream::connect(served_at).await.is_err(), "nothing serves the gateway now");

    assert_eq!(lab.service.reconcile().await, vec![gw_id.clone()]);
    assert!(agent.local.gateway(&gw_id).is_some(), "the new agent runs the gateway");
    assert_eq!(dp.deployments(&gw_id).await, Ok(Some(vec![dep_id.clone()])));
    let (status, echo) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/k")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert!(lab.service.reconcile().await.is_empty(), "a second round has nothing to do");
    let state = lab.call(Method::GET, &format!("/gateways/{gw_id}"), None).await;
    assert_eq!(state.json["lifecycleState"], "ACTIVE");

    // Unattended: the reconciler notices the next restart by itself, one round (2 s on the
    // lab's clock) at a time.
    let every = std::time::Duration::from_secs(2);
    let _reconciler = lab.service.spawn_reconciler(every);
    let served_at = host.real(&hostname, GATEWAY_PORT).expect("served");
    let agent = agent.restart(&host, TOKEN, &[&gw_id]).await;
    hyok_test_support::eventually("the reconciler to restore the gateway", || async {
        lab.clock.advance(every);
        if host.real(&hostname, GATEWAY_PORT) == Some(served_at) {
            return Err("the gateway is not served again yet".to_string());
        }
        match through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/k")).await {
            (StatusCode::OK, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    assert!(agent.local.gateway(&gw_id).is_some());

    // While the agent is gone the resources stay ACTIVE and nothing is restored.
    agent.local.stop_gateway(&gw_id).await;
    agent.server.shutdown().await;
    assert!(lab.service.reconcile().await.is_empty());
    let state = lab.call(Method::GET, &format!("/gateways/{gw_id}"), None).await;
    assert_eq!(state.json["lifecycleState"], "ACTIVE");
}

#[tokio::test]
async fn unreachable_backend_fails_with_the_same_details_as_in_process() {
    let dead = dead_addr().await;
    let host = LoopbackHost::new();
    host.pin(CTM_HOST, 443, dead);
    let agent = Agent::start(&host, TOKEN).await;
    let remote_lab = lab_with(&host, agent.remote(agent.server.local_addr, TOKEN)).await;
    let local_lab = Lab::start().await;
    local_lab.host.pin(CTM_HOST, 443, dead);

    let mut details = Vec::new();
    for lab in [&remote_lab, &local_lab] {
        let gw = lab.active_gateway().await;
        let dep = lab.create_deployment(gw["id"].as_str().expect("id"), &tutorial_spec()).await;
        assert_eq!(dep.status, StatusCode::OK, "{:?}", dep.json);
        let failed = lab.wait_state(&format!("/deployments/{}", dep.id()), "FAILED").await;
        let d = failed["lifecycleDetails"].as_str().expect("lifecycleDetails").to_string();
        let wr = lab.call(Method::GET, &format!("/workRequests/{}/errors", dep.work_request()), None).await;
        assert_eq!(wr.json["items"][0]["message"], d.as_str());
        let (status, _) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/x")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a FAILED deployment is not served");
        details.push(d);
    }
    assert!(details[0].contains("cannot connect to backend"), "{}", details[0]);
    assert_eq!(details[0], details[1], "remote and in-process data planes say the same");

    // A name the spoke's resolver does not know: the network model's text comes through too.
    let gw = remote_lab.call(Method::GET, &format!("/gateways?compartmentId={}", remote_lab.compartment()), None).await;
    let gw_id = gw.json["items"][0]["id"].as_str().expect("gateway").to_string();
    let spec = json!({"routes": [{"path": "/{p*}", "backend": {"type": "HTTP_BACKEND", "url": "https://nowhere.oci-thales.lab/"}}]});
    let body = json!({"compartmentId": remote_lab.compartment(), "gatewayId": gw_id, "pathPrefix": "/other", "specification": spec});
    let dep = remote_lab.call(Method::POST, "/deployments", Some(&body)).await;
    let failed = remote_lab.wait_state(&format!("/deployments/{}", dep.id()), "FAILED").await;
    let d = failed["lifecycleDetails"].as_str().expect("details");
    assert!(d.contains(&format!("cannot resolve nowhere.oci-thales.lab in VCN {SPOKE_VCN}")), "{d}");
}

#[tokio::test]
async fn wrong_agent_token_is_refused_and_fails_the_gateway() {
    let host = LoopbackHost::new();
    let agent = Agent::start(&host, TOKEN).await;

    // The agent's answer, as such.
    for token in [None, Some("wrong"), Some("")] {
        let (status, headers, json) = agent.call(Method::GET, "/gateways/x/deployments", token, Vec::new()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(json["code"], "NotAuthenticated");
        assert_eq!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    }

    let lab = lab_with(&host, agent.remote(agent.server.local_addr, "wrong-token")).await;
    let r = lab.create_gateway(None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let failed = lab.wait_state(&format!("/gateways/{}", r.id()), "FAILED").await;
    let details = failed["lifecycleDetails"].as_str().expect("details");
    assert!(details.contains(&format!("the gateway data plane at {}", agent_url())), "{details}");
    assert!(details.contains("401") && details.contains("token"), "{details}");
    let wr = lab.call(Method::GET, &format!("/workRequests/{}/errors", r.work_request()), None).await;
    assert_eq!(wr.json["items"][0]["code"], "GatewayCreationFailed");
    assert!(agent.local.gateway(&r.id()).is_none(), "nothing was started");

    // A FAILED gateway can still be deleted; its IP is released.
    let del = lab.call(Method::DELETE, &format!("/gateways/{}", r.id()), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    lab.wait_state(&format!("/gateways/{}", r.id()), "DELETED").await;
}

#[tokio::test]
async fn unreachable_agent_fails_the_gateway_with_a_clear_reason() {
    let host = LoopbackHost::new();
    let ca = LabCa::generate("Data Plane Agent CA").expect("ca");
    let lab = lab_with(&host, remote(dead_addr().await, &ca, TOKEN)).await;
    let r = lab.create_gateway(None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let failed = lab.wait_state(&format!("/gateways/{}", r.id()), "FAILED").await;
    let details = failed["lifecycleDetails"].as_str().expect("details");
    assert!(details.starts_with(&format!("the gateway data plane at {} is unreachable: ", agent_url())), "{details}");
    assert!(details.contains("connection to"), "{details}");
    let del = lab.call(Method::DELETE, &format!("/gateways/{}", r.id()), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    lab.wait_state(&format!("/gateways/{}", r.id()), "DELETED").await;

    // An agent whose certificate the control plane does not trust is as good as unreachable.
    let agent = Agent::start(&host, TOKEN).await;
    let stranger = LabCa::generate("Some Other CA").expect("ca");
    let lab = lab_with(&host, remote(agent.server.local_addr, &stranger, TOKEN)).await;
    let r = lab.create_gateway(None, &[]).await;
    let failed = lab.wait_state(&format!("/gateways/{}", r.id()), "FAILED").await;
    let details = failed["lifecycleDetails"].as_str().expect("details");
    assert!(details.contains("is unreachable: TLS handshake"), "{details}");
}

#[tokio::test]
async fn agent_api_answers_json_errors() {
    let host = LoopbackHost::new();
    let agent = Agent::start(&host, TOKEN).await;
    let t = Some(TOKEN);

    let (status, _, json) = agent.call(Method::GET, "/nope", t, Vec::new()).await;
    assert_eq!((status, json["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")), "{json}");
    let (status, _, json) = agent.call(Method::POST, "/gateways/g1", t, Vec::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{json}");
    assert_eq!(json["code"], "MethodNotAllowed");
    let (status, _, json) = agent.call(Method::PUT, "/gateways/g1", t, b"{not json".to_vec()).await;
    assert_eq!((status, json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{json}");
    let (status, _, json) = agent.call(Method::PUT, "/gateways/g1", t, vec![b' '; AGENT_MAX_BODY_BYTES + 1]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["code"], "PayloadTooLarge");

    // A spec for another gateway than the path names.
    let spec = json!({"id": "g2", "name": "n", "hostname": "h.lab", "ip": "172.16.1.103", "tlsChainPem": "",
        "tlsKeyPem": "", "backendCaBundles": [], "deployments": []});
    let (status, _, json) = agent.call(Method::PUT, "/gateways/g1", t, serde_json::to_vec(&spec).expect("json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    // A gateway that cannot start: 422 with the lifecycleDetails text.
    let (status, _, json) = agent.call(Method::PUT, "/gateways/g2", t, serde_json::to_vec(&spec).expect("json")).await;
    assert_eq!((status, json["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("DataPlaneFailed")), "{json}");
    assert!(json["message"].as_str().is_some_and(|m| m.contains("certificate")), "{json}");

    // Deployments on a gateway that does not run: 404 with the control plane's text.
    let dep = DeploymentRuntimeSpec {
        id: "d1".into(),
        path_prefix: EKM_PREFIX.into(),
        specification: hyok_apigw::parse_specification(&tutorial_spec()).expect("spec"),
    };
    let body = serde_json::to_vec(&json!({"requestId": "r1", "deployment": dep})).expect("json");
    let (status, _, json) = agent.call(Method::PUT, "/gateways/g1/deployments/d1", t, body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{json}");
    assert_eq!(json["message"], "the gateway is not ACTIVE");
    let dp = agent.remote(agent.server.local_addr, TOKEN);
    assert_eq!(dp.deploy("g1", "r1", dep).await, Err("the gateway is not ACTIVE".to_string()));
    assert_eq!(
        dp.set_backend_ca_bundles("g1", vec![]).await,
        Err("gateway g1 is not running on the data plane".to_string())
    );
    assert_eq!(dp.deployments("g1").await, Ok(None));
    let (status, _, _) = agent.call(Method::DELETE, "/gateways/g1", t, Vec::new()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "stopping what does not run is a no-op");
}
