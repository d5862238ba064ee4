//! Errors of the API gateway's model and configuration.

use crate::spec::{self, SpecError};

/// Errors of the API gateway's model and configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The gateway certificate has an ECDSA key (see [`crate::tls::ECDSA_REFUSED`]).
    #[error("{0}")]
    EcdsaCertificate(String),
    /// The gateway certificate or key cannot be used.
    #[error("invalid gateway certificate: {0}")]
    Certificate(String),
    /// A CA bundle does not parse.
    #[error("invalid CA bundle: {0}")]
    CaBundle(String),
    /// The deployment specification or path prefix is invalid.
    #[error("{}", spec::join_errors(.0))]
    InvalidSpec(Vec<SpecError>),
    /// Another deployment on this gateway already uses the prefix.
    #[error("pathPrefix: {prefix} is already used by deployment {other} on this gateway")]
    PrefixConflict {
        /// The prefix asked for.
        prefix: String,
        /// The deployment that has it.
        other: String,
    },
}
