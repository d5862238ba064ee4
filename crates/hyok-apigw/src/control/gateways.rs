//! Gateways: CreateGateway, UpdateGateway and DeleteGateway, and starting a gateway on the
//! data plane (with its certificate, or the default one made here).

use super::{
    service::{ApiGatewayService, check_name, compact_time},
    state::{DeploymentRec, GatewayRec, live_gateway},
    wire::{CaBundleRef, CreateGatewayDetails, GatewayResource, IpAddress, UpdateGatewayDetails},
};
use crate::{
    error::GatewayError,
    plane::{DeploymentRuntimeSpec, GATEWAY_PORT, GatewayRuntimeSpec},
    tls,
};
use http::{HeaderMap, StatusCode};
use hyok_netsim::NetError;
use hyok_oci_rest::{
    OciError, OciResult,
    conventions::{LifecycleState, check_if_match, etag_of, oci_now, required, required_ocid},
};
use std::{collections::BTreeMap, net::Ipv4Addr, sync::Arc};
use tokio::sync::OwnedRwLockWriteGuard;

/// Domain of gateway host names (`<random>.apigateway.<region>.oci.customer-oci.com`).
pub const GATEWAY_DOMAIN: &str = "apigateway.eu-frankfurt-1.oci.customer-oci.com";

/// What resolving a certificate gives: the TLS material (or the default) and its OCID.
type CertChoice = (Option<String>, Option<(String, String)>);

impl ApiGatewayService {
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
        tls::check_gateway_certificate(&mat.chain_pem, &mat.key_pem).map_err(|e| match e {
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

    /// Start a gateway's work request after the lifecycle pause and take the gateway's
    /// operation lock exclusively; `None` (and the work request failed) when the gateway is gone.
    async fn begin_gateway_work(&self, id: &str, wr: &str, doing: &str) -> Option<OwnedRwLockWriteGuard<()>> {
        self.lifecycle_pause().await;
        let ops = {
            let mut s = self.lock();
            s.start(wr);
            s.gateways.get(id).map(|g| g.ops.clone())
        };
        let Some(ops) = ops else {
            self.gateway_gone(wr, doing);
            return None;
        };
        Some(ops.write_owned().await)
    }

    fn gateway_gone(&self, wr: &str, doing: &str) {
        self.lock().finish(wr, Err(("InternalError", format!("the gateway disappeared while it was {doing}"))));
    }

    async fn run_gateway_create(self: Arc<Self>, id: String, wr: String) {
        let Some(_ops) = self.begin_gateway_work(&id, &wr, "created").await else { return };
        let setup = self
            .lock()
            .gateways
            .get(&id)
            .filter(|g| g.res.lifecycle_state == LifecycleState::Creating)
            .and_then(Launch::of);
        let Some(launch) = setup else {
            self.gateway_gone(&wr, "created");
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
    pub(super) fn launch_snapshot(&self, id: &str) -> Option<(Launch, bool, Vec<DeploymentRuntimeSpec>)> {
        let s = self.lock();
        let deps: Vec<DeploymentRuntimeSpec> = s
            .deployments
            .values()
            .filter(|d| d.res.gateway_id == id && d.res.lifecycle_state == LifecycleState::Active)
            .map(DeploymentRec::runtime)
            .collect();
        s.gateways.get(id).and_then(|g| Launch::of(g).map(|l| (l, g.running, deps)))
    }

    /// Have the data plane serve the gateway at `ip:443` with `deployments` installed. The
    /// default certificate is made here: the control plane holds the public CA.
    pub(super) async fn launch(&self, l: Launch, deployments: Vec<DeploymentRuntimeSpec>) -> Result<(), String> {
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
        // Exclusive: no deployment check runs while the listener may be replaced, so the
        // snapshot below is exactly what must be served.
        let Some(_ops) = self.begin_gateway_work(&id, &wr, "updated").await else { return };
        let Some((launch, running, deps)) = self.launch_snapshot(&id) else {
            self.gateway_gone(&wr, "updated");
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
            this.lifecycle_pause().await;
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
}

/// What the data plane needs to start a gateway (its certificate may still be the default).
pub(super) struct Launch {
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

#[derive(Default, Clone, Copy)]
struct GatewayChange {
    tls_changed: bool,
    bundles_changed: bool,
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
    fn unsupported_options_are_named() {
        let e = check_unsupported_gateway_options(&Some(serde_json::json!({"type": "EXTERNAL_RESP_CACHE"})), None)
            .expect_err("cache");
        assert!(e.message.contains("responseCacheDetails"));
        assert!(check_unsupported_gateway_options(&Some(serde_json::json!({"type": "NONE"})), Some("IPV4")).is_ok());
        assert!(check_unsupported_gateway_options(&None, Some("IPV6")).is_err());
    }
}
