//! OCI Object Storage (`oci-objectstorage` in the world file). It calls KMS's crypto endpoints
//! over HTTPS as its own service principal, whose key the shared verifier knows, from its
//! address in the Oracle Services Network.

use super::{
    oci::{KeyJob, Oci},
    site::Site,
};
use crate::error::{LabError, svc_err};
use hyok_core::host::ServiceHost;
use hyok_objectstorage::{HttpKmsClient, ObjectStorage, OsConfig, OsDeps};
use std::sync::Arc;

/// Serve Object Storage with the service principal whose key `principal` makes.
pub(super) async fn start(site: &mut Site<'_>, oci: &Oci, principal: KeyJob) -> Result<(), LabError> {
    let name = "oci-objectstorage";
    let svc = site.service(name)?;
    let principal = principal.await.map_err(|e| svc_err(name, e))?.map_err(|e| svc_err(name, e))?;
    let principal_id =
        format!("{}/{}/{}", site.tenancy_id, hyok_core::ids::ocid("user", None), principal.fingerprint());
    oci.keys.insert(principal_id.clone(), principal.public_key());
    let kms_client = HttpKmsClient::new(
        Arc::new(site.host.vcn_dial(svc.ip)),
        site.host.public_ca().cert_pem(),
        principal,
        principal_id,
        site.host.events(),
    )
    .map_err(|e| svc_err(name, e))?
    .with_source(format!("objectstorage@{}", svc.ip));
    // OCI namespaces are short lower-case strings generated per tenancy.
    let namespace = format!("hyoklab{}", &hyok_core::ids::hex32()[..6]);
    let os = ObjectStorage::new(
        OsConfig {
            namespace,
            data_dir: site.lab_dir.join("objectstorage"),
            compartment_id: site.compartment_id.to_string(),
            tenancy_id: site.tenancy_id.to_string(),
        },
        OsDeps { kms: Arc::new(kms_client) },
    )
    .map_err(|e| svc_err(name, e))?;
    site.serve_public(name, hyok_objectstorage::router(Arc::new(os), oci.verifier.clone())).await?;
    Ok(())
}
