//! The names the tutorial gives to what the student creates, and the world's fixed names.

pub(super) const SPOKE_VCN: &str = "fra-spoke-a-vcn";
pub(super) const SPOKE_SUBNET: &str = "fra-spoke-a-private-subnet";
pub(super) const HUB_VIEW: &str = "fra-hub-private-view";
pub(super) const GATEWAY_FQDN: &str = "oci-api-gw.oci-thales.lab";
pub(super) const CA_BUNDLE: &str = "thales-ca";
pub(super) const GATEWAY_NAME: &str = "API-GW";
pub(super) const RESOURCE_APP: &str = "Resource_App";
pub(super) const CLIENT_APP: &str = "Client_App";
pub(super) const ISSUER_NAME: &str = "OCI";
pub(super) const CTM_VAULT_NAME: &str = "OCI";
pub(super) const EKM_PREFIX: &str = "/api/v1/cckm/oci/ekm/v1";
pub(super) const ROUTE_PATH: &str = "/{path*}";
pub(super) const BUCKET: &str = "OCI_EKMS_Test_Bucket";
pub(super) const SCOPE: &str = "oci_ekms";
