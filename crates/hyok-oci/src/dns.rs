//! The OCI DNS API (`dns.<region>.oci.oraclecloud.com`, `/20180115`) for private DNS over the
//! lab's [`DnsModel`]: views, private zones, records and VCN resolvers.
//!
//! Every change goes straight into the model, which bumps its epoch; the lab's DNS servers read
//! the model on every query, so `PUT /resolvers/{id}` with a new `attachedViews` list changes the
//! next answer. Lifecycle: a created zone shows CREATING and an updated resolver UPDATING for
//! `lifecycle_delay_ms`, computed at read time (no background task), then ACTIVE.

use crate::network::{array_page, check_compartment, lifecycle_filter, not_modelled, oci_time_from, query, sort_rows};
use axum::{
    Router,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_dns::{
    DnsError, DnsModel, RecordData, ResolverInfo, ViewInfo, ZoneInfo,
    model::{RecordOp, normalize_name, validate_record},
};
use hyok_oci_rest::OciError;
use hyok_oci_rest::RetryTokens;
use hyok_oci_rest::{
    conventions::{
        LifecycleState, OciResponse, OciResult, PageQuery, check_if_match, etag_of, oci_now, paginate, parse_json,
    },
    signing::{self, SignatureVerifier},
};
use md5::{Digest as _, Md5};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
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
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self { lifecycle_delay_ms: 20, compartments: Vec::new(), max_body_bytes: 256 * 1024, self_host: HOST.into() }
    }
}

/// What the API keeps beside the model (the model has no tags or renames).
#[derive(Clone, Debug, Default)]
struct Meta {
    display_name: Option<String>,
    freeform_tags: BTreeMap<String, String>,
    defined_tags: BTreeMap<String, Value>,
    time_updated: Option<String>,
}

struct Inner {
    config: DnsConfig,
    dns: DnsModel,
    verifier: Arc<SignatureVerifier>,
    retry: RetryTokens,
    meta: RwLock<HashMap<String, Meta>>,
    /// Resources in a passing state (CREATING, UPDATING) until an instant.
    transitions: Mutex<HashMap<String, (LifecycleState, Instant)>>,
    /// Serialises read-check-write sequences of API writers (`if-match`, record REMOVE matching).
    gate: Mutex<()>,
}

/// The DNS API state. Cheap to clone.
#[derive(Clone)]
pub struct DnsApi {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DnsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsApi").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Resource shapes

/// `View` / `ViewSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Canonical URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// Default views of resolvers are protected.
    pub is_protected: bool,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Created.
    pub time_created: String,
    /// Last changed through the API (creation time otherwise).
    pub time_updated: String,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

/// `Nameserver`.
#[derive(Clone, Debug, Serialize)]
pub struct Nameserver {
    /// Host name.
    pub hostname: String,
}

/// `Zone` (private, primary).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneResource {
    /// OCID.
    pub id: String,
    /// Zone name, no trailing dot.
    pub name: String,
    /// `PRIMARY`.
    pub zone_type: &'static str,
    /// `PRIVATE`.
    pub scope: &'static str,
    /// The view holding it.
    pub view_id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Canonical URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// SOA serial, bumped on every record change.
    pub serial: u32,
    /// The serial as a string (OCI's zone version).
    pub version: String,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Private zones the API creates are not protected.
    pub is_protected: bool,
    /// Created.
    pub time_created: String,
    /// Empty for private zones (resolved by VCN resolvers, not delegated).
    pub nameservers: Vec<Nameserver>,
    /// Empty (primary zones).
    pub external_masters: Vec<Value>,
    /// Empty.
    pub external_downstreams: Vec<Value>,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

impl ZoneResource {
    /// The `ZoneSummary` form used in lists.
    pub fn summary(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            for k in ["nameservers", "externalMasters", "externalDownstreams"] {
                o.remove(k);
            }
        }
        v
    }
}

/// `AttachedView`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachedView {
    /// The view.
    pub view_id: String,
}

/// `Resolver`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolverResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// The VCN it serves.
    pub attached_vcn_id: String,
    /// Its protected default view.
    pub default_view_id: String,
    /// Views consulted before the default view, in order.
    pub attached_views: Vec<AttachedView>,
    /// Forwarding rules (none in the lab).
    pub rules: Vec<Value>,
    /// Endpoints (none in the lab).
    pub endpoints: Vec<Value>,
    /// VCN resolvers are protected.
    pub is_protected: bool,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Canonical URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// Created.
    pub time_created: String,
    /// Last changed through the API (creation time otherwise).
    pub time_updated: String,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

impl ResolverResource {
    /// The `ResolverSummary` form used in lists.
    pub fn summary(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            for k in ["attachedViews", "rules", "endpoints"] {
                o.remove(k);
            }
        }
        v
    }
}

/// `Record`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordResource {
    /// Owner name.
    pub domain: String,
    /// MD5 of the record (hex), stable while the record is unchanged.
    pub record_hash: String,
    /// Never: the lab does not synthesise SOA/NS records.
    pub is_protected: bool,
    /// Record data.
    pub rdata: String,
    /// The zone version that last changed it (the lab: the current serial).
    pub rrset_version: String,
    /// Type.
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
}

/// The hash OCI gives a record (the lab: MD5 hex over domain, type, data and TTL).
pub fn record_hash(r: &RecordData) -> String {
    hex::encode(Md5::digest(format!("{}\n{}\n{}\n{}", r.domain, r.rtype, r.rdata, r.ttl).as_bytes()))
}

fn dns_error(e: DnsError) -> OciError {
    match e {
        DnsError::NotFound(what) => OciError::not_found(format!("{what} not found or not authorized")),
        DnsError::ZoneExists(..) | DnsError::Conflict(_) => OciError::conflict(e.to_string()),
        other => OciError::invalid_parameter(other.to_string()),
    }
}

