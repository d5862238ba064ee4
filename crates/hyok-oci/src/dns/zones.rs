//! Private zones: GetZone (by OCID or name), CreateZone, DeleteZone.

use crate::{
    common::check_compartment,
    dns::{
        api::{DnsApi, check_scope, dns_error},
        shapes::{CreateZoneDetails, ZoneResource, ZoneSelector},
    },
};
use http::HeaderMap;
use hyok_dns::{ZoneInfo, model::normalize_name};
use hyok_oci_rest::{
    OciError,
    conventions::{LifecycleState, OciResult, check_if_match, etag_of},
};

impl DnsApi {
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
            // A new resource: its meta is empty, so this sets both tag maps.
            self.update_meta(&z.id, |m| m.apply(None, d.freeform_tags, d.defined_tags));
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
        let _g = self.gate();
        let z = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &etag_of(&self.zone_resource(&z)))?;
        self.inner.dns.delete_zone(&z.id).map_err(dns_error)?;
        tracing::info!(zone = %z.name, "private zone deleted through the DNS API");
        Ok(())
    }
}
