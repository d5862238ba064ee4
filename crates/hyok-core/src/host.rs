//! What a service that creates endpoints at run time (an API gateway, a vault's management and
//! crypto endpoints, a private endpoint) needs from the lab around it.

use crate::{
    EventLog,
    client::{BoxFuture, Dial},
};
use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

/// A virtual endpoint to serve.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Service name for lab.json and logs (`api-gateway API-GW`, `kms-crypto OCI_EKMS_Vault`).
    pub name: String,
    /// Kind (`api-gateway`, `kms-management`, `kms-crypto`, ...).
    pub kind: String,
    /// Host name (published in Internet DNS when the IP is in the Oracle Services Network).
    pub host: String,
    /// Virtual IP.
    pub ip: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
}

/// The lab, as seen by a service.
pub trait ServiceHost: Send + Sync + 'static {
    /// Serve `router` with `tls` at the virtual endpoint on a new loopback listener; returns the
    /// real socket.
    fn host(
        &self,
        endpoint: Endpoint,
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> BoxFuture<'_, Result<SocketAddr, String>>;

    /// Stop serving a virtual endpoint (no-op when nothing is there).
    fn unhost(&self, ip: Ipv4Addr, port: u16) -> BoxFuture<'_, ()>;

    /// A dialer for a lab host at `ip` (its VCN's DNS and security lists apply).
    fn dial_from(&self, ip: Ipv4Addr) -> Arc<dyn Dial>;

    /// The lab's hop event log.
    fn events(&self) -> EventLog;

    /// The lab's public root CA (for certificates of cloud endpoints).
    fn public_ca(&self) -> Arc<crate::pki::LabCa>;
}