fn check_scope(scope: Option<&str>) -> OciResult<Option<bool>> {
    match scope {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("PRIVATE") => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("GLOBAL") => Ok(Some(false)),
        Some(s) => Err(OciError::invalid_parameter(format!("scope {s:?} must be GLOBAL or PRIVATE"))),
    }
}

fn display_name_ok(name: &str) -> OciResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(OciError::invalid_parameter(format!("displayName must be 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// `CreateViewDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateViewDetails {
    /// Required.
    pub compartment_id: Option<String>,
    /// Display name (generated when absent).
    pub display_name: Option<String>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, Value>>,
}

/// `UpdateViewDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateViewDetails {
    /// New display name.
    pub display_name: Option<String>,
    /// Replaces the free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Replaces the defined tags.
    pub defined_tags: Option<BTreeMap<String, Value>>,
}

/// `CreateZoneDetails` (private primary zones only).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateZoneDetails {
    /// Zone name.
    pub name: Option<String>,
    /// Compartment OCID.
    pub compartment_id: Option<String>,
    /// `PRIMARY`.
    pub zone_type: Option<String>,
    /// `PRIVATE` (may also come as a query parameter).
    pub scope: Option<String>,
    /// The view (may also come as a query parameter).
    pub view_id: Option<String>,
    /// `NONE` (the CLI sends it).
    pub migration_source: Option<String>,
    /// Secondary zones only.
    pub external_masters: Option<Vec<Value>>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, Value>>,
}

/// `UpdateResolverDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResolverDetails {
    /// New display name.
    pub display_name: Option<String>,
    /// Replaces the attached views (raw, so errors name the index).
    pub attached_views: Option<Value>,
    /// Forwarding rules: only an empty list is accepted.
    pub rules: Option<Vec<Value>>,
    /// Replaces the free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Replaces the defined tags.
    pub defined_tags: Option<BTreeMap<String, Value>>,
}

/// `{items: [...]}` of `PATCH`/`PUT .../records` (raw, so errors name the index).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RecordItems {
    /// The operations or records.
    pub items: Option<Value>,
}

/// Query parameters that select a zone by name (`scope`, `viewId`, `compartmentId`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSelector {
    /// `PRIVATE` or `GLOBAL`.
    pub scope: Option<String>,
    /// The view, to pick a zone name that several views hold.
    pub view_id: Option<String>,
    /// The compartment.
    pub compartment_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The service

impl DnsApi {
    /// The API over `dns`, requiring signatures verified by `verifier`.
    pub fn new(config: DnsConfig, dns: DnsModel, verifier: Arc<SignatureVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                dns,
                verifier,
                retry: RetryTokens::default(),
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

    fn gate(&self) -> OciResult<parking_lot::MutexGuard<'_, ()>> {
        Ok(self.inner.gate.lock())
    }

    fn self_url(&self, kind: &str, id: &str) -> String {
        format!("https://{}{BASE_PATH}/{kind}/{id}", self.inner.config.self_host)
    }

    fn meta(&self, id: &str) -> Meta {
        self.inner.meta.read().get(id).cloned().unwrap_or_default()
    }

    fn update_meta(&self, id: &str, f: impl FnOnce(&mut Meta)) {
        {
            let mut m = self.inner.meta.write();
            let e = m.entry(id.to_string()).or_default();
            f(e);
            e.time_updated = Some(oci_now());
        }
    }

    fn state(&self, id: &str) -> LifecycleState {
        let mut t = self.inner.transitions.lock();
        match t.get(id) {
            Some((state, until)) if Instant::now() < *until => *state,
            Some(_) => {
                t.remove(id);
                LifecycleState::Active
            }
            None => LifecycleState::Active,
        }
    }

    fn pass_through(&self, id: &str, state: LifecycleState) {
        let delay = Duration::from_millis(self.inner.config.lifecycle_delay_ms);
        if delay.is_zero() {
            return;
        }
        {
            let mut t = self.inner.transitions.lock();
            t.insert(id.to_string(), (state, Instant::now() + delay));
        }
    }

    fn view_resource(&self, v: &ViewInfo) -> ViewResource {
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

    fn zone_resource(&self, z: &ZoneInfo) -> ZoneResource {
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
            time_created: oci_time_from(&z.time_created),
            nameservers: Vec::new(),
            external_masters: Vec::new(),
            external_downstreams: Vec::new(),
            freeform_tags: m.freeform_tags,
            defined_tags: m.defined_tags,
        }
    }

