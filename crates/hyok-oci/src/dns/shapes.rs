//! The DNS API's resource shapes (`View`, `Zone`, `Resolver`, `Record`) and request bodies.

use hyok_dns::RecordData;
use hyok_oci_rest::conventions::LifecycleState;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// `STATIC`: a private zone answers from its own records.
    pub resolution_mode: &'static str,
    /// `DISABLED`: the lab signs nothing (DNSSEC is for global zones).
    pub dnssec_state: &'static str,
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
