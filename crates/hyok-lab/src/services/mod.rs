//! The lab's services, each started from its own module with its own world entry (`[[service]]`
//! in the world file) and handing on what later services need: the tenancy's verifier, the
//! Certificates service, KMS. Each service is its own crate; a module here only wires it to the
//! network model, DNS, PKI and the address book through [`Site`].
//!
//! Adding an OCI service touches its crate, a module here (`start(site, oci)`, its `mod` line
//! and its call in [`start_all`]) and a `[[service]]` entry in the world file, at a free
//! `port_offset` in 10..=16 (the OCI region's published ports; `hyok-lab-client`'s port-plan
//! test says when it is not). lab.json, `status`, the `oci` CLI config (every `oci-*` service)
//! and the compose region pick it up from there.

mod apigw;
mod ctm;
mod identity;
mod kms;
mod objectstorage;
mod oci;
mod oci_core;
mod site;

pub(crate) use ctm::credentials as ctm_credentials;
pub(crate) use identity::credentials as identity_credentials;
pub(crate) use site::Site;

use crate::error::LabError;
use std::sync::Arc;

/// The slow RSA keys, made on blocking threads from the start of `Lab::start` while the world,
/// the PKI and DNS start.
pub(crate) struct Keys {
    identity: identity::KeyJob,
    oci_user: oci::KeyJob,
    objectstorage_principal: oci::KeyJob,
}

impl Keys {
    /// Start making the keys.
    pub(crate) fn spawn() -> Self {
        Self { identity: identity::spawn_key(), oci_user: oci::spawn_key(), objectstorage_principal: oci::spawn_key() }
    }
}

/// What the lab keeps of its running services (the admin endpoint's time controls).
pub(crate) struct Running {
    /// KMS, whose cached vault tokens `/time/expire-tokens` expires.
    pub(crate) kms: Arc<hyok_kms::KmsService>,
}

/// Start every service of the world, in the order they depend on each other. In a region,
/// identity and CTM come from their containers' fragments.
pub(crate) async fn start_all(site: &mut Site<'_>, keys: Keys) -> Result<Running, LabError> {
    let ctm = ctm::spawn(site)?;
    identity::start(site, keys.identity).await?;
    let oci = oci::Oci::new(site, keys.oci_user).await?;
    let certificates = oci_core::start(site, &oci).await?;
    apigw::start(site, &oci, certificates).await?;
    let kms = kms::start(site, &oci).await?;
    objectstorage::start(site, &oci, keys.objectstorage_principal).await?;
    ctm::finish(site, ctm).await?;
    oci.write_cli_config(site)?;
    Ok(Running { kms })
}