    fn resolver_resource(&self, r: &ResolverInfo) -> ResolverResource {
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

    fn record_resources(&self, z: &ZoneInfo) -> Vec<RecordResource> {
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

    fn records_etag(z: &ZoneInfo) -> String {
        etag_of(&serde_json::json!({ "zone": z.id, "serial": z.serial, "records": z.records }))
    }

    // --- views

    fn find_view(&self, id: &str) -> OciResult<ViewInfo> {
        self.inner.dns.view(id).ok_or_else(|| OciError::not_found(format!("view {id} not found or not authorized")))
    }

    /// CreateView.
    pub fn create_view(&self, d: CreateViewDetails) -> OciResult<ViewResource> {
        let compartment = check_compartment(&self.inner.config.compartments, &d.compartment_id)?;
        let name = match d.display_name {
            Some(n) => {
                display_name_ok(&n)?;
                n
            }
            None => format!("view{}", time::OffsetDateTime::now_utc().unix_timestamp()),
        };
        let v = self.inner.dns.create_view(&name, compartment, false);
        if d.freeform_tags.is_some() || d.defined_tags.is_some() {
            self.update_meta(&v.id, |m| {
                m.freeform_tags = d.freeform_tags.unwrap_or_default();
                m.defined_tags = d.defined_tags.unwrap_or_default();
            });
        }
        tracing::info!(view = %v.display_name, id = %v.id, "DNS view created through the API");
        Ok(self.view_resource(&v))
    }

    /// GetView.
    pub fn get_view(&self, id: &str) -> OciResult<ViewResource> {
        Ok(self.view_resource(&self.find_view(id)?))
    }

    /// UpdateView (display name and tags).
    pub fn update_view(&self, id: &str, d: UpdateViewDetails, headers: &HeaderMap) -> OciResult<ViewResource> {
        if let Some(n) = &d.display_name {
            display_name_ok(n)?;
        }
        let _g = self.gate()?;
        let current = self.get_view(id)?;
        check_if_match(headers, &etag_of(&current))?;
        self.update_meta(id, |m| {
            if let Some(n) = d.display_name {
                m.display_name = Some(n);
            }
            if let Some(f) = d.freeform_tags {
                m.freeform_tags = f;
            }
            if let Some(t) = d.defined_tags {
                m.defined_tags = t;
            }
        });
        self.get_view(id)
    }

    /// DeleteView: refused (409) for protected views and views still holding zones or attached
    /// to a resolver.
    pub fn delete_view(&self, id: &str, headers: &HeaderMap) -> OciResult<()> {
        let _g = self.gate()?;
        let current = self.get_view(id)?;
        check_if_match(headers, &etag_of(&current))?;
        self.inner.dns.delete_view(id).map_err(dns_error)?;
        {
            let mut m = self.inner.meta.write();
            m.remove(id);
        }
        Ok(())
    }

    // --- zones

    /// A zone by OCID, or by name (optionally narrowed by `viewId` / `compartmentId`).
    pub fn find_zone(&self, name_or_id: &str, sel: &ZoneSelector) -> OciResult<ZoneInfo> {
        let not_found = || OciError::not_found(format!("zone {name_or_id} not found or not authorized"));
        if check_scope(sel.scope.as_deref())? == Some(false) {
            return Err(not_found());
        }
        let zones = self.inner.dns.zones();
        let selected = |z: &&ZoneInfo| {
            sel.view_id.as_deref().is_none_or(|v| v == z.view_id)
                && sel.compartment_id.as_deref().is_none_or(|c| c == z.compartment_id)
        };
        if let Some(z) = zones.iter().find(|z| z.id == name_or_id) {
            return if selected(&z) { Ok(z.clone()) } else { Err(not_found()) };
        }
        if name_or_id.starts_with("ocid1.") {
            return Err(not_found());
        }
        let name = normalize_name(name_or_id).map_err(|_| not_found())?;
        let hits: Vec<&ZoneInfo> = zones.iter().filter(|z| z.name == name).filter(selected).collect();
        match hits.as_slice() {
            [] => Err(not_found()),
            [one] => Ok((*one).clone()),
            many => Err(OciError::invalid_parameter(format!(
                "zone name {name} is in {} views; pass viewId or use the zone OCID",
                many.len()
            ))),
        }
    }

    /// CreateZone (private primary zones). `query` carries the `scope`/`viewId`/`compartmentId`
    /// query parameters, which may stand in for the body's.
    pub fn create_zone(&self, d: CreateZoneDetails, query: &ZoneSelector) -> OciResult<ZoneResource> {
        let pick = |field: &str, body: &Option<String>, q: &Option<String>| -> OciResult<Option<String>> {
            match (body, q) {
                (Some(b), Some(q)) if !b.eq_ignore_ascii_case(q) => {
                    Err(OciError::invalid_parameter(format!("{field} is {b:?} in the body but {q:?} in the query")))
                }
                (Some(b), _) => Ok(Some(b.clone())),
                (None, q) => Ok(q.clone()),
            }
        };
        let scope = pick("scope", &d.scope, &query.scope)?;
        let view_id = pick("viewId", &d.view_id, &query.view_id)?;
        let compartment_src = pick("compartmentId", &d.compartment_id, &query.compartment_id)?;
        let compartment = check_compartment(&self.inner.config.compartments, &compartment_src)?.to_string();
        let Some(raw_name) = d.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            return Err(OciError::missing_parameter("name is required"));
        };
        if let Some(m) = &d.migration_source
            && !m.eq_ignore_ascii_case("NONE")
        {
            return Err(OciError::invalid_parameter(format!(
                "migrationSource {m:?} is not supported by the lab (NONE only)"
            )));
        }
        match check_scope(scope.as_deref())? {
            Some(true) => {}
            _ => {
                return Err(OciError::invalid_parameter(
                    "scope must be PRIVATE: the lab models only private zones (GLOBAL zones are public DNS)",
                ));
            }
        }
        match d.zone_type.as_deref() {
            None => {}
            Some(t) if t.eq_ignore_ascii_case("PRIMARY") => {}
            Some(t) => {
                return Err(OciError::invalid_parameter(format!("zoneType {t:?}: private zones must be PRIMARY")));
            }
        }
        if d.external_masters.as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(OciError::invalid_parameter("externalMasters is only allowed for SECONDARY zones"));
        }
        let Some(view_id) = view_id.filter(|v| !v.trim().is_empty()) else {
            return Err(OciError::missing_parameter("viewId is required for a PRIVATE zone"));
        };
        let view = self
            .inner
            .dns
            .view(&view_id)
            .ok_or_else(|| OciError::not_found(format!("viewId {view_id}: view not found or not authorized")))?;
        let name = normalize_name(raw_name).map_err(|e| OciError::invalid_parameter(format!("name: {e}")))?;
        if view.is_protected && (name == "oraclevcn.com" || name.ends_with(".oraclevcn.com")) {
            return Err(OciError::invalid_parameter(format!(
                "name {name}: a private zone at or under oraclevcn.com cannot be created in the protected default view of a VCN resolver"
            )));
        }
        let z = self.inner.dns.create_zone(&name, &view_id, &compartment).map_err(dns_error)?;
        self.pass_through(&z.id, LifecycleState::Creating);
        if d.freeform_tags.is_some() || d.defined_tags.is_some() {
            self.update_meta(&z.id, |m| {
                m.freeform_tags = d.freeform_tags.unwrap_or_default();
                m.defined_tags = d.defined_tags.unwrap_or_default();
            });
        }
        tracing::info!(zone = %z.name, view = %view.display_name, "private zone created through the DNS API");
        Ok(self.zone_resource(&z))
    }

