//! Views, zones, records and resolvers, with OCI's resolution order.

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, net::Ipv4Addr, sync::Arc};

/// Errors of the DNS model; each maps to an OCI error at the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// A name is not a valid DNS name.
    #[error("invalid DNS name {0:?}: {1}")]
    InvalidName(String, &'static str),
    /// A record is malformed (bad rtype, rdata or TTL).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// No such view, zone or resolver.
    #[error("{0} not found")]
    NotFound(String),
    /// A zone of that name already exists in that view.
    #[error("zone {0} already exists in view {1}")]
    ZoneExists(String, String),
    /// The view is protected (a resolver's default view) or still used.
    #[error("{0}")]
    Conflict(String),
    /// The model is held by another process that cannot be asked right now.
    #[error("DNS model unavailable: {0}")]
    Unavailable(String),
}

/// A DNS record in OCI's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordData {
    /// Owner name, lower case, no trailing dot.
    pub domain: String,
    /// `A`, `CNAME` or `TXT`.
    pub rtype: String,
    /// Record data as text (`172.16.1.103`, `target.example.`, `"text"`).
    pub rdata: String,
    /// TTL in seconds.
    pub ttl: u32,
}

/// A view.
#[derive(Clone, Debug, Serialize)]
pub struct ViewInfo {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Protected views are default views of resolvers; they cannot be deleted.
    pub is_protected: bool,
    /// Creation time.
    pub time_created: String,
}

/// A private zone.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneInfo {
    /// OCID.
    pub id: String,
    /// Zone name, lower case, no trailing dot.
    pub name: String,
    /// The view that holds it.
    pub view_id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Serial, bumped on each change.
    pub serial: u32,
    /// Creation time.
    pub time_created: String,
    /// Records.
    pub records: Vec<RecordData>,
}

/// A VCN's resolver.
#[derive(Clone, Debug, Serialize)]
pub struct ResolverInfo {
    /// OCID.
    pub id: String,
    /// Display name (the VCN's name).
    pub display_name: String,
    /// The VCN it belongs to.
    pub attached_vcn_id: String,
    /// Its protected default view.
    pub default_view_id: String,
    /// Views consulted before the default view, in order.
    pub attached_views: Vec<String>,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Creation time.
    pub time_created: String,
}

/// The answer to one question, with what decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Resolution {
    /// Records found.
    Answer {
        /// A/CNAME/TXT records in answer order (CNAMEs first).
        records: Vec<RecordData>,
        /// `view 'hub-private-view' zone 'oci-thales.lab'`.
        decided_by: String,
    },
    /// The zone exists but holds no such name.
    NxDomain {
        /// The zone that answered, or "no view holds a zone for this name".
        decided_by: String,
    },
    /// The name exists but not with this type.
    NoData {
        /// The zone that answered.
        decided_by: String,
    },
}

impl Resolution {
    /// Why a lookup that wanted an address got none, in the words a denial message uses.
    pub fn why_no_address(&self) -> String {
        match self {
            Resolution::NxDomain { decided_by } => format!("NXDOMAIN ({decided_by})"),
            Resolution::NoData { decided_by } => format!("no A record ({decided_by})"),
            Resolution::Answer { decided_by, .. } => format!("answer changed during lookup ({decided_by})"),
        }
    }

    /// The first IPv4 address in the answer, following CNAMEs.
    pub fn first_ipv4(&self) -> Option<Ipv4Addr> {
        match self {
            Resolution::Answer { records, .. } => {
                records.iter().filter(|r| r.rtype == "A").find_map(|r| r.rdata.parse().ok())
            }
            _ => None,
        }
    }
}

/// Name of the view that stands for Internet DNS.
pub const INTERNET_VIEW: &str = "internet";
/// Resolver id of the Internet resolver (only public names), used by OCI services themselves;
/// it is [`INTERNET_VIEW`].
/// Resolver id of the host-facing resolver, which consults every view.
pub const HOST_RESOLVER: &str = "host";

#[derive(Default)]
struct State {
    views: BTreeMap<String, ViewInfo>,
    zones: BTreeMap<String, ZoneInfo>,
    resolvers: BTreeMap<String, ResolverInfo>,
    /// Internet zones, by name.
    internet: BTreeMap<String, ZoneInfo>,
}

/// The shared DNS model.
#[derive(Clone, Default)]
pub struct DnsModel {
    inner: Arc<RwLock<State>>,
    epoch: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for DnsModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsModel").finish_non_exhaustive()
    }
}

