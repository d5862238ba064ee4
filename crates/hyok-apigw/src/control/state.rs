//! What the control plane keeps: the gateway, deployment and work request records under one
//! lock, and the bookkeeping of work requests.

use super::wire::{
    BASE_PATH, DeploymentResource, GatewayResource, WorkRequest, WorkRequestError, WorkRequestLog, WorkRequestResource,
    WorkRequestStatus,
};
use crate::plane::DeploymentRuntimeSpec;
use hyok_oci_rest::{
    OciError, OciResult,
    conventions::{LifecycleState, oci_now},
};
use std::{collections::HashMap, net::Ipv4Addr, sync::Arc};

pub(super) struct GatewayRec {
    pub(super) res: GatewayResource,
    /// Creation order: lists sort by it for `timeCreated`.
    pub(super) seq: u64,
    pub(super) ip: Option<Ipv4Addr>,
    /// Chain and key from the Certificates service; `None` means the default certificate.
    pub(super) tls: Option<(String, String)>,
    /// Backend CA PEMs: the lab public root first, then the resolved `caBundles`.
    pub(super) bundles: Vec<String>,
    /// The data plane serves it (set once a start succeeds, cleared by a failure or a stop).
    pub(super) running: bool,
    /// Serialises the data-plane work of this gateway: a (re)start or stop takes it exclusively,
    /// deployment checks share it. So a restart installs exactly the ACTIVE deployments and no
    /// deployment check lands on a listener being replaced. Never held with the state lock.
    pub(super) ops: Arc<tokio::sync::RwLock<()>>,
}

pub(super) struct DeploymentRec {
    pub(super) res: DeploymentResource,
    /// Creation order: lists sort by it for `timeCreated`.
    pub(super) seq: u64,
}

impl DeploymentRec {
    /// The deployment as the data plane runs it.
    pub(super) fn runtime(&self) -> DeploymentRuntimeSpec {
        DeploymentRuntimeSpec {
            id: self.res.id.clone(),
            path_prefix: self.res.path_prefix.clone(),
            specification: self.res.specification.clone(),
        }
    }
}

pub(super) struct WorkRequestRec {
    pub(super) wr: WorkRequest,
    pub(super) errors: Vec<WorkRequestError>,
    pub(super) logs: Vec<WorkRequestLog>,
}

#[derive(Default)]
pub(super) struct ControlState {
    pub(super) gateways: HashMap<String, GatewayRec>,
    pub(super) deployments: HashMap<String, DeploymentRec>,
    pub(super) work_requests: HashMap<String, WorkRequestRec>,
    seq: u64,
}

impl ControlState {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn new_work_request(&mut self, op: &str, compartment: &str, entity: &str, id: &str) -> String {
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

    pub(super) fn start(&mut self, wr_id: &str) {
        if let Some(w) = self.work_requests.get_mut(wr_id) {
            w.wr.status = WorkRequestStatus::InProgress;
            w.wr.time_started = Some(oci_now());
        }
    }

    pub(super) fn log(&mut self, wr_id: &str, message: impl Into<String>) {
        if let Some(w) = self.work_requests.get_mut(wr_id) {
            w.logs.push(WorkRequestLog { message: message.into(), timestamp: oci_now() });
        }
    }

    /// Finish a work request: `Ok(action)` (`CREATED`, `UPDATED`, `DELETED`) or `Err((code, message))`.
    pub(super) fn finish(&mut self, wr_id: &str, outcome: Result<&str, (&str, String)>) {
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

/// A gateway that is not DELETED, else 404.
pub(super) fn live_gateway<'a>(s: &'a mut ControlState, id: &str) -> OciResult<&'a mut GatewayRec> {
    s.gateways
        .get_mut(id)
        .filter(|g| g.res.lifecycle_state != LifecycleState::Deleted)
        .ok_or_else(|| OciError::not_found(format!("gateway {id} not found or not authorized")))
}

/// A deployment that is not DELETED, else 404.
pub(super) fn live_deployment<'a>(s: &'a mut ControlState, id: &str) -> OciResult<&'a mut DeploymentRec> {
    s.deployments
        .get_mut(id)
        .filter(|d| d.res.lifecycle_state != LifecycleState::Deleted)
        .ok_or_else(|| OciError::not_found(format!("deployment {id} not found or not authorized")))
}
