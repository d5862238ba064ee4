//! OCI KMS as a client of the External KMS vendor API: the identity-domain token (cached per
//! vault, refreshed at 80 % of its lifetime) and the calls through the EKMS private endpoint.
//!
//! Every outbound request carries the caller's `opc-request-id` and a [`HopName`], so the lab's
//! trace shows `KMS → identity domain (token)` and `private endpoint → key manager` hops.

use axum::body::Body;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use hyok_core::{
    Clock,
    client::{ClientError, HopName, HttpClient},
};
use parking_lot::RwLock;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Hop name of the token request.
pub const HOP_TOKEN: &str = "KMS → identity domain (token)";
/// Hop name of every vendor-API call.
pub const HOP_VENDOR: &str = "private endpoint → key manager";
/// The scope literal OCI asks for (Thales CTM ≥ 2.14).
pub const SCOPE_LITERAL: &str = "oci_ekms";
/// Share of a token's lifetime after which it is refreshed.
const REFRESH_AT: f64 = 0.8;
/// Largest token or vendor response read.
pub(crate) const MAX_RESPONSE: usize = 1024 * 1024;

/// Why a call to the key manager (or the token request before it) failed. The text names the
/// hop and the reason, and becomes a vault's or key's `lifecycleDetails`.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VendorError {
    /// The identity domain answered the token request with an OAuth error.
    #[error(
        "{HOP_TOKEN}: the identity domain refused the client credentials request with HTTP {status} {error}: {description}"
    )]
    TokenRefused {
        /// HTTP status.
        status: u16,
        /// OAuth `error` (e.g. `invalid_client`, `invalid_scope`).
        error: String,
        /// OAuth `error_description`.
        description: String,
    },
    /// The identity domain could not be reached or spoke nonsense.
    #[error("{HOP_TOKEN}: {0}")]
    TokenFailed(String),
    /// No connection to the key manager (DNS, routing, security list, nothing listening, timeout).
    #[error("{HOP_VENDOR}: {0}")]
    Unreachable(String),
    /// The key manager's certificate chain is not trusted by the private endpoint's CA bundle.
    #[error(
        "{HOP_VENDOR}: {0} (the private endpoint trusts only its CA bundle; it must hold the CA that issued the key manager's or API gateway's certificate)"
    )]
    Tls(String),
    /// An API gateway in front of the key manager has no deployment or route for the path.
    #[error(
        "{HOP_VENDOR}: the API gateway answered 404 Not Found for {path}: no deployment or route matches (is the gateway deployment missing, or does its path prefix differ from the vault URL?)"
    )]
    GatewayNotFound {
        /// The request path.
        path: String,
    },
    /// The key manager answered with an error status.
    #[error("{HOP_VENDOR}: the key manager answered HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The vendor's message.
        message: String,
    },
    /// The key manager answered 2xx with an unusable body.
    #[error("{HOP_VENDOR}: unusable response from the key manager: {0}")]
    BadResponse(String),
}

impl VendorError {
    fn from_client(e: ClientError) -> Self {
        match e {
            ClientError::Tls { .. } => Self::Tls(e.to_string()),
            other => Self::Unreachable(other.to_string()),
        }
    }

