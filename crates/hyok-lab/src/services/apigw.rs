//! OCI API Gateway (`oci-apigateway` in the world file): the control plane; each gateway's data
//! plane appears at run time (Task 6), in this process or, in a region, in the `api-gateway`
//! container, which the control plane drives over the agent API.

use super::{oci::Oci, site::Site};
use crate::error::{LabError, svc_err};
use hyok_apigw::{ApiGatewayService, ControlDeps, plane::RemoteDataPlane};
use hyok_core::host::ServiceHost;
use hyok_oci::CertificatesService;
use std::{sync::Arc, time::Duration};

/// How often a region checks that the gateway data-plane container still runs its gateways.
const GATEWAY_RESYNC_EVERY: Duration = Duration::from_secs(2);

/// Serve the control plane; gateways read their certificates from `certificates`.
pub(super) async fn start(site: &mut Site<'_>, oci: &Oci, certificates: CertificatesService) -> Result<(), LabError> {
    let mut apigw = ApiGatewayService::new(ControlDeps {
        host: Arc::new(site.host.clone()),
        net: site.host.net().clone(),
        certificates,
        verifier: oci.verifier.clone(),
        compartments: oci.compartments.clone(),
        public_ca_pem: site.public_ca_pem(),
    });
    if let Some(region) = site.region {
        // The gateways' data plane runs in its own container; the control plane drives it.
        let url = format!("https://{}", region.data_plane);
        let remote = RemoteDataPlane::new(
            &url,
            Arc::new(hyok_core::client::StaticDial::new()),
            site.host.public_ca().cert_pem(),
            region.token.clone(),
        )
        .map_err(|e| svc_err("oci-apigateway", e))?;
        apigw = apigw.with_data_plane(Arc::new(remote));
    }
    let apigw = Arc::new(apigw);
    if site.region.is_some() {
        // The data-plane container may restart and come back empty; give it its gateways back.
        apigw.spawn_reconciler(GATEWAY_RESYNC_EVERY);
    }
    site.serve_public("oci-apigateway", hyok_apigw::control::router(apigw)).await?;
    Ok(())
}
