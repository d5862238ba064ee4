//! Test harness: a small identity provider over TLS (OIDC discovery + JWKS for RSA keys the
//! test holds), a CTM node served over its own web certificate on a real socket, and clients
//! that use the real host names (pinned to loopback) with real TLS verification.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine;
use hyok_core::{
    EventLog,
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::{Server, bind, serve},
    tls,
};
use hyok_ctm::{Ctm, CtmConfig, router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::RwLock;
use serde_json::{Value, json};
use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicUsize, Ordering},
};
use tokio_util::sync::CancellationToken;

pub const ISSUER: &str = "https://identity.oraclecloud.com/";
pub const CTM_HOST: &str = "ctm1.oci-thales.lab";
pub const CTM_IP: &str = "10.222.10.21";
pub const KMS_CLIENT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const RESOURCE_CLIENT: &str = "f9e8d7c6b5a4938271605f4e3d2c1b0a";
pub const RESOURCE_SECRET: &str = "resource-app-secret-123";

/// An RSA signing key of the test IdP.
pub struct SigningKey {
    pub kid: String,
    pub enc: EncodingKey,
    pub public_pem: String,
    pub jwk: Value,
}

fn make_key(kid: &str) -> SigningKey {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = hyok_core::rsa_key::generate(2048).expect("rsa keygen");
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("pkcs8 pem").to_string();
    let public_pem = key.to_public_key().to_public_key_pem(LineEnding::LF).expect("spki pem");
    let enc = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
    let mut jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, Algorithm::RS256).expect("jwk"))
        .expect("jwk json");
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    SigningKey { kid: kid.into(), enc, public_pem, jwk }
}

/// Two RSA keys shared by all tests (RSA key generation is the slow part).
pub fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| (make_key("SIGNING_KEY"), make_key("SIGNING_KEY_2")))
}

pub fn init() {
    tls::install_crypto_provider();
}

#[derive(Clone)]
pub struct IdpState {
    pub host: String,
    pub jwks: Arc<RwLock<Vec<Value>>>,
    pub protected: bool,
    pub jwks_fetches: Arc<AtomicUsize>,
}

