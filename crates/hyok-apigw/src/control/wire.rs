//! The control API on the wire: its host and paths, and the request and resource bodies
//! (field names as in the OCI SDK's `apigateway` package).

use crate::spec::ApiSpecification;
use hyok_oci_rest::conventions::LifecycleState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lab region.
pub const REGION: &str = "eu-frankfurt-1";
/// The service's host in the lab region.
pub const HOST: &str = "apigateway.eu-frankfurt-1.oci.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20190501";
/// Header naming the work request of an asynchronous operation.
pub const WORK_REQUEST_HEADER: &str = "opc-work-request-id";

/// An entry of a gateway's `caBundles`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaBundleRef {
    /// `CA_BUNDLE` (or `CERTIFICATE_AUTHORITY`, which the lab refuses).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Certificates-service CA bundle OCID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_id: Option<String>,
    /// Certificates-service CA OCID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_id: Option<String>,
}

/// An entry of a gateway's `ipAddresses`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    /// The address.
    pub ip_address: String,
}

/// `CreateGatewayDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGatewayDetails {
    /// Display name.
    pub display_name: Option<String>,
    /// Compartment OCID.
    pub compartment_id: Option<String>,
    /// `PRIVATE` or `PUBLIC`.
    pub endpoint_type: Option<String>,
    /// Subnet OCID.
    pub subnet_id: Option<String>,
    /// NSGs (stored, not enforced).
    pub network_security_group_ids: Option<Vec<String>>,
    /// Certificates-service certificate OCID (RSA only).
    pub certificate_id: Option<String>,
    /// CA bundles trusted for backends.
    pub ca_bundles: Option<Vec<CaBundleRef>>,
    /// Only absent or `{"type":"NONE"}`.
    pub response_cache_details: Option<serde_json::Value>,
    /// Only absent or `IPV4`.
    pub ip_mode: Option<String>,
    /// Refused when set.
    pub ipv6_address_configuration: Option<serde_json::Value>,
    /// Refused when set.
    pub ipv4_address_configuration: Option<serde_json::Value>,
    /// Accepted and ignored (the lab has no resource locks).
    pub locks: Option<serde_json::Value>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// `UpdateGatewayDetails`: every field optional; absent means unchanged.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateGatewayDetails {
    /// Display name.
    pub display_name: Option<String>,
    /// New certificate; an empty string goes back to the default certificate.
    pub certificate_id: Option<String>,
    /// New CA bundles (replaces the list).
    pub ca_bundles: Option<Vec<CaBundleRef>>,
    /// NSGs (stored, not enforced).
    pub network_security_group_ids: Option<Vec<String>>,
    /// Only `{"type":"NONE"}`.
    pub response_cache_details: Option<serde_json::Value>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// The `Gateway` resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// `PRIVATE` or `PUBLIC`.
    pub endpoint_type: String,
    /// Subnet OCID.
    pub subnet_id: String,
    /// NSGs.
    pub network_security_group_ids: Vec<String>,
    /// Creation time.
    pub time_created: String,
    /// Last update.
    pub time_updated: String,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Why it FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// The gateway's host name.
    pub hostname: String,
    /// Certificate OCID (absent: the default certificate for `hostname`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Its private IP.
    pub ip_addresses: Vec<IpAddress>,
    /// CA bundles trusted for backends.
    pub ca_bundles: Vec<CaBundleRef>,
    /// Always `IPV4`.
    pub ip_mode: String,
    /// Always `{"type":"NONE"}`.
    pub response_cache_details: serde_json::Value,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, serde_json::Value>,
    /// System tags (empty).
    pub system_tags: BTreeMap<String, serde_json::Value>,
    /// Locks (empty).
    pub locks: Vec<serde_json::Value>,
}

