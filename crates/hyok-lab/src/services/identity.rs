//! The IAM identity domain (`identity` in the world file). A region adopts the identity
//! container's fragment instead.

use super::site::{FRAGMENT_PATIENCE, Site};
use crate::{
    error::{LabError, svc_err},
    pki::public_cert,
    split::{Fragment, Role},
};
use hyok_core::host::ServiceHost;
use hyok_identity::{IdentityConfig, IdentityDomain};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The domain's signing key, made on a blocking thread while the lab starts.
pub(super) type KeyJob = JoinHandle<Result<Arc<IdentityDomain>, String>>;

/// Start making the domain (its RSA signing key).
pub(super) fn spawn_key() -> KeyJob {
    tokio::task::spawn_blocking(|| IdentityDomain::new(IdentityConfig::random()).map_err(|e| e.to_string()))
}

/// Serve the identity domain at its place in the world; its credentials go into lab.json.
pub(super) async fn start(site: &mut Site<'_>, key: KeyJob) -> Result<(), LabError> {
    if site.region.is_some() {
        key.abort();
        let fragment = Fragment::wait(site.lab_dir, Role::Identity, FRAGMENT_PATIENCE).await?;
        fragment.adopt(site.info, site.host.dns());
        return Ok(());
    }
    let identity = key.await.map_err(|e| svc_err("identity", e))?.map_err(|e| svc_err("identity", e))?;
    let host = identity.config().domain_host.clone();
    let svc = site.service("identity")?;
    let tls = public_cert(&site.host.public_ca(), &host, svc.ip)?;
    site.serve(&svc, &host, hyok_identity::router(identity.clone()), tls).await?;
    site.info.credentials.insert("identity".into(), credentials(&identity));
    Ok(())
}

/// The identity domain's entry in lab.json's credentials.
pub(crate) fn credentials(identity: &IdentityDomain) -> serde_json::Value {
    let (admin_id, admin_secret) = identity.admin_credentials();
    serde_json::json!({
        "domain_url": identity.domain_url(),
        "admin_client_id": admin_id,
        "admin_client_secret": admin_secret,
    })
}
