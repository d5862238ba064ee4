//! Thales CipherTrust Manager (CTM) as the lab's on-premises key manager (node CTM1 in AMS).
//!
//! What it serves, all under `/api/v1` over the web interface certificate it issues itself:
//! - `auth/tokens`: password and refresh grants, HS256 management JWTs (300 s);
//! - `ca/...`: the auto-created local root CA, a CSR generator, issuing from uploaded CSRs;
//! - `vault/keys2`: local AES keys (material in memory only) with KMIP-like states;
//! - `cckm/oci/...`: tenancies, issuers (OIDC discovery + JWKS over real HTTPS), external vaults,
//!   external keys and versions, block/unblock;
//! - `cckm/oci/ekm/v1/vaults/{id}/...`: the External KMS vendor API OCI calls (AES-256-GCM),
//!   guarded by IdP access tokens (RS256, JWKS, issuer, client, scope, audience);
//! - `audit/records`: every vendor-API call with its caller, vault, key, operation and result.
//!
//! Invariant: key material and passwords never leave the process in a response or a log line.

mod audit;
mod auth;
mod ca;
mod cckm;
mod ekm;
pub mod error;
mod keys;
mod oidc;
mod reject;
mod util;

use axum::{Router, middleware, routing::get};
use hyok_core::{EventLog, client::HttpClient, pki::IssuedCert};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use audit::AuditRecord;

/// Configuration of one CTM node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtmConfig {
    /// FQDN of the node's web interface (in its certificate).
    pub hostname: String,
    /// IP address of the node (in its certificate; OCI connects by IP).
    pub ip: String,
    /// The local administrator account.
    pub admin_username: String,
    /// Fixed admin password; generated when absent (then read it with [`Ctm::initial_credentials`]).
    #[serde(default)]
    pub admin_password: Option<String>,
    /// Clock skew tolerated on IdP tokens (`exp`/`nbf`), seconds; at most 60.
    #[serde(default = "default_skew")]
    pub token_skew_secs: u64,
    /// Check the access token's `aud` against the vault's endpoint URL (see fidelity doc).
    #[serde(default = "default_true")]
    pub check_audience: bool,
    /// Accept an FQDN as `endpoint_url_hostname` (real CTM documents IP addresses only).
    #[serde(default)]
    pub allow_fqdn_endpoint: bool,
    /// Least time between two JWKS re-fetches triggered by an unknown `kid`, seconds.
    #[serde(default = "default_refetch")]
    pub jwks_refetch_min_secs: u64,
    /// The clock of the JWKS re-fetch interval and of IdP token expiry (manual in tests).
    #[serde(skip)]
    pub clock: hyok_core::Clock,
}

fn default_skew() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_refetch() -> u64 {
    10
}

impl Default for CtmConfig {
    fn default() -> Self {
        Self {
            hostname: "ctm1.oci-thales.lab".into(),
            ip: "10.222.10.21".into(),
            admin_username: "admin".into(),
            admin_password: None,
            token_skew_secs: default_skew(),
            check_audience: true,
            allow_fqdn_endpoint: false,
            jwks_refetch_min_secs: default_refetch(),
            clock: hyok_core::Clock::system(),
        }
    }
}

/// Why a CTM node could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtmLabError {
    /// The configuration is unusable.
    #[error("invalid CTM configuration: {0}")]
    Config(String),
    /// Making the local CA or the web certificate failed.
    #[error("CTM PKI setup failed: {0}")]
    Pki(String),
    /// Key generation failed.
    #[error("CTM key generation failed: {0}")]
    Keygen(String),
}

/// One CipherTrust Manager node.
pub struct Ctm {
    pub(crate) cfg: CtmConfig,
    pub(crate) outbound: HttpClient,
    pub(crate) events: EventLog,
    pub(crate) auth: auth::AuthState,
    pub(crate) ca: ca::CaState,
    pub(crate) keys: keys::KeyStore,
    pub(crate) cckm: cckm::CckmState,
    pub(crate) audit: audit::AuditLog,
    web_tls: IssuedCert,
}

impl std::fmt::Debug for Ctm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctm").field("hostname", &self.cfg.hostname).field("ip", &self.cfg.ip).finish_non_exhaustive()
    }
}

impl Ctm {
    /// Build a node: admin account, local root CA, web interface certificate (RSA 2048 for the
    /// FQDN and the IP). `outbound` is the client used for OIDC discovery and JWKS fetches.
    pub fn new(cfg: CtmConfig, outbound: HttpClient, events: EventLog) -> Result<Arc<Ctm>, CtmLabError> {
        if cfg.ip.parse::<std::net::IpAddr>().is_err() {
            return Err(CtmLabError::Config(format!("ip {:?} is not an IP address", cfg.ip)));
        }
        if cfg.hostname.is_empty() || cfg.admin_username.is_empty() {
            return Err(CtmLabError::Config("hostname and admin_username must not be empty".into()));
        }
        if cfg.token_skew_secs > 60 {
            return Err(CtmLabError::Config("token_skew_secs must be at most 60".into()));
        }
        let auth = auth::AuthState::new(&cfg.admin_username, cfg.admin_password.clone())?;
        let ca = ca::CaState::new()?;
        let web_tls = ca.issue_web_cert(&cfg.hostname, &cfg.ip)?;
        Ok(Arc::new(Ctm {
            cfg,
            outbound,
            events,
            auth,
            ca,
            keys: keys::KeyStore::default(),
            cckm: cckm::CckmState::default(),
            audit: audit::AuditLog::default(),
            web_tls,
        }))
    }

    /// The web interface certificate (leaf, key, and CTM's root CA as `ca_pem`).
    pub fn web_tls(&self) -> IssuedCert {
        self.web_tls.clone()
    }

    /// CTM's local root CA certificate (the CA bundle OCI's private endpoint must trust).
    pub fn ca_cert_pem(&self) -> String {
        self.ca.root_pem()
    }

    /// The admin user name and password set at first start.
    pub fn initial_credentials(&self) -> (String, String) {
        self.auth.initial_credentials()
    }

    /// The vendor-API audit trail, oldest first.
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        self.audit.all()
    }

    /// The node's configuration.
    pub fn config(&self) -> &CtmConfig {
        &self.cfg
    }
}

/// All of CTM's HTTP API (management under `/api/v1`, vendor API under
/// `/api/v1/cckm/oci/ekm/v1`), with request ids and body limits.
pub fn router(state: Arc<Ctm>) -> Router {
    let management = Router::new()
        .merge(ca::routes())
        .merge(keys::routes())
        .merge(cckm::routes())
        .route("/api/v1/audit/records", get(audit::list))
        .route("/api/v1/audit/records/", get(audit::list))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .merge(auth::routes())
        .merge(management)
        .layer(middleware::from_fn(util::ctm_request_id))
        .merge(ekm::routes())
        .fallback(reject::not_found)
        .method_not_allowed_fallback(reject::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(hyok_core::MAX_BODY_BYTES))
        .layer(middleware::from_fn(hyok_core::request_id::layer))
        .with_state(state)
}
