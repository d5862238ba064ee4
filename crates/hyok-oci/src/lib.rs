//! OCI services of HYOK Lab: the REST conventions shared by every OCI service (request signing,
//! retry tokens, paging, lifecycle), the lab tenancy's identity, the Certificates service, and
//! the Networking (core) and DNS APIs over the lab's network and DNS models.
//!
//! Invariants: every service router verifies OCI request signatures before any handler runs;
//! private keys imported into Certificates never leave through an API, only through
//! [`certificates::CertificatesService::tls_material`] for the lab composer.

pub mod certificates;
pub mod conventions;
pub mod dns;
pub mod network;
pub mod signing;
pub mod tenancy;

pub use certificates::{CertificatesConfig, CertificatesService, KeyAlgorithm, TlsMaterial};
pub use dns::{DnsApi, DnsConfig};
pub use network::{NetworkApi, NetworkConfig};
pub use signing::{SignatureVerifier, sign_parts, sign_request};
pub use tenancy::{ApiKey, KeyStore, Principal, Tenancy, write_cli_config};

/// Errors of this crate outside request handling (handlers answer with `hyok_core::OciError`).
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
