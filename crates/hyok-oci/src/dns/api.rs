//! The DNS API's state: settings, what it keeps beside the model (names, tags, passing
//! lifecycle states), and how model entries become OCI resources.

use crate::{
    common::oci_time_from,
    dns::shapes::{AttachedView, RecordResource, ResolverResource, ViewResource, ZoneResource, record_hash},
};
use hyok_core::Clock;
use hyok_dns::{DnsError, DnsModel, ResolverInfo, ViewInfo, ZoneInfo};
use hyok_oci_rest::{
    OciError, RetryTokens,
    conventions::{LifecycleState, OciResult, etag_of, oci_time},
    signing::SignatureVerifier,
};
use parking_lot::{Mutex, MutexGuard, RwLock};
use serde::Deserialize;
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

/// The service's host in the lab region (the SDKs' `dns.{region}.oci.{domain}`).
pub const HOST: &str = "dns.eu-frankfurt-1.oci.oraclecloud.com";
/// The older host name of the same service, which OCI still answers on.
pub const LEGACY_HOST: &str = "dns.eu-frankfurt-1.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20180115";

const MAX_NAME_LEN: usize = 255;

/// Service settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct DnsConfig {
    /// How long a created zone stays CREATING and an updated resolver UPDATING.
    pub lifecycle_delay_ms: u64,
    /// Compartment (or tenancy) OCIDs that exist; empty accepts any OCID-shaped id.
    pub compartments: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Host used in the `self` links and `Location` headers.
    pub self_host: String,
    /// Time for lifecycle transitions and retry tokens (tests pass a manual clock).
    #[serde(skip)]
    pub clock: Clock,
    /// Region key of this regional endpoint (`FRA`): with [`DnsConfig::network`] set, the API
    /// shows only the resolvers of this region's VCNs, as OCI's regional DNS API does. Empty
    /// shows every resolver.
    pub region_key: String,
    /// The network model that says which region a resolver's VCN is in; without it every
    /// resolver is shown.
    #[serde(skip)]
    pub network: Option<hyok_netsim::NetworkModel>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            lifecycle_delay_ms: 20,
            compartments: Vec::new(),
            max_body_bytes: 256 * 1024,
            self_host: HOST.into(),
            clock: Clock::system(),
            region_key: "FRA".into(),
            network: None,
        }
    }
}

/// What the API keeps beside the model (the model has no tags or renames).
#[derive(Clone, Debug, Default)]
pub(super) struct Meta {
    pub(super) display_name: Option<String>,
    pub(super) freeform_tags: BTreeMap<String, String>,
    pub(super) defined_tags: BTreeMap<String, Value>,
    time_updated: Option<String>,
}

impl Meta {
    /// Apply an update's display name and tags; an absent field keeps the current value.
    pub(super) fn apply(
        &mut self,
        display_name: Option<String>,
        freeform_tags: Option<BTreeMap<String, String>>,
        defined_tags: Option<BTreeMap<String, Value>>,
    ) {
        if let Some(n) = display_name {
            self.display_name = Some(n);
        }
        if let Some(f) = freeform_tags {
            self.freeform_tags = f;
        }
        if let Some(t) = defined_tags {
            self.defined_tags = t;
        }
    }
}

pub(super) struct Inner {
    pub(super) config: DnsConfig,
    pub(super) dns: DnsModel,
    pub(super) verifier: Arc<SignatureVerifier>,
    pub(super) retry: RetryTokens,
    pub(super) meta: RwLock<HashMap<String, Meta>>,
    /// Resources in a passing state (CREATING, UPDATING) until an instant of the config's clock.
    transitions: Mutex<HashMap<String, (LifecycleState, Instant)>>,
    /// Serialises read-check-write sequences of API writers (`if-match`, record REMOVE matching).
    gate: Mutex<()>,
}

/// The DNS API state. Cheap to clone.
#[derive(Clone)]
pub struct DnsApi {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for DnsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsApi").finish_non_exhaustive()
    }
}

pub(super) fn dns_error(e: DnsError) -> OciError {
    match e {
        DnsError::NotFound(what) => OciError::not_found(format!("{what} not found or not authorized")),
        DnsError::ZoneExists(..) | DnsError::Conflict(_) => OciError::conflict(e.to_string()),
        other => OciError::invalid_parameter(other.to_string()),
    }
}

pub(super) fn check_scope(scope: Option<&str>) -> OciResult<Option<bool>> {
    match scope {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("PRIVATE") => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("GLOBAL") => Ok(Some(false)),
        Some(s) => Err(OciError::invalid_parameter(format!("scope {s:?} must be GLOBAL or PRIVATE"))),
    }
}

