//! Shared fixtures: lab CAs, an echoing TLS backend, a gateway served over TLS, clients.

use axum::{Json, Router, body::Bytes, extract::Request, http::StatusCode, response::IntoResponse};
use hyok_apigw::{ApiSpecification, Gateway, GatewayConfig};
use hyok_core::{
    Clock, EventLog,
    client::{Dial, HttpClient, StaticDial},
    pki::{IssuedCert, LabCa},
    server::{Server, bind, serve},
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc, sync::OnceLock, time::Duration};
use tokio_util::sync::CancellationToken;

pub const GW_HOST: &str = "oci-api-gw.oci-thales.lab";
pub const CTM_HOST: &str = "ctm1.oci-thales.lab";
pub const EKM_PREFIX: &str = "/api/v1/cckm/oci/ekm/v1";

pub fn init() {
    hyok_core::tls::install_crypto_provider();
}

fn rsa_pem(slot: &'static OnceLock<String>) -> String {
    slot.get_or_init(|| {
        let key = <rsa::PrivateKey as rsa::Generate>::generate();
        key.to_pkcs8_pem(LineEnding::LF).expect("pkcs8 pem").to_string()
    })
    .clone()
}

/// An RSA key for the gateway certificate (made once per test run).
pub fn gateway_rsa_pem() -> String {
    static K: OnceLock<String> = OnceLock::new();
    rsa_pem(&K)
}

/// An RSA key that signs identity-domain tokens (made once per test run).
pub fn signing_rsa_pem() -> String {
    static K: OnceLock<String> = OnceLock::new();
    rsa_pem(&K)
}

/// The CAs and certificates of one test world.
pub struct World {
    /// CTM's CA: signs the gateway certificate and the CTM server certificate (as in the tutorial).
    pub ctm_ca: LabCa,
    pub gw_cert: IssuedCert,
    pub events: EventLog,
    /// The gateways' clock (remote JWKS cache): stands still until a test advances it.
    pub clock: Clock,
}

impl World {
    pub fn new() -> Self {
        init();
        let ctm_ca = LabCa::generate("CTM AMS CA").expect("ca");
        let key = rcgen::KeyPair::from_pem(&gateway_rsa_pem()).expect("rsa keypair");
        let gw_cert = ctm_ca
            .issue_with_key(&[GW_HOST, "172.16.1.103"], key, &[rcgen::ExtendedKeyUsagePurpose::ServerAuth])
            .expect("gateway cert");
        Self { ctm_ca, gw_cert, events: EventLog::new(), clock: Clock::manual() }
    }

    pub fn gateway(&self, dial: Arc<dyn Dial>, bundles: Vec<String>) -> Arc<Gateway> {
        Gateway::new(GatewayConfig {
            name: "API-GW".into(),
            ip: "172.16.1.103".into(),
            tls: (self.gw_cert.chain_pem(), self.gw_cert.key_pem.clone()),
            backend_ca_bundles: bundles,
            dial,
            events: self.events.clone(),
            clock: self.clock.clone(),
        })
        .expect("gateway")
    }

    /// A client that reaches the gateway by its FQDN and trusts the CTM CA (like the private endpoint).
    pub fn client(&self, gw: &Server) -> HttpClient {
        let dial = StaticDial::new().pin(GW_HOST, 443, gw.local_addr);
        let tls = hyok_core::tls::client_config(self.ctm_ca.cert_pem()).expect("client tls");
        HttpClient::new(Arc::new(dial), tls).with_timeout(Duration::from_secs(20))
    }
}

/// Serve a gateway over TLS on a loopback port.
pub async fn serve_gateway(gw: &Arc<Gateway>) -> Server {
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
    serve(listener, gw.clone().router(), Some(gw.tls_config()), CancellationToken::new())
}

/// An echoing backend: answers JSON with what it received. `/…/slow…` never answers (the
/// request is dropped when the gateway gives up on it).
pub async fn echo_backend(cert: &IssuedCert) -> Server {
    let router = Router::new().fallback(|req: Request| async move {
        let (parts, body) = req.into_parts();
        if parts.uri.path().contains("/slow") {
            std::future::pending::<()>().await;
        }
        let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let headers: serde_json::Map<String, Value> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_str().unwrap_or("").to_string())))
            .collect();
        let mut resp = (
            StatusCode::OK,
            Json(json!({
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "query": parts.uri.query(),
                "headers": headers,
                "body_len": body.len(),
            })),
        )
            .into_response();
        resp.headers_mut().insert("x-backend", http::HeaderValue::from_static("echo"));
        resp
    });
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("backend tls");
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
    serve(listener, router, Some(tls), CancellationToken::new())
}

pub fn spec(v: Value) -> ApiSpecification {
    hyok_apigw::parse_specification(&v).expect("spec parses")
}

/// The tutorial's Task 7 deployment: `/{path*}` GET/POST to the CTM FQDN.
pub fn tutorial_spec() -> ApiSpecification {
    spec(json!({
        "routes": [{
            "path": "/{path*}",
            "methods": ["GET", "POST"],
            "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}{EKM_PREFIX}/${{request.path[path]}}")}
        }]
    }))
}

pub fn url(path: &str) -> String {
    format!("https://{GW_HOST}{path}")
}

pub async fn get(client: &HttpClient, path: &str, headers: &[(&str, &str)]) -> (StatusCode, http::HeaderMap, Value) {
    send(client, "GET", path, headers, Vec::new()).await
}

pub async fn send(
    client: &HttpClient,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut b = http::Request::builder().method(method).uri(url(path));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(axum::body::Body::from(body)).expect("request");
    let resp = client.send(req).await.expect("gateway answers");
    let v = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    (resp.status(), resp.headers().clone(), v)
}

/// An address where nothing listens.
pub async fn dead_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}
