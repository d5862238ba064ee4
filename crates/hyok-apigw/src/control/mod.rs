//! The API Gateway control plane: OCI's REST API (`apigateway.<region>.oci.oraclecloud.com`,
//! `/20190501`) for gateways, deployments and the work requests that track them.
//!
//! Creates, updates and deletes are asynchronous as in OCI: the call answers at once (a create
//! with the resource in CREATING, an update or delete with 202) and carries
//! `opc-work-request-id`; the work runs in a task. A gateway becomes ACTIVE once its
//! [`DataPlane`](crate::plane::DataPlane) serves it at its private IP (by default
//! [`LocalDataPlane`](crate::plane::LocalDataPlane): a [`Gateway`](crate::dataplane::Gateway) in
//! this process, hosted through the lab's [`ServiceHost`](hyok_core::host::ServiceHost); see
//! [`ApiGatewayService::with_data_plane`] for one in another process); a deployment becomes
//! ACTIVE only when the data plane's backend check
//! ([`Gateway::check_deployment`](crate::dataplane::Gateway::check_deployment)) passes, else
//! FAILED with the cause in `lifecycleDetails`. Invariant: the data plane serves exactly the
//! ACTIVE deployments. The state lock is never held while the data plane works.
//!
//! Modules, lowest first (each imports only modules above it): `wire` (paths and bodies),
//! `state` (records, work request bookkeeping), `service` ([`ApiGatewayService`]), `gateways`,
//! `deployments`, `reconcile`, `api` (handlers and [`router`]).

mod api;
mod deployments;
mod gateways;
mod reconcile;
mod service;
mod state;
mod wire;

pub use crate::plane::GATEWAY_PORT;
pub use api::{ListQuery, MAX_CONTROL_BODY_BYTES, router};
pub use gateways::GATEWAY_DOMAIN;
pub use service::{ApiGatewayService, ControlDeps};
pub use wire::{
    BASE_PATH, CaBundleRef, CreateDeploymentDetails, CreateGatewayDetails, DeploymentResource, GatewayResource, HOST,
    IpAddress, REGION, UpdateDeploymentDetails, UpdateGatewayDetails, WORK_REQUEST_HEADER, WorkRequest,
    WorkRequestError, WorkRequestLog, WorkRequestResource, WorkRequestStatus, WorkRequestSummary,
};
