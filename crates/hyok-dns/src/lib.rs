//! OCI private DNS, modelled and served.
//!
//! [`model::DnsModel`] holds views, private zones, records and one resolver per VCN, with OCI's
//! resolution order: attached views in list order, then the resolver's default view, then the
//! Internet (which the lab models as the `internet` view holding public cloud names).
//! [`server::DnsServer`] answers real DNS queries (UDP and TCP) for one resolver.
//!
//! Invariant: resolution reads the model on every query and answers with TTL 0 where a record
//! says so, so a change through the API is visible on the next query.

pub mod model;
pub mod server;

pub use model::{DnsError, DnsModel, RecordData, Resolution, ResolverInfo, ViewInfo, ZoneInfo};
pub use server::{DnsServer, Resolve};
