//! The API Gateway control plane: OCI's REST API (`apigateway.<region>.oci.oraclecloud.com`,
//! `/20190501`) for gateways, deployments and the work requests that track them.
//!
//! Creates, updates and deletes are asynchronous as in OCI: the call answers at once (a create
//! with the resource in CREATING, an update or delete with 202) and carries
//! `opc-work-request-id`; the work runs in a task. A gateway becomes ACTIVE once its
//! [`DataPlane`] serves it at its private IP (by default [`LocalDataPlane`]: a [`Gateway`] in
//! this process, hosted through the lab's [`ServiceHost`]; see
//! [`ApiGatewayService::with_data_plane`] for one in another process); a deployment becomes
//! ACTIVE only when the data plane's backend check ([`Gateway::check_deployment`]) passes, else
//! FAILED with the cause in `lifecycleDetails`. Invariant: the data plane serves exactly the
//! ACTIVE deployments. The state lock is never held while the data plane works.

use crate::{
    Gateway, GatewayError,
    plane::{DataPlane, DeploymentRuntimeSpec, GatewayRuntimeSpec, LocalDataPlane},
    spec::{self, ApiSpecification},
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_core::{RequestId, host::ServiceHost};
use hyok_netsim::{NetError, NetworkModel};
use hyok_oci::CertificatesService;
use hyok_oci_rest::OciError;
use hyok_oci_rest::RetryTokens;
use hyok_oci_rest::{
    SignatureVerifier,
    conventions::{
        LifecycleState, OciResponse, OciResult, PageQuery, cannot_parse, check_if_match, etag_of, oci_now, paginate,
        required, required_ocid,
    },
    signing,
};
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use std::{
    collections::{BTreeMap, HashMap},
    net::Ipv4Addr,
    sync::Arc,
    time::Duration,
};

/// The lab region.
pub const REGION: &str = "eu-frankfurt-1";
/// The service's host in the lab region.
pub const HOST: &str = "apigateway.eu-frankfurt-1.oci.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20190501";
/// Header naming the work request of an asynchronous operation.
pub const WORK_REQUEST_HEADER: &str = "opc-work-request-id";
/// Domain of gateway host names (`<random>.apigateway.<region>.oci.customer-oci.com`).
pub const GATEWAY_DOMAIN: &str = "apigateway.eu-frankfurt-1.oci.customer-oci.com";
/// Port every gateway listens on.
pub const GATEWAY_PORT: u16 = 443;
/// Largest request body of the control API.
pub const MAX_CONTROL_BODY_BYTES: usize = hyok_core::MAX_BODY_BYTES;

const MAX_NAME_LEN: usize = 255;

/// What the control plane needs from the lab.
pub struct ControlDeps {
    /// Serves each gateway's data plane at its private IP and gives it its dialer.
    pub host: Arc<dyn ServiceHost>,
    /// Subnets and address allocation.
    pub net: NetworkModel,
    /// Where `certificateId` and `caBundles[].caBundleId` are looked up.
    pub certificates: CertificatesService,
    /// Verifies OCI request signatures.
    pub verifier: Arc<SignatureVerifier>,
    /// Compartment (or tenancy) OCIDs that exist; empty means any OCID-shaped id is accepted.
    pub compartments: Vec<String>,
    /// The lab's public root CA (PEM): every gateway trusts it for backends, as OCI gateways
    /// trust public CAs.
    pub public_ca_pem: String,
}

impl std::fmt::Debug for ControlDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlDeps").field("compartments", &self.compartments).finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types

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

// ---------------------------------------------------------------------------------------------
// State

struct GatewayRec {
    res: GatewayResource,
    seq: u64,
    ip: Option<Ipv4Addr>,
    /// Chain and key from the Certificates service; `None` means the default certificate.
    tls: Option<(String, String)>,
    /// Backend CA PEMs: the lab public root first, then the resolved `caBundles`.
    bundles: Vec<String>,
    /// The data plane serves it (set once a start succeeds, cleared by a failure or a stop).
    running: bool,
    /// Serialises the data-plane work of this gateway: a (re)start or stop takes it exclusively,
    /// deployment checks share it. So a restart installs exactly the ACTIVE deployments and no
    /// deployment check lands on a listener being replaced. Never held with the state lock.
    ops: Arc<tokio::sync::RwLock<()>>,
}

struct DeploymentRec {
    res: DeploymentResource,
    seq: u64,
}

struct WorkRequestRec {
    wr: WorkRequest,
    errors: Vec<WorkRequestError>,
    logs: Vec<WorkRequestLog>,
}

#[derive(Default)]
struct ControlState {
    gateways: HashMap<String, GatewayRec>,
    deployments: HashMap<String, DeploymentRec>,
    work_requests: HashMap<String, WorkRequestRec>,
    /// Resource OCID → its create work request (so a replayed create carries the header too).
    create_wr: HashMap<String, String>,
    seq: u64,
}

impl ControlState {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_work_request(&mut self, op: &str, compartment: &str, entity: &str, id: &str) -> String {
        let wr_id = hyok_core::ids::regional_ocid("apigatewayworkrequest");
        let uri = format!("{BASE_PATH}/{entity}s/{id}");
        self.work_requests.insert(
            wr_id.clone(),
            WorkRequestRec {
                wr: WorkRequest {
                    id: wr_id.clone(),
                    operation_type: op.to_string(),
                    status: WorkRequestStatus::Accepted,
                    compartment_id: compartment.to_string(),
                    resources: vec![WorkRequestResource {
                        entity_type: entity.to_string(),
                        action_type: "IN_PROGRESS".into(),
                        identifier: id.to_string(),
                        entity_uri: uri,
                    }],
                    percent_complete: 0.0,
                    time_accepted: oci_now(),
                    time_started: None,
                    time_finished: None,
                },
                errors: Vec::new(),
                logs: vec![WorkRequestLog { message: format!("{op} accepted"), timestamp: oci_now() }],
            },
        );
        wr_id
    }

    fn start(&mut self, wr_id: &str) {
        if let Some(w) = self.work_requests.get_mut(wr_id) {
            w.wr.status = WorkRequestStatus::InProgress;
            w.wr.time_started = Some(oci_now());
        }
    }

    fn log(&mut self, wr_id: &str, message: impl Into<String>) {
        if let Some(w) = self.work_requests.get_mut(wr_id) {
            w.logs.push(WorkRequestLog { message: message.into(), timestamp: oci_now() });
        }
    }

    /// Finish a work request: `Ok(action)` (`CREATED`, `UPDATED`, `DELETED`) or `Err((code, message))`.
    fn finish(&mut self, wr_id: &str, outcome: Result<&str, (&str, String)>) {
        let Some(w) = self.work_requests.get_mut(wr_id) else { return };
        let now = oci_now();
        w.wr.time_finished = Some(now.clone());
        w.wr.percent_complete = 100.0;
        match outcome {
            Ok(action) => {
                w.wr.status = WorkRequestStatus::Succeeded;
                w.wr.resources.iter_mut().for_each(|r| r.action_type = action.to_string());
                w.logs.push(WorkRequestLog { message: format!("{} succeeded", w.wr.operation_type), timestamp: now });
            }
            Err((code, message)) => {
                w.wr.status = WorkRequestStatus::Failed;
                w.wr.resources.iter_mut().for_each(|r| r.action_type = "FAILED".into());
                w.logs.push(WorkRequestLog {
                    message: format!("{} failed", w.wr.operation_type),
                    timestamp: now.clone(),
                });
                w.errors.push(WorkRequestError { code: code.to_string(), message, timestamp: now });
            }
        }
    }
}

/// The API Gateway control plane. Share it as `Arc<ApiGatewayService>`.
pub struct ApiGatewayService {
    deps: ControlDeps,
    state: Mutex<ControlState>,
    retry: RetryTokens,
    delay: Duration,
    data_plane: Arc<dyn DataPlane>,
    /// The data plane when it runs in this process (for [`ApiGatewayService::gateway_runtime`]).
    local: Option<Arc<LocalDataPlane>>,
}

impl std::fmt::Debug for ApiGatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGatewayService").finish_non_exhaustive()
    }
}

