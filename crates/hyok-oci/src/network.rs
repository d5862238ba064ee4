//! The OCI Networking (core, `iaas.<region>.oraclecloud.com`, `/20160918`) API over the lab's
//! [`NetworkModel`]: VCNs, subnets and security lists, `UpdateSecurityList`, and a VCN's DNS
//! resolver association (read from the [`DnsModel`]).
//!
//! The world file creates VCNs and subnets; this API reads them and changes security lists.
//! An update goes straight into the model, which bumps its epoch, so the next connection the lab
//! dials is checked against the new rules.

use crate::common::{check_compartment, lifecycle_filter, not_modelled, oci_time_from};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    routing::get,
};
use http::HeaderMap;
use hyok_dns::DnsModel;
use hyok_netsim::{EgressRule, IngressRule, NetError, NetworkModel, SecurityList, Subnet, Vcn};
use hyok_oci_rest::{
    ListParams, ListShape, OciError, OciJson, OciPath, OciQuery, Sort,
    conventions::{OciResponse, OciResult, check_if_match},
    extract::unknown_path,
    signing::{self, SignatureVerifier},
};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    net::Ipv4Addr,
    sync::Arc,
};

/// The service's host in the lab region.
pub const HOST: &str = "iaas.eu-frankfurt-1.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20160918";
/// Most rules OCI allows in one direction of one security list.
pub const MAX_RULES: usize = 200;

const MAX_NAME_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 255;

/// Service settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct NetworkConfig {
    /// Region key of the networks this regional endpoint shows (`FRA`); the model also holds
    /// the on-premises networks of other "regions". Empty shows every network.
    pub region_key: String,
    /// Compartment (or tenancy) OCIDs that exist; empty accepts any OCID-shaped id.
    pub compartments: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self { region_key: "FRA".into(), compartments: Vec::new(), max_body_bytes: 256 * 1024 }
    }
}

type Tags = (BTreeMap<String, String>, BTreeMap<String, Value>);

struct Inner {
    config: NetworkConfig,
    net: NetworkModel,
    dns: DnsModel,
    verifier: Arc<SignatureVerifier>,
    /// Tags set through the API (the model has no tags).
    tags: RwLock<HashMap<String, Tags>>,
    /// Serialises read-check-write of updates so `if-match` is atomic among API writers.
    gate: Mutex<()>,
}

/// The Networking API state. Cheap to clone.
#[derive(Clone)]
pub struct NetworkApi {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NetworkApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkApi").field("region_key", &self.inner.config.region_key).finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Resource shapes (OCI core `Vcn`, `Subnet`, `SecurityList`, `VcnDnsResolverAssociation`)

/// `Vcn`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VcnResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// First CIDR block (deprecated in OCI but still returned).
    pub cidr_block: String,
    /// All IPv4 CIDR blocks.
    pub cidr_blocks: Vec<String>,
    /// DNS label.
    pub dns_label: String,
    /// `<dnsLabel>.oraclevcn.com`.
    pub vcn_domain_name: String,
    /// The VCN's default security list, when the world gave it one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_security_list_id: Option<String>,
    /// The VCN's default route table (an id only: the lab routes over the world's links).
    pub default_route_table_id: String,
    /// The VCN's default DHCP options (an id only).
    pub default_dhcp_options_id: String,
    /// Always `AVAILABLE` (the world creates VCNs synchronously).
    pub lifecycle_state: &'static str,
    /// RFC 3339 with milliseconds.
    pub time_created: String,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

/// `Subnet`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Its VCN.
    pub vcn_id: String,
    /// CIDR block.
    pub cidr_block: String,
    /// IPv4 CIDR blocks.
    pub ipv4_cidr_blocks: Vec<String>,
    /// Null: lab subnets are regional.
    pub availability_domain: Option<String>,
    /// DNS label.
    pub dns_label: String,
    /// `<subnet>.<vcn>.oraclevcn.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_domain_name: Option<String>,
    /// Security lists.
    pub security_list_ids: Vec<String>,
    /// The VCN's default route table (required by the SDK's `Subnet`).
    pub route_table_id: String,
    /// The VCN's default DHCP options.
    pub dhcp_options_id: String,
    /// Private subnet.
    pub prohibit_public_ip_on_vnic: bool,
    /// Same as `prohibitPublicIpOnVnic`.
    pub prohibit_internet_ingress: bool,
    /// The subnet's first usable address (`.1`).
    pub virtual_router_ip: String,
    /// The virtual router's MAC (required by the SDK's `Subnet`): Oracle's `00:00:17` prefix and
    /// three bytes derived from the subnet OCID, so it is stable for the subnet.
    pub virtual_router_mac: String,
    /// Always `AVAILABLE`.
    pub lifecycle_state: &'static str,
    /// RFC 3339 with milliseconds.
    pub time_created: String,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

/// `SecurityList`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityListResource {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Its VCN.
    pub vcn_id: String,
    /// Ingress rules.
    pub ingress_security_rules: Vec<IngressRule>,
    /// Egress rules.
    pub egress_security_rules: Vec<EgressRule>,
    /// Always `AVAILABLE`.
    pub lifecycle_state: &'static str,
    /// RFC 3339 with milliseconds.
    pub time_created: String,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, Value>,
}