    /// GetZone.
    pub fn get_zone(&self, name_or_id: &str, sel: &ZoneSelector) -> OciResult<ZoneResource> {
        Ok(self.zone_resource(&self.find_zone(name_or_id, sel)?))
    }

    /// DeleteZone.
    pub fn delete_zone(&self, name_or_id: &str, sel: &ZoneSelector, headers: &HeaderMap) -> OciResult<()> {
        let _g = self.gate()?;
        let z = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &etag_of(&self.zone_resource(&z)))?;
        self.inner.dns.delete_zone(&z.id).map_err(dns_error)?;
        tracing::info!(zone = %z.name, "private zone deleted through the DNS API");
        Ok(())
    }

    // --- records

    /// PatchZoneRecords: `ADD` and `REMOVE` operations, applied all or nothing.
    pub fn patch_records(
        &self,
        name_or_id: &str,
        sel: &ZoneSelector,
        body: RecordItems,
        headers: &HeaderMap,
    ) -> OciResult<ZoneInfo> {
        let items = items_of(body)?;
        let _g = self.gate()?;
        let zone = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &Self::records_etag(&zone))?;
        let mut ops: Vec<(RecordOp, RecordData)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let f = |k: &str| item.get(k).filter(|v| !v.is_null());
            let op = match f("operation").and_then(Value::as_str) {
                None => return Err(OciError::missing_parameter(format!("items[{i}].operation is required"))),
                Some(o) if o.eq_ignore_ascii_case("ADD") => RecordOp::Add,
                Some(o) if o.eq_ignore_ascii_case("REMOVE") => RecordOp::Remove,
                Some(o) if o.eq_ignore_ascii_case("REQUIRE") || o.eq_ignore_ascii_case("PROHIBIT") => {
                    return Err(OciError::invalid_parameter(format!(
                        "items[{i}].operation {o} is not supported by the lab (ADD, REMOVE)"
                    )));
                }
                Some(o) => {
                    return Err(OciError::invalid_parameter(format!(
                        "items[{i}].operation {o:?} must be ADD, REMOVE, REQUIRE or PROHIBIT"
                    )));
                }
            };
            match op {
                RecordOp::Add => ops.push((RecordOp::Add, record_of(&zone, i, item)?)),
                RecordOp::Remove => {
                    let matched = matching_records(&zone, i, item)?;
                    ops.extend(matched.into_iter().map(|r| (RecordOp::Remove, r)));
                }
            }
        }
        let z = self.inner.dns.patch_records(&zone.id, &ops).map_err(dns_error)?;
        tracing::info!(zone = %z.name, operations = ops.len(), serial = z.serial, "zone records patched through the DNS API");
        Ok(z)
    }

    /// UpdateZoneRecords: replace every record.
    pub fn replace_records(
        &self,
        name_or_id: &str,
        sel: &ZoneSelector,
        body: RecordItems,
        headers: &HeaderMap,
    ) -> OciResult<ZoneInfo> {
        let items = items_of(body)?;
        let _g = self.gate()?;
        let zone = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &Self::records_etag(&zone))?;
        let records = items.iter().enumerate().map(|(i, it)| record_of(&zone, i, it)).collect::<OciResult<Vec<_>>>()?;
        let z = self.inner.dns.replace_records(&zone.id, &records).map_err(dns_error)?;
        tracing::info!(zone = %z.name, records = records.len(), "zone records replaced through the DNS API");
        Ok(z)
    }

    // --- resolvers

    fn find_resolver(&self, id: &str) -> OciResult<ResolverInfo> {
        self.inner
            .dns
            .resolver(id)
            .ok_or_else(|| OciError::not_found(format!("resolver {id} not found or not authorized")))
    }

    /// GetResolver.
    pub fn get_resolver(&self, id: &str) -> OciResult<ResolverResource> {
        Ok(self.resolver_resource(&self.find_resolver(id)?))
    }

    /// UpdateResolver: `attachedViews` replaces the list (the default view stays implicit).
    /// The change is live at once; the resolver shows UPDATING for `lifecycle_delay_ms`.
    pub fn update_resolver(
        &self,
        id: &str,
        d: UpdateResolverDetails,
        headers: &HeaderMap,
    ) -> OciResult<ResolverResource> {
        if let Some(n) = &d.display_name {
            display_name_ok(n)?;
        }
        if d.rules.as_ref().is_some_and(|r| !r.is_empty()) {
            return Err(OciError::invalid_parameter(
                "rules: forwarding rules are not modelled by the lab (they need resolver endpoints); send [] or omit",
            ));
        }
        let _g = self.gate()?;
        let current = self.find_resolver(id)?;
        check_if_match(headers, &etag_of(&self.resolver_resource(&current)))?;
        let views = match d.attached_views {
            None => None,
            Some(raw) => Some(self.attached_view_ids(&current, raw)?),
        };
        if let Some(views) = &views {
            self.inner.dns.set_attached_views(id, views.clone()).map_err(dns_error)?;
            tracing::info!(resolver = %current.display_name, views = ?views, "resolver attached views replaced through the DNS API");
        }
        let touched = d.display_name.is_some() || d.freeform_tags.is_some() || d.defined_tags.is_some();
        if touched || views.is_some() {
            self.update_meta(id, |m| {
                if let Some(n) = d.display_name {
                    m.display_name = Some(n);
                }
                if let Some(f) = d.freeform_tags {
                    m.freeform_tags = f;
                }
                if let Some(t) = d.defined_tags {
                    m.defined_tags = t;
                }
            });
            self.pass_through(id, LifecycleState::Updating);
        }
        self.get_resolver(id)
    }

    fn attached_view_ids(&self, resolver: &ResolverInfo, raw: Value) -> OciResult<Vec<String>> {
        let Value::Array(items) = raw else {
            return Err(OciError::invalid_parameter("attachedViews must be an array of {\"viewId\": ...}"));
        };
        let mut ids: Vec<String> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(obj) = item.as_object() else {
                return Err(OciError::invalid_parameter(format!("attachedViews[{i}] must be an object with viewId")));
            };
            let id = match obj.get("viewId") {
                None | Some(Value::Null) => {
                    return Err(OciError::missing_parameter(format!("attachedViews[{i}].viewId is required")));
                }
                Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                Some(_) => {
                    return Err(OciError::invalid_parameter(format!(
                        "attachedViews[{i}].viewId must be a view OCID string"
                    )));
                }
            };
            if self.inner.dns.view(&id).is_none() {
                return Err(OciError::not_found(format!(
                    "attachedViews[{i}].viewId {id}: view not found or not authorized"
                )));
            }
            if id == resolver.default_view_id {
                return Err(OciError::invalid_parameter(format!(
                    "attachedViews[{i}].viewId {id} is the resolver's default view, which is always consulted last"
                )));
            }
            if ids.contains(&id) {
                return Err(OciError::invalid_parameter(format!("attachedViews[{i}].viewId {id} is listed twice")));
            }
            ids.push(id);
        }
        Ok(ids)
    }
}