    /// The vendor's HTTP status, when it answered with an error.
    pub fn vendor_status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A cached access token.
struct Cached {
    token: std::sync::Arc<str>,
    refresh_at: Instant,
}

/// One vault's connection to its key manager: credentials, token cache and two pooled clients.
pub struct VaultRuntime {
    base_url: String,
    token_url: String,
    basic: HeaderValue,
    scope: String,
    idcs: HttpClient,
    pe: HttpClient,
    token: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
    clock: Clock,
}

impl std::fmt::Debug for VaultRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credentials or the token.
        f.debug_struct("VaultRuntime").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Percent-encode one path segment or form value (RFC 3986 unreserved characters pass).
pub fn enc(s: &str) -> String {
    hyok_core::url::encode_component(s)
}

impl VaultRuntime {
    /// A runtime for the vault at `base_url` (the `externalVaultEndpointUrl`).
    pub fn new(
        base_url: &str,
        idcs_url: &str,
        client_id: &str,
        client_secret: &str,
        scope: String,
        idcs: HttpClient,
        pe: HttpClient,
    ) -> Result<Self, String> {
        let basic = HeaderValue::from_str(&format!("Basic {}", B64.encode(format!("{client_id}:{client_secret}"))))
            .map_err(|_| "clientAppId or clientAppSecret contains characters not allowed in a header".to_string())?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: format!("{}/oauth2/v1/token", idcs_url.trim_end_matches('/')),
            basic,
            scope,
            idcs,
            pe,
            token: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            clock: Clock::system(),
        })
    }

    /// Time the token cache on `clock` (the service's; default the system clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The scope asked for (`<audience>oci_ekms`).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    fn cached(&self) -> Option<std::sync::Arc<str>> {
        let g = self.token.read();
        g.as_ref().filter(|c| self.clock.now() < c.refresh_at).map(|c| c.token.clone())
    }

    /// Forget the cached token, as when its lifetime has run out.
    pub fn expire_token(&self) {
        *self.token.write() = None;
    }

    /// Forget the cached token if it is still `stale` (a 401 from the vendor said so).
    fn drop_token(&self, stale: &str) {
        let mut g = self.token.write();
        if g.as_ref().is_some_and(|c| &*c.token == stale) {
            *g = None;
        }
    }

    /// A valid access token: the cached one, or a new one from the identity domain. Concurrent
    /// callers wait for one refresh instead of each asking.
    pub async fn token(&self, rid: &str) -> Result<std::sync::Arc<str>, VendorError> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let _gate = self.refresh.lock().await;
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let (token, ttl) = self.fetch_token(rid).await?;
        let token: std::sync::Arc<str> = token.into();
        let refresh_at = self.clock.now() + Duration::from_secs_f64(ttl.max(1) as f64 * REFRESH_AT);
        *self.token.write() = Some(Cached { token: token.clone(), refresh_at });
        Ok(token)
    }

    async fn fetch_token(&self, rid: &str) -> Result<(String, u64), VendorError> {
        let form = format!("grant_type=client_credentials&scope={}", enc(&self.scope));
        let mut req = Request::post(&self.token_url)
            .header(http::header::AUTHORIZATION, self.basic.clone())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .header(hyok_core::request_id::HEADER, rid)
            .body(Body::from(form))
            .map_err(|e| VendorError::TokenFailed(format!("cannot build the token request: {e}")))?;
        req.extensions_mut().insert(HopName(HOP_TOKEN.into()));
        let resp = self.idcs.send(req).await.map_err(|e| VendorError::TokenFailed(e.to_string()))?;
        let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        if !resp.status().is_success() {
            return Err(VendorError::TokenRefused {
                status: resp.status().as_u16(),
                error: v["error"].as_str().unwrap_or("unknown_error").to_string(),
                description: v["error_description"].as_str().unwrap_or("(no description)").to_string(),
            });
        }
        let token = v["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| VendorError::TokenFailed("the token response has no access_token".into()))?;
        let ttl = v["expires_in"].as_u64().unwrap_or(3600);
        Ok((token.to_string(), ttl))
    }

    /// Call the vendor API at `<vault url><suffix>`; a 401 drops the cached token and retries
    /// once with a fresh one. Returns the JSON body of a 2xx answer.
    pub async fn call(
        &self,
        rid: &str,
        method: Method,
        suffix: &str,
        body: Option<&Value>,
    ) -> Result<Value, VendorError> {
        let url = format!("{}{suffix}", self.base_url);
        let bytes = match body {
            Some(b) => Bytes::from(serde_json::to_vec(b).map_err(|e| VendorError::BadResponse(e.to_string()))?),
            None => Bytes::new(),
        };
        let mut retried = false;
        loop {
            let token = self.token(rid).await?;
            let mut b = Request::builder()
                .method(method.clone())
                .uri(&url)
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .header(http::header::ACCEPT, "application/json")
                .header(hyok_core::request_id::HEADER, rid);
            if body.is_some() {
                b = b.header(http::header::CONTENT_TYPE, "application/json");
            }
            let mut req = b
                .body(Body::from(bytes.clone()))
                .map_err(|e| VendorError::Unreachable(format!("vault URL {url} is not usable: {e}")))?;
            req.extensions_mut().insert(HopName(HOP_VENDOR.into()));
            let resp = self.pe.send(req).await.map_err(VendorError::from_client)?;
            let status = resp.status();
            let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
            if status == StatusCode::UNAUTHORIZED && !retried {
                // The key manager no longer accepts this token (expired early, key rotation, ...).
                self.drop_token(&token);
                retried = true;
                continue;
            }
            if status.is_success() {
                return Ok(v);
            }
            // The API gateway's own errors carry a numeric `code`; the vendor's a string.
            // The gateway's own 404 is `{"code": 404, "message": "Not Found"}`; a 404 that CTM
            // itself sent through the gateway carries CTM's `codeDesc` (or the vendor's string code).
            if status == StatusCode::NOT_FOUND && v["code"].as_u64() == Some(404) && v.get("codeDesc").is_none() {
                let path = http::Uri::try_from(url.as_str()).map(|u| u.path().to_string()).unwrap_or(url.clone());
                return Err(VendorError::GatewayNotFound { path });
            }
            let message = v["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&resp.body()[..resp.body().len().min(200)]).into_owned());
            return Err(VendorError::Status { status: status.as_u16(), message });
        }
    }

    /// `GET vaults/{id}/metadata`.
    pub async fn vault_metadata(&self, rid: &str) -> Result<Value, VendorError> {
        self.call(rid, Method::GET, "/metadata", None).await
    }

    /// `GET keys/{key}/metadata`.
    pub async fn key_metadata(&self, rid: &str, key: &str) -> Result<Value, VendorError> {
        self.call(rid, Method::GET, &format!("/keys/{}/metadata", enc(key)), None).await
    }

    /// `GET keys/{key}/keyVersions/{version}/metadata`.
    pub async fn version_metadata(&self, rid: &str, key: &str, version: &str) -> Result<Value, VendorError> {
        self.call(rid, Method::GET, &format!("/keys/{}/keyVersions/{}/metadata", enc(key), enc(version)), None).await
    }

    /// `POST keys/{key}/encrypt` (AES-GCM, the vendor picks the IV).
    pub async fn encrypt(
        &self,
        rid: &str,
        key: &str,
        version: &str,
        plaintext: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Sealed, VendorError> {
        let mut body =
            serde_json::json!({"plaintext": B64.encode(plaintext), "keyVersionId": version, "mode": "AES_GCM"});
        if let Some(a) = aad {
            body["aad"] = Value::String(B64.encode(a));
        }
        let v = self.call(rid, Method::POST, &format!("/keys/{}/encrypt", enc(key)), Some(&body)).await?;
        let field = |name: &str| -> Result<Vec<u8>, VendorError> {
            let s =
                v[name].as_str().ok_or_else(|| VendorError::BadResponse(format!("encrypt response has no {name}")))?;
            B64.decode(s).map_err(|e| VendorError::BadResponse(format!("encrypt response field {name}: {e}")))
        };
        let sealed = Sealed { ciphertext: field("ciphertext")?, iv: field("iv")?, tag: field("tag")? };
        if let Some(used) = v["keyVersionId"].as_str()
            && used != version
        {
            return Err(VendorError::BadResponse(format!(
                "the key manager encrypted with key version {used} instead of {version}"
            )));
        }
        Ok(sealed)
    }

    /// `POST keys/{key}/decrypt`.
    pub async fn decrypt(
        &self,
        rid: &str,
        key: &str,
        version: &str,
        sealed: &Sealed,
        aad: Option<&[u8]>,
    ) -> Result<Vec<u8>, VendorError> {
        let mut body = serde_json::json!({
            "ciphertext": B64.encode(&sealed.ciphertext),
            "iv": B64.encode(&sealed.iv),
            "tag": B64.encode(&sealed.tag),
            "mode": "AES_GCM",
            "keyId": key,
            "keyVersionId": version,
        });
        if let Some(a) = aad {
            body["aad"] = Value::String(B64.encode(a));
        }
        let v = self.call(rid, Method::POST, &format!("/keys/{}/decrypt", enc(key)), Some(&body)).await?;
        let s = v["plaintext"]
            .as_str()
            .ok_or_else(|| VendorError::BadResponse("decrypt response has no plaintext".into()))?;
        B64.decode(s).map_err(|e| VendorError::BadResponse(format!("decrypt response plaintext: {e}")))
    }
}

/// What the vendor's encrypt returns and decrypt takes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// AES-GCM ciphertext.
    pub ciphertext: Vec<u8>,
    /// IV (12 bytes from Thales).
    pub iv: Vec<u8>,
    /// Tag (16 bytes).
    pub tag: Vec<u8>,
}
