//! The resources of the network: VCNs (and on-premises networks), subnets, security lists,
//! the links between networks, and where an address lives.

use crate::model::rules::{EgressRule, IngressRule};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// A VCN, or an on-premises network of the lab (AMS, ASH), which the lab models as a VCN too.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vcn {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Region key (`FRA`, `AMS`, `ASH`).
    pub region: String,
    /// CIDR block.
    pub cidr_block: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// DNS label.
    pub dns_label: String,
    /// Whether it reaches the Oracle Services Network (service or NAT gateway).
    pub reaches_oracle_services: bool,
    /// Creation time.
    pub time_created: String,
    /// OCID of its default route table, made with the VCN as in OCI. The lab routes over the
    /// world's links, so the table itself has no rules to show.
    pub default_route_table_id: String,
    /// OCID of its default DHCP options, made with the VCN (the lab's resolvers answer DNS).
    pub default_dhcp_options_id: String,
}

/// A subnet.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Its VCN.
    pub vcn_id: String,
    /// CIDR block.
    pub cidr_block: String,
    /// Security lists applied to every VNIC in it.
    pub security_list_ids: Vec<String>,
    /// Private subnets have no public IPs.
    pub prohibit_public_ip_on_vnic: bool,
    /// Compartment OCID.
    pub compartment_id: String,
    /// DNS label.
    pub dns_label: String,
    /// Creation time.
    pub time_created: String,
    /// Its route table: the VCN's default one (OCI's default for a new subnet).
    pub route_table_id: String,
    /// Its DHCP options: the VCN's default ones.
    pub dhcp_options_id: String,
    /// First address handed out by [`NetworkModel::allocate_ip`].
    #[serde(skip)]
    pub alloc_start: Option<Ipv4Addr>,
}

/// A security list.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityList {
    /// OCID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Its VCN.
    pub vcn_id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Ingress rules.
    pub ingress_security_rules: Vec<IngressRule>,
    /// Egress rules.
    pub egress_security_rules: Vec<EgressRule>,
    /// Creation time.
    pub time_created: String,
}

/// What joins two networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// A DRG attachment joining a spoke to the hub.
    DrgAttachment,
    /// A Site-to-Site VPN between OCI and an on-premises data centre.
    SiteToSiteVpn,
    /// A remote peering connection between regions.
    RemotePeering,
}

impl std::fmt::Display for LinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkKind::DrgAttachment => "DRG attachment",
            LinkKind::SiteToSiteVpn => "Site-to-Site VPN",
            LinkKind::RemotePeering => "remote peering connection",
        })
    }
}

/// A link between two VCNs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Name (e.g. `vpn-fra-ams`).
    pub name: String,
    /// One end (VCN id).
    pub a: String,
    /// Other end (VCN id).
    pub b: String,
    /// What it is.
    pub kind: LinkKind,
    /// Whether it carries traffic.
    pub up: bool,
}

/// Where an address lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// In a subnet.
    Subnet(String),
    /// In the Oracle Services Network (public cloud endpoints).
    OracleServices,
}