/// What resolving a certificate gives: the TLS material (or the default) and its OCID.
type CertChoice = (Option<String>, Option<(String, String)>);

impl ApiGatewayService {
    /// A control plane with no gateways. Work starts 20 ms after the accepting call (so clients
    /// observe CREATING/UPDATING, as with OCI); see [`ApiGatewayService::with_lifecycle_delay`].
    /// Gateways run in this process ([`LocalDataPlane`] on `deps.host`).
    pub fn new(deps: ControlDeps) -> Self {
        let local = Arc::new(LocalDataPlane::new(deps.host.clone()));
        Self {
            deps,
            state: Mutex::new(ControlState::default()),
            retry: RetryTokens::default(),
            delay: Duration::from_millis(20),
            data_plane: local.clone(),
            local: Some(local),
        }
    }

    /// Run the gateways on `data_plane` (e.g. a [`crate::plane::RemoteDataPlane`] in another
    /// container). Call it before any gateway is created. `deps.host` is then used only for the
    /// public CA of default certificates; [`ApiGatewayService::gateway_runtime`] answers `None`.
    pub fn with_data_plane(mut self, data_plane: Arc<dyn DataPlane>) -> Self {
        self.data_plane = data_plane;
        self.local = None;
        self
    }

    /// Run the gateways on this in-process data plane (keeps
    /// [`ApiGatewayService::gateway_runtime`] working).
    pub fn with_local_data_plane(mut self, local: Arc<LocalDataPlane>) -> Self {
        self.data_plane = local.clone();
        self.local = Some(local);
        self
    }