/// `VcnDnsResolverAssociation`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsResolverAssociation {
    /// The VCN.
    pub vcn_id: String,
    /// Its resolver.
    pub dns_resolver_id: String,
    /// `AVAILABLE`.
    pub lifecycle_state: &'static str,
}

/// `UpdateSecurityListDetails`; the rule lists stay raw JSON so each rule's error names its index.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSecurityListDetails {
    /// New display name.
    pub display_name: Option<String>,
    /// Replaces every ingress rule when present.
    pub ingress_security_rules: Option<Value>,
    /// Replaces every egress rule when present.
    pub egress_security_rules: Option<Value>,
    /// Replaces the free-form tags when present.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Replaces the defined tags when present.
    pub defined_tags: Option<BTreeMap<String, Value>>,
}

// ---------------------------------------------------------------------------------------------
// Validation

fn display_name_ok(name: &str) -> OciResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(OciError::invalid_parameter(format!("displayName must be 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(())
}

const NET_STATES: [&str; 5] = ["PROVISIONING", "AVAILABLE", "TERMINATING", "TERMINATED", "UPDATING"];

// ---------------------------------------------------------------------------------------------
// Rule parsing

/// Drop `null` members so optional fields sent as null (some SDKs do) read as absent.
fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        for x in m.values_mut() {
            strip_nulls(x);
        }
    }
}

