//! The control plane's service object: what it is given, where it keeps its state, and the
//! checks every create shares.

use super::{
    state::ControlState,
    wire::{DeploymentResource, GatewayResource, WorkRequest},
};
use crate::{
    dataplane::Gateway,
    plane::{DataPlane, LocalDataPlane},
};
use hyok_core::{Clock, host::ServiceHost};
use hyok_netsim::NetworkModel;
use hyok_oci::CertificatesService;
use hyok_oci_rest::{
    OciError, OciResult, RetryTokens, SignatureVerifier,
    conventions::{oci_now, required_ocid},
};
use parking_lot::{Mutex, MutexGuard};
use std::{sync::Arc, time::Duration};

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

/// The API Gateway control plane. Share it as `Arc<ApiGatewayService>`.
pub struct ApiGatewayService {
    pub(super) deps: ControlDeps,
    state: Mutex<ControlState>,
    /// Replays creates behind `opc-retry-token` (the router's layer).
    pub(super) retry: RetryTokens,
    /// Lifecycle delays and the reconciler's rounds are timed on it.
    pub(super) clock: Clock,
    delay: Duration,
    pub(super) data_plane: Arc<dyn DataPlane>,
    /// The data plane when it runs in this process (for [`ApiGatewayService::gateway_runtime`]).
    local: Option<Arc<LocalDataPlane>>,
    /// `local` is the one [`ApiGatewayService::new`] made, so [`ApiGatewayService::with_clock`]
    /// may remake it on the new clock.
    own_local: bool,
}

impl std::fmt::Debug for ApiGatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGatewayService").finish_non_exhaustive()
    }
}

impl ApiGatewayService {
    /// A control plane with no gateways, on the system clock. Work starts 20 ms after the
    /// accepting call (so clients observe CREATING/UPDATING, as with OCI); see
    /// [`ApiGatewayService::with_lifecycle_delay`]. Gateways run in this process
    /// ([`LocalDataPlane`] on `deps.host`).
    pub fn new(deps: ControlDeps) -> Self {
        let local = Arc::new(LocalDataPlane::new(deps.host.clone()));
        Self {
            deps,
            state: Mutex::new(ControlState::default()),
            retry: RetryTokens::default(),
            clock: Clock::system(),
            delay: Duration::from_millis(20),
            data_plane: local.clone(),
            local: Some(local),
            own_local: true,
        }
    }

    /// Time lifecycle delays, the reconciler and retry tokens on `clock`; the in-process data
    /// plane [`ApiGatewayService::new`] made uses it too (a data plane given with
    /// [`ApiGatewayService::with_local_data_plane`] keeps its own). Call it before any gateway is
    /// created.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        if self.own_local {
            let local = Arc::new(LocalDataPlane::new(self.deps.host.clone()).with_clock(clock.clone()));
            self.data_plane = local.clone();
            self.local = Some(local);
        }
        self.retry = RetryTokens::new(clock.clone());
        self.clock = clock;
        self
    }

    /// Run the gateways on `data_plane` (e.g. a [`crate::plane::RemoteDataPlane`] in another
    /// container). Call it before any gateway is created. `deps.host` is then used only for the
    /// public CA of default certificates; [`ApiGatewayService::gateway_runtime`] answers `None`.
    pub fn with_data_plane(mut self, data_plane: Arc<dyn DataPlane>) -> Self {
        self.data_plane = data_plane;
        self.local = None;
        self.own_local = false;
        self
    }

    /// Run the gateways on this in-process data plane (keeps
    /// [`ApiGatewayService::gateway_runtime`] working).
    pub fn with_local_data_plane(mut self, local: Arc<LocalDataPlane>) -> Self {
        self.data_plane = local.clone();
        self.local = Some(local);
        self.own_local = false;
        self
    }

    /// Change how long asynchronous work waits before it starts.
    pub fn with_lifecycle_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock()
    }

    /// The pause before asynchronous work starts, so clients observe the transitional state.
    pub(super) async fn lifecycle_pause(&self) {
        self.clock.sleep(self.delay).await;
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

    /// `compartmentId`: required, an OCID, and a compartment the lab knows.
    pub(super) fn check_compartment<'a>(&self, value: &'a Option<String>) -> OciResult<&'a str> {
        let c = required_ocid(value, "compartmentId", "compartment")?;
        let known = &self.deps.compartments;
        if !known.is_empty() && !known.iter().any(|k| k == c) {
            return Err(OciError::not_found(format!("compartment {c} not found or not authorized")));
        }
        Ok(c)
    }
}

/// `displayName`: 1 to 255 characters.
pub(super) fn check_name(name: &str) -> OciResult<&str> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(OciError::invalid_parameter(format!("displayName must be 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(name)
}

/// `20260105090307` for generated display names (as the Console does).
pub(super) fn compact_time() -> String {
    oci_now().chars().filter(char::is_ascii_digit).take(14).collect()
}
