//! Errors starting Object Storage.

/// Errors starting Object Storage (handlers answer with `hyok_oci_rest::OciError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is not usable.
    #[error("invalid Object Storage configuration: {0}")]
    Config(String),
    /// The data directory could not be prepared or read.
    #[error("Object Storage data dir: {0}")]
    Store(String),
    /// A TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
}