fn items_of(body: RecordItems) -> OciResult<Vec<Value>> {
    match body.items {
        None | Some(Value::Null) => Err(OciError::missing_parameter("items is required")),
        Some(Value::Array(a)) => {
            if let Some(i) = a.iter().position(|v| !v.is_object()) {
                return Err(OciError::invalid_parameter(format!("items[{i}] must be an object")));
            }
            Ok(a)
        }
        Some(_) => Err(OciError::invalid_parameter("items must be an array")),
    }
}

fn str_field<'a>(item: &'a Value, i: usize, key: &str) -> OciResult<Option<&'a str>> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(OciError::invalid_parameter(format!("items[{i}].{key} must be a string"))),
    }
}

/// A full record from an ADD operation or a PUT item, validated against the zone.
fn record_of(zone: &ZoneInfo, i: usize, item: &Value) -> OciResult<RecordData> {
    let need = |k: &str| -> OciResult<&str> {
        str_field(item, i, k)?.ok_or_else(|| OciError::missing_parameter(format!("items[{i}].{k} is required")))
    };
    let domain = need("domain")?;
    let rtype = need("rtype")?;
    let rdata = need("rdata")?;
    let ttl = match item.get("ttl") {
        None | Some(Value::Null) => return Err(OciError::missing_parameter(format!("items[{i}].ttl is required"))),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| OciError::invalid_parameter(format!("items[{i}].ttl must be a non-negative integer")))?,
    };
    normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("items[{i}].domain: {e}")))?;
    let r = RecordData { domain: domain.into(), rtype: rtype.into(), rdata: rdata.into(), ttl };
    validate_record(&zone.name, &r).map_err(|e| match e {
        // The domain was checked above, so a bad name here is CNAME rdata.
        DnsError::InvalidName(..) => OciError::invalid_parameter(format!("items[{i}].rdata: {e}")),
        other => OciError::invalid_parameter(format!("items[{i}]: {other}")),
    })
}

/// The zone's records a REMOVE item names: by `recordHash`, or by `domain` plus optional
/// `rtype` and `rdata`.
fn matching_records(zone: &ZoneInfo, i: usize, item: &Value) -> OciResult<Vec<RecordData>> {
    if let Some(hash) = str_field(item, i, "recordHash")? {
        let hit: Vec<RecordData> = zone.records.iter().filter(|r| record_hash(r) == hash).cloned().collect();
        if hit.is_empty() {
            return Err(OciError::invalid_parameter(format!("items[{i}].recordHash {hash} matches no record")));
        }
        return Ok(hit);
    }
    let domain = str_field(item, i, "domain")?.ok_or_else(|| {
        OciError::missing_parameter(format!("items[{i}].domain or items[{i}].recordHash is required"))
    })?;
    let domain = normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("items[{i}].domain: {e}")))?;
    let rtype = str_field(item, i, "rtype")?.map(str::to_ascii_uppercase);
    let rdata = match (str_field(item, i, "rdata")?, &rtype) {
        (None, _) => None,
        // Normalise the data the way stored records were (CNAME targets get a trailing dot).
        (Some(d), Some(t)) => Some(
            validate_record(
                &zone.name,
                &RecordData { domain: domain.clone(), rtype: t.clone(), rdata: d.into(), ttl: 0 },
            )
            .map(|r| r.rdata)
            .unwrap_or_else(|_| d.to_string()),
        ),
        (Some(d), None) => Some(d.to_string()),
    };
    Ok(zone
        .records
        .iter()
        .filter(|r| {
            r.domain == domain
                && rtype.as_deref().is_none_or(|t| t == r.rtype)
                && rdata.as_deref().is_none_or(|d| d == r.rdata)
        })
        .cloned()
        .collect())
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Query parameters of ListViews, ListResolvers and ListZones.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Required.
    pub compartment_id: Option<String>,
    /// Exact display name (views, resolvers).
    pub display_name: Option<String>,
    /// Exact id.
    pub id: Option<String>,
    /// Exact zone name.
    pub name: Option<String>,
    /// Zone name substring.
    pub name_contains: Option<String>,
    /// `PRIMARY`.
    pub zone_type: Option<String>,
    /// View filter (zones).
    pub view_id: Option<String>,
    /// `PRIVATE` or `GLOBAL`.
    pub scope: Option<String>,
    /// State filter.
    pub lifecycle_state: Option<String>,
    /// Sort key.
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    pub sort_order: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Page token.
    pub page: Option<String>,
}

