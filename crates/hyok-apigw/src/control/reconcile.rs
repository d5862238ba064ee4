//! Keeping the data plane in line with the ACTIVE gateways, for a data plane in another process
//! that may restart and come back empty.

use super::service::ApiGatewayService;
use hyok_oci_rest::conventions::LifecycleState;
use std::{sync::Arc, time::Duration};

impl ApiGatewayService {
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

    /// Run [`ApiGatewayService::reconcile`] every `every` (on the service's clock) until the
    /// service is dropped: a data plane in another process that restarts gets its gateways back
    /// by itself.
    pub fn spawn_reconciler(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let (service, clock) = (Arc::downgrade(self), self.clock.clone());
        tokio::spawn(async move {
            let mut wait = every;
            loop {
                clock.sleep(wait).await;
                let Some(service) = service.upgrade() else { break };
                let started = clock.now();
                service.reconcile().await;
                // Rounds start `every` apart; after a round that overran, `every` after its end.
                let took = clock.since(started);
                wait = if took < every { every - took } else { every };
            }
        })
    }
}
