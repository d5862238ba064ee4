//! The tutorial's world on loopback: a real identity domain (hyok-identity) and a real
//! CipherTrust Manager (hyok-ctm) over TLS, the KMS service on its regional host, and a signed
//! OCI client. Names and virtual IPs are pinned to loopback sockets by `LoopbackHost`.

use axum::body::Body;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use hyok_core::{
    Clock,
    client::HttpClient,
    host::ServiceHost,
    server::{Server, bind, serve},
    tls,
};
use hyok_ctm::{Ctm, CtmConfig};
use hyok_identity::{IdentityConfig, IdentityDomain};
use hyok_kms::{KmsConfig, KmsDeps, KmsService};
use hyok_netsim::NetworkModel;
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};

use hyok_test_support::{LoopbackHost, eventually};
use serde_json::{Value, json};
use std::{
    net::Ipv4Addr,
    sync::{Arc, OnceLock},
};
use tokio_util::sync::CancellationToken;

pub const GW_IP: &str = "172.16.1.103";
pub const AUDIENCE: &str = "https://172.16.1.103/";
pub const FQS: &str = "https://172.16.1.103/oci_ekms";
pub const KMS_IP: Ipv4Addr = Ipv4Addr::new(134, 70, 16, 5);
pub const REGION: &str = "eu-frankfurt-1";

pub fn api_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("api key")).clone()
}

pub fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

pub fn unb64(s: &Value) -> Vec<u8> {
    B64.decode(s.as_str().expect("base64 string")).expect("base64")
}

/// An OAuth app made through SCIM.
#[derive(Clone, Debug)]
pub struct App {
    pub id: String,
    pub client_id: String,
    pub secret: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

pub struct World {
    pub host: Arc<LoopbackHost>,
    pub kms: Arc<KmsService>,
    /// The KMS service's clock (its token caches and private endpoint settling).
    pub clock: Clock,
    pub tenancy: Tenancy,
    pub subnet_id: String,
    pub net: NetworkModel,
    pub idcs: Idcs,
    pub client: App,
    pub ctm: Arc<Ctm>,
    pub ctm_api: CtmApi,
    pub ctm_vault_id: String,
    pub ctm_vault_url: String,
    pub ctm_key_id: String,
    pub http: HttpClient,
    /// Every response body seen by [`World::send`], for the "secret never returned" check.
    pub bodies: Arc<parking_lot::Mutex<Vec<String>>>,
    /// The regional host's loopback socket (its certificate also names 127.0.0.1).
    pub regional_addr: std::net::SocketAddr,
    _servers: Vec<Server>,
}

async fn serve_on(router: axum::Router, chain: &str, key: &str) -> Server {
    let cfg = tls::server_config(chain, key).expect("server tls");
    let listener = bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    serve(listener, router, Some(cfg), CancellationToken::new())
}

/// The identity domain's admin API.
pub struct Idcs {
    pub http: HttpClient,
    pub url: String,
    pub admin: (String, String),
}

/// The request `b` with `body` serialised as `content_type` (empty without one).
fn with_body(b: http::request::Builder, content_type: &str, body: Option<Value>) -> Request<Body> {
    match body {
        Some(v) => b.header("content-type", content_type).body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("req")
}

impl Idcs {
    async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (id, secret) = &self.admin;
        let auth = format!("Basic {}", B64.encode(format!("{id}:{secret}")));
        let b = Request::builder().method(method).uri(format!("{}{path}", self.url)).header("authorization", auth);
        let resp = self.http.send(with_body(b, "application/scim+json", body)).await.expect("scim");
        let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        assert!(resp.status().is_success(), "SCIM {path}: {} {v}", resp.status());
        v
    }

    /// Create, activate and read the secret of an app (tutorial task 8).
    pub async fn app(&self, body: Value) -> App {
        let created = self.scim(Method::POST, "/admin/v1/Apps", Some(body)).await;
        let id = created["id"].as_str().expect("id").to_string();
        let status = json!({"schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:AppStatusChanger"], "active": true});
        self.scim(Method::PUT, &format!("/admin/v1/AppStatusChanger/{id}"), Some(status)).await;
        let shown = self.scim(Method::GET, &format!("/admin/v1/Apps/{id}?attributes=clientSecret"), None).await;
        App {
            id,
            client_id: created["name"].as_str().expect("name").to_string(),
            secret: shown["clientSecret"].as_str().expect("secret").to_string(),
        }
    }

    /// Regenerate an app's client secret.
    pub async fn rotate_secret(&self, app: &App) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator"], "appId": app.id});
        let v = self.scim(Method::POST, "/admin/v1/AppClientSecretRegenerator", Some(body)).await;
        v["clientSecret"].as_str().expect("secret").to_string()
    }
}

