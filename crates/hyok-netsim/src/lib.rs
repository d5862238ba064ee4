//! The simulated network of the lab.
//!
//! [`model::NetworkModel`] holds regions, VCNs, subnets, security lists and the links between
//! networks (DRG attachments, Site-to-Site VPN, remote peering). [`model::NetworkModel::check`]
//! decides whether a TCP connection from one virtual address to another is allowed, and names
//! the missing piece when it is not. [`book::AddressBook`] maps virtual `ip:port` endpoints to
//! the real loopback sockets that serve them. [`dial::VcnDial`] ties it together for one source
//! address: resolve through its VCN's DNS server (real DNS over UDP), check the model, find the
//! listener.
//!
//! Invariant: a lab service never connects to another one except through a [`dial::VcnDial`].

pub mod book;
pub mod dial;
pub mod model;

pub use book::AddressBook;
pub use dial::VcnDial;
pub use model::{
    EgressRule, IngressRule, Link, LinkKind, NetError, NetworkModel, PortRange, SecurityList, Subnet, Vcn,
};