/// `CreateDeploymentDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentDetails {
    /// Display name.
    pub display_name: Option<String>,
    /// Gateway OCID.
    pub gateway_id: Option<String>,
    /// Compartment OCID.
    pub compartment_id: Option<String>,
    /// Path prefix, e.g. `/api/v1/cckm/oci/ekm/v1`.
    pub path_prefix: Option<String>,
    /// The `ApiSpecification`.
    pub specification: Option<serde_json::Value>,
    /// Accepted and ignored.
    pub locks: Option<serde_json::Value>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// `UpdateDeploymentDetails`: absent means unchanged. Every update re-runs the backend check.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDeploymentDetails {
    /// Display name.
    pub display_name: Option<String>,
    /// New specification.
    pub specification: Option<serde_json::Value>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// The `Deployment` resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentResource {
    /// OCID.
    pub id: String,
    /// Gateway OCID.
    pub gateway_id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Path prefix.
    pub path_prefix: String,
    /// `https://<gateway hostname><pathPrefix>`.
    pub endpoint: String,
    /// The specification.
    pub specification: ApiSpecification,
    /// Creation time.
    pub time_created: String,
    /// Last update.
    pub time_updated: String,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Why it FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, serde_json::Value>,
    /// System tags (empty).
    pub system_tags: BTreeMap<String, serde_json::Value>,
    /// Locks (empty).
    pub locks: Vec<serde_json::Value>,
}

impl DeploymentResource {
    /// `DeploymentSummary`: the resource without its specification.
    pub fn summary(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("specification");
        }
        v
    }
}

/// Work request status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkRequestStatus {
    /// Queued.
    Accepted,
    /// Running.
    InProgress,
    /// Done.
    Succeeded,
    /// Failed; see the errors.
    Failed,
}

/// A resource a work request acts on.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkRequestResource {
    /// `gateway` or `deployment`.
    pub entity_type: String,
    /// `IN_PROGRESS`, `CREATED`, `UPDATED`, `DELETED` or `FAILED`.
    pub action_type: String,
    /// Resource OCID.
    pub identifier: String,
    /// API path of the resource.
    pub entity_uri: String,
}

/// The `WorkRequest` resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkRequest {
    /// OCID.
    pub id: String,
    /// `CREATE_GATEWAY`, `UPDATE_DEPLOYMENT`, ...
    pub operation_type: String,
    /// Status.
    pub status: WorkRequestStatus,
    /// Compartment OCID.
    pub compartment_id: String,
    /// The resource acted on.
    pub resources: Vec<WorkRequestResource>,
    /// 0 or 100.
    pub percent_complete: f32,
    /// When accepted.
    pub time_accepted: String,
    /// When started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_started: Option<String>,
    /// When finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_finished: Option<String>,
}

/// `WorkRequestSummary`, a row of ListWorkRequests: the SDK's model
/// (`oci/apigateway/models/work_request_summary.py`) names the id `workRequestId` and has no
/// `resources`, unlike `WorkRequest`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkRequestSummary {
    /// `CREATE_GATEWAY`, `UPDATE_DEPLOYMENT`, ...
    pub operation_type: String,
    /// Status.
    pub status: WorkRequestStatus,
    /// The work request's OCID.
    pub work_request_id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// 0 or 100.
    pub percent_complete: f32,
    /// When accepted.
    pub time_accepted: String,
    /// When started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_started: Option<String>,
    /// When finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_finished: Option<String>,
}

impl From<&WorkRequest> for WorkRequestSummary {
    fn from(w: &WorkRequest) -> Self {
        Self {
            operation_type: w.operation_type.clone(),
            status: w.status,
            work_request_id: w.id.clone(),
            compartment_id: w.compartment_id.clone(),
            percent_complete: w.percent_complete,
            time_accepted: w.time_accepted.clone(),
            time_started: w.time_started.clone(),
            time_finished: w.time_finished.clone(),
        }
    }
}

/// `WorkRequestError`.
#[derive(Clone, Debug, Serialize)]
pub struct WorkRequestError {
    /// Machine code.
    pub code: String,
    /// Text.
    pub message: String,
    /// When.
    pub timestamp: String,
}

/// `WorkRequestLog`.
#[derive(Clone, Debug, Serialize)]
pub struct WorkRequestLog {
    /// Text.
    pub message: String,
    /// When.
    pub timestamp: String,
}