/// Lower-case a name, drop a trailing dot, and check it is a valid DNS name.
pub fn normalize_name(name: &str) -> Result<String, DnsError> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n.is_empty() {
        return Err(DnsError::InvalidName(name.into(), "empty name"));
    }
    if n.len() > 253 {
        return Err(DnsError::InvalidName(name.into(), "longer than 253 characters"));
    }
    for label in n.split('.') {
        if label.is_empty() {
            return Err(DnsError::InvalidName(name.into(), "empty label"));
        }
        if label.len() > 63 {
            return Err(DnsError::InvalidName(name.into(), "label longer than 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*') {
            return Err(DnsError::InvalidName(name.into(), "labels hold only letters, digits, '-' and '_'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DnsError::InvalidName(name.into(), "labels do not start or end with '-'"));
        }
    }
    Ok(n)
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Check a record's type, data and TTL.
pub fn validate_record(zone: &str, r: &RecordData) -> Result<RecordData, DnsError> {
    let domain = normalize_name(&r.domain)?;
    if !in_zone(&domain, zone) {
        return Err(DnsError::InvalidRecord(format!("domain {domain} is not inside zone {zone}")));
    }
    let rtype = r.rtype.to_ascii_uppercase();
    let rdata = match rtype.as_str() {
        "A" => r
            .rdata
            .trim()
            .parse::<Ipv4Addr>()
            .map_err(|_| DnsError::InvalidRecord(format!("rdata {:?} of an A record is not an IPv4 address", r.rdata)))?
            .to_string(),
        "CNAME" => format!("{}.", normalize_name(&r.rdata)?),
        "TXT" => r.rdata.clone(),
        other => {
            return Err(DnsError::InvalidRecord(format!("rtype {other} is not supported by the lab (A, CNAME, TXT)")));
        }
    };
    if r.ttl > 604_800 {
        return Err(DnsError::InvalidRecord(format!("ttl {} is above 604800", r.ttl)));
    }
    Ok(RecordData { domain, rtype, rdata, ttl: r.ttl })
}

impl DnsModel {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, State> {
        self.inner.read()
    }

    fn write(&self) -> parking_lot::RwLockWriteGuard<'_, State> {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.write()
    }

    /// Changes whenever the model changes.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Create a view.
    pub fn create_view(&self, display_name: &str, compartment_id: &str, is_protected: bool) -> ViewInfo {
        let v = ViewInfo {
            id: hyok_core::ids::regional_ocid("dnsview"),
            display_name: display_name.to_string(),
            compartment_id: compartment_id.to_string(),
            is_protected,
            time_created: hyok_core::rfc3339_now(),
        };
        self.write().views.insert(v.id.clone(), v.clone());
        v
    }

    /// Delete a view that is not protected, holds no zone and is attached nowhere.
    pub fn delete_view(&self, view_id: &str) -> Result<(), DnsError> {
        let mut s = self.write();
        let v = s.views.get(view_id).ok_or_else(|| DnsError::NotFound(format!("view {view_id}")))?;
        if v.is_protected {
            return Err(DnsError::Conflict(format!("view {} is protected", v.display_name)));
        }
        if s.zones.values().any(|z| z.view_id == view_id) {
            return Err(DnsError::Conflict(format!("view {} still holds zones", v.display_name)));
        }
        if let Some(r) = s.resolvers.values().find(|r| r.attached_views.iter().any(|a| a == view_id)) {
            return Err(DnsError::Conflict(format!("view is attached to resolver {}", r.display_name)));
        }
        s.views.remove(view_id);
        Ok(())
    }

    /// A view by id.
    pub fn view(&self, id: &str) -> Option<ViewInfo> {
        self.read().views.get(id).cloned()
    }

    /// All views.
    pub fn views(&self) -> Vec<ViewInfo> {
        self.read().views.values().cloned().collect()
    }

    /// Create a private zone in a view.
    pub fn create_zone(&self, name: &str, view_id: &str, compartment_id: &str) -> Result<ZoneInfo, DnsError> {
        let name = normalize_name(name)?;
        let mut s = self.write();
        let view = s.views.get(view_id).ok_or_else(|| DnsError::NotFound(format!("view {view_id}")))?;
        if s.zones.values().any(|z| z.view_id == view_id && z.name == name) {
            return Err(DnsError::ZoneExists(name, view.display_name.clone()));
        }
        let z = ZoneInfo {
            id: hyok_core::ids::regional_ocid("dns-zone"),
            name,
            view_id: view_id.to_string(),
            compartment_id: compartment_id.to_string(),
            serial: 1,
            time_created: hyok_core::rfc3339_now(),
            records: Vec::new(),
        };
        s.zones.insert(z.id.clone(), z.clone());
        Ok(z)
    }

    /// Delete a zone.
    pub fn delete_zone(&self, zone_id: &str) -> Result<(), DnsError> {
        self.write().zones.remove(zone_id).map(|_| ()).ok_or_else(|| DnsError::NotFound(format!("zone {zone_id}")))
    }

    /// A zone by id, or by name when the name is unique across views (OCI accepts both).
    pub fn zone(&self, name_or_id: &str) -> Option<ZoneInfo> {
        let s = self.read();
        if let Some(z) = s.zones.get(name_or_id) {
            return Some(z.clone());
        }
        let name = normalize_name(name_or_id).ok()?;
        let mut matches = s.zones.values().filter(|z| z.name == name);
        let first = matches.next()?;
        if matches.next().is_some() { None } else { Some(first.clone()) }
    }

    /// All private zones.
    pub fn zones(&self) -> Vec<ZoneInfo> {
        self.read().zones.values().cloned().collect()
    }

    /// Apply record operations (`ADD` / `REMOVE`) atomically; returns the zone after the change.
    pub fn patch_records(&self, zone_id: &str, ops: &[(RecordOp, RecordData)]) -> Result<ZoneInfo, DnsError> {
        let mut s = self.write();
        let zone = s.zones.get_mut(zone_id).ok_or_else(|| DnsError::NotFound(format!("zone {zone_id}")))?;
        let mut records = zone.records.clone();
        for (op, r) in ops {
            let r = validate_record(&zone.name, r)?;
            match op {
                RecordOp::Add => {
                    if !records.contains(&r) {
                        records.push(r);
                    }
                }
                RecordOp::Remove => {
                    records.retain(|x| !(x.domain == r.domain && x.rtype == r.rtype && x.rdata == r.rdata))
                }
            }
        }
        zone.records = records;
        zone.serial += 1;
        Ok(zone.clone())
    }

    /// Replace every record of a zone.
    pub fn replace_records(&self, zone_id: &str, records: &[RecordData]) -> Result<ZoneInfo, DnsError> {
        let mut s = self.write();
        let zone = s.zones.get_mut(zone_id).ok_or_else(|| DnsError::NotFound(format!("zone {zone_id}")))?;
        let records = records.iter().map(|r| validate_record(&zone.name, r)).collect::<Result<Vec<_>, _>>()?;
        zone.records = records;
        zone.serial += 1;
        Ok(zone.clone())
    }

    /// Add a record to the Internet view (public cloud names), creating the zone if needed.
    pub fn add_internet_record(&self, zone: &str, domain: &str, ipv4: Ipv4Addr) -> Result<(), DnsError> {
        let zone = normalize_name(zone)?;
        let rec = validate_record(
            &zone,
            &RecordData { domain: domain.into(), rtype: "A".into(), rdata: ipv4.to_string(), ttl: 300 },
        )?;
        let mut s = self.write();
        let z = s.internet.entry(zone.clone()).or_insert_with(|| ZoneInfo {
            id: format!("internet:{zone}"),
            name: zone.clone(),
            view_id: INTERNET_VIEW.into(),
            compartment_id: String::new(),
            serial: 1,
            time_created: hyok_core::rfc3339_now(),
            records: Vec::new(),
        });
        z.records.retain(|r| r.domain != rec.domain);
        z.records.push(rec);
        Ok(())
    }

    /// Create the resolver of a VCN, with its protected default view.
    pub fn create_resolver(&self, vcn_id: &str, vcn_name: &str, compartment_id: &str) -> ResolverInfo {
        let view = self.create_view(vcn_name, compartment_id, true);
        let r = ResolverInfo {
            id: hyok_core::ids::regional_ocid("dnsresolver"),
            display_name: vcn_name.to_string(),
            attached_vcn_id: vcn_id.to_string(),
            default_view_id: view.id,
            attached_views: Vec::new(),
            compartment_id: compartment_id.to_string(),
            time_created: hyok_core::rfc3339_now(),
        };
        self.write().resolvers.insert(r.id.clone(), r.clone());
        r
    }

    /// A resolver by id.
    pub fn resolver(&self, id: &str) -> Option<ResolverInfo> {
        self.read().resolvers.get(id).cloned()
    }

    /// The resolver of a VCN.
    pub fn resolver_for_vcn(&self, vcn_id: &str) -> Option<ResolverInfo> {
        self.read().resolvers.values().find(|r| r.attached_vcn_id == vcn_id).cloned()
    }

    /// All resolvers.
    pub fn resolvers(&self) -> Vec<ResolverInfo> {
        self.read().resolvers.values().cloned().collect()
    }

    /// Replace a resolver's attached views (OCI `PUT /resolvers/{id}` `attachedViews`).
    pub fn set_attached_views(&self, resolver_id: &str, views: Vec<String>) -> Result<ResolverInfo, DnsError> {
        let mut s = self.write();
        for v in &views {
            if !s.views.contains_key(v) {
                return Err(DnsError::NotFound(format!("view {v}")));
            }
        }
        let r =
            s.resolvers.get_mut(resolver_id).ok_or_else(|| DnsError::NotFound(format!("resolver {resolver_id}")))?;
        if views.contains(&r.default_view_id) {
            return Err(DnsError::Conflict("the default view cannot also be an attached view".into()));
        }
        r.attached_views = views;
        Ok(r.clone())
    }

    /// Resolve `name` (type `rtype`) as the given resolver would. [`HOST_RESOLVER`] consults every
    /// view (attached-view order of each resolver, then default views), for people on the host.
    pub fn resolve(&self, resolver_id: &str, name: &str, rtype: &str) -> Result<Resolution, DnsError> {
        let name = normalize_name(name)?;
        let s = self.read();
        let order: Vec<String> = if resolver_id == INTERNET_VIEW {
            Vec::new()
        } else if resolver_id == HOST_RESOLVER {
            let mut order: Vec<String> = Vec::new();
            for r in s.resolvers.values() {
                for v in r.attached_views.iter().chain(std::iter::once(&r.default_view_id)) {
                    if !order.contains(v) {
                        order.push(v.clone());
                    }
                }
            }
            for v in s.views.keys() {
                if !order.contains(v) {
                    order.push(v.clone());
                }
            }
            order
        } else {
            let r =
                s.resolvers.get(resolver_id).ok_or_else(|| DnsError::NotFound(format!("resolver {resolver_id}")))?;
            r.attached_views.iter().cloned().chain(std::iter::once(r.default_view_id.clone())).collect()
        };
        for view_id in &order {
            // Within a view the most specific zone wins.
            let best = s
                .zones
                .values()
                .filter(|z| &z.view_id == view_id && in_zone(&name, &z.name))
                .max_by_key(|z| z.name.len());
            if let Some(zone) = best {
                let view_name = s.views.get(view_id).map(|v| v.display_name.as_str()).unwrap_or("?");
                let decided_by = format!("zone {} in view {}", zone.name, view_name);
                return Ok(answer_from_zone(zone, &name, rtype, decided_by));
            }
        }
        let best = s.internet.values().filter(|z| in_zone(&name, &z.name)).max_by_key(|z| z.name.len());
        if let Some(zone) = best {
            return Ok(answer_from_zone(zone, &name, rtype, format!("Internet DNS zone {}", zone.name)));
        }
        let resolver_name =
            s.resolvers.get(resolver_id).map(|r| r.display_name.clone()).unwrap_or_else(|| resolver_id.to_string());
        Ok(Resolution::NxDomain {
            decided_by: format!(
                "no view of resolver {resolver_name} holds a zone for {name}, and it is not an Internet name"
            ),
        })
    }
}

fn answer_from_zone(zone: &ZoneInfo, name: &str, rtype: &str, decided_by: String) -> Resolution {
    let rtype = rtype.to_ascii_uppercase();
    let mut records = Vec::new();
    let mut current = name.to_string();
    // Follow CNAMEs inside the zone (a few steps at most).
    for _ in 0..8 {
        let here: Vec<&RecordData> = zone.records.iter().filter(|r| r.domain == current).collect();
        if here.is_empty() {
            break;
        }
        let exact: Vec<RecordData> = here.iter().filter(|r| r.rtype == rtype).map(|r| (*r).clone()).collect();
        if !exact.is_empty() {
            records.extend(exact);
            return Resolution::Answer { records, decided_by };
        }
        if let Some(c) = here.iter().find(|r| r.rtype == "CNAME") {
            records.push((*c).clone());
            current = c.rdata.trim_end_matches('.').to_string();
            continue;
        }
        return Resolution::NoData { decided_by };
    }
    if records.is_empty() { Resolution::NxDomain { decided_by } } else { Resolution::Answer { records, decided_by } }
}

/// A record operation of `PATCH /zones/{zone}/records`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordOp {
    /// Add the record.
    Add,
    /// Remove the record.
    Remove,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(domain: &str, ip: &str) -> RecordData {
        RecordData { domain: domain.into(), rtype: "A".into(), rdata: ip.into(), ttl: 30 }
    }

    #[test]
    fn attached_view_resolves_after_attach() {
        let m = DnsModel::new();
        let hub = m.create_resolver("vcn-hub", "hub-vcn", "c");
        let spoke = m.create_resolver("vcn-spoke", "spoke-a-vcn", "c");
        let hub_view = m.create_view("hub-private-view", "c", false);
        let z = m.create_zone("oci-thales.lab", &hub_view.id, "c").expect("zone");
        m.patch_records(&z.id, &[(RecordOp::Add, a("ctm1.oci-thales.lab", "10.222.10.21"))]).expect("rec");
        m.set_attached_views(&hub.id, vec![hub_view.id.clone()]).expect("attach hub");
        let r = m.resolve(&hub.id, "ctm1.oci-thales.lab", "A").expect("resolve");
        assert_eq!(r.first_ipv4(), Some("10.222.10.21".parse().expect("ip")));
        let before = m.resolve(&spoke.id, "ctm1.oci-thales.lab.", "A").expect("resolve");
        assert!(matches!(before, Resolution::NxDomain { .. }), "{before:?}");
        m.set_attached_views(&spoke.id, vec![hub_view.id.clone()]).expect("attach");
        let after = m.resolve(&spoke.id, "CTM1.oci-thales.lab", "A").expect("resolve");
        assert_eq!(after.first_ipv4(), Some("10.222.10.21".parse().expect("ip")));
    }

    #[test]
    fn first_matching_view_wins_even_without_record() {
        let m = DnsModel::new();
        let r = m.create_resolver("v", "vcn", "c");
        let v1 = m.create_view("v1", "c", false);
        let v2 = m.create_view("v2", "c", false);
        m.create_zone("lab", &v1.id, "c").expect("zone");
        let z2 = m.create_zone("lab", &v2.id, "c").expect("zone");
        m.patch_records(&z2.id, &[(RecordOp::Add, a("x.lab", "10.0.0.1"))]).expect("rec");
        m.set_attached_views(&r.id, vec![v1.id.clone(), v2.id.clone()]).expect("attach");
        assert!(matches!(m.resolve(&r.id, "x.lab", "A").expect("r"), Resolution::NxDomain { .. }));
    }

    #[test]
    fn bad_names_and_records_are_refused() {
        assert!(normalize_name("a..b").is_err());
        assert!(normalize_name(&"a".repeat(64)).is_err());
        assert!(normalize_name("-a.lab").is_err());
        assert!(validate_record("lab", &a("x.other", "10.0.0.1")).is_err());
        assert!(validate_record("lab", &a("x.lab", "999.0.0.1")).is_err());
        let m = DnsModel::new();
        let v = m.create_view("v", "c", false);
        assert!(m.create_zone("bad zone", &v.id, "c").is_err());
        m.create_zone("ok.lab", &v.id, "c").expect("zone");
        assert!(matches!(m.create_zone("OK.lab.", &v.id, "c"), Err(DnsError::ZoneExists(..))));
    }

    #[test]
    fn cname_is_followed_and_internet_is_last() {
        let m = DnsModel::new();
        let r = m.create_resolver("v", "vcn", "c");
        let z = m.create_zone("lab", &m.resolver(&r.id).expect("r").default_view_id, "c").expect("zone");
        m.patch_records(
            &z.id,
            &[
                (
                    RecordOp::Add,
                    RecordData { domain: "gw.lab".into(), rtype: "CNAME".into(), rdata: "real.lab".into(), ttl: 0 },
                ),
                (RecordOp::Add, a("real.lab", "172.16.1.103")),
            ],
        )
        .expect("recs");
        let ans = m.resolve(&r.id, "gw.lab", "A").expect("r");
        assert_eq!(ans.first_ipv4(), Some("172.16.1.103".parse().expect("ip")));
        m.add_internet_record(
            "oraclecloud.com",
            "iaas.eu-frankfurt-1.oraclecloud.com",
            "134.70.16.20".parse().expect("ip"),
        )
        .expect("inet");
        let ans = m.resolve(&r.id, "iaas.eu-frankfurt-1.oraclecloud.com", "A").expect("r");
        assert_eq!(ans.first_ipv4(), Some("134.70.16.20".parse().expect("ip")));
    }
}
