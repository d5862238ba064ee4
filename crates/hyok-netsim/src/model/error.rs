//! Errors changing the model.

use std::net::Ipv4Addr;

/// Errors changing the model (bad input); each maps to an OCI 400/404/409 at the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A CIDR block does not parse.
    #[error("invalid CIDR block {0:?}: expected a.b.c.d/n")]
    InvalidCidr(String),
    /// A subnet is not inside its VCN's CIDR block.
    #[error("subnet CIDR {subnet} is not inside VCN {vcn} ({vcn_cidr})")]
    SubnetOutsideVcn {
        /// Subnet CIDR.
        subnet: String,
        /// VCN name.
        vcn: String,
        /// VCN CIDR.
        vcn_cidr: String,
    },
    /// Two subnets of a VCN overlap.
    #[error("subnet CIDR {new} overlaps subnet {existing} ({existing_cidr})")]
    OverlappingSubnet {
        /// New CIDR.
        new: String,
        /// Existing subnet name.
        existing: String,
        /// Existing subnet CIDR.
        existing_cidr: String,
    },
    /// A security rule is malformed.
    #[error("invalid security rule {index}: {reason}")]
    InvalidRule {
        /// Index of the rule in the list it came in.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No such resource.
    #[error("{0} not found")]
    NotFound(String),
    /// The subnet has no free address.
    #[error("subnet {0} has no free private IP address")]
    SubnetFull(String),
    /// An address is already taken.
    #[error("address {0} is already in use")]
    AddressInUse(Ipv4Addr),
}