    /// Change how long asynchronous work waits before it starts.
    pub fn with_lifecycle_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // Every mutation leaves the state consistent; a poisoned lock still holds a usable one.
        self.state.lock()
    }

    /// The gateway resource `id` (DELETED ones included).
    pub fn gateway(&self, id: &str) -> Option<GatewayResource> {
        self.lock().gateways.get(id).map(|g| g.res.clone())
    }

    /// The running data plane of gateway `id` when the data plane is in this process.
    pub fn gateway_runtime(&self, id: &str) -> Option<Arc<Gateway>> {
        let running = self.lock().gateways.get(id).is_some_and(|g| g.running);
        if running { self.local.as_ref()?.gateway(id) } else { None }
    }

    /// The deployment resource `id` (DELETED ones included).
    pub fn deployment(&self, id: &str) -> Option<DeploymentResource> {
        self.lock().deployments.get(id).map(|d| d.res.clone())
    }

    /// The work request `id`.
    pub fn work_request(&self, id: &str) -> Option<WorkRequest> {
        self.lock().work_requests.get(id).map(|w| w.wr.clone())
    }

    /// Stop serving every gateway (lab shutdown). Resources stay as they are.
    pub async fn shutdown(&self) {
        let ids: Vec<String> = {
            let mut s = self.lock();
            s.gateways.values_mut().filter_map(|g| std::mem::take(&mut g.running).then(|| g.res.id.clone())).collect()
        };
        for id in ids {
            self.data_plane.stop_gateway(&id).await;
        }
    }

    fn check_compartment<'a>(&self, value: &'a Option<String>) -> OciResult<&'a str> {
        let c = required_ocid(value, "compartmentId", "compartment")?;
        let known = &self.deps.compartments;
        if !known.is_empty() && !known.iter().any(|k| k == c) {
            return Err(OciError::not_found(format!("compartment {c} not found or not authorized")));
        }
        Ok(c)
    }

    /// Resolve `certificateId`: it must exist, be ACTIVE and carry an RSA key.
    fn resolve_certificate(&self, id: Option<&str>) -> OciResult<CertChoice> {
        let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else { return Ok((None, None)) };
        if hyok_core::ids::ocid_type(id) != Some("certificate") {
            return Err(OciError::invalid_parameter(format!("certificateId {id:?} is not a valid certificate OCID")));
        }
        let cert = self.deps.certificates.get_certificate(id)?;
        if cert.lifecycle_state != LifecycleState::Active {
            return Err(OciError::incorrect_state(format!(
                "certificateId: certificate {id} is {}; it must be ACTIVE",
                cert.lifecycle_state.as_str()
            )));
        }
        let mat = self
            .deps
            .certificates
            .tls_material(id)
            .ok_or_else(|| OciError::incorrect_state(format!("certificateId: certificate {id} is not ACTIVE")))?;
        crate::tls::check_gateway_certificate(&mat.chain_pem, &mat.key_pem).map_err(|e| match e {
            GatewayError::EcdsaCertificate(msg) => OciError::invalid_parameter(format!("certificateId: {msg}")),
            other => OciError::invalid_parameter(format!("certificateId: {other}")),
        })?;
        Ok((Some(id.to_string()), Some((mat.chain_pem, mat.key_pem))))
    }

    /// Resolve `caBundles` to PEMs (each must be an ACTIVE Certificates-service CA bundle).
    fn resolve_bundles(&self, refs: &[CaBundleRef]) -> OciResult<Vec<String>> {
        let mut pems = vec![self.deps.public_ca_pem.clone()];
        for (i, r) in refs.iter().enumerate() {
            let field = format!("caBundles[{i}]");
            match r.kind.as_deref() {
                Some("CA_BUNDLE") => {}
                Some("CERTIFICATE_AUTHORITY") => {
                    return Err(OciError::invalid_parameter(format!(
                        "{field}.type CERTIFICATE_AUTHORITY is not supported by the lab; import the CA certificate as a CA bundle and use type CA_BUNDLE"
                    )));
                }
                Some(other) => {
                    return Err(OciError::invalid_parameter(format!(
                        "{field}.type {other:?} must be CA_BUNDLE or CERTIFICATE_AUTHORITY"
                    )));
                }
                None => return Err(OciError::missing_parameter(format!("{field}.type is required"))),
            }
            let id = required(&r.ca_bundle_id, &format!("{field}.caBundleId"))?;
            let bundle = self.deps.certificates.get_ca_bundle(id)?;
            if bundle.lifecycle_state == LifecycleState::Deleted {
                return Err(OciError::not_found(format!("CA bundle {id} not found or not authorized")));
            }
            let pem = self.deps.certificates.ca_bundle_pem(id).ok_or_else(|| {
                OciError::incorrect_state(format!(
                    "{field}.caBundleId: CA bundle {id} is {}; it must be ACTIVE",
                    bundle.lifecycle_state.as_str()
                ))
            })?;
            pems.push(pem);
        }
        Ok(pems)
    }

    // -----------------------------------------------------------------------------------------
    // Gateways

    /// CreateGateway: validates synchronously, allocates the IP, answers CREATING and the work
    /// request id; the data plane is served in the background.
    pub fn create_gateway(
        self: &Arc<Self>,
        d: CreateGatewayDetails,
        request_id: &str,
    ) -> OciResult<(GatewayResource, String)> {
        let compartment = self.check_compartment(&d.compartment_id)?.to_string();
        let endpoint_type = required(&d.endpoint_type, "endpointType")?.to_string();
        if endpoint_type != "PRIVATE" && endpoint_type != "PUBLIC" {
            return Err(OciError::invalid_parameter(format!(
                "endpointType {endpoint_type:?} must be PRIVATE or PUBLIC"
            )));
        }
        let subnet_id = required_ocid(&d.subnet_id, "subnetId", "subnet")?.to_string();
        let subnet = self
            .deps
            .net
            .subnet(&subnet_id)
            .ok_or_else(|| OciError::not_found(format!("subnet {subnet_id} not found or not authorized")))?;
        if endpoint_type == "PUBLIC" && subnet.prohibit_public_ip_on_vnic {
            return Err(OciError::invalid_parameter(format!(
                "subnetId: a PUBLIC gateway needs a public subnet, but {} is private; use endpointType PRIVATE",
                subnet.display_name
            )));
        }
        let display_name = match d.display_name.as_deref() {
            Some(n) => check_name(n)?.to_string(),
            None => format!("gateway{}", compact_time()),
        };
        check_unsupported_gateway_options(&d.response_cache_details, d.ip_mode.as_deref())?;
        if d.ipv6_address_configuration.as_ref().is_some_and(|v| !v.is_null())
            || d.ipv4_address_configuration.as_ref().is_some_and(|v| !v.is_null())
        {
            return Err(OciError::invalid_parameter(
                "ipv4AddressConfiguration/ipv6AddressConfiguration are not supported by the lab; the gateway gets the next free address of its subnet",
            ));
        }
        let (certificate_id, tls) = self.resolve_certificate(d.certificate_id.as_deref())?;
        let ca_bundles = d.ca_bundles.clone().unwrap_or_default();
        let bundles = self.resolve_bundles(&ca_bundles)?;
        let ip = self.deps.net.allocate_ip(&subnet_id, &format!("API gateway {display_name}")).map_err(net_error)?;

        let id = hyok_core::ids::regional_ocid("apigateway");
        let now = oci_now();
        let res = GatewayResource {
            id: id.clone(),
            display_name,
            compartment_id: compartment.clone(),
            endpoint_type,
            subnet_id,
            network_security_group_ids: d.network_security_group_ids.clone().unwrap_or_default(),
            time_created: now.clone(),
            time_updated: now,
            lifecycle_state: LifecycleState::Creating,
            lifecycle_details: None,
            hostname: format!("{}.{GATEWAY_DOMAIN}", random_label()),
            certificate_id,
            ip_addresses: vec![IpAddress { ip_address: ip.to_string() }],
            ca_bundles,
            ip_mode: "IPV4".into(),
            response_cache_details: serde_json::json!({"type": "NONE"}),
            freeform_tags: d.freeform_tags.clone().unwrap_or_default(),
            defined_tags: d.defined_tags.clone().unwrap_or_default(),
            system_tags: BTreeMap::new(),
            locks: Vec::new(),
        };
        let wr = {
            let mut s = self.lock();
            let seq = s.next_seq();
            let wr = s.new_work_request("CREATE_GATEWAY", &compartment, "gateway", &id);
            s.create_wr.insert(id.clone(), wr.clone());
            let rec =
                GatewayRec { res: res.clone(), seq, ip: Some(ip), tls, bundles, running: false, ops: Arc::default() };
            s.gateways.insert(id.clone(), rec);
            wr
        };
        tracing::info!(gateway = %id, %ip, request_id, "gateway accepted");
        let this = self.clone();
        let (gid, wid) = (id, wr.clone());
        tokio::spawn(async move { this.run_gateway_create(gid, wid).await });
        Ok((res, wr))
    }

    async fn run_gateway_create(self: Arc<Self>, id: String, wr: String) {
        tokio::time::sleep(self.delay).await;
        let ops = {
            let mut s = self.lock();
            s.start(&wr);
            s.gateways.get(&id).map(|g| g.ops.clone())
        };
        let Some(ops) = ops else {
            self.lock().finish(&wr, Err(("InternalError", "the gateway disappeared while it was created".into())));
            return;
        };
        let _ops = ops.write().await;
        let setup = self
            .lock()
            .gateways
            .get(&id)
            .filter(|g| g.res.lifecycle_state == LifecycleState::Creating)
            .and_then(Launch::of);
        let Some(launch) = setup else {
            self.lock().finish(&wr, Err(("InternalError", "the gateway disappeared while it was created".into())));
            return;
        };
        let (name, hostname, ip) = (launch.name.clone(), launch.hostname.clone(), launch.ip);
        let result = self.launch(launch, Vec::new()).await;
        let mut s = self.lock();
        let Some(g) = s.gateways.get_mut(&id) else { return };
        g.res.time_updated = oci_now();
        match result {
            Ok(()) => {
                g.running = true;
                g.res.lifecycle_state = LifecycleState::Active;
                g.res.lifecycle_details = None;
                tracing::info!(gateway = %id, %ip, %hostname, "gateway ACTIVE");
                s.log(&wr, format!("gateway {name} serves https://{hostname} at {ip}:{GATEWAY_PORT}"));
                s.finish(&wr, Ok("CREATED"));
            }
            Err(e) => {
                g.running = false;
                g.res.lifecycle_state = LifecycleState::Failed;
                g.res.lifecycle_details = Some(e.clone());
                tracing::warn!(gateway = %id, reason = %e, "gateway FAILED");
                s.finish(&wr, Err(("GatewayCreationFailed", e)));
            }
        }
    }

    /// What serving gateway `id` takes now: its launch, whether it should be running, and its
    /// ACTIVE deployments. Take the gateway's `ops` lock first so it cannot change meanwhile.
    fn launch_snapshot(&self, id: &str) -> Option<(Launch, bool, Vec<DeploymentRuntimeSpec>)> {
        let s = self.lock();
        let deps: Vec<DeploymentRuntimeSpec> = s
            .deployments
            .values()
            .filter(|d| d.res.gateway_id == id && d.res.lifecycle_state == LifecycleState::Active)
            .map(|d| runtime_deployment(&d.res))
            .collect();
        s.gateways.get(id).and_then(|g| Launch::of(g).map(|l| (l, g.running, deps)))
    }

    /// Bring the data plane back in line with the ACTIVE gateways: one it no longer runs, or
    /// runs without all its ACTIVE deployments (its process restarted), is started again with
    /// them. Returns the ids of the gateways restored. A data plane that cannot be asked is
    /// left for the next round; the resources stay ACTIVE, as OCI's do while it heals a host.
    pub async fn reconcile(&self) -> Vec<String> {
        let live: Vec<(String, Arc<tokio::sync::RwLock<()>>)> = {
            let s = self.lock();
            s.gateways
                .values()
                .filter(|g| g.running && g.res.lifecycle_state == LifecycleState::Active)
                .map(|g| (g.res.id.clone(), g.ops.clone()))
                .collect()
        };
        let mut restored = Vec::new();
        for (id, ops) in live {
            // No update or deployment check runs on this gateway meanwhile.
            let _ops = ops.write().await;
            let Some((launch, true, deps)) = self.launch_snapshot(&id) else { continue };
            let missing = match self.data_plane.deployments(&id).await {
                Ok(Some(have)) => deps.iter().any(|d| !have.contains(&d.id)),
                Ok(None) => true,
                Err(e) => {
                    tracing::debug!(gateway = %id, error = %e, "data plane not reachable; reconcile later");
                    continue;
                }
            };
            if !missing {
                continue;
            }
            let count = deps.len();
            match self.launch(launch, deps).await {
                Ok(()) => {
                    tracing::info!(gateway = %id, deployments = count, "gateway restored on the data plane");
                    restored.push(id);
                }
                Err(e) => tracing::warn!(gateway = %id, reason = %e, "could not restore the gateway on the data plane"),
            }
        }
        restored
    }

    /// Run [`ApiGatewayService::reconcile`] every `every` until the service is dropped: a data
    /// plane in another process that restarts gets its gateways back by itself.
    pub fn spawn_reconciler(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(service) = service.upgrade() else { break };
                service.reconcile().await;
            }
        })
    }

    /// Have the data plane serve the gateway at `ip:443` with `deployments` installed. The
    /// default certificate is made here: the control plane holds the public CA.
    async fn launch(&self, l: Launch, deployments: Vec<DeploymentRuntimeSpec>) -> Result<(), String> {
        let (tls_chain_pem, tls_key_pem) = match l.tls {
            Some(t) => t,
            None => self.default_certificate(&l.hostname, l.ip).await?,
        };
        let spec = GatewayRuntimeSpec {
            id: l.id,
            name: l.name,
            hostname: l.hostname,
            ip: l.ip,
            tls_chain_pem,
            tls_key_pem,
            backend_ca_bundles: l.bundles,
            deployments,
        };
        self.data_plane.start_gateway(spec).await
    }

    /// OCI's default gateway certificate: RSA, for the gateway's host name, from the lab's
    /// public root (OCI gateways without `certificateId` present an Oracle-issued certificate).
    async fn default_certificate(&self, hostname: &str, ip: Ipv4Addr) -> Result<(String, String), String> {
        let ca = self.deps.host.public_ca();
        let names = [hostname.to_string(), ip.to_string()];
        tokio::task::spawn_blocking(move || {
            use rsa::pkcs8::{EncodePrivateKey, LineEnding};
            let key = hyok_oci_rest::tenancy::generate_rsa_key(2048).map_err(|e| e.to_string())?;
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?;
            let pair = rcgen::KeyPair::from_pem(pem.as_str()).map_err(|e| e.to_string())?;
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let cert = ca
                .issue_with_key(&refs, pair, &[rcgen::ExtendedKeyUsagePurpose::ServerAuth])
                .map_err(|e| e.to_string())?;
            Ok((cert.chain_pem(), cert.key_pem))
        })
        .await
        .map_err(|e| format!("default certificate: {e}"))?
        .map_err(|e: String| format!("default certificate: {e}"))
    }

    /// UpdateGateway: display name, certificate, CA bundles, NSGs, tags. Answers the work request id.
    pub fn update_gateway(
        self: &Arc<Self>,
        id: &str,
        d: UpdateGatewayDetails,
        headers: &HeaderMap,
    ) -> OciResult<String> {
        if let Some(n) = d.display_name.as_deref() {
            check_name(n)?;
        }
        check_unsupported_gateway_options(&d.response_cache_details, None)?;
        let cert = match d.certificate_id.as_deref() {
            Some(c) => Some(self.resolve_certificate(Some(c))?),
            None => None,
        };
        let bundles = match &d.ca_bundles {
            Some(refs) => Some(self.resolve_bundles(refs)?),
            None => None,
        };
        let mut s = self.lock();
        let g = live_gateway(&mut s, id)?;
        check_if_match(headers, &etag_of(&g.res))?;
        if g.res.lifecycle_state != LifecycleState::Active {
            return Err(OciError::incorrect_state(format!(
                "gateway {id} is {}; it can be updated only when ACTIVE",
                g.res.lifecycle_state.as_str()
            )));
        }
        let mut plan = GatewayChange::default();
        if let Some(n) = d.display_name {
            g.res.display_name = n;
        }
        if let Some((cid, tls)) = cert {
            plan.tls_changed = cid != g.res.certificate_id;
            g.res.certificate_id = cid;
            g.tls = tls;
        }
        if let (Some(refs), Some(pems)) = (d.ca_bundles, bundles) {
            plan.bundles_changed = pems != g.bundles;
            g.res.ca_bundles = refs;
            g.bundles = pems;
        }
        if let Some(n) = d.network_security_group_ids {
            g.res.network_security_group_ids = n;
        }
        if let Some(t) = d.freeform_tags {
            g.res.freeform_tags = t;
        }
        if let Some(t) = d.defined_tags {
            g.res.defined_tags = t;
        }
        g.res.lifecycle_state = LifecycleState::Updating;
        g.res.time_updated = oci_now();
        let compartment = g.res.compartment_id.clone();
        let wr = s.new_work_request("UPDATE_GATEWAY", &compartment, "gateway", id);
        drop(s);
        let this = self.clone();
        let (gid, wid) = (id.to_string(), wr.clone());
        tokio::spawn(async move { this.run_gateway_update(gid, wid, plan).await });
        Ok(wr)
    }

    async fn run_gateway_update(self: Arc<Self>, id: String, wr: String, plan: GatewayChange) {
        tokio::time::sleep(self.delay).await;
        let ops = {
            let mut s = self.lock();
            s.start(&wr);
            s.gateways.get(&id).map(|g| g.ops.clone())
        };
        let Some(ops) = ops else {
            self.lock().finish(&wr, Err(("InternalError", "the gateway disappeared while it was updated".into())));
            return;
        };
        // Exclusive: no deployment check runs while the listener may be replaced, so the
        // snapshot below is exactly what must be served.
        let _ops = ops.write().await;
        let Some((launch, running, deps)) = self.launch_snapshot(&id) else {
            self.lock().finish(&wr, Err(("InternalError", "the gateway disappeared while it was updated".into())));
            return;
        };
        let result = if !running || plan.tls_changed {
            // A new certificate means a new listener: rebuilt with the ACTIVE deployments.
            self.launch(launch, deps).await
        } else if plan.bundles_changed {
            self.data_plane.set_backend_ca_bundles(&id, launch.bundles).await
        } else {
            Ok(())
        };
        if result.is_err() {
            // A FAILED gateway is not served.
            self.data_plane.stop_gateway(&id).await;
        }
        let mut s = self.lock();
        let Some(g) = s.gateways.get_mut(&id) else { return };
        g.res.time_updated = oci_now();
        match result {
            Ok(()) => {
                g.running = true;
                g.res.lifecycle_state = LifecycleState::Active;
                g.res.lifecycle_details = None;
                tracing::info!(gateway = %id, "gateway updated");
                s.finish(&wr, Ok("UPDATED"));
            }
            Err(e) => {
                g.running = false;
                g.res.lifecycle_state = LifecycleState::Failed;
                g.res.lifecycle_details = Some(e.clone());
                tracing::warn!(gateway = %id, reason = %e, "gateway update FAILED");
                s.finish(&wr, Err(("GatewayUpdateFailed", e)));
            }
        }
    }

    /// DeleteGateway: refused while deployments exist; stops serving and releases the IP.
    pub fn delete_gateway(self: &Arc<Self>, id: &str, headers: &HeaderMap) -> OciResult<String> {
        let mut s = self.lock();
        let live: Vec<String> = s
            .deployments
            .values()
            .filter(|d| d.res.gateway_id == id && d.res.lifecycle_state != LifecycleState::Deleted)
            .map(|d| d.res.id.clone())
            .collect();
        let g = live_gateway(&mut s, id)?;
        check_if_match(headers, &etag_of(&g.res))?;
        if matches!(
            g.res.lifecycle_state,
            LifecycleState::Creating | LifecycleState::Updating | LifecycleState::Deleting
        ) {
            return Err(OciError::incorrect_state(format!(
                "gateway {id} is {}; wait for its work request to finish",
                g.res.lifecycle_state.as_str()
            )));
        }
        if !live.is_empty() {
            return Err(OciError::conflict(format!(
                "gateway {id} still has deployments ({}); delete them first",
                live.join(", ")
            )));
        }
        g.res.lifecycle_state = LifecycleState::Deleting;
        g.res.time_updated = oci_now();
        let compartment = g.res.compartment_id.clone();
        let wr = s.new_work_request("DELETE_GATEWAY", &compartment, "gateway", id);
        drop(s);
        let this = self.clone();
        let (gid, wid) = (id.to_string(), wr.clone());
        tokio::spawn(async move {
            tokio::time::sleep(this.delay).await;
            let ops = {
                let mut s = this.lock();
                s.start(&wid);
                s.gateways.get(&gid).map(|g| g.ops.clone())
            };
            let _ops = match &ops {
                Some(o) => Some(o.write().await),
                None => None,
            };
            let ip = this.lock().gateways.get_mut(&gid).and_then(|g| {
                g.running = false;
                g.ip.take()
            });
            this.data_plane.stop_gateway(&gid).await;
            if let Some(ip) = ip {
                this.deps.net.release_ip(ip);
            }
            let mut s = this.lock();
            if let Some(g) = s.gateways.get_mut(&gid) {
                g.res.lifecycle_state = LifecycleState::Deleted;
                g.res.time_updated = oci_now();
                g.tls = None;
            }
            tracing::info!(gateway = %gid, "gateway DELETED");
            s.finish(&wid, Ok("DELETED"));
        });
        Ok(wr)
    }

    // -----------------------------------------------------------------------------------------
    // Deployments

    /// CreateDeployment: validates the specification synchronously, answers CREATING and the
    /// work request id; the backend check decides ACTIVE or FAILED in the background.
    pub fn create_deployment(
        self: &Arc<Self>,
        d: CreateDeploymentDetails,
        request_id: &str,
    ) -> OciResult<(DeploymentResource, String)> {
        let gateway_id = required_ocid(&d.gateway_id, "gatewayId", "apigateway")?.to_string();
        let compartment = self.check_compartment(&d.compartment_id)?.to_string();
        let prefix = required(&d.path_prefix, "pathPrefix")?.to_string();
        let raw = d.specification.as_ref().ok_or_else(|| OciError::missing_parameter("specification is required"))?;
        let spec = parse_spec(raw, &prefix)?;
        let display_name = match d.display_name.as_deref() {
            Some(n) => check_name(n)?.to_string(),
            None => format!("deployment{}", compact_time()),
        };
        let mut s = self.lock();
        let hostname = {
            let g = live_gateway(&mut s, &gateway_id)?;
            if g.res.lifecycle_state != LifecycleState::Active {
                return Err(OciError::incorrect_state(format!(
                    "gateway {gateway_id} is {}; deployments can be added only to an ACTIVE gateway",
                    g.res.lifecycle_state.as_str()
                )));
            }
            g.res.hostname.clone()
        };
        if let Some(other) = s.deployments.values().find(|o| {
            o.res.gateway_id == gateway_id
                && o.res.path_prefix == prefix
                && o.res.lifecycle_state != LifecycleState::Deleted
        }) {
            return Err(OciError::conflict(format!(
                "pathPrefix: {prefix} is already used by deployment {} on this gateway",
                other.res.id
            )));
        }
        let id = hyok_core::ids::regional_ocid("apideployment");
        let now = oci_now();
        let res = DeploymentResource {
            id: id.clone(),
            gateway_id,
            display_name,
            compartment_id: compartment.clone(),
            endpoint: format!("https://{hostname}{prefix}"),
            path_prefix: prefix,
            specification: spec,
            time_created: now.clone(),
            time_updated: now,
            lifecycle_state: LifecycleState::Creating,
            lifecycle_details: None,
            freeform_tags: d.freeform_tags.unwrap_or_default(),
            defined_tags: d.defined_tags.unwrap_or_default(),
            system_tags: BTreeMap::new(),
            locks: Vec::new(),
        };
        let seq = s.next_seq();
        let wr = s.new_work_request("CREATE_DEPLOYMENT", &compartment, "deployment", &id);
        s.create_wr.insert(id.clone(), wr.clone());
        s.deployments.insert(id.clone(), DeploymentRec { res: res.clone(), seq });
        drop(s);
        let this = self.clone();
        let (did, wid, rid) = (id, wr.clone(), request_id.to_string());
        tokio::spawn(async move { this.run_deployment_check(did, wid, rid, "CREATED").await });
        Ok((res, wr))
    }

    /// The backend check of a CREATING/UPDATING deployment, then ACTIVE (installed) or FAILED.
    async fn run_deployment_check(self: Arc<Self>, id: String, wr: String, request_id: String, action: &'static str) {
        tokio::time::sleep(self.delay).await;
        let ops = {
            let mut s = self.lock();
            s.start(&wr);
            let gid = s.deployments.get(&id).map(|d| d.res.gateway_id.clone());
            gid.map(|g| s.gateways.get(&g).map(|g| g.ops.clone()))
        };
        let Some(ops) = ops else {
            self.lock().finish(&wr, Err(("InternalError", "the deployment disappeared while it was checked".into())));
            return;
        };
        // Shared: checks run side by side, but not while the gateway's listener is replaced.
        let _ops = match &ops {
            Some(o) => Some(o.read().await),
            None => None,
        };
        let job = {
            let s = self.lock();
            s.deployments.get(&id).map(|d| {
                let running = s.gateways.get(&d.res.gateway_id).is_some_and(|g| g.running);
                (d.res.gateway_id.clone(), running, runtime_deployment(&d.res))
            })
        };
        let Some((gid, running, dep)) = job else {
            self.lock().finish(&wr, Err(("InternalError", "the deployment disappeared while it was checked".into())));
            return;
        };
        let outcome = if running {
            self.data_plane.deploy(&gid, &request_id, dep).await
        } else {
            Err("the gateway is not ACTIVE".to_string())
        };
        let mut s = self.lock();
        let Some(d) = s.deployments.get_mut(&id) else { return };
        d.res.time_updated = oci_now();
        match outcome {
            Ok(()) => {
                d.res.lifecycle_state = LifecycleState::Active;
                d.res.lifecycle_details = None;
                tracing::info!(deployment = %id, "deployment ACTIVE");
                s.finish(&wr, Ok(action));
            }
            Err(reason) => {
                d.res.lifecycle_state = LifecycleState::Failed;
                d.res.lifecycle_details = Some(reason.clone());
                tracing::warn!(deployment = %id, %reason, "deployment FAILED");
                s.finish(&wr, Err(("DeploymentFailed", reason)));
            }
        }
    }

    /// UpdateDeployment: new display name, specification or tags; always re-runs the backend
    /// check (this is how a FAILED deployment is retried once its cause is fixed).
    pub fn update_deployment(
        self: &Arc<Self>,
        id: &str,
        d: UpdateDeploymentDetails,
        headers: &HeaderMap,
        request_id: &str,
    ) -> OciResult<String> {
        if let Some(n) = d.display_name.as_deref() {
            check_name(n)?;
        }
        let mut s = self.lock();
        let dep = live_deployment(&mut s, id)?;
        check_if_match(headers, &etag_of(&dep.res))?;
        if !matches!(dep.res.lifecycle_state, LifecycleState::Active | LifecycleState::Failed) {
            return Err(OciError::incorrect_state(format!(
                "deployment {id} is {}; it can be updated only when ACTIVE or FAILED",
                dep.res.lifecycle_state.as_str()
            )));
        }
        let spec = match &d.specification {
            Some(raw) => Some(parse_spec(raw, &dep.res.path_prefix)?),
            None => None,
        };
        let gateway_id = dep.res.gateway_id.clone();
        let gateway_state = s.gateways.get(&gateway_id).map(|g| g.res.lifecycle_state);
        if gateway_state != Some(LifecycleState::Active) {
            return Err(OciError::incorrect_state(format!(
                "gateway {gateway_id} is {}; deployments can be updated only on an ACTIVE gateway",
                gateway_state.map(LifecycleState::as_str).unwrap_or("gone")
            )));
        }
        let Some(dep) = s.deployments.get_mut(id) else {
            return Err(OciError::not_found(format!("deployment {id} not found or not authorized")));
        };
        if let Some(n) = d.display_name {
            dep.res.display_name = n;
        }
        if let Some(spec) = spec {
            dep.res.specification = spec;
        }
        if let Some(t) = d.freeform_tags {
            dep.res.freeform_tags = t;
        }
        if let Some(t) = d.defined_tags {
            dep.res.defined_tags = t;
        }
        dep.res.lifecycle_state = LifecycleState::Updating;
        dep.res.time_updated = oci_now();
        let compartment = dep.res.compartment_id.clone();
        let wr = s.new_work_request("UPDATE_DEPLOYMENT", &compartment, "deployment", id);
        drop(s);
        let this = self.clone();
        let (did, wid, rid) = (id.to_string(), wr.clone(), request_id.to_string());
        tokio::spawn(async move { this.run_deployment_check(did, wid, rid, "UPDATED").await });
        Ok(wr)
    }

    /// DeleteDeployment: removes it from the data plane.
    pub fn delete_deployment(self: &Arc<Self>, id: &str, headers: &HeaderMap) -> OciResult<String> {
        let mut s = self.lock();
        let dep = live_deployment(&mut s, id)?;
        check_if_match(headers, &etag_of(&dep.res))?;
        if !matches!(dep.res.lifecycle_state, LifecycleState::Active | LifecycleState::Failed) {
            return Err(OciError::incorrect_state(format!(
                "deployment {id} is {}; wait for its work request to finish",
                dep.res.lifecycle_state.as_str()
            )));
        }
        dep.res.lifecycle_state = LifecycleState::Deleting;
        dep.res.time_updated = oci_now();
        let compartment = dep.res.compartment_id.clone();
        let wr = s.new_work_request("DELETE_DEPLOYMENT", &compartment, "deployment", id);
        drop(s);
        let this = self.clone();
        let (did, wid) = (id.to_string(), wr.clone());
        tokio::spawn(async move {
            tokio::time::sleep(this.delay).await;
            let target = {
                let mut s = this.lock();
                s.start(&wid);
                let gid = s.deployments.get(&did).map(|d| d.res.gateway_id.clone());
                gid.and_then(|g| s.gateways.get(&g)).map(|g| (g.res.id.clone(), g.ops.clone()))
            };
            if let Some((gid, ops)) = target {
                let _ops = ops.read().await;
                let running = this.lock().gateways.get(&gid).is_some_and(|g| g.running);
                if running {
                    this.data_plane.undeploy(&gid, &did).await;
                }
            }
            let mut s = this.lock();
            if let Some(d) = s.deployments.get_mut(&did) {
                d.res.lifecycle_state = LifecycleState::Deleted;
                d.res.time_updated = oci_now();
            }
            tracing::info!(deployment = %did, "deployment DELETED");
            s.finish(&wid, Ok("DELETED"));
        });
        Ok(wr)
    }
}