pub(super) fn display_name_ok(name: &str) -> OciResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(OciError::invalid_parameter(format!("displayName must be 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(())
}

impl DnsApi {
    /// Whether this regional API shows `resolver`: its VCN is in the API's region (when the
    /// config gives a network model and a region key).
    pub(super) fn in_region(&self, resolver: &ResolverInfo) -> bool {
        let key = &self.inner.config.region_key;
        match &self.inner.config.network {
            Some(net) if !key.is_empty() => {
                net.vcn(&resolver.attached_vcn_id).is_some_and(|v| v.region.eq_ignore_ascii_case(key))
            }
            _ => true,
        }
    }

    /// The API over `dns`, requiring signatures verified by `verifier`.
    pub fn new(config: DnsConfig, dns: DnsModel, verifier: Arc<SignatureVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                retry: RetryTokens::new(config.clock.clone()).with_max_body(config.max_body_bytes),
                config,
                dns,
                verifier,
                meta: RwLock::new(HashMap::new()),
                transitions: Mutex::new(HashMap::new()),
                gate: Mutex::new(()),
            }),
        }
    }

    /// The model this API changes.
    pub fn model(&self) -> &DnsModel {
        &self.inner.dns
    }

    /// Held across a read-check-write so `if-match` is atomic among API writers.
    pub(super) fn gate(&self) -> MutexGuard<'_, ()> {
        self.inner.gate.lock()
    }

    fn self_url(&self, kind: &str, id: &str) -> String {
        format!("https://{}{BASE_PATH}/{kind}/{id}", self.inner.config.self_host)
    }

    fn meta(&self, id: &str) -> Meta {
        self.inner.meta.read().get(id).cloned().unwrap_or_default()
    }

    pub(super) fn update_meta(&self, id: &str, f: impl FnOnce(&mut Meta)) {
        let now = oci_time(self.inner.config.clock.now_utc());
        let mut m = self.inner.meta.write();
        let e = m.entry(id.to_string()).or_default();
        f(e);
        e.time_updated = Some(now);
    }

    fn state(&self, id: &str) -> LifecycleState {
        let mut t = self.inner.transitions.lock();
        match t.get(id) {
            Some((state, until)) if self.inner.config.clock.now() < *until => *state,
            Some(_) => {
                t.remove(id);
                LifecycleState::Active
            }
            None => LifecycleState::Active,
        }
    }

    /// Show `state` for `lifecycle_delay_ms`, then ACTIVE (computed when read, no task).
    pub(super) fn pass_through(&self, id: &str, state: LifecycleState) {
        let delay = Duration::from_millis(self.inner.config.lifecycle_delay_ms);
        if delay.is_zero() {
            return;
        }
        let until = self.inner.config.clock.now() + delay;
        self.inner.transitions.lock().insert(id.to_string(), (state, until));
    }

    pub(super) fn view_resource(&self, v: &ViewInfo) -> ViewResource {
        let m = self.meta(&v.id);
        let created = oci_time_from(&v.time_created);
        ViewResource {
            id: v.id.clone(),
            display_name: m.display_name.unwrap_or_else(|| v.display_name.clone()),
            compartment_id: v.compartment_id.clone(),
            self_url: self.self_url("views", &v.id),
            is_protected: v.is_protected,
            lifecycle_state: self.state(&v.id),
            time_updated: m.time_updated.unwrap_or_else(|| created.clone()),
            time_created: created,
            freeform_tags: m.freeform_tags,
            defined_tags: m.defined_tags,
        }
    }

    pub(super) fn zone_resource(&self, z: &ZoneInfo) -> ZoneResource {
        let m = self.meta(&z.id);
        ZoneResource {
            id: z.id.clone(),
            name: z.name.clone(),
            zone_type: "PRIMARY",
            scope: "PRIVATE",
            view_id: z.view_id.clone(),
            compartment_id: z.compartment_id.clone(),
            self_url: self.self_url("zones", &z.id),
            serial: z.serial,
            version: z.serial.to_string(),
            lifecycle_state: self.state(&z.id),
            is_protected: false,
            resolution_mode: "STATIC",
            dnssec_state: "DISABLED",
            time_created: oci_time_from(&z.time_created),
            nameservers: Vec::new(),
            external_masters: Vec::new(),
            external_downstreams: Vec::new(),
            freeform_tags: m.freeform_tags,
            defined_tags: m.defined_tags,
        }
    }

    pub(super) fn resolver_resource(&self, r: &ResolverInfo) -> ResolverResource {
        let m = self.meta(&r.id);
        let created = oci_time_from(&r.time_created);
        ResolverResource {
            id: r.id.clone(),
            display_name: m.display_name.unwrap_or_else(|| r.display_name.clone()),
            compartment_id: r.compartment_id.clone(),
            attached_vcn_id: r.attached_vcn_id.clone(),
            default_view_id: r.default_view_id.clone(),
            attached_views: r.attached_views.iter().map(|v| AttachedView { view_id: v.clone() }).collect(),
            rules: Vec::new(),
            endpoints: Vec::new(),
            is_protected: true,
            lifecycle_state: self.state(&r.id),
            self_url: self.self_url("resolvers", &r.id),
            time_updated: m.time_updated.unwrap_or_else(|| created.clone()),
            time_created: created,
            freeform_tags: m.freeform_tags,
            defined_tags: m.defined_tags,
        }
    }

    pub(super) fn record_resources(&self, z: &ZoneInfo) -> Vec<RecordResource> {
        z.records
            .iter()
            .map(|r| RecordResource {
                domain: r.domain.clone(),
                record_hash: record_hash(r),
                is_protected: false,
                rdata: r.rdata.clone(),
                rrset_version: z.serial.to_string(),
                rtype: r.rtype.clone(),
                ttl: r.ttl,
            })
            .collect()
    }

    pub(super) fn records_etag(z: &ZoneInfo) -> String {
        etag_of(&serde_json::json!({ "zone": z.id, "serial": z.serial, "records": z.records }))
    }
}
