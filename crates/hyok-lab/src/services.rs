//! Starting the lab's services. Each service is its own crate; this file only wires them to the
//! network model, DNS, PKI and the address book.

use crate::{
    lab::{Lab, LabError},
    world::{ServiceConfig, WorldConfig},
};
use std::{net::SocketAddr, sync::Arc};

fn svc_err(service: &str, e: impl std::fmt::Display) -> LabError {
    LabError::Service { service: service.to_string(), reason: e.to_string() }
}

fn find<'a>(cfg: &'a WorldConfig, name: &str) -> Result<&'a ServiceConfig, LabError> {
    cfg.services.iter().find(|s| s.name == name).ok_or_else(|| svc_err(name, "missing from the world file's [[service]] list"))
}

/// Serve `router` for a service over TLS with `chain`/`key`, and register it.
async fn serve(
    lab: &mut Lab,
    svc: &ServiceConfig,
    host: &str,
    port: SocketAddr,
    router: axum::Router,
    tls: Arc<rustls::ServerConfig>,
) -> Result<(), LabError> {
    let listener = hyok_core::server::bind(port).await?;
    let real = listener.local_addr().map_err(|e| svc_err(&svc.name, e))?;
    let server = hyok_core::server::serve(listener, router, Some(tls), lab.stop_token().child_token());
    lab.push_server(server);
    lab.register_service(&svc.name, &svc.kind, host, svc.ip, svc.port, real);
    Ok(())
}

/// A certificate from the lab's public root for a cloud endpoint: its host name, its virtual
/// IP, and 127.0.0.1/localhost so the `url` in lab.json verifies from the host.
fn public_cert(lab: &Lab, host: &str, ip: std::net::Ipv4Addr) -> Result<Arc<rustls::ServerConfig>, LabError> {
    let ip = ip.to_string();
    let cert = lab.public_ca.issue_server(&[host, &ip, "127.0.0.1", "localhost"])?;
    Ok(hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?)
}

/// Start every service of the world.
pub async fn start_all(lab: &mut Lab, cfg: &WorldConfig, port: &(dyn Fn(u16) -> SocketAddr + Sync)) -> Result<(), LabError> {
    // RSA keys are the slow part of startup; make them on blocking threads, side by side.
    let identity_cfg = hyok_identity::IdentityConfig::random();
    let identity_host = identity_cfg.domain_host.clone();
    let identity = tokio::task::spawn_blocking(move || hyok_identity::IdentityDomain::new(identity_cfg));

    let identity = identity.await.map_err(|e| svc_err("identity", e))?.map_err(|e| svc_err("identity", e))?;
    let svc = find(cfg, "identity")?.clone();
    let tls = public_cert(lab, &identity_host, svc.ip)?;
    serve(lab, &svc, &identity_host, port(svc.port_offset), hyok_identity::router(identity.clone()), tls).await?;
    let (admin_id, admin_secret) = identity.admin_credentials();
    lab.info.credentials.insert(
        "identity".into(),
        serde_json::json!({
            "domain_url": identity.domain_url(),
            "admin_client_id": admin_id,
            "admin_client_secret": admin_secret,
        }),
    );
    Ok(())
}
