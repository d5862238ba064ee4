//! Why a lab, or one service of it, could not start.

use crate::world::WorldError;
use std::path::{Path, PathBuf};

/// Errors starting a lab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The world file is wrong.
    #[error(transparent)]
    World(#[from] WorldError),
    /// A port is taken.
    #[error(transparent)]
    Serve(#[from] hyok_core::server::ServeError),
    /// A DNS port is taken.
    #[error(transparent)]
    Dns(#[from] hyok_dns_server::DnsServerError),
    /// The lab dir cannot be written.
    #[error("lab dir {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error(transparent)]
    Pki(#[from] hyok_core::pki::PkiError),
    /// TLS material was refused.
    #[error(transparent)]
    Tls(#[from] hyok_core::tls::TlsError),
    /// A service failed to start.
    #[error("service {service}: {reason}")]
    Service {
        /// Service name.
        service: String,
        /// Why.
        reason: String,
    },
}

/// An I/O error on `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io { path: path.to_path_buf(), source }
}

/// A service that failed to start, and why.
pub(crate) fn svc_err(service: &str, e: impl std::fmt::Display) -> LabError {
    LabError::Service { service: service.to_string(), reason: e.to_string() }
}
