//! A domain served over real TLS on a loopback socket, reached by its real host name.

use axum::body::Body;
use base64::{Engine, engine::general_purpose::STANDARD};
use hyok_core::{
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::{Server, bind, serve},
    tls::{client_config, install_crypto_provider, server_config},
};
use hyok_identity::{IdentityConfig, IdentityDomain, router};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const AUDIENCE: &str = "https://172.16.1.103/";
pub const FQS: &str = "https://172.16.1.103/oci_ekms";
pub const ISSUER: &str = "https://identity.oraclecloud.com/";

pub struct Lab {
    pub domain: Arc<IdentityDomain>,
    pub server: Server,
    pub http: HttpClient,
    pub url: String,
    pub admin: Auth,
    /// The same server for hand-written requests.
    pub raw: hyok_test_support::raw::Target,
}

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

/// An app created through SCIM, activated, with its secret read once.
#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub client_id: String,
    pub secret: String,
}

impl Creds {
    pub fn basic(&self) -> Auth {
        Auth::Basic(self.client_id.clone(), self.secret.clone())
    }
}

pub struct Resp {
    pub status: u16,
    pub json: Value,
    pub headers: axum::http::HeaderMap,
}

/// Percent-encode a form value (everything but RFC 3986 unreserved characters).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Lab {
    pub async fn start() -> Lab {
        install_crypto_provider();
        let domain = IdentityDomain::new(IdentityConfig::random()).expect("domain");
        let host = domain.config().domain_host.clone();
        let ca = LabCa::generate("HYOK Lab Test Public Root").expect("ca");
        let leaf = ca.issue_server(&[host.as_str()]).expect("leaf");
        let tls = server_config(&leaf.chain_pem(), &leaf.key_pem).expect("server tls");
        let listener = bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
        let server = serve(listener, router(domain.clone()), Some(tls), CancellationToken::new());
        let dial = StaticDial::new().pin(&host, 443, server.local_addr);
        let http = HttpClient::new(Arc::new(dial), client_config(&leaf.ca_pem).expect("client tls"));
        let (id, secret) = domain.admin_credentials();
        let raw = hyok_test_support::raw::Target::new(server.local_addr, &host, &leaf.ca_pem);
        Lab { url: domain.domain_url().to_string(), domain, server, http, admin: Auth::Basic(id, secret), raw }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        content_type: Option<&str>,
        body: String,
    ) -> Resp {
        let mut b = axum::http::Request::builder().method(method).uri(format!("{}{}", self.url, path));
        match auth {
            Auth::None => {}
            Auth::Basic(id, secret) => {
                b = b.header("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
            }
            Auth::Bearer(t) => b = b.header("authorization", format!("Bearer {t}")),
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let resp = self.http.send(b.body(Body::from(body)).expect("request")).await.expect("send over TLS");
        let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        Resp { status: resp.status().as_u16(), headers: resp.headers().clone(), json }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.request("GET", path, auth, None, String::new()).await
    }

    pub async fn send_json(&self, method: &str, path: &str, auth: &Auth, body: Value) -> Resp {
        self.request(method, path, auth, Some("application/scim+json"), body.to_string()).await
    }

    /// `POST /oauth2/v1/token` with a form body.
    pub async fn token(&self, auth: &Auth, form: &str) -> Resp {
        self.request("POST", "/oauth2/v1/token", auth, Some("application/x-www-form-urlencoded"), form.to_string())
            .await
    }

    /// A client-credentials token for `scope`, asserting success.
    pub async fn access_token(&self, creds: &Creds, scope: &str) -> String {
        let r = self.token(&creds.basic(), &format!("grant_type=client_credentials&scope={}", enc(scope))).await;
        assert_eq!(r.status, 200, "token: {}", r.json);
        r.json["access_token"].as_str().expect("access_token").to_string()
    }

    pub async fn create_app(&self, body: Value) -> Value {
        let r = self.send_json("POST", "/admin/v1/Apps", &self.admin, body).await;
        assert_eq!(r.status, 201, "create app: {}", r.json);
        r.json
    }

    pub async fn set_active(&self, id: &str, active: bool) -> Resp {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:AppStatusChanger"], "active": active});
        self.send_json("PUT", &format!("/admin/v1/AppStatusChanger/{id}"), &self.admin, body).await
    }

    pub async fn show_secret(&self, id: &str) -> Resp {
        self.get(&format!("/admin/v1/Apps/{id}?attributes=clientSecret"), &self.admin).await
    }

    /// Create, activate and read the secret of an app.
    pub async fn app(&self, body: Value) -> Creds {
        let created = self.create_app(body).await;
        let id = created["id"].as_str().expect("id").to_string();
        assert_eq!(self.set_active(&id, true).await.status, 200);
        let shown = self.show_secret(&id).await;
        assert_eq!(shown.status, 200, "show secret: {}", shown.json);
        Creds {
            id,
            client_id: created["name"].as_str().expect("name").to_string(),
            secret: shown.json["clientSecret"].as_str().expect("clientSecret").to_string(),
        }
    }

    /// Task 8: Resource_App (audience + oci_ekms, client credentials) and Client_App allowed
    /// to use the resource's scope. Both activated, secrets read once.
    pub async fn tutorial_apps(&self) -> (Creds, Creds) {
        let resource = self.app(resource_app_body("Resource_App", AUDIENCE)).await;
        let client = self.app(client_app_body("Client_App", FQS)).await;
        (resource, client)
    }

    /// The JWKS, fetched with some app's credentials.
    pub async fn jwks(&self, auth: &Auth) -> jsonwebtoken::jwk::JwkSet {
        let r = self.get("/admin/v1/SigningCert/jwk", auth).await;
        assert_eq!(r.status, 200, "jwks: {}", r.json);
        serde_json::from_value(r.json).expect("JwkSet")
    }
}

pub use hyok_test_support::scim::{client_app_body, resource_app_body};

/// Verify `token` the way a relying party does: kid → JWK → RS256, iss, aud, exp.
pub fn verify(jwks: &jsonwebtoken::jwk::JwkSet, token: &str, audience: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks.find(&kid).ok_or_else(|| format!("kid {kid} not in JWKS"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(token, &key, &v).map(|d| d.claims).map_err(|e| e.to_string())
}

pub fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}
