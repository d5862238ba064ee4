//! A Certificates service on a loopback TLS socket, reached by its real host name.

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request};
use hyok_core::{
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::Server,
};
use hyok_oci::{CertificatesConfig, CertificatesService, certificates};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};
use hyok_test_support::oci;
pub use hyok_test_support::oci::Reply;
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
        oci::json_request(method, &url(path), body)
    }

    /// Sign with the lab user's key and send.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        oci::send_signed(&self.client, &self.tenancy, self.request(method, path, body)).await
    }

    pub async fn send(&self, req: Request<Bytes>) -> Reply {
        oci::send(&self.client, req.map(Body::from)).await
    }
}
