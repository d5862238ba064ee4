//! Backend health check: decides whether a deployment becomes ACTIVE or FAILED.
//!
//! The tutorial warns that a deployment fails when the gateway cannot reach the CTM over the
//! backend URL (DNS, routing, security lists, TLS). The check resolves and connects through the
//! gateway's [`Dial`] and completes a TLS handshake against the gateway's CA bundles; it sends
//! no HTTP request. [`HealthFailure`]'s text becomes the deployment's `lifecycleDetails`.

use crate::routing::UrlTemplate;
use hyok_core::{
    Outcome,
    client::{Dial, DialError},
};
use rustls::pki_types::ServerName;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long the TCP connect and the TLS handshake may each take.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a backend is not healthy. `Display` is the `lifecycleDetails` text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthFailure {
    /// The backend URL is unusable.
    #[error("backend URL {0}")]
    BadUrl(String),
    /// The backend host does not resolve (the network model's text, e.g. naming the VCN).
    #[error("{detail}")]
    Dns {
        /// Backend host.
        host: String,
        /// Why.
        detail: String,
    },
    /// Routing or a security rule refuses the connection (the network model's text).
    #[error("{detail}")]
    Denied {
        /// `host:port`.
        peer: String,
        /// Why (route table, security list rule).
        detail: String,
    },
    /// Nothing listens at the backend address.
    #[error("{detail}")]
    NoListener {
        /// `host:port`.
        peer: String,
        /// Why.
        detail: String,
    },
    /// TCP connect failed or timed out.
    #[error("cannot connect to backend {peer}: {reason}")]
    Connect {
        /// `host:port (address)`.
        peer: String,
        /// OS reason.
        reason: String,
    },
    /// The backend's certificate is not trusted by the gateway's CA bundles (or names another host).
    #[error(
        "certificate not trusted: backend {peer} presented a certificate the gateway does not accept ({reason}); add the CA that signed it to the gateway's CA bundles"
    )]
    CertificateNotTrusted {
        /// `host:port`.
        peer: String,
        /// rustls's reason.
        reason: String,
    },
}

impl HealthFailure {
    /// The hop outcome this failure corresponds to.
    pub fn outcome(&self) -> Outcome {
        match self {
            HealthFailure::Dns { .. } => Outcome::DnsFailed,
            HealthFailure::Denied { .. } => Outcome::Denied,
            HealthFailure::CertificateNotTrusted { .. } => Outcome::TlsFailed,
            HealthFailure::BadUrl(_) => Outcome::Error,
            HealthFailure::NoListener { .. } | HealthFailure::Connect { .. } => Outcome::Unreachable,
        }
    }

    /// What decided it, for hop events.
    pub fn decided_by(&self) -> &'static str {
        match self {
            HealthFailure::Dns { .. } => "DNS as seen from the gateway's subnet",
            HealthFailure::Denied { .. } => "route table / security list",
            HealthFailure::NoListener { .. } | HealthFailure::Connect { .. } => "backend listener",
            HealthFailure::CertificateNotTrusted { .. } => "gateway CA bundles vs backend certificate",
            HealthFailure::BadUrl(_) => "deployment specification",
        }
    }
}

/// Check that the backend of `url` (templates allowed after the host) resolves, accepts a
/// connection and, for https with `verify`, presents a certificate valid for its host name
/// under `ca_bundles`.
pub async fn check_backend(
    url: &str,
    dial: &dyn Dial,
    ca_bundles: &[String],
    verify: bool,
) -> Result<(), HealthFailure> {
    let t = UrlTemplate::parse(url).map_err(HealthFailure::BadUrl)?;
    let (https, host, port) = t.authority().ok_or_else(|| HealthFailure::BadUrl(format!("{url:?} has no host")))?;
    let peer = format!("{host}:{port}");
    let dialed = dial.dial(&host, port).await.map_err(|e| match e {
        DialError::Dns(detail) => {
            HealthFailure::Dns { host: host.clone(), detail: with_subject(&detail, &host, "cannot resolve") }
        }
        DialError::Denied(detail) => HealthFailure::Denied { peer: peer.clone(), detail },
        DialError::NoListener(detail) => HealthFailure::NoListener { peer: peer.clone(), detail },
        other => HealthFailure::Connect { peer: peer.clone(), reason: other.to_string() },
    })?;
    let tcp = match tokio::time::timeout(HEALTH_TIMEOUT, TcpStream::connect(dialed.real)).await {
        Err(_) => {
            return Err(HealthFailure::Connect {
                peer: format!("{peer} ({})", dialed.label),
                reason: "connect timed out".into(),
            });
        }
        Ok(Err(e)) => {
            return Err(HealthFailure::Connect { peer: format!("{peer} ({})", dialed.label), reason: e.to_string() });
        }
        Ok(Ok(s)) => s,
    };
    if !https {
        return Ok(());
    }
    let cfg = crate::tls::backend_client_config(ca_bundles, verify)
        .map_err(|e| HealthFailure::CertificateNotTrusted { peer: peer.clone(), reason: e.to_string() })?;
    let name = ServerName::try_from(host.clone())
        .map_err(|_| HealthFailure::BadUrl(format!("{host} is not a valid TLS server name")))?;
    let connector = tokio_rustls::TlsConnector::from(cfg);
    match tokio::time::timeout(HEALTH_TIMEOUT, connector.connect(name, tcp)).await {
        Err(_) => Err(HealthFailure::Connect { peer, reason: "TLS handshake timed out".into() }),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            let reason = e.get_ref().map(|r| r.to_string()).unwrap_or_else(|| e.to_string());
            Err(HealthFailure::CertificateNotTrusted { peer, reason })
        }
    }
}

/// Keep the network model's text, adding the subject only when it does not name it.
fn with_subject(detail: &str, host: &str, verb: &str) -> String {
    if detail.contains(host) { detail.to_string() } else { format!("{verb} {host}: {detail}") }
}
