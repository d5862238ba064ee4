//! OCI KMS for external keys (`oci-kms` in the world file): vaults and private endpoints on the
//! regional host; each vault's management and crypto endpoints appear at run time (Task 14).
//! Its own calls leave from its address in the Oracle Services Network.

use super::{oci::Oci, site::Site};
use crate::error::{LabError, svc_err};
use hyok_kms::{KmsDeps, KmsService};
use std::sync::Arc;

/// Serve KMS; the admin endpoint keeps the service (its cached tokens can be expired).
pub(super) async fn start(site: &mut Site<'_>, oci: &Oci) -> Result<Arc<KmsService>, LabError> {
    let svc = site.service("oci-kms")?;
    let kms = KmsService::new(KmsDeps {
        host: Arc::new(site.host.clone()),
        net: site.host.net().clone(),
        verifier: oci.verifier.clone(),
        tenancy_id: site.tenancy_id.to_string(),
        region: site.world.region.clone(),
        kms_ip: svc.ip,
        public_ca_pem: site.public_ca_pem(),
    })
    .map_err(|e| svc_err("oci-kms", e))?;
    site.serve_public("oci-kms", hyok_kms::router(kms.clone())).await?;
    Ok(kms)
}