/// CipherTrust Manager's management API, logged in as admin.
pub struct CtmApi {
    pub http: HttpClient,
    pub jwt: String,
}

impl CtmApi {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(format!("https://ctm1.oci-thales.lab{path}"));
        if !self.jwt.is_empty() {
            b = b.header("authorization", format!("Bearer {}", self.jwt));
        }
        let resp = self.http.send(with_body(b, "application/json", body)).await.expect("ctm");
        (resp.status(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
    }

    /// A new external key in the CTM vault.
    pub async fn key(&self, vault_id: &str, name: &str) -> String {
        let body = json!({"vault": vault_id, "name": name, "source_key_tier": "local"});
        let (s, key) = self.call(Method::POST, "/api/v1/cckm/oci/create-external-key", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{key}");
        key["id"].as_str().expect("key id").into()
    }
}

impl World {
    /// The tutorial up to task 11: identity apps, CTM vault and key, the network with the
    /// gateway at .103. `resource_ttl` sets the Resource_App's access token lifetime; KMS runs
    /// on `clock`.
    pub async fn start_with(resource_ttl: Option<u64>, clock: Clock) -> World {
        let host = Arc::new(LoopbackHost::new());
        let ca = host.public_ca();
        let public_http =
            HttpClient::new(host.dial_from(Ipv4Addr::LOCALHOST), tls::client_config(ca.cert_pem()).expect("tls"));
        let mut servers = Vec::new();

        // Identity domain over TLS with a public certificate; Resource_App and Client_App.
        let domain = IdentityDomain::new(IdentityConfig::random()).expect("domain");
        let idcs_host = domain.config().domain_host.clone();
        let leaf = ca.issue_server(&[idcs_host.as_str()]).expect("idcs cert");
        let idcs_server = serve_on(hyok_identity::router(domain.clone()), &leaf.chain_pem(), &leaf.key_pem).await;
        host.pin(&idcs_host, 443, idcs_server.local_addr);
        servers.push(idcs_server);
        let idcs =
            Idcs { http: public_http.clone(), url: domain.domain_url().to_string(), admin: domain.admin_credentials() };
        let mut resource_body = resource_app_body("Resource_App", AUDIENCE);
        if let Some(ttl) = resource_ttl {
            resource_body["accessTokenExpiry"] = json!(ttl);
        }
        let resource = idcs.app(resource_body).await;
        let client = idcs.app(client_app_body("Client_App", FQS)).await;

        // CTM1, reached by OCI at the gateway's address (this crate's tests leave the gateway out).
        let cfg = CtmConfig { ip: GW_IP.into(), jwks_refetch_min_secs: 0, ..CtmConfig::default() };
        let ctm = Ctm::new(cfg, public_http.clone(), host.events()).expect("ctm");
        let web = ctm.web_tls();
        let ctm_server = serve_on(hyok_ctm::router(ctm.clone()), &web.chain_pem(), &web.key_pem).await;
        host.pin(GW_IP, 443, ctm_server.local_addr);
        host.pin("ctm1.oci-thales.lab", 443, ctm_server.local_addr);
        servers.push(ctm_server);
        let http = HttpClient::new(
            host.dial_from(Ipv4Addr::LOCALHOST),
            tls::client_config(&format!("{}{}", ca.cert_pem(), ctm.ca_cert_pem())).expect("tls"),
        );
        let mut ctm_api = CtmApi { http: http.clone(), jwt: String::new() };
        let (user, pass) = ctm.initial_credentials();
        let (s, v) = ctm_api
            .call(
                Method::POST,
                "/api/v1/auth/tokens",
                Some(json!({"grant_type": "password", "username": user, "password": pass})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        ctm_api.jwt = v["jwt"].as_str().expect("jwt").to_string();
        let tenancy = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
        let (s, v) = ctm_api
            .call(
                Method::POST,
                "/api/v1/cckm/oci/add-tenancy",
                Some(json!({"tenancy": "oci-thales", "tenancy_ocid": tenancy.tenancy_id})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let issuer = json!({
            "name": "idcs",
            "openid_config_url": format!("{}/.well-known/openid-configuration", idcs.url),
            "jwks_uri_protected": true,
            "client_id": resource.client_id,
            "client_secret": resource.secret,
        });
        let (s, issuer) = ctm_api.call(Method::POST, "/api/v1/cckm/oci/issuers", Some(issuer)).await;
        assert_eq!(s, StatusCode::CREATED, "{issuer}");
        let vault_body = json!({
            "vault_name": "OCI_EKMS_Vault",
            "tenancy": "oci-thales",
            "issuer_id": issuer["id"],
            "client_application_id": client.client_id,
            "endpoint_url_hostname": GW_IP,
            "endpoint_url_port": 443,
        });
        let (s, vault) = ctm_api.call(Method::POST, "/api/v1/cckm/oci/create-external-vault", Some(vault_body)).await;
        assert_eq!(s, StatusCode::CREATED, "{vault}");
        let ctm_vault_id = vault["id"].as_str().expect("vault id").to_string();
        let ctm_vault_url = vault["endpoint_url"].as_str().expect("endpoint").to_string();
        let ctm_key_id = ctm_api.key(&ctm_vault_id, "hyok-key-1").await;

        // Network: spoke A's private subnet; the gateway holds .103.
        let net = NetworkModel::new();
        let vcn = net
            .create_vcn("FRA spoke A", "FRA", "172.16.0.0/16", &tenancy.compartment_id, "spokea", true)
            .expect("vcn");
        let sl = net.create_default_security_list(&vcn.id).expect("sl");
        let subnet = net.create_subnet(&vcn.id, "private", "172.16.1.0/24", vec![sl.id], "priv").expect("subnet");
        net.set_allocation_start(&subnet.id, GW_IP.parse().expect("ip")).expect("start");
        assert_eq!(net.allocate_ip(&subnet.id, "API gateway").expect("gw ip").to_string(), GW_IP);

        // KMS on its regional host.
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let deps = KmsDeps {
            host: host.clone(),
            net: net.clone(),
            verifier: Arc::new(SignatureVerifier::new(keys)),
            tenancy_id: tenancy.tenancy_id.clone(),
            region: REGION.into(),
            kms_ip: KMS_IP,
            public_ca_pem: ca.cert_pem().to_string(),
        };
        let kms = KmsService::with_config(deps, KmsConfig { clock: clock.clone() }).expect("kms");
        let leaf = ca.issue_server(&[kms.host_name().as_str(), "127.0.0.1"]).expect("kms cert");
        let kms_server = serve_on(hyok_kms::router(kms.clone()), &leaf.chain_pem(), &leaf.key_pem).await;
        host.pin(&kms.host_name(), 443, kms_server.local_addr);
        let regional_addr = kms_server.local_addr;
        servers.push(kms_server);
        World {
            host,
            kms,
            clock,
            tenancy,
            subnet_id: subnet.id,
            net,
            idcs,
            client,
            ctm,
            ctm_api,
            ctm_vault_id,
            ctm_vault_url,
            ctm_key_id,
            http,
            bodies: Default::default(),
            regional_addr,
            _servers: servers,
        }
    }

    pub async fn start() -> World {
        Self::start_with(None, Clock::system()).await
    }

    pub fn compartment(&self) -> &str {
        &self.tenancy.compartment_id
    }

    /// Any HTTPS request with optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
        sign: bool,
    ) -> Resp {
        self.send_with(&self.http, method, url, headers, body, sign).await
    }

    /// [`World::send`] through another client.
    pub async fn send_with(
        &self,
        http: &HttpClient,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
        sign: bool,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(url).header("accept", "application/json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let mut req = b.body(body.unwrap_or_default()).expect("request");
        if sign {
            hyok_test_support::oci::sign(&mut req, &self.tenancy);
        }
        let (parts, bytes) = req.into_parts();
        let resp = http.send(Request::from_parts(parts, Body::from(bytes))).await.expect("send over TLS");
        let text = String::from_utf8_lossy(resp.body()).into_owned();
        self.bodies.lock().push(text.clone());
        Resp {
            status: resp.status(),
            headers: resp.headers().clone(),
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A signed OCI call.
    pub async fn oci(&self, method: Method, url: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|v| Bytes::from(serde_json::to_vec(&v).expect("json")));
        self.send(method, url, &[], bytes, true).await
    }

    pub fn regional(&self, path: &str) -> String {
        format!("https://{}/20180608{path}", self.kms.host_name())
    }

    // ------------------------------------------------------------ KMS flows

    /// Task 12: the private endpoint (CA bundle = CTM's root) → ACTIVE.
    pub async fn private_endpoint(&self, ekm_ip: &str, ca_bundle: &str) -> Value {
        let r = self
            .oci(
                Method::POST,
                &self.regional("/ekmsPrivateEndpoints"),
                Some(json!({
                    "subnetId": self.subnet_id,
                    "compartmentId": self.compartment(),
                    "displayName": "OCI_EKMS_PE",
                    "externalKeyManagerIp": ekm_ip,
                    "caBundle": ca_bundle,
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let id = r.json["id"].as_str().expect("id").to_string();
        // A manual clock must pass the settle delay; the system clock passes it by itself.
        self.clock.advance(hyok_kms::PE_SETTLE);
        self.wait_state(&self.regional(&format!("/ekmsPrivateEndpoints/{id}")), "ACTIVE").await
    }

    /// Task 14 request; returns the create response.
    pub async fn create_vault(&self, pe_id: &str, url: &str, client: &App) -> Resp {
        self.oci(
            Method::POST,
            &self.regional("/vaults"),
            Some(json!({
                "compartmentId": self.compartment(),
                "displayName": "OCI_EKMS_Vault",
                "vaultType": "EXTERNAL",
                "externalKeyManagerMetadata": {
                    "externalVaultEndpointUrl": url,
                    "privateEndpointId": pe_id,
                    "oauthMetadata": {
                        "idcsAccountNameUrl": self.idcs.url,
                        "clientAppId": client.client_id,
                        "clientAppSecret": client.secret,
                    },
                },
            })),
        )
        .await
    }

    /// Create a vault and wait until it leaves CREATING; returns the final vault.
    pub async fn vault_settled(&self, pe_id: &str, url: &str, client: &App) -> Value {
        let r = self.create_vault(pe_id, url, client).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["lifecycleState"], "CREATING");
        let id = r.json["id"].as_str().expect("vault id").to_string();
        self.wait_not(&self.regional(&format!("/vaults/{id}")), "CREATING").await
    }

    /// The happy path up to an ACTIVE vault.
    pub async fn active_vault(&self) -> Value {
        let pe = self.private_endpoint(GW_IP, &self.ctm.ca_cert_pem()).await;
        let v = self.vault_settled(pe["id"].as_str().expect("pe id"), &self.ctm_vault_url, &self.client.clone()).await;
        assert_eq!(v["lifecycleState"], "ACTIVE", "{v}");
        v
    }

    /// Task 16: a key reference; waits until it leaves CREATING.
    pub async fn key_settled(&self, vault: &Value, external_key_id: &str) -> Value {
        let r = self.create_key(vault, external_key_id, 32).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let id = r.json["id"].as_str().expect("key id");
        self.wait_not(&format!("{}/20180608/keys/{id}", mgmt(vault)), "CREATING").await
    }

    pub async fn create_key(&self, vault: &Value, external_key_id: &str, length: i64) -> Resp {
        self.oci(
            Method::POST,
            &format!("{}/20180608/keys", mgmt(vault)),
            Some(json!({
                "compartmentId": self.compartment(),
                "displayName": "OCI_EKMS_Key",
                "keyShape": {"algorithm": "AES", "length": length},
                "protectionMode": "EXTERNAL",
                "externalKeyReference": {"externalKeyId": external_key_id},
            })),
        )
        .await
    }

    pub async fn wait_state(&self, url: &str, state: &str) -> Value {
        eventually(&format!("{url} {state}"), || async {
            let r = self.oci(Method::GET, url, None).await;
            if r.json["lifecycleState"] == state { Ok(r.json) } else { Err(r.text) }
        })
        .await
    }

    pub async fn wait_not(&self, url: &str, state: &str) -> Value {
        eventually(&format!("{url} leaving {state}"), || async {
            let r = self.oci(Method::GET, url, None).await;
            if r.status == StatusCode::OK && r.json["lifecycleState"] != state { Ok(r.json) } else { Err(r.text) }
        })
        .await
    }

    pub async fn encrypt(&self, vault: &Value, key_id: &str, plaintext: &[u8], aad: Option<Value>) -> Resp {
        let mut body = json!({"keyId": key_id, "plaintext": b64(plaintext)});
        if let Some(a) = aad {
            body["associatedData"] = a;
        }
        self.oci(Method::POST, &format!("{}/20180608/encrypt", crypto(vault)), Some(body)).await
    }

    pub async fn decrypt(&self, vault: &Value, key_id: &str, ciphertext: &Value, aad: Option<Value>) -> Resp {
        let mut body = json!({"keyId": key_id, "ciphertext": ciphertext});
        if let Some(a) = aad {
            body["associatedData"] = a;
        }
        self.oci(Method::POST, &format!("{}/20180608/decrypt", crypto(vault)), Some(body)).await
    }
}

pub fn mgmt(vault: &Value) -> String {
    vault["managementEndpoint"].as_str().expect("managementEndpoint").to_string()
}

pub fn crypto(vault: &Value) -> String {
    vault["cryptoEndpoint"].as_str().expect("cryptoEndpoint").to_string()
}

pub use hyok_test_support::scim::{client_app_body, resource_app_body};