/// Query parameters of the record reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordQuery {
    /// Zone selector.
    #[serde(flatten)]
    pub zone: ZoneSelector,
    /// Exact domain.
    pub domain: Option<String>,
    /// Domain substring.
    pub domain_contains: Option<String>,
    /// Type.
    pub rtype: Option<String>,
    /// `domain`, `rtype` or `ttl`.
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    pub sort_order: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Page token.
    pub page: Option<String>,
}

const DNS_STATES: [&str; 6] = ["ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "UPDATING"];

/// The fields views and resolvers are listed by.
struct Named<'a> {
    compartment_id: &'a str,
    display_name: &'a str,
    id: &'a str,
    state: LifecycleState,
    time_created: &'a str,
}

trait NamedRow {
    fn named(&self) -> Named<'_>;
}

/// Views and resolvers have the same listing fields under the same names.
macro_rules! named_rows {
    ($($resource:ty),+) => {$(
        impl NamedRow for $resource {
            fn named(&self) -> Named<'_> {
                Named {
                    compartment_id: &self.compartment_id,
                    display_name: &self.display_name,
                    id: &self.id,
                    state: self.lifecycle_state,
                    time_created: &self.time_created,
                }
            }
        }
    )+};
}
named_rows!(ViewResource, ResolverResource);

/// What every DNS list checks before it looks at a row: the compartment, the state filter, the
/// scope (GLOBAL lists nothing: the lab has only private DNS) and the page.
struct ListFilter {
    compartment: String,
    state: Option<String>,
    global: bool,
    page: PageQuery,
}

impl ListFilter {
    fn of(api: &DnsApi, q: &ListQuery) -> OciResult<Self> {
        Ok(Self {
            compartment: check_compartment(&api.inner.config.compartments, &q.compartment_id)?.to_string(),
            state: lifecycle_filter(q.lifecycle_state.as_deref(), &DNS_STATES)?,
            global: check_scope(q.scope.as_deref())? == Some(false),
            page: PageQuery { limit: q.limit.clone(), page: q.page.clone() },
        })
    }

    fn state_ok(&self, s: LifecycleState) -> bool {
        self.state.as_deref().is_none_or(|f| f == s.as_str())
    }

    /// A list of views or resolvers: filtered by compartment, `displayName`, `id` and state,
    /// sorted by `displayName` or time, then the page of their list bodies.
    fn named_page<T: NamedRow, B: Serialize + Clone>(
        &self,
        q: &ListQuery,
        rows: Vec<T>,
        body: impl Fn(&T) -> B,
    ) -> OciResult<OciResponse> {
        if self.global {
            return array_page::<Value>(&[], &self.page);
        }
        let mut rows: Vec<T> = rows
            .into_iter()
            .filter(|r| {
                let n = r.named();
                self.compartment == n.compartment_id
                    && q.display_name.as_deref().is_none_or(|d| d == n.display_name)
                    && q.id.as_deref().is_none_or(|i| i == n.id)
                    && self.state_ok(n.state)
            })
            .collect();
        sort_rows(&mut rows, q.sort_by.as_deref(), q.sort_order.as_deref(), "displayName", |r| {
            let n = r.named();
            (n.display_name, n.time_created)
        })?;
        let bodies: Vec<B> = rows.iter().map(body).collect();
        array_page(&bodies, &self.page)
    }
}