async fn discovery(State(s): State<IdpState>) -> Json<Value> {
    Json(json!({
        "issuer": ISSUER,
        "jwks_uri": format!("https://{}/admin/v1/SigningCert/jwk", s.host),
        "token_endpoint": format!("https://{}/oauth2/v1/token", s.host),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(s): State<IdpState>, headers: HeaderMap) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if s.protected {
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{RESOURCE_CLIENT}:{RESOURCE_SECRET}"))
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
            return (StatusCode::UNAUTHORIZED, Json(json!({"detail": "authentication required"}))).into_response();
        }
    }
    let keys = s.jwks.read().clone();
    Json(json!({ "keys": keys })).into_response()
}

/// A test identity domain over TLS.
pub struct Idp {
    pub ca: LabCa,
    pub state: IdpState,
    pub server: Server,
}

impl Idp {
    pub async fn start(protected: bool) -> Idp {
        let host = format!("idcs-{}.identity.oraclecloud.com", hyok_core::ids::hex32());
        let ca = LabCa::generate("HYOK Lab Test Web Root").expect("lab ca");
        let leaf = ca.issue_server(&[&host]).expect("idp cert");
        let state = IdpState {
            host: host.clone(),
            jwks: Arc::new(RwLock::new(vec![keys().0.jwk.clone()])),
            protected,
            jwks_fetches: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/admin/v1/SigningCert/jwk", get(jwks))
            .with_state(state.clone());
        let cfg = tls::server_config(&leaf.chain_pem(), &leaf.key_pem).expect("idp tls");
        let listener = bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
        let server = serve(listener, app, Some(cfg), CancellationToken::new());
        Idp { ca, state, server }
    }

    pub fn host(&self) -> &str {
        &self.state.host
    }

    pub fn openid_url(&self) -> String {
        format!("https://{}/.well-known/openid-configuration", self.state.host)
    }

    /// The HTTP client CTM uses to reach this IdP (real name, real TLS, loopback socket).
    pub fn client_for_ctm(&self) -> HttpClient {
        let dial = StaticDial::new().pin(&self.state.host, 443, self.server.local_addr);
        HttpClient::new(Arc::new(dial), tls::client_config(self.ca.cert_pem()).expect("client tls"))
    }
}

/// A CTM node served over TLS with its own web certificate, plus a test IdP.
pub struct Lab {
    pub idp: Idp,
    pub ctm: Arc<Ctm>,
    pub events: EventLog,
    _server: Server,
    pub client: HttpClient,
    /// The same server for hand-written requests, verified as CTM_HOST.
    pub raw: hyok_test_support::raw::Target,
    jwt: OnceLock<String>,
}

pub fn now() -> i64 {
    hyok_core::unix_now()
}

impl Lab {
    pub async fn start() -> Lab {
        Self::start_with(CtmConfig::default(), false).await
    }

    pub async fn start_with(cfg: CtmConfig, protected_jwks: bool) -> Lab {
        init();
        let idp = Idp::start(protected_jwks).await;
        let events = EventLog::new();
        let ctm = Ctm::new(cfg, idp.client_for_ctm(), events.clone()).expect("ctm");
        let web = ctm.web_tls();
        let tls_cfg = tls::server_config(&web.chain_pem(), &web.key_pem).expect("ctm tls");
        let listener = bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
        let server = serve(listener, router(ctm.clone()), Some(tls_cfg), CancellationToken::new());
        let dial = StaticDial::new().pin(CTM_HOST, 443, server.local_addr).pin(CTM_IP, 443, server.local_addr);
        let client = HttpClient::new(Arc::new(dial), tls::client_config(&ctm.ca_cert_pem()).expect("client tls"));
        let raw = hyok_test_support::raw::Target::new(server.local_addr, CTM_HOST, &ctm.ca_cert_pem());
        Lab { idp, ctm, events, _server: server, client, raw, jwt: OnceLock::new() }
    }

    /// Any request to CTM; returns status, headers and JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut b = http::Request::builder().method(method).uri(url).header("accept", "application/json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                axum::body::Body::from(serde_json::to_vec(&v).expect("json"))
            }
            None => axum::body::Body::empty(),
        };
        let resp = self.client.send(b.body(body).expect("request")).await.expect("send");
        let v = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (resp.status(), resp.headers().clone(), v)
    }

    pub async fn login(&self) -> Value {
        let (user, pass) = self.ctm.initial_credentials();
        let (s, _, v) = self
            .call(
                "POST",
                &format!("https://{CTM_HOST}/api/v1/auth/tokens"),
                &[],
                Some(json!({"grant_type": "password", "username": user, "password": pass})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// `Bearer <admin jwt>`.
    pub async fn bearer(&self) -> String {
        format!("Bearer {}", self.jwt().await)
    }

    /// A request with a body sent as given (not necessarily JSON).
    pub async fn call_bytes(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut b = http::Request::builder().method(method).uri(url).header("accept", "application/json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self.client.send(b.body(axum::body::Body::from(body)).expect("request")).await.expect("send");
        let v = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (resp.status(), resp.headers().clone(), v)
    }

    async fn jwt(&self) -> String {
        if let Some(j) = self.jwt.get() {
            return j.clone();
        }
        let v = self.login().await;
        let j = v["jwt"].as_str().expect("jwt").to_string();
        let _ = self.jwt.set(j.clone());
        j
    }

    /// A management call with a valid admin token; `path` starts at `/api/v1`.
    pub async fn mgmt(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let jwt = self.jwt().await;
        let auth = format!("Bearer {jwt}");
        let (s, _, v) =
            self.call(method, &format!("https://{CTM_HOST}{path}"), &[("authorization", &auth)], body).await;
        (s, v)
    }

    /// `POST /api/v1/cckm/oci/issuers` with `body`.
    pub async fn create_issuer(&self, body: Value) -> (StatusCode, Value) {
        self.mgmt("POST", "/api/v1/cckm/oci/issuers", Some(body)).await
    }

    /// Tenancy, issuer (by discovery), external vault on CTM's IP, and one external key.
    pub async fn setup(&self) -> Setup {
        let (s, _) = self
            .mgmt(
                "POST",
                "/api/v1/cckm/oci/add-tenancy",
                Some(json!({"tenancy": "oci-thales", "tenancy_ocid": hyok_core::ids::ocid("tenancy", None)})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let mut issuer_body = json!({"name": "idcs", "openid_config_url": self.idp.openid_url(), "jwks_uri_protected": self.idp.state.protected});
        if self.idp.state.protected {
            issuer_body["client_id"] = json!(RESOURCE_CLIENT);
            issuer_body["client_secret"] = json!(RESOURCE_SECRET);
        }
        let (s, issuer) = self.create_issuer(issuer_body).await;
        assert_eq!(s, StatusCode::CREATED, "{issuer}");
        let (s, vault) = self
            .mgmt(
                "POST",
                "/api/v1/cckm/oci/create-external-vault",
                Some(json!({
                    "vault_name": "hyok-vault",
                    "tenancy": "oci-thales",
                    "issuer_id": issuer["id"],
                    "client_application_id": KMS_CLIENT,
                    "endpoint_url_hostname": CTM_IP,
                    "endpoint_url_port": 443,
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{vault}");
        let (s, key) = self
            .mgmt(
                "POST",
                "/api/v1/cckm/oci/create-external-key",
                Some(json!({"vault": vault["id"], "name": "hyok-key-1", "source_key_tier": "local"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{key}");
        Setup {
            issuer_id: issuer["id"].as_str().expect("issuer id").into(),
            vault_id: vault["id"].as_str().expect("vault id").into(),
            key_id: key["id"].as_str().expect("key id").into(),
            endpoint_url: vault["endpoint_url"].as_str().expect("endpoint").into(),
        }
    }

    /// A vendor-API call with a bearer token.
    pub async fn ekm(
        &self,
        method: &str,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let auth = format!("Bearer {token}");
        self.call(method, url, &[("authorization", &auth)], body).await
    }
}

pub struct Setup {
    pub issuer_id: String,
    pub vault_id: String,
    pub key_id: String,
    pub endpoint_url: String,
}

/// Claims of a good client-credentials access token for the vault on CTM's IP.
pub fn good_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": format!("https://{CTM_IP}/"),
        "sub": KMS_CLIENT,
        "sub_type": "client",
        "client_id": KMS_CLIENT,
        "scope": "oci_ekms",
        "tok_type": "AT",
        "iat": now,
        "exp": now + 3600,
        "jti": hyok_core::ids::hex32(),
    })
}

/// An RS256 token signed with `key`.
pub fn mint_with(key: &SigningKey, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&h, claims, &key.enc).expect("sign")
}

/// An RS256 token signed with the IdP's current key.
pub fn mint(claims: &Value) -> String {
    mint_with(&keys().0, claims)
}
