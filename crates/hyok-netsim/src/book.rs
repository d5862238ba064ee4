//! Virtual endpoints (`172.16.1.103:443`) mapped to the real sockets behind them.

use parking_lot::RwLock;
use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

/// One registered endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Which lab service serves it.
    pub service: String,
    /// The real loopback socket.
    pub real: SocketAddr,
}

/// The shared table of virtual endpoints.
#[derive(Clone, Default, Debug)]
pub struct AddressBook {
    inner: Arc<RwLock<HashMap<(Ipv4Addr, u16), Endpoint>>>,
    /// Unregistered addresses are real ones (one container per service, where Docker gives
    /// each container its tutorial address).
    direct: bool,
}

impl AddressBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty book in which an unregistered `ip:port` is dialled as itself.
    pub fn with_direct_fallback() -> Self {
        Self { direct: true, ..Self::default() }
    }

    /// Register `ip:port` as served by `service` at `real`.
    pub fn register(&self, ip: Ipv4Addr, port: u16, service: &str, real: SocketAddr) {
        self.inner.write().insert((ip, port), Endpoint { service: service.to_string(), real });
    }

    /// Remove an endpoint.
    pub fn unregister(&self, ip: Ipv4Addr, port: u16) {
        self.inner.write().remove(&(ip, port));
    }

    /// The endpoint at `ip:port` (with direct fallback: the address itself when unregistered).
    pub fn lookup(&self, ip: Ipv4Addr, port: u16) -> Option<Endpoint> {
        let found = self.inner.read().get(&(ip, port)).cloned();
        found.or_else(|| {
            self.direct.then(|| Endpoint { service: "another host".into(), real: SocketAddr::from((ip, port)) })
        })
    }

    /// Every endpoint, sorted by address.
    pub fn all(&self) -> Vec<(Ipv4Addr, u16, Endpoint)> {
        let mut v: Vec<_> = self.inner.read().iter().map(|((ip, port), e)| (*ip, *port, e.clone())).collect();
        v.sort_by_key(|(ip, port, _)| (*ip, *port));
        v
    }
}
