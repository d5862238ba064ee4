//! VCN resolvers: GetResolver and UpdateResolver (the attached views, live at once).

use crate::dns::{
    api::{DnsApi, display_name_ok, dns_error},
    shapes::{ResolverResource, UpdateResolverDetails},
};
use http::HeaderMap;
use hyok_dns::ResolverInfo;
use hyok_oci_rest::{
    OciError,
    conventions::{LifecycleState, OciResult, check_if_match, etag_of},
};
use serde_json::Value;

impl DnsApi {
    fn find_resolver(&self, id: &str) -> OciResult<ResolverInfo> {
        // Another region's resolver is as unknown here as in OCI's regional API.
        self.inner
            .dns
            .resolver(id)
            .filter(|r| self.in_region(r))
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
        let _g = self.gate();
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
            self.update_meta(id, |m| m.apply(d.display_name, d.freeform_tags, d.defined_tags));
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
