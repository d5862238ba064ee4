//! VCNs, subnets, security lists and links, and the decision whether a connection may pass.
//!
//! OCI semantics kept here: security lists are stateful and per subnet; a connection needs an
//! egress rule on the source subnet and an ingress rule on the destination subnet, even when
//! both ends sit in the same subnet; no rule means no traffic.
//!
//! Modules: `rules` (security rules and their checks), `resources` (VCNs, subnets, lists,
//! links), `state` (the model and its changes), `check` (the connection decision).

mod check;
mod error;
mod resources;
mod rules;
mod state;
#[cfg(test)]
mod tests;

pub use check::{Allowed, Denial};
pub use error::NetError;
pub use resources::{Link, LinkKind, Location, SecurityList, Subnet, Vcn};
pub use rules::{
    EgressRule, IcmpOptions, IngressRule, PortOptions, PortRange, parse_cidr, validate_egress, validate_ingress,
};
pub use state::NetworkModel;
