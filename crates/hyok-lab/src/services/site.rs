//! What every service is started with: where the world file puts it, and the lab's shared
//! parts (the host with its dialers and public root, lab.json being built, the servers).

use crate::{
    error::{LabError, svc_err},
    host::{Addresses, LabHost},
    pki::public_cert,
    split::RegionOptions,
    world::{ServiceConfig, WorldConfig},
};
use hyok_core::{host::ServiceHost, server::Server};
use hyok_lab_client::info::LabInfo;
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// How long a region waits for the identity and CTM containers' fragments.
pub(super) const FRAGMENT_PATIENCE: Duration = Duration::from_secs(60);

/// The lab as a service being started sees it.
pub(crate) struct Site<'a> {
    /// The world file: where each service sits.
    pub(crate) world: &'a WorldConfig,
    /// Dialers, the public root, the models, run-time endpoints.
    pub(crate) host: &'a LabHost,
    /// Where sockets bind and what lab.json advertises.
    pub(crate) at: Addresses,
    /// The lab dir (CA files, data, fragments).
    pub(crate) lab_dir: &'a Path,
    /// Set in the region of a split lab: identity, CTM and the gateways' data plane run in
    /// other containers.
    pub(crate) region: Option<&'a RegionOptions>,
    /// The lab tenancy and its compartment.
    pub(crate) tenancy_id: &'a str,
    /// The compartment students work in.
    pub(crate) compartment_id: &'a str,
    /// lab.json as it is being built.
    pub(crate) info: &'a mut LabInfo,
    /// Servers that live as long as the lab.
    pub(crate) servers: &'a mut Vec<Server>,
    /// Stops every server.
    pub(crate) stop: &'a CancellationToken,
}

impl Site<'_> {
    /// Where the world file puts service `name`.
    pub(super) fn service(&self, name: &str) -> Result<ServiceConfig, LabError> {
        self.world
            .services
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| svc_err(name, "missing from the world file's [[service]] list"))
    }

    /// The lab's public root PEM, which every lab client trusts.
    pub(super) fn public_ca_pem(&self) -> String {
        self.host.public_ca().cert_pem().to_string()
    }

    /// Serve `router` for `svc` over TLS at its port offset, and register it: address book,
    /// Internet DNS for public hosts, lab.json.
    pub(super) async fn serve(
        &mut self,
        svc: &ServiceConfig,
        host: &str,
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<SocketAddr, LabError> {
        let listener = hyok_core::server::bind(self.at.listen_at(svc.port_offset)).await?;
        let real = listener.local_addr().map_err(|e| svc_err(&svc.name, e))?;
        self.servers.push(hyok_core::server::serve(listener, router, Some(tls), self.stop.child_token()));
        let info = self.host.publish(&svc.name, &svc.kind, host, svc.ip, svc.port, real);
        self.info.services.push(info);
        Ok(real)
    }

    /// Serve a public (Oracle Services Network) service named in the world file, with a
    /// certificate from the lab's public root.
    pub(super) async fn serve_public(&mut self, name: &str, router: axum::Router) -> Result<SocketAddr, LabError> {
        let svc = self.service(name)?;
        let tls = public_cert(&self.host.public_ca(), &svc.host, svc.ip)?;
        self.serve(&svc, &svc.host, router, tls).await
    }
}
