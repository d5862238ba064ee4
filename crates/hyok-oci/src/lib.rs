//! OCI services of HYOK Lab over the lab's models: the Certificates service, and the Networking
//! (core) and DNS APIs over the network and DNS models. The REST layer they share is
//! `hyok-oci-rest`.
//!
//! Invariants: every service router verifies OCI request signatures before any handler runs;
//! private keys imported into Certificates never leave through an API, only through
//! [`certificates::CertificatesService::tls_material`] for the lab composer.

pub mod certificates;
mod common;
pub mod dns;
pub mod network;

pub use certificates::{CertificatesConfig, CertificatesService, KeyAlgorithm, TlsMaterial};
pub use dns::{DnsApi, DnsConfig};
pub use network::{NetworkApi, NetworkConfig};