/// Parse one direction's rules; every error names `field[index]`.
fn parse_rules<T: DeserializeOwned>(field: &str, raw: Value) -> OciResult<Vec<T>> {
    let Value::Array(items) = raw else {
        return Err(OciError::invalid_parameter(format!("{field} must be an array of rules")));
    };
    if items.len() > MAX_RULES {
        return Err(OciError::invalid_parameter(format!(
            "{field} has {} rules; a security list holds at most {MAX_RULES} per direction",
            items.len()
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            if !item.is_object() {
                return Err(OciError::invalid_parameter(format!("{field}[{i}] must be an object")));
            }
            strip_nulls(&mut item);
            serde_json::from_value(item).map_err(|e| OciError::invalid_parameter(format!("{field}[{i}]: {e}")))
        })
        .collect()
}

/// Checks OCI makes beyond the model's (CIDR, protocol, port ranges): the address type, that
/// options match the protocol, and description length.
fn check_rule_shape(
    field: &str,
    i: usize,
    addr_type_field: &str,
    addr_type: &str,
    protocol: &str,
    has: [bool; 3],
    description: &Option<String>,
) -> OciResult<()> {
    let bad = |m: String| Err(OciError::invalid_parameter(format!("{field}[{i}]: {m}")));
    if addr_type != "CIDR_BLOCK" {
        return bad(format!(
            "{addr_type_field} {addr_type:?} is not supported by the lab (CIDR_BLOCK only; the Oracle Services Network is not addressable by rules)"
        ));
    }
    let [tcp, udp, icmp] = has;
    if tcp && protocol != "6" {
        return bad(format!("tcpOptions is only allowed with protocol \"6\" (TCP), not {protocol:?}"));
    }
    if udp && protocol != "17" {
        return bad(format!("udpOptions is only allowed with protocol \"17\" (UDP), not {protocol:?}"));
    }
    if icmp && protocol != "1" && protocol != "58" {
        return bad(format!("icmpOptions is only allowed with protocol \"1\" or \"58\", not {protocol:?}"));
    }
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN) {
        return bad(format!("description is longer than {MAX_DESCRIPTION_LEN} characters"));
    }
    Ok(())
}

fn parse_ingress(raw: Value) -> OciResult<Vec<IngressRule>> {
    const F: &str = "ingressSecurityRules";
    let rules: Vec<IngressRule> = parse_rules(F, raw)?;
    for (i, r) in rules.iter().enumerate() {
        let has = [r.tcp_options.is_some(), r.udp_options.is_some(), r.icmp_options.is_some()];
        check_rule_shape(F, i, "sourceType", &r.source_type, &r.protocol, has, &r.description)?;
    }
    hyok_netsim::model::validate_ingress(&rules).map_err(|e| rule_error(F, e))?;
    Ok(rules)
}

fn parse_egress(raw: Value) -> OciResult<Vec<EgressRule>> {
    const F: &str = "egressSecurityRules";
    let rules: Vec<EgressRule> = parse_rules(F, raw)?;
    for (i, r) in rules.iter().enumerate() {
        let has = [r.tcp_options.is_some(), r.udp_options.is_some(), r.icmp_options.is_some()];
        check_rule_shape(F, i, "destinationType", &r.destination_type, &r.protocol, has, &r.description)?;
    }
    hyok_netsim::model::validate_egress(&rules).map_err(|e| rule_error(F, e))?;
    Ok(rules)
}

fn rule_error(field: &str, e: NetError) -> OciError {
    match e {
        NetError::InvalidRule { index, reason } => OciError::invalid_parameter(format!("{field}[{index}]: {reason}")),
        other => net_error(other),
    }
}

fn net_error(e: NetError) -> OciError {
    match e {
        NetError::NotFound(what) => OciError::not_found(format!("{what} not found or not authorized")),
        other => OciError::invalid_parameter(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// The service

impl NetworkApi {
    /// The API over `net` (and `dns` for resolver associations), requiring signatures verified
    /// by `verifier`.
    pub fn new(config: NetworkConfig, net: NetworkModel, dns: DnsModel, verifier: Arc<SignatureVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                net,
                dns,
                verifier,
                tags: RwLock::new(HashMap::new()),
                gate: Mutex::new(()),
            }),
        }
    }

    /// The model this API changes.
    pub fn model(&self) -> &NetworkModel {
        &self.inner.net
    }

    fn tags_of(&self, id: &str) -> Tags {
        self.inner.tags.read().get(id).cloned().unwrap_or_default()
    }

    fn in_region(&self, vcn: &Vcn) -> bool {
        let key = &self.inner.config.region_key;
        key.is_empty() || vcn.region.eq_ignore_ascii_case(key)
    }

    fn vcn_visible(&self, vcn_id: &str) -> bool {
        self.inner.net.vcn(vcn_id).is_some_and(|v| self.in_region(&v))
    }

    /// The `Vcn` resource, if the VCN exists in this region.
    pub fn get_vcn(&self, id: &str) -> OciResult<VcnResource> {
        let v = self.inner.net.vcn(id).filter(|v| self.in_region(v)).ok_or_else(|| not_found("VCN", id))?;
        Ok(self.vcn_resource(&v))
    }

    fn vcn_resource(&self, v: &Vcn) -> VcnResource {
        let lists = self.inner.net.security_lists();
        let default_name = format!("Default Security List for {}", v.display_name);
        let default_security_list_id =
            lists.iter().find(|l| l.vcn_id == v.id && l.display_name == default_name).map(|l| l.id.clone());
        let (freeform_tags, defined_tags) = self.tags_of(&v.id);
        VcnResource {
            id: v.id.clone(),
            display_name: v.display_name.clone(),
            compartment_id: v.compartment_id.clone(),
            cidr_block: v.cidr_block.clone(),
            cidr_blocks: vec![v.cidr_block.clone()],
            dns_label: v.dns_label.clone(),
            vcn_domain_name: format!("{}.oraclevcn.com", v.dns_label),
            default_security_list_id,
            default_route_table_id: v.default_route_table_id.clone(),
            default_dhcp_options_id: v.default_dhcp_options_id.clone(),
            lifecycle_state: "AVAILABLE",
            time_created: oci_time_from(&v.time_created),
            freeform_tags,
            defined_tags,
        }
    }

    /// The `Subnet` resource, if its VCN is in this region.
    pub fn get_subnet(&self, id: &str) -> OciResult<SubnetResource> {
        let s =
            self.inner.net.subnet(id).filter(|s| self.vcn_visible(&s.vcn_id)).ok_or_else(|| not_found("subnet", id))?;
        Ok(self.subnet_resource(&s))
    }

    fn subnet_resource(&self, s: &Subnet) -> SubnetResource {
        let vcn_label = self.inner.net.vcn(&s.vcn_id).map(|v| v.dns_label).unwrap_or_default();
        let router = hyok_netsim::model::parse_cidr(&s.cidr_block)
            .map(|n| Ipv4Addr::from(u32::from(n.network()).saturating_add(1)).to_string())
            .unwrap_or_default();
        let (freeform_tags, defined_tags) = self.tags_of(&s.id);
        SubnetResource {
            id: s.id.clone(),
            display_name: s.display_name.clone(),
            compartment_id: s.compartment_id.clone(),
            vcn_id: s.vcn_id.clone(),
            cidr_block: s.cidr_block.clone(),
            ipv4_cidr_blocks: vec![s.cidr_block.clone()],
            availability_domain: None,
            dns_label: s.dns_label.clone(),
            subnet_domain_name: (!s.dns_label.is_empty() && !vcn_label.is_empty())
                .then(|| format!("{}.{vcn_label}.oraclevcn.com", s.dns_label)),
            security_list_ids: s.security_list_ids.clone(),
            route_table_id: s.route_table_id.clone(),
            dhcp_options_id: s.dhcp_options_id.clone(),
            prohibit_public_ip_on_vnic: s.prohibit_public_ip_on_vnic,
            prohibit_internet_ingress: s.prohibit_public_ip_on_vnic,
            virtual_router_ip: router,
            virtual_router_mac: router_mac(&s.id),
            lifecycle_state: "AVAILABLE",
            time_created: oci_time_from(&s.time_created),
            freeform_tags,
            defined_tags,
        }
    }

    /// The `SecurityList` resource, if its VCN is in this region.
    pub fn get_security_list(&self, id: &str) -> OciResult<SecurityListResource> {
        let l = self
            .inner
            .net
            .security_list(id)
            .filter(|l| self.vcn_visible(&l.vcn_id))
            .ok_or_else(|| not_found("security list", id))?;
        Ok(self.list_resource(&l))
    }

    fn list_resource(&self, l: &SecurityList) -> SecurityListResource {
        let (freeform_tags, defined_tags) = self.tags_of(&l.id);
        SecurityListResource {
            id: l.id.clone(),
            display_name: l.display_name.clone(),
            compartment_id: l.compartment_id.clone(),
            vcn_id: l.vcn_id.clone(),
            ingress_security_rules: l.ingress_security_rules.clone(),
            egress_security_rules: l.egress_security_rules.clone(),
            lifecycle_state: "AVAILABLE",
            time_created: oci_time_from(&l.time_created),
            freeform_tags,
            defined_tags,
        }
    }

    /// UpdateSecurityList: replace the ingress and/or egress rules (and name, tags). Validated
    /// whole before anything changes; `if-match` must match the current etag when given.
    pub fn update_security_list(
        &self,
        id: &str,
        details: UpdateSecurityListDetails,
        headers: &HeaderMap,
    ) -> OciResult<SecurityListResource> {
        if let Some(n) = &details.display_name {
            display_name_ok(n)?;
        }
        let ingress = details.ingress_security_rules.map(parse_ingress).transpose()?;
        let egress = details.egress_security_rules.map(parse_egress).transpose()?;
        let _gate = self.inner.gate.lock();
        let current = self.get_security_list(id)?;
        check_if_match(headers, &hyok_oci_rest::conventions::etag_of(&current))?;
        let (n_in, n_out) = (ingress.as_ref().map(Vec::len), egress.as_ref().map(Vec::len));
        let updated =
            self.inner.net.update_security_list(id, ingress, egress, details.display_name).map_err(net_error)?;
        if details.freeform_tags.is_some() || details.defined_tags.is_some() {
            let mut tags = self.inner.tags.write();
            let entry = tags.entry(id.to_string()).or_default();
            if let Some(f) = details.freeform_tags {
                entry.0 = f;
            }
            if let Some(d) = details.defined_tags {
                entry.1 = d;
            }
        }
        tracing::info!(
            security_list = %updated.display_name,
            ingress = ?n_in,
            egress = ?n_out,
            "security list updated through the Networking API"
        );
        Ok(self.list_resource(&updated))
    }

    /// The VCN's resolver association.
    pub fn dns_resolver_association(&self, vcn_id: &str) -> OciResult<DnsResolverAssociation> {
        let vcn = self.get_vcn(vcn_id)?;
        let r = self.inner.dns.resolver_for_vcn(&vcn.id).ok_or_else(|| {
            OciError::not_found(format!("VCN {vcn_id} has no DNS resolver association (the lab world created none)"))
        })?;
        Ok(DnsResolverAssociation { vcn_id: vcn.id, dns_resolver_id: r.id, lifecycle_state: "AVAILABLE" })
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Query parameters of the list operations.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Filter (subnets, security lists).
    pub vcn_id: Option<String>,
    /// `sortBy` (`TIMECREATED` or `DISPLAYNAME`), `sortOrder`, `limit`, `page`.
    #[serde(flatten)]
    pub list: ListParams,
}

/// `00:00:17:xx:xx:xx` from an FNV-1a hash of the subnet OCID.
fn router_mac(subnet_id: &str) -> String {
    let h = subnet_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let [_, a, b, c] = h.to_be_bytes();
    format!("00:00:17:{a:02X}:{b:02X}:{c:02X}")
}

/// Route tables and DHCP options exist as ids (a VCN's defaults) but are not served: reading
/// one answers why instead of a 404.
async fn unserved_h(method: http::Method, uri: http::Uri) -> OciError {
    OciError::new(
        http::StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "{method} {} is not modelled by the lab: route tables and DHCP options exist only as the VCN's default ids; \
             the lab routes over the world's DRG, VPN and peering links and its resolvers answer DNS",
            uri.path()
        ),
    )
}

/// OCI's 404 for a Networking resource that is absent or in another region.
fn not_found(what: &str, id: &str) -> OciError {
    OciError::not_found(format!("{what} {id} not found or not authorized"))
}

struct Filter {
    compartment: String,
    state: Option<String>,
}

fn filter_of(api: &NetworkApi, q: &ListQuery) -> OciResult<Filter> {
    let compartment = check_compartment(&api.inner.config.compartments, &q.list.compartment_id)?.to_string();
    let state = lifecycle_filter(q.list.lifecycle_state.as_deref(), &NET_STATES)?;
    Ok(Filter { compartment, state })
}

fn keep(f: &Filter, q: &ListQuery, compartment: &str, name: &str) -> bool {
    compartment == f.compartment
        && q.list.display_name.as_deref().is_none_or(|n| n == name)
        && f.state.as_deref().is_none_or(|s| s == "AVAILABLE")
}

/// Core lists are bare arrays (the SDKs read `list[Vcn]`, not `{items}`).
fn page<T: Serialize + Clone>(rows: Vec<T>, q: &ListQuery, key: impl Fn(&T) -> (&str, &str)) -> OciResult<OciResponse> {
    q.list.respond(rows, Sort::UPPER_DISPLAY_NAME, key, ListShape::Array, Clone::clone)
}

async fn list_vcns_h(State(api): State<NetworkApi>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let f = filter_of(&api, &q)?;
    let rows: Vec<VcnResource> = api
        .inner
        .net
        .vcns()
        .iter()
        .filter(|v| api.in_region(v) && keep(&f, &q, &v.compartment_id, &v.display_name))
        .map(|v| api.vcn_resource(v))
        .collect();
    page(rows, &q, |v| (v.display_name.as_str(), v.time_created.as_str()))
}

fn vcn_filter(api: &NetworkApi, q: &ListQuery) -> OciResult<()> {
    if let Some(v) = &q.vcn_id
        && !api.vcn_visible(v)
    {
        return Err(not_found("VCN", v));
    }
    Ok(())
}

/// A row of a VCN-scoped list (subnets, security lists): its VCN is visible in this region,
/// it matches the `vcnId` filter, and the common filters.
fn keep_in_vcn(api: &NetworkApi, f: &Filter, q: &ListQuery, vcn_id: &str, compartment: &str, name: &str) -> bool {
    api.vcn_visible(vcn_id) && q.vcn_id.as_deref().is_none_or(|v| v == vcn_id) && keep(f, q, compartment, name)
}

async fn list_subnets_h(State(api): State<NetworkApi>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let f = filter_of(&api, &q)?;
    vcn_filter(&api, &q)?;
    let rows: Vec<SubnetResource> = api
        .inner
        .net
        .subnets()
        .iter()
        .filter(|s| keep_in_vcn(&api, &f, &q, &s.vcn_id, &s.compartment_id, &s.display_name))
        .map(|s| api.subnet_resource(s))
        .collect();
    page(rows, &q, |s| (s.display_name.as_str(), s.time_created.as_str()))
}

async fn list_security_lists_h(
    State(api): State<NetworkApi>,
    OciQuery(q): OciQuery<ListQuery>,
) -> OciResult<OciResponse> {
    let f = filter_of(&api, &q)?;
    vcn_filter(&api, &q)?;
    let rows: Vec<SecurityListResource> = api
        .inner
        .net
        .security_lists()
        .iter()
        .filter(|l| keep_in_vcn(&api, &f, &q, &l.vcn_id, &l.compartment_id, &l.display_name))
        .map(|l| api.list_resource(l))
        .collect();
    page(rows, &q, |l| (l.display_name.as_str(), l.time_created.as_str()))
}

async fn get_vcn_h(State(api): State<NetworkApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_vcn(&id)?)
}