/// What the data plane needs to start a gateway (its certificate may still be the default).
struct Launch {
    id: String,
    name: String,
    hostname: String,
    ip: Ipv4Addr,
    tls: Option<(String, String)>,
    bundles: Vec<String>,
}

impl Launch {
    /// `None` once the gateway's IP is released.
    fn of(g: &GatewayRec) -> Option<Self> {
        Some(Self {
            id: g.res.id.clone(),
            name: g.res.display_name.clone(),
            hostname: g.res.hostname.clone(),
            ip: g.ip?,
            tls: g.tls.clone(),
            bundles: g.bundles.clone(),
        })
    }
}

fn runtime_deployment(d: &DeploymentResource) -> DeploymentRuntimeSpec {
    DeploymentRuntimeSpec {
        id: d.id.clone(),
        path_prefix: d.path_prefix.clone(),
        specification: d.specification.clone(),
    }
}

#[derive(Default, Clone, Copy)]
struct GatewayChange {
    tls_changed: bool,
    bundles_changed: bool,
}

fn live_gateway<'a>(s: &'a mut ControlState, id: &str) -> OciResult<&'a mut GatewayRec> {
    s.gateways
        .get_mut(id)
        .filter(|g| g.res.lifecycle_state != LifecycleState::Deleted)
        .ok_or_else(|| OciError::not_found(format!("gateway {id} not found or not authorized")))
}

