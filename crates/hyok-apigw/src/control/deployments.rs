//! Deployments: CreateDeployment, UpdateDeployment (which re-runs the backend check) and
//! DeleteDeployment; the data plane's backend check decides ACTIVE or FAILED.

use super::{
    service::{ApiGatewayService, check_name, compact_time},
    state::{DeploymentRec, live_deployment, live_gateway},
    wire::{CreateDeploymentDetails, DeploymentResource, UpdateDeploymentDetails},
};
use crate::spec::{self, ApiSpecification};
use http::HeaderMap;
use hyok_oci_rest::{
    OciError, OciResult,
    conventions::{LifecycleState, check_if_match, etag_of, oci_now, required, required_ocid},
};
use std::{collections::BTreeMap, sync::Arc};

impl ApiGatewayService {
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
        s.deployments.insert(id.clone(), DeploymentRec { res: res.clone(), seq });
        drop(s);
        let this = self.clone();
        let (did, wid, rid) = (id, wr.clone(), request_id.to_string());
        tokio::spawn(async move { this.run_deployment_check(did, wid, rid, "CREATED").await });
        Ok((res, wr))
    }

    /// The backend check of a CREATING/UPDATING deployment, then ACTIVE (installed) or FAILED.
    async fn run_deployment_check(self: Arc<Self>, id: String, wr: String, request_id: String, action: &'static str) {
        self.lifecycle_pause().await;
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
                (d.res.gateway_id.clone(), running, d.runtime())
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
            this.lifecycle_pause().await;
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

fn parse_spec(raw: &serde_json::Value, prefix: &str) -> OciResult<ApiSpecification> {
    let spec = spec::parse_specification(raw).map_err(|e| OciError::invalid_parameter(e.to_string()))?;
    spec::validate(&spec, prefix).map_err(|errs| OciError::invalid_parameter(spec::join_errors(&errs)))?;
    Ok(spec)
}
