//! The hyok-oci services (`oci-iaas`, `oci-dns`, `oci-certificates` in the world file):
//! Networking and DNS as APIs over the lab's network and DNS models, and Certificates.

use super::{oci::Oci, site::Site};
use crate::error::LabError;
use hyok_oci::{
    CertificatesConfig, CertificatesService,
    dns::{DnsApi, DnsConfig},
    network::{NetworkApi, NetworkConfig},
};

/// Serve Networking, DNS and Certificates; the Certificates service is what the API gateway
/// reads its certificates from.
pub(super) async fn start(site: &mut Site<'_>, oci: &Oci) -> Result<CertificatesService, LabError> {
    let network = NetworkApi::new(
        NetworkConfig { compartments: oci.compartments.clone(), ..Default::default() },
        site.host.net().clone(),
        site.host.dns().clone(),
        oci.verifier.clone(),
    );
    site.serve_public("oci-iaas", hyok_oci::network::router(network)).await?;
    let dns = DnsApi::new(
        DnsConfig {
            compartments: oci.compartments.clone(),
            network: Some(site.host.net().clone()),
            ..Default::default()
        },
        site.host.dns().clone(),
        oci.verifier.clone(),
    );
    site.serve_public("oci-dns", hyok_oci::dns::router(dns)).await?;
    let certificates = CertificatesService::new(
        CertificatesConfig {
            lifecycle_delay_ms: 20,
            max_body_bytes: hyok_core::MAX_BODY_BYTES,
            compartments: oci.compartments.clone(),
            ..Default::default()
        },
        oci.verifier.clone(),
    );
    site.serve_public("oci-certificates", hyok_oci::certificates::router(certificates.clone())).await?;
    Ok(certificates)
}