async fn get_subnet_h(State(api): State<NetworkApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_subnet(&id)?)
}

async fn get_security_list_h(State(api): State<NetworkApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_security_list(&id)?)
}

async fn update_security_list_h(
    State(api): State<NetworkApi>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
    OciJson(details): OciJson<UpdateSecurityListDetails>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&api.update_security_list(&id, details, &headers)?)
}

async fn dns_association_h(State(api): State<NetworkApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.dns_resolver_association(&id)?)
}

/// The Networking API: `/20160918/...` behind signature verification, with `opc-request-id` on
/// every response and the configured body limit.
pub fn router(api: NetworkApi) -> Router {
    let verifier = api.inner.verifier.clone();
    let limit = api.inner.config.max_body_bytes;
    let v1 = Router::new()
        .route("/vcns", get(list_vcns_h))
        .route("/vcns/{id}", get(get_vcn_h))
        .route("/vcns/{id}/dnsResolverAssociation", get(dns_association_h))
        .route("/subnets", get(list_subnets_h))
        .route("/subnets/{id}", get(get_subnet_h))
        .route("/securityLists", get(list_security_lists_h))
        .route("/securityLists/{id}", get(get_security_list_h).put(update_security_list_h))
        .route("/routeTables", get(unserved_h))
        .route("/routeTables/{id}", get(unserved_h))
        .route("/dhcps", get(unserved_h))
        .route("/dhcps/{id}", get(unserved_h))
        .method_not_allowed_fallback(not_modelled)
        .with_state(api);
    let app = Router::new().nest(BASE_PATH, v1).fallback(unknown_path).layer(DefaultBodyLimit::max(limit));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_errors_name_index_and_field() {
        let e = parse_ingress(serde_json::json!([{"source": "10.0.0.0/8", "protocol": "all"}, {"protocol": "6"}]))
            .expect_err("missing source");
        assert!(e.message.starts_with("ingressSecurityRules[1]: missing field `source`"), "{}", e.message);
        let e = parse_ingress(serde_json::json!([{"source": "nope", "protocol": "all"}])).expect_err("bad cidr");
        assert!(e.message.starts_with("ingressSecurityRules[0]: source \"nope\""), "{}", e.message);
        let e = parse_egress(serde_json::json!([
            {"destination": "0.0.0.0/0", "protocol": "17", "tcpOptions": {"destinationPortRange": {"min": 1, "max": 2}}}
        ]))
        .expect_err("tcp options on udp");
        assert!(e.message.starts_with("egressSecurityRules[0]: tcpOptions"), "{}", e.message);
        let ok =
            parse_ingress(serde_json::json!([{"source": "172.16.1.0/24", "protocol": "all", "isStateless": null}]))
                .expect("null is absent");
        assert_eq!(ok[0].source_type, "CIDR_BLOCK");
        assert!(parse_ingress(serde_json::json!({"source": "x"})).is_err());
    }
}
