//! OCI IAM identity domain (IDCS) mock: OAuth2 client credentials, OIDC discovery, a protected
//! JWKS and the SCIM admin API for confidential applications (tutorial tasks 8 and 9).
//!
//! The lab builds one [`IdentityDomain`] with [`IdentityDomain::new`], writes
//! [`IdentityDomain::admin_credentials`] to `lab.json`, and serves [`router`] over TLS for the
//! host `idcs-<32 hex>.identity.oraclecloud.com`. Every app, secret and token goes through the
//! HTTP API; there is no back door to mint tokens.
//!
//! Invariants: client secrets are kept only as SHA-256 hashes once shown; the plain secret of an
//! app is returned at most once (see `docs/fidelity/hyok-identity.md`); tokens are RS256 JWTs
//! signed by the newest key, and every key in the JWKS verifies the tokens it signed.

mod discovery;
mod keys;
mod model;
mod oauth;
mod reject;
mod scim;

use keys::SigningKey;
use model::App;
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use model::{APP_SCHEMA, MYSCOPES};

/// Largest request body the domain reads (forms and SCIM documents are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Default issuer of the domain's tokens.
pub const DEFAULT_ISSUER: &str = "https://identity.oraclecloud.com/";
/// `kid` of the first signing key (the value IDCS uses).
pub const FIRST_KID: &str = "SIGNING_KEY";

/// Configuration of one identity domain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Host of the domain URL, `idcs-<32 hex>.identity.oraclecloud.com`.
    pub domain_host: String,
    /// `iss` of issued tokens and of the discovery documents.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// Lifetime of access tokens unless the resource app sets `accessTokenExpiry`.
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: u64,
}

fn default_issuer() -> String {
    DEFAULT_ISSUER.to_string()
}

fn default_ttl() -> u64 {
    3600
}

impl IdentityConfig {
    /// A config for `domain_host` with the default issuer and token lifetime.
    pub fn new(domain_host: impl Into<String>) -> Self {
        Self { domain_host: domain_host.into(), issuer: default_issuer(), token_ttl_secs: default_ttl() }
    }

    /// A config for a fresh random domain host `idcs-<32 hex>.identity.oraclecloud.com`.
    pub fn random() -> Self {
        Self::new(format!("idcs-{}.identity.oraclecloud.com", hyok_core::ids::hex32()))
    }

    fn validate(&self) -> Result<(), IdentityError> {
        let host = self.domain_host.as_str();
        let tenant = host.strip_suffix(".identity.oraclecloud.com").and_then(|t| t.strip_prefix("idcs-"));
        match tenant {
            Some(hex) if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {}
            _ => {
                return Err(IdentityError::InvalidConfig(format!(
                    "domain_host {host:?} is not of the form idcs-<32 lowercase hex>.identity.oraclecloud.com"
                )));
            }
        }
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            return Err(IdentityError::InvalidConfig(format!("issuer {:?} is not an http(s) URL", self.issuer)));
        }
        if self.token_ttl_secs == 0 || self.token_ttl_secs > 7 * 24 * 3600 {
            return Err(IdentityError::InvalidConfig("token_ttl_secs must be between 1 and 604800".into()));
        }
        Ok(())
    }
}

/// Errors building or administering a domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The configuration is not usable.
    #[error("invalid identity domain config: {0}")]
    InvalidConfig(String),
    /// RSA key generation or encoding failed.
    #[error("signing key generation failed: {0}")]
    KeyGeneration(String),
    /// The signing certificate could not be made.
    #[error("signing certificate generation failed: {0}")]
    Certificate(String),
    /// A key operation named a key that does not exist or may not be removed.
    #[error("{0}")]
    Key(String),
}

/// Mutable state of the domain. Locked briefly; never held across an await.
struct State {
    apps: Vec<App>,
    /// Oldest first; the last one signs new tokens.
    keys: Vec<Arc<SigningKey>>,
    next_key_seq: u32,
    signing_cert_public_access: bool,
    settings_modified: String,
    settings_version: u64,
}