fn live_deployment<'a>(s: &'a mut ControlState, id: &str) -> OciResult<&'a mut DeploymentRec> {
    s.deployments
        .get_mut(id)
        .filter(|d| d.res.lifecycle_state != LifecycleState::Deleted)
        .ok_or_else(|| OciError::not_found(format!("deployment {id} not found or not authorized")))
}

fn parse_spec(raw: &serde_json::Value, prefix: &str) -> OciResult<ApiSpecification> {
    let spec = spec::parse_specification(raw).map_err(|e| OciError::invalid_parameter(e.to_string()))?;
    spec::validate(&spec, prefix).map_err(|errs| OciError::invalid_parameter(spec::join_errors(&errs)))?;
    Ok(spec)
}

/// Parse a JSON body; a type error names the field (`compartmentId: invalid type: …`).
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> OciResult<T> {
    if body.is_empty() {
        return Err(cannot_parse("request body is empty; a JSON object is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => OciError::invalid_parameter(format!("{path}: {inner}")),
            serde_json::error::Category::Data => OciError::invalid_parameter(format!("invalid request body: {inner}")),
            _ => cannot_parse(format!("request body is not valid JSON: {inner}")),
        }
    })
}

fn check_name(name: &str) -> OciResult<&str> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(OciError::invalid_parameter(format!("displayName must be 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(name)
}

fn check_unsupported_gateway_options(cache: &Option<serde_json::Value>, ip_mode: Option<&str>) -> OciResult<()> {
    if let Some(c) = cache.as_ref().filter(|c| !c.is_null())
        && c.get("type").and_then(|t| t.as_str()) != Some("NONE")
    {
        return Err(OciError::invalid_parameter(
            "responseCacheDetails: only type NONE is supported by the lab (no response cache)",
        ));
    }
    if let Some(m) = ip_mode
        && m != "IPV4"
    {
        return Err(OciError::invalid_parameter(format!("ipMode {m:?} is not supported by the lab; use IPV4")));
    }
    Ok(())
}

fn net_error(e: NetError) -> OciError {
    match e {
        NetError::NotFound(what) => OciError::not_found(format!("{what} not found or not authorized")),
        NetError::SubnetFull(name) => OciError::new(
            StatusCode::BAD_REQUEST,
            "LimitExceeded",
            format!("subnet {name} has no free private IP address for the gateway"),
        ),
        other => OciError::invalid_parameter(other.to_string()),
    }
}

/// 26 lowercase base32 characters, like OCI's gateway host labels.
fn random_label() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let hex = format!("{}{}", hyok_core::ids::hex32(), hyok_core::ids::hex32());
    hex.as_bytes()
        .chunks(2)
        .take(26)
        .map(|pair| {
            let b = std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()).unwrap_or(0);
            ALPHABET[usize::from(b % 32)] as char
        })
        .collect()
}

