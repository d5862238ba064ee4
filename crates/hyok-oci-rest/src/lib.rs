//! The OCI REST layer every OCI service of the lab shares: the error envelope, extractors that
//! answer in it, request signing, `opc-retry-token`, lists (filter → sort → page), lifecycles,
//! `etag`/`if-match`, OCI's time format, and the lab tenancy's identity.
//!
//! Invariant: knows no service. A service keeps its own validation (that is where fidelity
//! lives) and uses this crate only for what OCI does the same way everywhere.
//! Invariant: every rejection of a request — query, path, body, size, unknown route — is an
//! [`OciError`], so a client always reads `{"code","message"}`.

pub mod conventions;
pub mod error;
pub mod extract;
pub mod list;
pub mod retry;
pub mod signing;
pub mod tenancy;

pub use conventions::{OciResponse, OciResult};
pub use error::OciError;
pub use extract::{OciJson, OciPath, OciQuery};
pub use list::{ListParams, ListShape, Sort};
pub use retry::RetryTokens;
pub use signing::{SignatureVerifier, sign_parts, sign_request};
pub use tenancy::{ApiKey, KeyStore, Principal, Tenancy, write_cli_config};

/// Errors of this crate outside request handling (handlers answer with [`OciError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// RSA key generation or encoding failed.
    #[error("API key error: {0}")]
    Key(String),
    /// A request could not be signed.
    #[error("cannot sign request: {0}")]
    Sign(String),
    /// Writing a file failed.
    #[error("cannot write {0}: {1}")]
    Io(String, #[source] std::io::Error),
}
