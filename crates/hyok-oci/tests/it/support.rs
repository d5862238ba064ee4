//! A Certificates service on a loopback TLS socket, reached by its real host name.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use hyok_core::{
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::Server,
};
use hyok_oci::{CertificatesConfig, CertificatesService, certificates};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

/// One RSA API key per test process (RSA generation is the slow part).
pub fn api_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("api key")).clone()
}

/// A second, unregistered key.
pub fn other_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("other key")).clone()
}

pub struct Lab {
    pub tenancy: Tenancy,
    pub keys: KeyStore,
    pub service: CertificatesService,
    pub server: Server,
    pub client: HttpClient,
    pub ca: LabCa,
}

pub fn url(path: &str) -> String {
    format!("https://{}{}{}", certificates::HOST, certificates::BASE_PATH, path)
}

impl Lab {
    pub async fn start() -> Self {
        Self::start_with(CertificatesConfig::default()).await
    }

    pub async fn start_with(mut config: CertificatesConfig) -> Self {
        Self::start_on("127.0.0.1:0", |t| {
            config.compartments = vec![t.compartment_id.clone(), t.tenancy_id.clone()];
            config
        })
        .await
    }

    pub async fn start_on(addr: &str, config: impl FnOnce(&Tenancy) -> CertificatesConfig) -> Self {
        hyok_core::tls::install_crypto_provider();
        let tenancy = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let verifier = Arc::new(SignatureVerifier::new(keys.clone()));
        let service = CertificatesService::new(config(&tenancy), verifier);
        let ca = LabCa::generate("HYOK Lab Test Web Root").expect("ca");
        let leaf = ca.issue_server(&[certificates::HOST, "127.0.0.1"]).expect("leaf");
        let tls = hyok_core::tls::server_config(&leaf.chain_pem(), &leaf.key_pem).expect("tls");
        let listener = hyok_core::server::bind(addr.parse().expect("addr")).await.expect("bind");
        let server = hyok_core::server::serve(
            listener,
            certificates::router(service.clone()),
            Some(tls),
            CancellationToken::new(),
        );
        let dial = StaticDial::new().pin(certificates::HOST, 443, server.local_addr);
        let client = HttpClient::new(Arc::new(dial), hyok_core::tls::client_config(ca.cert_pem()).expect("client tls"));
        Self { tenancy, keys, service, server, client, ca }
    }

    pub fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Request<Bytes> {
        let bytes = body.map(|b| Bytes::from(serde_json::to_vec(b).expect("json"))).unwrap_or_default();
        Request::builder().method(method).uri(url(path)).body(bytes).expect("request")
    }

    /// Sign with the lab user's key and send.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut req = self.request(method, path, body);
        hyok_oci_rest::sign_request(&mut req, self.tenancy.api_key.private_key(), &self.tenancy.key_id())
            .expect("sign");
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Bytes>) -> Reply {
        let resp = self.client.send(req.map(Body::from)).await.expect("send");
        let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        Reply { status: resp.status(), headers: resp.headers().clone(), json }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    /// Assert an OCI error with `status`, `code` and a message containing `needle`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str, needle: &str) {
        assert_eq!(self.status, status, "{:?}", self.json);
        assert_eq!(self.json["code"], code, "{:?}", self.json);
        let msg = self.json["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "message {msg:?} should contain {needle:?}");
        assert!(self.headers.contains_key("opc-request-id"), "opc-request-id missing");
    }

    pub fn id(&self) -> String {
        self.json["id"].as_str().expect("id").to_string()
    }
}