/// `20260105090307` for generated display names (as the Console does).
fn compact_time() -> String {
    oci_now().chars().filter(char::is_ascii_digit).take(14).collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Query parameters of the list operations.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Required by OCI on every list.
    pub compartment_id: Option<String>,
    /// Filter.
    pub display_name: Option<String>,
    /// Filter.
    pub lifecycle_state: Option<String>,
    /// Filter (gateways).
    pub certificate_id: Option<String>,
    /// Filter (deployments).
    pub gateway_id: Option<String>,
    /// Filter (work requests).
    pub resource_id: Option<String>,
    /// `timeCreated` (default, descending) or `displayName` (ascending).
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    pub sort_order: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Page token.
    pub page: Option<String>,
}

fn query(q: Result<Query<ListQuery>, QueryRejection>) -> OciResult<ListQuery> {
    q.map(|Query(q)| q).map_err(|e| OciError::invalid_parameter(format!("invalid query string: {}", e.body_text())))
}

fn state_filter(q: &ListQuery) -> OciResult<Option<LifecycleState>> {
    q.lifecycle_state
        .as_deref()
        .map(|s| {
            serde_json::from_value::<LifecycleState>(serde_json::Value::String(s.to_string()))
                .map_err(|_| OciError::invalid_parameter(format!("lifecycleState {s:?} is not valid")))
        })
        .transpose()
}

