//! DNS views: CreateView, GetView, UpdateView, DeleteView.

use crate::{
    common::check_compartment,
    dns::{
        api::{DnsApi, display_name_ok, dns_error},
        shapes::{CreateViewDetails, UpdateViewDetails, ViewResource},
    },
};
use http::HeaderMap;
use hyok_dns::ViewInfo;
use hyok_oci_rest::{
    OciError,
    conventions::{OciResult, check_if_match, etag_of},
};

impl DnsApi {
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
            None => format!("view{}", self.inner.config.clock.unix_now()),
        };
        let v = self.inner.dns.create_view(&name, compartment, false);
        if d.freeform_tags.is_some() || d.defined_tags.is_some() {
            // A new resource: its meta is empty, so this sets both tag maps.
            self.update_meta(&v.id, |m| m.apply(None, d.freeform_tags, d.defined_tags));
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
        let _g = self.gate();
        let current = self.get_view(id)?;
        check_if_match(headers, &etag_of(&current))?;
        self.update_meta(id, |m| m.apply(d.display_name, d.freeform_tags, d.defined_tags));
        self.get_view(id)
    }

    /// DeleteView: refused (409) for protected views and views still holding zones or attached
    /// to a resolver.
    pub fn delete_view(&self, id: &str, headers: &HeaderMap) -> OciResult<()> {
        let _g = self.gate();
        let current = self.get_view(id)?;
        check_if_match(headers, &etag_of(&current))?;
        self.inner.dns.delete_view(id).map_err(dns_error)?;
        self.inner.meta.write().remove(id);
        Ok(())
    }
}
