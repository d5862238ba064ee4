//! CipherTrust Manager in AMS (`ctm-ams` in the world file). Its own CA and RSA web certificate
//! take a moment, so it is made on a blocking thread first and served last. A region adopts the
//! CTM container's fragment instead.

use super::site::{FRAGMENT_PATIENCE, Site};
use crate::{
    error::{LabError, svc_err},
    split::{Fragment, Role},
};
use hyok_core::host::ServiceHost;
use hyok_ctm::{Ctm, CtmConfig};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// CTM being made; None in a region.
pub(super) type Job = Option<JoinHandle<Result<Arc<Ctm>, String>>>;

/// Start making CTM. Its outbound calls (issuer discovery, JWKS) leave from its IP.
pub(super) fn spawn(site: &Site<'_>) -> Result<Job, LabError> {
    let svc = site.service("ctm-ams")?;
    if site.region.is_some() {
        return Ok(None);
    }
    let client = site.host.client_from(svc.ip, "ctm-ams", &site.public_ca_pem())?;
    let cfg = CtmConfig { hostname: svc.host.clone(), ip: svc.ip.to_string(), ..CtmConfig::default() };
    let events = site.host.events();
    Ok(Some(tokio::task::spawn_blocking(move || Ctm::new(cfg, client, events).map_err(|e| e.to_string()))))
}

/// Serve CTM's web interface with a certificate from its own CA; its root CA and credentials
/// go into the lab dir and lab.json.
pub(super) async fn finish(site: &mut Site<'_>, job: Job) -> Result<(), LabError> {
    let Some(job) = job else {
        let fragment = Fragment::wait(site.lab_dir, Role::Ctm, FRAGMENT_PATIENCE).await?;
        fragment.adopt(site.info, site.host.dns());
        return Ok(());
    };
    let svc = site.service("ctm-ams")?;
    let ctm = job.await.map_err(|e| svc_err("ctm-ams", e))?.map_err(|e| svc_err("ctm-ams", e))?;
    let web = ctm.web_tls();
    let tls = hyok_core::tls::server_config(&web.chain_pem(), &web.key_pem)?;
    site.serve(&svc, &svc.host, hyok_ctm::router(ctm.clone()), tls).await?;
    let ctm_root = site.lab_dir.join("ca/ctm-root.pem");
    std::fs::write(&ctm_root, ctm.ca_cert_pem()).map_err(|e| svc_err("ctm-ams", e))?;
    site.info.ca.ctm_root = Some("ca/ctm-root.pem".into());
    site.info.credentials.insert("ctm".into(), credentials(&ctm, &svc.host));
    Ok(())
}

/// CipherTrust Manager's entry in lab.json's credentials.
pub(crate) fn credentials(ctm: &Ctm, host: &str) -> serde_json::Value {
    let (user, password) = ctm.initial_credentials();
    serde_json::json!({ "url": format!("https://{host}"), "username": user, "password": password })
}