/// Sort `(name, seq, item)` rows as OCI does: `timeCreated` descending by default, `displayName` ascending.
fn sort_rows<T>(mut rows: Vec<(String, u64, T)>, q: &ListQuery) -> OciResult<Vec<T>> {
    let by_name = match q.sort_by.as_deref() {
        None | Some("timeCreated") => false,
        Some("displayName") => true,
        Some(o) => {
            return Err(OciError::invalid_parameter(format!("sortBy {o:?} must be timeCreated or displayName")));
        }
    };
    let desc = match q.sort_order.as_deref() {
        None => !by_name,
        Some("ASC") => false,
        Some("DESC") => true,
        Some(o) => return Err(OciError::invalid_parameter(format!("sortOrder {o:?} must be ASC or DESC"))),
    };
    rows.sort_by(|a, b| {
        let o = if by_name { a.0.cmp(&b.0).then(a.1.cmp(&b.1)) } else { a.1.cmp(&b.1) };
        if desc { o.reverse() } else { o }
    });
    Ok(rows.into_iter().map(|(_, _, t)| t).collect())
}

fn page_of(q: &ListQuery) -> PageQuery {
    PageQuery { limit: q.limit.clone(), page: q.page.clone() }
}

fn with_work_request(mut resp: Response, wr: Option<&str>) -> Response {
    if let Some(v) = wr.and_then(|w| HeaderValue::from_str(w).ok()) {
        resp.headers_mut().insert(WORK_REQUEST_HEADER, v);
    }
    resp
}

fn accepted(wr: &str) -> Response {
    with_work_request(StatusCode::ACCEPTED.into_response(), Some(wr))
}

type Svc = Arc<ApiGatewayService>;

/// A create behind `opc-retry-token`; the work request header follows the resource id, so a
/// replayed create carries it too.
async fn create_with_retry<F>(s: Svc, scope: &str, headers: HeaderMap, body: Bytes, create: F) -> Response
where
    F: FnOnce(&Svc, &[u8]) -> OciResult<OciResponse>,
{
    let svc = s.clone();
    let payload = body.clone();
    let r = s.retry.run(scope, &headers, &body, || async move { create(&svc, &payload) }).await;
    match r {
        Ok(resp) => {
            let wr = resp.body.get("id").and_then(|v| v.as_str()).and_then(|id| s.lock().create_wr.get(id).cloned());
            with_work_request(resp.into_response(), wr.as_deref())
        }
        Err(e) => e.into_response(),
    }
}

async fn create_gateway_h(State(s): State<Svc>, rid: RequestId, headers: HeaderMap, body: Bytes) -> Response {
    create_with_retry(s, "POST /gateways", headers, body, |svc, payload| {
        let d: CreateGatewayDetails = parse_json(payload)?;
        OciResponse::resource(&svc.create_gateway(d, rid.as_str())?.0)
    })
    .await
}

