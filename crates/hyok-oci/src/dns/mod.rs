//! The OCI DNS API (`dns.<region>.oci.oraclecloud.com`, `/20180115`) for private DNS over the
//! lab's [`DnsModel`](hyok_dns::DnsModel): views, private zones, records and VCN resolvers.
//!
//! Every change goes straight into the model, which bumps its epoch; the lab's DNS servers read
//! the model on every query, so `PUT /resolvers/{id}` with a new `attachedViews` list changes the
//! next answer. Lifecycle: a created zone shows CREATING and an updated resolver UPDATING for
//! `lifecycle_delay_ms` on the config's clock, computed at read time (no background task), then
//! ACTIVE.
//!
//! Modules: `shapes` (resources and request bodies), `api` (state and resource views of the
//! model), one module per resource's operations (`views`, `zones`, `records`, `resolvers`), and
//! `routes` (lists, handlers, router).

mod api;
mod records;
mod resolvers;
mod routes;
mod shapes;
mod views;
mod zones;

pub use api::{BASE_PATH, DnsApi, DnsConfig, HOST, LEGACY_HOST};
pub use routes::{ListQuery, RecordQuery, router};
pub use shapes::{
    AttachedView, CreateViewDetails, CreateZoneDetails, Nameserver, RecordItems, RecordResource, ResolverResource,
    UpdateResolverDetails, UpdateViewDetails, ViewResource, ZoneResource, ZoneSelector, record_hash,
};