/// One identity domain.
pub struct IdentityDomain {
    cfg: IdentityConfig,
    domain_url: String,
    /// `idcs-<hex>`, the tenant name in token claims.
    tenant: String,
    domain_ocid: String,
    admin_client_id: String,
    admin_secret: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for IdentityDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityDomain").field("domain_url", &self.domain_url).finish_non_exhaustive()
    }
}

/// Display name of the built-in administrator client.
pub const ADMIN_APP_NAME: &str = "HYOK Lab Domain Administrator";

impl IdentityDomain {
    /// Build a domain: validate the config, generate the first RSA-2048 signing key and the
    /// administrator client (a confidential app allowed to call the SCIM admin API).
    pub fn new(cfg: IdentityConfig) -> Result<Arc<IdentityDomain>, IdentityError> {
        cfg.validate()?;
        let tenant = cfg.domain_host.strip_suffix(".identity.oraclecloud.com").unwrap_or(&cfg.domain_host).to_string();
        let key = SigningKey::generate(FIRST_KID, &tenant)?;
        let now = hyok_core::rfc3339_now();
        let admin_client_id = hyok_core::ids::hex32();
        let admin_secret = model::new_client_secret();
        let mut admin = App {
            id: hyok_core::ids::hex32(),
            ocid: hyok_core::ids::regional_ocid("domainapp"),
            display_name: ADMIN_APP_NAME.to_string(),
            description: Some("Built-in client of the lab with the Identity Domain Administrator role".into()),
            client_id: admin_client_id.clone(),
            secret_hash: None,
            secret_unrevealed: None,
            active: true,
            is_oauth_client: true,
            client_type: Some("confidential".into()),
            allowed_grants: vec!["client_credentials".into()],
            allowed_scopes: Vec::new(),
            is_oauth_resource: false,
            audience: None,
            secondary_audiences: Vec::new(),
            scopes: Vec::new(),
            access_token_expiry: None,
            created: now.clone(),
            last_modified: now.clone(),
            version: 1,
            builtin_admin: true,
        };
        // Its secret is handed out through `admin_credentials`, never through SCIM.
        admin.set_secret(&admin_secret, false);
        let state = State {
            apps: vec![admin],
            keys: vec![Arc::new(key)],
            next_key_seq: 2,
            signing_cert_public_access: false,
            settings_modified: now,
            settings_version: 1,
        };
        Ok(Arc::new(IdentityDomain {
            domain_url: format!("https://{}", cfg.domain_host),
            cfg,
            tenant,
            domain_ocid: hyok_core::ids::ocid("domain", None),
            admin_client_id,
            admin_secret,
            state: Mutex::new(state),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Handlers never panic while holding the lock; recover the data if one ever did.
        self.state.lock()
    }

    /// `(client_id, client_secret)` of the administrator client, for `lab.json`.
    pub fn admin_credentials(&self) -> (String, String) {
        (self.admin_client_id.clone(), self.admin_secret.clone())
    }

    /// `https://idcs-<hex>.identity.oraclecloud.com` (the console's "Domain URL").
    pub fn domain_url(&self) -> &str {
        &self.domain_url
    }

    /// The configuration the domain runs with.
    pub fn config(&self) -> &IdentityConfig {
        &self.cfg
    }

    /// The issuer of the domain's tokens.
    pub fn issuer(&self) -> &str {
        &self.cfg.issuer
    }

    /// The JWKS URL (`<domain>/admin/v1/SigningCert/jwk`).
    pub fn jwks_uri(&self) -> String {
        format!("{}/admin/v1/SigningCert/jwk", self.domain_url)
    }

    /// The token endpoint (`<domain>/oauth2/v1/token`).
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v1/token", self.domain_url)
    }

    /// Whether `/admin/v1/SigningCert/jwk` answers without authentication.
    pub fn signing_cert_public_access(&self) -> bool {
        self.lock().signing_cert_public_access
    }

    /// Set the domain setting `signingCertPublicAccess` (same as the SCIM Settings call).
    pub fn set_signing_cert_public_access(&self, public: bool) {
        let mut st = self.lock();
        st.signing_cert_public_access = public;
        st.settings_modified = hyok_core::rfc3339_now();
        st.settings_version += 1;
    }

    /// The `kid` of the key that signs new tokens.
    pub fn active_kid(&self) -> String {
        self.lock().keys.last().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// Every `kid` in the JWKS, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.lock().keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// Add a new signing key; it signs every token from now on while older keys stay in the
    /// JWKS. Returns the new `kid`. Generates RSA-2048 on a blocking thread.
    pub async fn rotate_signing_key(self: &Arc<Self>) -> Result<String, IdentityError> {
        let seq = {
            let mut st = self.lock();
            let s = st.next_key_seq;
            st.next_key_seq += 1;
            s
        };
        let kid = format!("{FIRST_KID}_{seq}");
        let tenant = self.tenant.clone();
        let kid2 = kid.clone();
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(&kid2, &tenant))
            .await
            .map_err(|e| IdentityError::KeyGeneration(e.to_string()))??;
        self.lock().keys.push(Arc::new(key));
        tracing::info!(%kid, "identity domain signing key rotated");
        Ok(kid)
    }

    /// Remove a key from the JWKS; tokens it signed stop verifying. The active key cannot be
    /// removed.
    pub fn remove_signing_key(&self, kid: &str) -> Result<(), IdentityError> {
        let mut st = self.lock();
        let pos = st
            .keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or_else(|| IdentityError::Key(format!("no signing key with kid {kid:?}")))?;
        if pos + 1 == st.keys.len() {
            return Err(IdentityError::Key(format!("{kid:?} is the active signing key and cannot be removed")));
        }
        st.keys.remove(pos);
        Ok(())
    }

    fn jwks(&self) -> serde_json::Value {
        let st = self.lock();
        serde_json::json!({ "keys": st.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    fn key_by_kid(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.lock().keys.iter().find(|k| k.kid == kid).cloned()
    }

    fn active_key(&self) -> Option<Arc<SigningKey>> {
        self.lock().keys.last().cloned()
    }
}

/// The HTTP API of the domain: discovery, JWKS, token endpoint and SCIM admin API, with the
/// `opc-request-id` layer and a body limit.
pub fn router(state: Arc<IdentityDomain>) -> axum::Router {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/.well-known/idcs-configuration", get(discovery::idcs_configuration))
        .route("/admin/v1/SigningCert/jwk", get(discovery::jwks))
        .route("/oauth2/v1/token", post(oauth::token))
        .route("/admin/v1/Apps", post(scim::create_app).get(scim::list_apps))
        .route("/admin/v1/Apps/{id}", get(scim::get_app).patch(scim::patch_app).delete(scim::delete_app))
        .route("/admin/v1/AppStatusChanger/{id}", put(scim::change_status))
        .route("/admin/v1/AppClientSecretRegenerator", post(scim::regenerate_secret))
        .route("/admin/v1/Settings/{id}", get(scim::get_settings).put(scim::put_settings).patch(scim::patch_settings))
        .route("/admin/v1/SigningCert/lab/rotate", post(scim::rotate_key))
        .route("/admin/v1/SigningCert/lab/keys/{kid}", axum::routing::delete(scim::remove_key))
        .fallback(reject::not_found)
        .method_not_allowed_fallback(reject::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(hyok_core::request_id::layer))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let cfg: IdentityConfig =
            serde_json::from_str(r#"{"domain_host":"idcs-0123456789abcdef0123456789abcdef.identity.oraclecloud.com"}"#)
                .expect("parse");
        assert_eq!(cfg.issuer, DEFAULT_ISSUER);
        assert_eq!(cfg.token_ttl_secs, 3600);
        assert!(cfg.validate().is_ok());
        assert!(IdentityConfig::new("idcs-xyz.identity.oraclecloud.com").validate().is_err());
        assert!(IdentityConfig::random().validate().is_ok());
        let unknown = serde_json::from_str::<IdentityConfig>(r#"{"domain_host":"x","ttl":1}"#);
        assert!(unknown.is_err());
    }
}
