//! Object Storage served over real TLS by a LoopbackHost, reached by its real host name with
//! signed requests.

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use hyok_core::{client::HttpClient, host::Endpoint, host::ServiceHost};
use hyok_objectstorage::{HOST, InProcessKms, KmsClient, ObjectStorage, OsConfig, OsDeps};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};

use hyok_test_support::LoopbackHost;
use serde_json::Value;
use std::{
    net::Ipv4Addr,
    path::PathBuf,
    sync::{Arc, OnceLock},
};

pub const NS: &str = "frhyoklab0001";
/// Object Storage's address in the Oracle Services Network.
pub const OS_IP: Ipv4Addr = Ipv4Addr::new(134, 70, 24, 1);

/// One RSA API key per test process (RSA generation is the slow part).
pub fn api_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("api key")).clone()
}

/// The service principal key Object Storage signs its KMS calls with.
pub fn service_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("service key")).clone()
}

/// A lab directory, removed when the last lab using it is dropped (also when a test panics).
pub fn temp_dir() -> Arc<tempfile::TempDir> {
    Arc::new(tempfile::TempDir::new().expect("temp dir"))
}

pub struct Lab {
    /// Keeps the hosted servers alive.
    _host: LoopbackHost,
    pub tenancy: Tenancy,
    pub kms: Arc<InProcessKms>,
    pub client: HttpClient,
    pub dir: Arc<tempfile::TempDir>,
    /// The same server for hand-written requests.
    pub raw: hyok_test_support::raw::Target,
}

impl Lab {
    /// Object Storage with an in-process KMS.
    pub async fn start() -> Self {
        let host = LoopbackHost::new();
        let kms = Arc::new(InProcessKms::new());
        Self::start_on(host, kms.clone(), kms, temp_dir(), |os| os).await
    }

    /// Object Storage on `host` using `client` for KMS; `tweak` adjusts the service.
    pub async fn start_on(
        host: LoopbackHost,
        kms: Arc<InProcessKms>,
        client_kms: Arc<dyn KmsClient>,
        dir: Arc<tempfile::TempDir>,
        tweak: impl FnOnce(ObjectStorage) -> ObjectStorage,
    ) -> Self {
        let tenancy = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let config = OsConfig {
            namespace: NS.into(),
            data_dir: dir.path().join("objectstorage"),
            compartment_id: tenancy.compartment_id.clone(),
            tenancy_id: tenancy.tenancy_id.clone(),
        };
        let os = Arc::new(tweak(ObjectStorage::new(config, OsDeps { kms: client_kms }).expect("object storage")));
        let verifier = Arc::new(SignatureVerifier::new(keys));
        let ca = host.public_ca();
        let cert = ca.issue_server(&[HOST]).expect("cert");
        let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("tls");
        let endpoint = Endpoint {
            name: "objectstorage".into(),
            kind: "objectstorage".into(),
            host: HOST.into(),
            ip: OS_IP,
            port: 443,
        };
        let real = host.host(endpoint, hyok_objectstorage::router(os.clone(), verifier), tls).await.expect("host");
        let raw = hyok_test_support::raw::Target::new(real, HOST, ca.cert_pem());
        let client = HttpClient::new(
            host.dial_from(Ipv4Addr::new(10, 0, 0, 2)),
            hyok_core::tls::client_config(ca.cert_pem()).expect("client tls"),
        )
        .with_max_response(64 * 1024 * 1024);
        Self { _host: host, tenancy, kms, client, dir, raw }
    }

    pub fn url(path: &str) -> String {
        format!("https://{HOST}{path}")
    }

    /// A signed JSON request (body headers signed on POST).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.call_with(method, path, body, &[]).await
    }

    pub async fn call_with(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Reply {
        let bytes = body.map(|b| Bytes::from(serde_json::to_vec(b).expect("json"))).unwrap_or_default();
        let mut req = Request::builder().method(method).uri(Self::url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        oci::send_signed(&self.client, &self.tenancy, req.body(bytes).expect("request")).await
    }

    /// PUT an object as the `oci` CLI does: only `date (request-target) host` signed.
    pub async fn put_object(&self, bucket: &str, name: &str, data: Bytes, headers: &[(&str, &str)]) -> Reply {
        let b = Request::put(Self::url(&obj_path(bucket, name)))
            .header("content-type", "application/octet-stream")
            .header("content-length", data.len().to_string());
        let (mut parts, ()) = b.body(()).expect("request").into_parts();
        for (k, v) in headers {
            let name = http::HeaderName::try_from(*k).expect("name");
            parts.headers.insert(name, http::HeaderValue::from_str(v).expect("value"));
        }
        hyok_oci_rest::sign_parts(&mut parts, None, self.tenancy.api_key.private_key(), &self.tenancy.key_id(), None)
            .expect("sign");
        self.send(Request::from_parts(parts, Body::from(data))).await
    }

    /// GET an object: the raw result (Err when the transfer broke).
    pub async fn get_object(&self, bucket: &str, name: &str) -> Result<http::Response<Bytes>, String> {
        self.get_object_with(bucket, name, &[]).await
    }

    pub async fn get_object_with(
        &self,
        bucket: &str,
        name: &str,
        headers: &[(&str, &str)],
    ) -> Result<http::Response<Bytes>, String> {
        let mut b = Request::get(Self::url(&obj_path(bucket, name)));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.body(Bytes::new()).expect("request");
        oci::sign(&mut req, &self.tenancy);
        self.client.send(req.map(Body::from)).await.map_err(|e| e.to_string())
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        oci::send(&self.client, req).await
    }

    /// Create a bucket, with a KMS key when given; asserts success.
    pub async fn bucket(&self, name: &str, kms_key_id: Option<&str>) -> Value {
        let mut body = serde_json::json!({"name": name, "compartmentId": self.tenancy.compartment_id});
        if let Some(k) = kms_key_id {
            body["kmsKeyId"] = k.into();
        }
        let r = self.call(Method::POST, &format!("/n/{NS}/b"), Some(&body)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        r.json
    }

    /// The ciphertext files under the data dir.
    pub fn data_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "data") {
                    out.push(p);
                }
            }
        }
        let mut out = vec![];
        walk(self.dir.path(), &mut out);
        out
    }
}

/// The URL path of an object, with the name percent-encoded as the SDKs do.
pub fn obj_path(bucket: &str, name: &str) -> String {
    let enc = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("/n/{NS}/b/{bucket}/o/{enc}")
}

use hyok_test_support::oci;
pub use hyok_test_support::oci::Reply;

/// Deterministic test data.
pub fn pattern(len: usize, seed: u8) -> Bytes {
    Bytes::from((0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed).collect::<Vec<u8>>())
}

pub fn md5_b64(data: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}
