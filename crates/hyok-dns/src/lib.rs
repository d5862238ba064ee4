//! OCI private DNS, modelled and served.
//!
//! [`model::DnsModel`] holds views, private zones, records and one resolver per VCN, with OCI's
//! resolution order: attached views in list order, then the resolver's default view, then the
//! Internet (which the lab models as the `internet` view holding public cloud names).
//! `hyok-dns-server` answers real DNS queries (UDP and TCP) for one resolver from it.
//!
//! Invariant: resolution reads the model on every query and answers with TTL 0 where a record
//! says so, so a change through the API is visible on the next query.

pub mod model;

pub use model::{DnsError, DnsModel, RecordData, Resolution, ResolverInfo, ViewInfo, ZoneInfo};