async fn list_gateways_h(State(s): State<Svc>, q: Result<Query<ListQuery>, QueryRejection>) -> OciResult<OciResponse> {
    let q = query(q)?;
    let compartment = required(&q.compartment_id, "compartmentId")?.to_string();
    let state = state_filter(&q)?;
    let rows: Vec<_> = s
        .lock()
        .gateways
        .values()
        .filter(|g| {
            let r = &g.res;
            r.compartment_id == compartment
                && q.display_name.as_deref().is_none_or(|n| n == r.display_name)
                && q.certificate_id.as_deref().is_none_or(|c| Some(c) == r.certificate_id.as_deref())
                && state.map_or(r.lifecycle_state != LifecycleState::Deleted, |st| st == r.lifecycle_state)
        })
        .map(|g| (g.res.display_name.clone(), g.seq, g.res.clone()))
        .collect();
    let items = sort_rows(rows, &q)?;
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn get_gateway_h(State(s): State<Svc>, Path(id): Path<String>) -> OciResult<OciResponse> {
    let g = s.gateway(&id).ok_or_else(|| OciError::not_found(format!("gateway {id} not found or not authorized")))?;
    OciResponse::resource(&g)
}

async fn update_gateway_h(State(s): State<Svc>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let r = parse_json::<UpdateGatewayDetails>(&body).and_then(|d| s.update_gateway(&id, d, &headers));
    match r {
        Ok(wr) => accepted(&wr),
        Err(e) => e.into_response(),
    }
}

async fn delete_gateway_h(State(s): State<Svc>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match s.delete_gateway(&id, &headers) {
        Ok(wr) => accepted(&wr),
        Err(e) => e.into_response(),
    }
}

async fn create_deployment_h(State(s): State<Svc>, rid: RequestId, headers: HeaderMap, body: Bytes) -> Response {
    create_with_retry(s, "POST /deployments", headers, body, |svc, payload| {
        let d: CreateDeploymentDetails = parse_json(payload)?;
        OciResponse::resource(&svc.create_deployment(d, rid.as_str())?.0)
    })
    .await
}

async fn list_deployments_h(
    State(s): State<Svc>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let compartment = required(&q.compartment_id, "compartmentId")?.to_string();
    let state = state_filter(&q)?;
    let rows: Vec<_> = s
        .lock()
        .deployments
        .values()
        .filter(|d| {
            let r = &d.res;
            r.compartment_id == compartment
                && q.display_name.as_deref().is_none_or(|n| n == r.display_name)
                && q.gateway_id.as_deref().is_none_or(|g| g == r.gateway_id)
                && state.map_or(r.lifecycle_state != LifecycleState::Deleted, |st| st == r.lifecycle_state)
        })
        .map(|d| (d.res.display_name.clone(), d.seq, d.res.summary()))
        .collect();
    let items = sort_rows(rows, &q)?;
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn get_deployment_h(State(s): State<Svc>, Path(id): Path<String>) -> OciResult<OciResponse> {
    let d =
        s.deployment(&id).ok_or_else(|| OciError::not_found(format!("deployment {id} not found or not authorized")))?;
    OciResponse::resource(&d)
}

async fn update_deployment_h(
    State(s): State<Svc>,
    Path(id): Path<String>,
    rid: RequestId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r =
        parse_json::<UpdateDeploymentDetails>(&body).and_then(|d| s.update_deployment(&id, d, &headers, rid.as_str()));
    match r {
        Ok(wr) => accepted(&wr),
        Err(e) => e.into_response(),
    }
}

async fn delete_deployment_h(State(s): State<Svc>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match s.delete_deployment(&id, &headers) {
        Ok(wr) => accepted(&wr),
        Err(e) => e.into_response(),
    }
}

async fn list_work_requests_h(
    State(s): State<Svc>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let compartment = required(&q.compartment_id, "compartmentId")?.to_string();
    let mut rows: Vec<WorkRequest> = s
        .lock()
        .work_requests
        .values()
        .filter(|w| {
            w.wr.compartment_id == compartment
                && q.resource_id.as_deref().is_none_or(|r| w.wr.resources.iter().any(|x| x.identifier == r))
        })
        .map(|w| w.wr.clone())
        .collect();
    rows.sort_by(|a, b| b.time_accepted.cmp(&a.time_accepted).then(b.id.cmp(&a.id)));
    let (page, next) = paginate(&rows, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

fn work_request_rec<T>(s: &Svc, id: &str, f: impl FnOnce(&WorkRequestRec) -> T) -> OciResult<T> {
    s.lock()
        .work_requests
        .get(id)
        .map(f)
        .ok_or_else(|| OciError::not_found(format!("work request {id} not found or not authorized")))
}

async fn get_work_request_h(State(s): State<Svc>, Path(id): Path<String>) -> OciResult<Response> {
    let wr = work_request_rec(&s, &id, |w| w.wr.clone())?;
    // OCI answers `retry-after` while a work request runs.
    let running = matches!(wr.status, WorkRequestStatus::Accepted | WorkRequestStatus::InProgress);
    let mut resp = OciResponse::resource(&wr)?.into_response();
    if running {
        resp.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(resp)
}

async fn work_request_errors_h(
    State(s): State<Svc>,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let items = work_request_rec(&s, &id, |w| w.errors.clone())?;
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn work_request_logs_h(
    State(s): State<Svc>,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let items = work_request_rec(&s, &id, |w| w.logs.clone())?;
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn not_found_h() -> OciError {
    OciError::new(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "Unknown resource path")
}

/// The API Gateway control API: `/20190501/{gateways,deployments,workRequests}` behind signature
/// verification, with `opc-request-id` on every response and a 1 MiB body limit.
pub fn router(service: Arc<ApiGatewayService>) -> Router {
    let verifier = service.deps.verifier.clone();
    let api = Router::new()
        .route("/gateways", get(list_gateways_h).post(create_gateway_h))
        .route("/gateways/{id}", get(get_gateway_h).put(update_gateway_h).delete(delete_gateway_h))
        .route("/deployments", get(list_deployments_h).post(create_deployment_h))
        .route("/deployments/{id}", get(get_deployment_h).put(update_deployment_h).delete(delete_deployment_h))
        .route("/workRequests", get(list_work_requests_h))
        .route("/workRequests/{id}", get(get_work_request_h))
        .route("/workRequests/{id}/errors", get(work_request_errors_h))
        .route("/workRequests/{id}/logs", get(work_request_logs_h))
        .with_state(service);
    let app =
        Router::new().nest(BASE_PATH, api).fallback(not_found_h).layer(DefaultBodyLimit::max(MAX_CONTROL_BODY_BYTES));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels_look_like_oci() {
        let l = random_label();
        assert_eq!(l.len(), 26);
        assert!(l.chars().all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)), "{l}");
        assert_ne!(l, random_label());
    }

    #[test]
    fn lists_sort_like_oci() {
        let rows = vec![("b".to_string(), 1, 1), ("a".to_string(), 2, 2), ("c".to_string(), 3, 3)];
        let q = ListQuery::default();
        assert_eq!(sort_rows(rows.clone(), &q).expect("sort"), vec![3, 2, 1], "newest first");
        let q = ListQuery { sort_by: Some("displayName".into()), ..Default::default() };
        assert_eq!(sort_rows(rows.clone(), &q).expect("sort"), vec![2, 1, 3]);
        let q = ListQuery { sort_by: Some("size".into()), ..Default::default() };
        assert!(sort_rows(rows, &q).is_err());
    }

    #[test]
    fn unsupported_options_are_named() {
        let e = check_unsupported_gateway_options(&Some(serde_json::json!({"type": "EXTERNAL_RESP_CACHE"})), None)
            .expect_err("cache");
        assert!(e.message.contains("responseCacheDetails"));
        assert!(check_unsupported_gateway_options(&Some(serde_json::json!({"type": "NONE"})), Some("IPV4")).is_ok());
        assert!(check_unsupported_gateway_options(&None, Some("IPV6")).is_err());
    }
}