/// A 201 create response with `Location` (the DNS API's create responses carry one).
fn created(r: OciResult<OciResponse>) -> Response {
    match r {
        Ok(mut ok) => {
            ok.status = StatusCode::CREATED;
            let location = ok.body.get("self").and_then(Value::as_str).and_then(|s| HeaderValue::from_str(s).ok());
            let mut resp = ok.into_response();
            if let Some(l) = location {
                resp.headers_mut().insert(http::header::LOCATION, l);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn create_view_h(
    State(api): State<DnsApi>,
    q: Result<Query<ZoneSelector>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sel = match query(q) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_scope(sel.scope.as_deref()).and_then(|s| match s {
        Some(false) => Err(OciError::invalid_parameter("scope must be PRIVATE: views are private DNS")),
        _ => Ok(()),
    }) {
        return e.into_response();
    }
    let a = api.clone();
    let payload = body.clone();
    created(
        api.inner
            .retry
            .run("POST /views", &headers, &body, || async move {
                let d: CreateViewDetails = parse_json(&payload)?;
                OciResponse::resource(&a.create_view(d)?)
            })
            .await,
    )
}

async fn list_views_h(
    State(api): State<DnsApi>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let rows = api.inner.dns.views().iter().map(|v| api.view_resource(v)).collect();
    ListFilter::of(&api, &q)?.named_page(&q, rows, ViewResource::clone)
}

async fn get_view_h(State(api): State<DnsApi>, Path(id): Path<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_view(&id)?)
}

async fn update_view_h(
    State(api): State<DnsApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> OciResult<OciResponse> {
    let d: UpdateViewDetails = parse_json(&body)?;
    OciResponse::resource(&api.update_view(&id, d, &headers)?)
}

async fn delete_view_h(State(api): State<DnsApi>, Path(id): Path<String>, headers: HeaderMap) -> OciResult<StatusCode> {
    api.delete_view(&id, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_zone_h(
    State(api): State<DnsApi>,
    q: Result<Query<ZoneSelector>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sel = match query(q) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let a = api.clone();
    let payload = body.clone();
    // The query parameters are part of the request a retry must repeat.
    let scope = format!("POST /zones?{:?}", (&sel.scope, &sel.view_id, &sel.compartment_id));
    created(
        api.inner
            .retry
            .run(&scope, &headers, &body, || async move {
                let d: CreateZoneDetails = parse_json(&payload)?;
                OciResponse::resource(&a.create_zone(d, &sel)?)
            })
            .await,
    )
}

async fn list_zones_h(
    State(api): State<DnsApi>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let f = ListFilter::of(&api, &q)?;
    if f.global {
        return array_page::<Value>(&[], &f.page);
    }
    match q.zone_type.as_deref() {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("PRIMARY") => {}
        Some(t) if t.eq_ignore_ascii_case("SECONDARY") => return array_page::<Value>(&[], &f.page),
        Some(t) => return Err(OciError::invalid_parameter(format!("zoneType {t:?} must be PRIMARY or SECONDARY"))),
    }
    let name = q.name.as_deref().map(|n| n.trim_end_matches('.').to_ascii_lowercase());
    let contains = q.name_contains.as_deref().map(str::to_ascii_lowercase);
    let mut rows: Vec<ZoneResource> = api
        .inner
        .dns
        .zones()
        .iter()
        .map(|z| api.zone_resource(z))
        .filter(|z| {
            z.compartment_id == f.compartment
                && name.as_deref().is_none_or(|n| n == z.name)
                && contains.as_deref().is_none_or(|c| z.name.contains(c))
                && q.view_id.as_deref().is_none_or(|v| v == z.view_id)
                && f.state_ok(z.lifecycle_state)
        })
        .collect();
    // zoneType is PRIMARY for every lab zone, so sorting by it falls back to the name.
    let sort_by = q.sort_by.as_deref().map(|s| if s.eq_ignore_ascii_case("zoneType") { "name" } else { s });
    sort_rows(&mut rows, sort_by, q.sort_order.as_deref(), "name", |z| (z.name.as_str(), z.time_created.as_str()))?;
    let summaries: Vec<Value> = rows.iter().map(ZoneResource::summary).collect();
    array_page(&summaries, &f.page)
}

async fn get_zone_h(
    State(api): State<DnsApi>,
    Path(zone): Path<String>,
    q: Result<Query<ZoneSelector>, QueryRejection>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_zone(&zone, &query(q)?)?)
}

async fn delete_zone_h(
    State(api): State<DnsApi>,
    Path(zone): Path<String>,
    q: Result<Query<ZoneSelector>, QueryRejection>,
    headers: HeaderMap,
) -> OciResult<StatusCode> {
    api.delete_zone(&zone, &query(q)?, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A records collection page with the zone's records etag and `opc-total-items`.
fn records_response(api: &DnsApi, zone: &ZoneInfo, q: &RecordQuery, only_domain: Option<&str>) -> OciResult<Response> {
    let domain = match only_domain.or(q.domain.as_deref()) {
        None => None,
        Some(d) => Some(normalize_name(d).map_err(|e| OciError::invalid_parameter(format!("domain: {e}")))?),
    };
    let rtype = q.rtype.as_deref().map(str::to_ascii_uppercase);
    let contains = q.domain_contains.as_deref().map(str::to_ascii_lowercase);
    let mut rows: Vec<RecordResource> = api
        .record_resources(zone)
        .into_iter()
        .filter(|r| {
            domain.as_deref().is_none_or(|d| d == r.domain)
                && contains.as_deref().is_none_or(|c| r.domain.contains(c))
                && rtype.as_deref().is_none_or(|t| t == r.rtype)
        })
        .collect();
    let by = q.sort_by.as_deref().unwrap_or("domain");
    let ttl_key = |r: &RecordResource| format!("{:010}", r.ttl);
    let key = |r: &RecordResource| -> (String, String) {
        match by {
            "rtype" => (r.rtype.clone(), r.domain.clone()),
            "ttl" => (ttl_key(r), r.domain.clone()),
            _ => (r.domain.clone(), r.rtype.clone()),
        }
    };
    if !["domain", "rtype", "ttl"].contains(&by) {
        return Err(OciError::invalid_parameter(format!("sortBy {by:?} must be domain, rtype or ttl")));
    }
    let desc = match q.sort_order.as_deref() {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("ASC") => false,
        Some(s) if s.eq_ignore_ascii_case("DESC") => true,
        Some(o) => return Err(OciError::invalid_parameter(format!("sortOrder {o:?} must be ASC or DESC"))),
    };
    rows.sort_by(|a, b| {
        let o = key(a).cmp(&key(b)).then(a.rdata.cmp(&b.rdata));
        if desc { o.reverse() } else { o }
    });
    let total = rows.len();
    let (items, next) = paginate(&rows, &PageQuery { limit: q.limit.clone(), page: q.page.clone() }, Clone::clone)?;
    let mut ok = OciResponse::collection(&items, next)?;
    ok.etag = Some(DnsApi::records_etag(zone));
    let mut resp = ok.into_response();
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        resp.headers_mut().insert("opc-total-items", v);
    }
    Ok(resp)
}

async fn get_records_h(
    State(api): State<DnsApi>,
    Path(zone): Path<String>,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> OciResult<Response> {
    let q = query(q)?;
    let z = api.find_zone(&zone, &q.zone)?;
    records_response(&api, &z, &q, None)
}

async fn get_domain_records_h(
    State(api): State<DnsApi>,
    Path((zone, domain)): Path<(String, String)>,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> OciResult<Response> {
    let q = query(q)?;
    let z = api.find_zone(&zone, &q.zone)?;
    domain_in_zone(&z, &domain)?;
    records_response(&api, &z, &q, Some(&domain))
}

async fn get_rrset_h(
    State(api): State<DnsApi>,
    Path((zone, domain, rtype)): Path<(String, String, String)>,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> OciResult<Response> {
    let mut q = query(q)?;
    let z = api.find_zone(&zone, &q.zone)?;
    domain_in_zone(&z, &domain)?;
    q.rtype = Some(rtype);
    records_response(&api, &z, &q, Some(&domain))
}

fn domain_in_zone(z: &ZoneInfo, domain: &str) -> OciResult<()> {
    let d = normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("domain: {e}")))?;
    if d != z.name && !d.ends_with(&format!(".{}", z.name)) {
        return Err(OciError::invalid_parameter(format!("domain {d} is not inside zone {}", z.name)));
    }
    Ok(())
}

async fn patch_records_h(
    State(api): State<DnsApi>,
    Path(zone): Path<String>,
    q: Result<Query<RecordQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> OciResult<Response> {
    let q = query(q)?;
    let items: RecordItems = parse_json(&body)?;
    let z = api.patch_records(&zone, &q.zone, items, &headers)?;
    records_response(&api, &z, &RecordQuery::default(), None)
}

async fn replace_records_h(
    State(api): State<DnsApi>,
    Path(zone): Path<String>,
    q: Result<Query<RecordQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> OciResult<Response> {
    let q = query(q)?;
    let items: RecordItems = parse_json(&body)?;
    let z = api.replace_records(&zone, &q.zone, items, &headers)?;
    records_response(&api, &z, &RecordQuery::default(), None)
}

async fn list_resolvers_h(
    State(api): State<DnsApi>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let rows = api.inner.dns.resolvers().iter().map(|r| api.resolver_resource(r)).collect();
    ListFilter::of(&api, &q)?.named_page(&q, rows, ResolverResource::summary)
}

async fn get_resolver_h(State(api): State<DnsApi>, Path(id): Path<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_resolver(&id)?)
}

async fn update_resolver_h(
    State(api): State<DnsApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> OciResult<OciResponse> {
    let d: UpdateResolverDetails = parse_json(&body)?;
    OciResponse::resource(&api.update_resolver(&id, d, &headers)?)
}

async fn unknown_path(uri: http::Uri) -> OciError {
    OciError::not_found(format!("Unknown resource path {}", uri.path()))
}

/// The DNS API: `/20180115/...` behind signature verification, with `opc-request-id` on every
/// response and the configured body limit.
pub fn router(api: DnsApi) -> Router {
    let verifier = api.inner.verifier.clone();
    let limit = api.inner.config.max_body_bytes;
    let v1 = Router::new()
        .route("/views", get(list_views_h).post(create_view_h))
        .route("/views/{id}", get(get_view_h).put(update_view_h).delete(delete_view_h))
        .route("/zones", get(list_zones_h).post(create_zone_h))
        .route("/zones/{zone}", get(get_zone_h).delete(delete_zone_h))
        .route("/zones/{zone}/records", get(get_records_h).patch(patch_records_h).put(replace_records_h))
        .route("/zones/{zone}/records/{domain}", get(get_domain_records_h))
        .route("/zones/{zone}/records/{domain}/{rtype}", get(get_rrset_h))
        .route("/resolvers", get(list_resolvers_h))
        .route("/resolvers/{id}", get(get_resolver_h).put(update_resolver_h))
        .method_not_allowed_fallback(not_modelled)
        .with_state(api);
    let app = Router::new().nest(BASE_PATH, v1).fallback(unknown_path).layer(DefaultBodyLimit::max(limit));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> ZoneInfo {
        ZoneInfo {
            id: "z".into(),
            name: "oci-thales.lab".into(),
            view_id: "v".into(),
            compartment_id: "c".into(),
            serial: 3,
            time_created: "2026-01-05T09:03:07Z".into(),
            records: vec![
                RecordData { domain: "a.oci-thales.lab".into(), rtype: "A".into(), rdata: "10.0.0.1".into(), ttl: 30 },
                RecordData { domain: "a.oci-thales.lab".into(), rtype: "A".into(), rdata: "10.0.0.2".into(), ttl: 30 },
                RecordData {
                    domain: "gw.oci-thales.lab".into(),
                    rtype: "CNAME".into(),
                    rdata: "a.oci-thales.lab.".into(),
                    ttl: 30,
                },
            ],
        }
    }

    #[test]
    fn record_items_name_their_index_and_field() {
        let z = zone();
        let e = record_of(&z, 2, &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "A", "rdata": "1.2.3.4"}))
            .expect_err("no ttl");
        assert_eq!(e.message, "items[2].ttl is required");
        let e = record_of(&z, 0, &serde_json::json!({"domain": "x..lab", "rtype": "A", "rdata": "1.2.3.4", "ttl": 1}))
            .expect_err("bad domain");
        assert!(e.message.starts_with("items[0].domain"), "{}", e.message);
        let e = record_of(
            &z,
            1,
            &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "A", "rdata": "1.2.3", "ttl": 1}),
        )
        .expect_err("bad rdata");
        assert!(e.message.starts_with("items[1]: invalid record: rdata"), "{}", e.message);
        let e = record_of(
            &z,
            0,
            &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "CNAME", "rdata": "bad..x", "ttl": 1}),
        )
        .expect_err("bad cname");
        assert!(e.message.starts_with("items[0].rdata"), "{}", e.message);
    }

    #[test]
    fn remove_matches_by_fields_or_hash() {
        let z = zone();
        let all = matching_records(&z, 0, &serde_json::json!({"domain": "A.oci-thales.lab."})).expect("match");
        assert_eq!(all.len(), 2);
        let one = matching_records(
            &z,
            0,
            &serde_json::json!({"domain": "a.oci-thales.lab", "rtype": "a", "rdata": "10.0.0.2"}),
        )
        .expect("match");
        assert_eq!(one.len(), 1);
        let cname = matching_records(
            &z,
            0,
            &serde_json::json!({"domain": "gw.oci-thales.lab", "rtype": "CNAME", "rdata": "a.oci-thales.lab"}),
        )
        .expect("match");
        assert_eq!(cname.len(), 1, "CNAME data is compared normalised");
        let h = record_hash(&z.records[0]);
        assert_eq!(matching_records(&z, 0, &serde_json::json!({"recordHash": h})).expect("hash").len(), 1);
        assert!(matching_records(&z, 0, &serde_json::json!({"recordHash": "00"})).is_err());
    }
}
