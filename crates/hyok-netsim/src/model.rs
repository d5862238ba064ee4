//! VCNs, subnets, security lists and links, and the decision whether a connection may pass.
//!
//! OCI semantics kept here: security lists are stateful and per subnet; a connection needs an
//! egress rule on the source subnet and an ingress rule on the destination subnet, even when
//! both ends sit in the same subnet; no rule means no traffic.

use ipnet::Ipv4Net;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::{
    collections::{BTreeMap, VecDeque},
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

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

/// A port range, as in OCI's `tcpOptions.destinationPortRange`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// Lowest port.
    pub min: u16,
    /// Highest port.
    pub max: u16,
}

/// OCI's `tcpOptions` / `udpOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortOptions {
    /// Destination ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port_range: Option<PortRange>,
    /// Source ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port_range: Option<PortRange>,
}

/// OCI's `icmpOptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpOptions {
    /// ICMP type.
    #[serde(rename = "type")]
    pub icmp_type: u8,
    /// ICMP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
}

/// An ingress rule (`IngressSecurityRule`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// Source CIDR.
    pub source: String,
    /// `CIDR_BLOCK` (the only type the lab models).
    #[serde(default = "cidr_block")]
    pub source_type: String,
    /// `all`, `1` (ICMP), `6` (TCP), `17` (UDP), `58` (ICMPv6).
    pub protocol: String,
    /// Stateless rules are accepted and treated like stateful ones for connection checks.
    #[serde(default)]
    pub is_stateless: bool,
    /// TCP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_options: Option<PortOptions>,
    /// UDP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_options: Option<PortOptions>,
    /// ICMP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_options: Option<IcmpOptions>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An egress rule (`EgressSecurityRule`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgressRule {
    /// Destination CIDR.
    pub destination: String,
    /// `CIDR_BLOCK`.
    #[serde(default = "cidr_block")]
    pub destination_type: String,
    /// `all`, `1`, `6`, `17`, `58`.
    pub protocol: String,
    /// Stateless flag.
    #[serde(default)]
    pub is_stateless: bool,
    /// TCP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_options: Option<PortOptions>,
    /// UDP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_options: Option<PortOptions>,
    /// ICMP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_options: Option<IcmpOptions>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn cidr_block() -> String {
    "CIDR_BLOCK".into()
}

/// Parse a CIDR block with a clear error.
pub fn parse_cidr(s: &str) -> Result<Ipv4Net, NetError> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| NetError::InvalidCidr(s.to_string()))?;
    Ok(net.trunc())
}

fn check_ports(index: usize, opts: &Option<PortOptions>) -> Result<(), NetError> {
    if let Some(o) = opts {
        for r in [o.destination_port_range, o.source_port_range].into_iter().flatten() {
            if r.min == 0 || r.min > r.max {
                return Err(NetError::InvalidRule {
                    index,
                    reason: format!("port range {}-{} is not within 1-65535 with min <= max", r.min, r.max),
                });
            }
        }
    }
    Ok(())
}

fn check_protocol(index: usize, p: &str) -> Result<(), NetError> {
    match p {
        "all" | "1" | "6" | "17" | "58" => Ok(()),
        other => Err(NetError::InvalidRule {
            index,
            reason: format!("protocol {other:?} is not one of all, 1 (ICMP), 6 (TCP), 17 (UDP), 58 (ICMPv6)"),
        }),
    }
}

/// Check a list of ingress rules.
pub fn validate_ingress(rules: &[IngressRule]) -> Result<(), NetError> {
    for (i, r) in rules.iter().enumerate() {
        parse_cidr(&r.source).map_err(|_| NetError::InvalidRule {
            index: i,
            reason: format!("source {:?} is not a CIDR block", r.source),
        })?;
        check_protocol(i, &r.protocol)?;
        check_ports(i, &r.tcp_options)?;
        check_ports(i, &r.udp_options)?;
    }
    Ok(())
}

/// Check a list of egress rules.
pub fn validate_egress(rules: &[EgressRule]) -> Result<(), NetError> {
    for (i, r) in rules.iter().enumerate() {
        parse_cidr(&r.destination).map_err(|_| NetError::InvalidRule {
            index: i,
            reason: format!("destination {:?} is not a CIDR block", r.destination),
        })?;
        check_protocol(i, &r.protocol)?;
        check_ports(i, &r.tcp_options)?;
        check_ports(i, &r.udp_options)?;
    }
    Ok(())
}

fn tcp_matches(protocol: &str, tcp: &Option<PortOptions>, port: u16) -> bool {
    match protocol {
        "all" => true,
        "6" => match tcp.as_ref().and_then(|o| o.destination_port_range) {
            None => true,
            Some(r) => (r.min..=r.max).contains(&port),
        },
        _ => false,
    }
}

fn describe_rule(protocol: &str, tcp: &Option<PortOptions>) -> String {
    match protocol {
        "all" => "all protocols".into(),
        "6" => match tcp.as_ref().and_then(|o| o.destination_port_range) {
            None => "TCP all ports".into(),
            Some(r) if r.min == r.max => format!("TCP {}", r.min),
            Some(r) => format!("TCP {}-{}", r.min, r.max),
        },
        "17" => "UDP".into(),
        "1" => "ICMP".into(),
        other => format!("protocol {other}"),
    }
}

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

/// Why a connection is refused. The text names the missing rule or route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The address is in no known network.
    #[error("no route to {0}: the address is in no VCN, subnet or on-premises network of the lab")]
    UnknownAddress(Ipv4Addr),
    /// No path of links between the two networks.
    #[error("no route from VCN {from} to VCN {to}: no DRG attachment, VPN or peering connects them")]
    NoRoute {
        /// Source VCN name.
        from: String,
        /// Destination VCN name.
        to: String,
    },
    /// A link on the only path is down.
    #[error("no route from VCN {from} to VCN {to}: {kind} {link} is down")]
    LinkDown {
        /// Source VCN name.
        from: String,
        /// Destination VCN name.
        to: String,
        /// Link kind.
        kind: LinkKind,
        /// Link name.
        link: String,
    },
    /// The source VCN cannot reach public Oracle services.
    #[error("no route from VCN {0} to the Oracle Services Network: it has no service or NAT gateway")]
    NoServiceGateway(String),
    /// Oracle services reach into a VCN only through private endpoints.
    #[error(
        "no route from the Oracle Services Network into {0}: OCI services reach a VCN only through a private endpoint"
    )]
    IntoVcnFromServices(Ipv4Addr),
    /// No egress rule on the source subnet allows it.
    #[error("security list denies: no egress rule in {lists} of subnet {subnet} ({cidr}) allows TCP {port} to {dst}")]
    Egress {
        /// Security list names.
        lists: String,
        /// Subnet name.
        subnet: String,
        /// Subnet CIDR.
        cidr: String,
        /// Destination address.
        dst: Ipv4Addr,
        /// Destination port.
        port: u16,
    },
    /// No ingress rule on the destination subnet allows it.
    #[error(
        "security list denies: no ingress rule in {lists} of subnet {subnet} ({cidr}) allows TCP {port} from {src}"
    )]
    Ingress {
        /// Security list names.
        lists: String,
        /// Subnet name.
        subnet: String,
        /// Subnet CIDR.
        cidr: String,
        /// Source address.
        src: Ipv4Addr,
        /// Destination port.
        port: u16,
    },
}

/// A connection that may pass, and what allowed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// The path of networks, e.g. `spoke-a-vcn → hub-vcn → ams-vcn`.
    pub path: String,
    /// The ingress rule that admitted it, if the destination has security lists.
    pub ingress_rule: Option<String>,
}

#[derive(Default)]
struct State {
    vcns: BTreeMap<String, Vcn>,
    subnets: BTreeMap<String, Subnet>,
    lists: BTreeMap<String, SecurityList>,
    links: Vec<Link>,
    /// Allocated private IPs and who holds them.
    hosts: BTreeMap<Ipv4Addr, String>,
    oracle_services: Vec<Ipv4Net>,
}

/// The shared network model.
#[derive(Clone, Default)]
pub struct NetworkModel {
    inner: Arc<RwLock<State>>,
    epoch: Arc<AtomicU64>,
}

impl std::fmt::Debug for NetworkModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkModel").finish_non_exhaustive()
    }
}

impl NetworkModel {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, State> {
        self.inner.read()
    }

    fn write(&self) -> parking_lot::RwLockWriteGuard<'_, State> {
        self.epoch.fetch_add(1, Ordering::Relaxed);
        self.inner.write()
    }

    /// Changes whenever the model changes.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Declare a CIDR block as part of the Oracle Services Network.
    pub fn add_oracle_services_cidr(&self, cidr: &str) -> Result<(), NetError> {
        let net = parse_cidr(cidr)?;
        self.write().oracle_services.push(net);
        Ok(())
    }

    /// Create a VCN.
    pub fn create_vcn(
        &self,
        display_name: &str,
        region: &str,
        cidr: &str,
        compartment_id: &str,
        dns_label: &str,
        reaches_oracle_services: bool,
    ) -> Result<Vcn, NetError> {
        let net = parse_cidr(cidr)?;
        let vcn = Vcn {
            id: hyok_core::ids::regional_ocid("vcn"),
            display_name: display_name.into(),
            region: region.into(),
            cidr_block: net.to_string(),
            compartment_id: compartment_id.into(),
            dns_label: dns_label.into(),
            reaches_oracle_services,
            time_created: hyok_core::rfc3339_now(),
        };
        self.write().vcns.insert(vcn.id.clone(), vcn.clone());
        Ok(vcn)
    }

    /// Create a security list in a VCN.
    pub fn create_security_list(
        &self,
        vcn_id: &str,
        display_name: &str,
        ingress: Vec<IngressRule>,
        egress: Vec<EgressRule>,
    ) -> Result<SecurityList, NetError> {
        validate_ingress(&ingress)?;
        validate_egress(&egress)?;
        let mut s = self.write();
        let vcn = s.vcns.get(vcn_id).ok_or_else(|| NetError::NotFound(format!("VCN {vcn_id}")))?;
        let list = SecurityList {
            id: hyok_core::ids::regional_ocid("securitylist"),
            display_name: display_name.into(),
            vcn_id: vcn_id.into(),
            compartment_id: vcn.compartment_id.clone(),
            ingress_security_rules: ingress,
            egress_security_rules: egress,
            time_created: hyok_core::rfc3339_now(),
        };
        s.lists.insert(list.id.clone(), list.clone());
        Ok(list)
    }

    /// OCI's default security list: SSH and ICMP in, everything out. Nothing else comes in,
    /// not even from the same subnet.
    pub fn create_default_security_list(&self, vcn_id: &str) -> Result<SecurityList, NetError> {
        let vcn = self.vcn(vcn_id).ok_or_else(|| NetError::NotFound(format!("VCN {vcn_id}")))?;
        let ingress = vec![
            IngressRule {
                source: "0.0.0.0/0".into(),
                source_type: cidr_block(),
                protocol: "6".into(),
                is_stateless: false,
                tcp_options: Some(PortOptions {
                    destination_port_range: Some(PortRange { min: 22, max: 22 }),
                    source_port_range: None,
                }),
                udp_options: None,
                icmp_options: None,
                description: None,
            },
            IngressRule {
                source: "0.0.0.0/0".into(),
                source_type: cidr_block(),
                protocol: "1".into(),
                is_stateless: false,
                tcp_options: None,
                udp_options: None,
                icmp_options: Some(IcmpOptions { icmp_type: 3, code: Some(4) }),
                description: None,
            },
            IngressRule {
                source: vcn.cidr_block.clone(),
                source_type: cidr_block(),
                protocol: "1".into(),
                is_stateless: false,
                tcp_options: None,
                udp_options: None,
                icmp_options: Some(IcmpOptions { icmp_type: 3, code: None }),
                description: None,
            },
        ];
        let egress = vec![EgressRule {
            destination: "0.0.0.0/0".into(),
            destination_type: cidr_block(),
            protocol: "all".into(),
            is_stateless: false,
            tcp_options: None,
            udp_options: None,
            icmp_options: None,
            description: None,
        }];
        self.create_security_list(vcn_id, &format!("Default Security List for {}", vcn.display_name), ingress, egress)
    }

    /// Create a subnet; its CIDR must be inside the VCN and overlap no other subnet of it.
    pub fn create_subnet(
        &self,
        vcn_id: &str,
        display_name: &str,
        cidr: &str,
        security_list_ids: Vec<String>,
        dns_label: &str,
    ) -> Result<Subnet, NetError> {
        let net = parse_cidr(cidr)?;
        let mut s = self.write();
        let vcn = s.vcns.get(vcn_id).ok_or_else(|| NetError::NotFound(format!("VCN {vcn_id}")))?;
        let vcn_net = parse_cidr(&vcn.cidr_block)?;
        if !vcn_net.contains(&net) {
            return Err(NetError::SubnetOutsideVcn {
                subnet: net.to_string(),
                vcn: vcn.display_name.clone(),
                vcn_cidr: vcn.cidr_block.clone(),
            });
        }
        for other in s.subnets.values().filter(|x| x.vcn_id == vcn_id) {
            let o = parse_cidr(&other.cidr_block)?;
            if o.contains(&net.network()) || net.contains(&o.network()) {
                return Err(NetError::OverlappingSubnet {
                    new: net.to_string(),
                    existing: other.display_name.clone(),
                    existing_cidr: other.cidr_block.clone(),
                });
            }
        }
        for id in &security_list_ids {
            if s.lists.get(id).is_none_or(|l| l.vcn_id != vcn_id) {
                return Err(NetError::NotFound(format!("security list {id} in VCN {}", vcn.display_name)));
            }
        }
        let subnet = Subnet {
            id: hyok_core::ids::regional_ocid("subnet"),
            display_name: display_name.into(),
            vcn_id: vcn_id.into(),
            cidr_block: net.to_string(),
            security_list_ids,
            prohibit_public_ip_on_vnic: true,
            compartment_id: vcn.compartment_id.clone(),
            dns_label: dns_label.into(),
            time_created: hyok_core::rfc3339_now(),
            alloc_start: None,
        };
        s.subnets.insert(subnet.id.clone(), subnet.clone());
        Ok(subnet)
    }

    /// Set where address allocation starts in a subnet (the lab's world uses this so the API
    /// gateway gets the tutorial's 172.16.1.103).
    pub fn set_allocation_start(&self, subnet_id: &str, start: Ipv4Addr) -> Result<(), NetError> {
        let mut s = self.write();
        let sub = s.subnets.get_mut(subnet_id).ok_or_else(|| NetError::NotFound(format!("subnet {subnet_id}")))?;
        sub.alloc_start = Some(start);
        Ok(())
    }

    /// Reserve a fixed address in a subnet for `owner`.
    pub fn reserve_ip(&self, subnet_id: &str, ip: Ipv4Addr, owner: &str) -> Result<(), NetError> {
        let mut s = self.write();
        let sub = s.subnets.get(subnet_id).ok_or_else(|| NetError::NotFound(format!("subnet {subnet_id}")))?;
        let net = parse_cidr(&sub.cidr_block)?;
        if !net.contains(&ip) {
            return Err(NetError::InvalidCidr(format!("{ip} is not inside {}", sub.cidr_block)));
        }
        if s.hosts.contains_key(&ip) {
            return Err(NetError::AddressInUse(ip));
        }
        s.hosts.insert(ip, owner.into());
        Ok(())
    }

    /// Hand out the lowest free private IP of a subnet (skipping the network address, the
    /// default gateway `.1` and broadcast, as OCI does).
    pub fn allocate_ip(&self, subnet_id: &str, owner: &str) -> Result<Ipv4Addr, NetError> {
        let mut s = self.write();
        let sub = s.subnets.get(subnet_id).ok_or_else(|| NetError::NotFound(format!("subnet {subnet_id}")))?.clone();
        let net = parse_cidr(&sub.cidr_block)?;
        let first = u32::from(net.network()) + 2;
        let start = sub.alloc_start.map(u32::from).unwrap_or(first).max(first);
        let last = u32::from(net.broadcast()).saturating_sub(1);
        for n in start..=last {
            let ip = Ipv4Addr::from(n);
            if let std::collections::btree_map::Entry::Vacant(e) = s.hosts.entry(ip) {
                e.insert(owner.into());
                return Ok(ip);
            }
        }
        Err(NetError::SubnetFull(sub.display_name.clone()))
    }

    /// Give an address back.
    pub fn release_ip(&self, ip: Ipv4Addr) {
        self.write().hosts.remove(&ip);
    }

    /// Who holds an address.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<String> {
        self.read().hosts.get(&ip).cloned()
    }

    /// Join two VCNs.
    pub fn add_link(&self, name: &str, a: &str, b: &str, kind: LinkKind) -> Result<(), NetError> {
        let mut s = self.write();
        for id in [a, b] {
            if !s.vcns.contains_key(id) {
                return Err(NetError::NotFound(format!("VCN {id}")));
            }
        }
        s.links.push(Link { name: name.into(), a: a.into(), b: b.into(), kind, up: true });
        Ok(())
    }

    /// Bring a link up or down (fault injection).
    pub fn set_link_up(&self, name: &str, up: bool) -> Result<(), NetError> {
        let mut s = self.write();
        let l =
            s.links.iter_mut().find(|l| l.name == name).ok_or_else(|| NetError::NotFound(format!("link {name}")))?;
        l.up = up;
        Ok(())
    }

    /// Replace the rules of a security list (OCI `UpdateSecurityList`).
    pub fn update_security_list(
        &self,
        id: &str,
        ingress: Option<Vec<IngressRule>>,
        egress: Option<Vec<EgressRule>>,
        display_name: Option<String>,
    ) -> Result<SecurityList, NetError> {
        if let Some(i) = &ingress {
            validate_ingress(i)?;
        }
        if let Some(e) = &egress {
            validate_egress(e)?;
        }
        let mut s = self.write();
        let l = s.lists.get_mut(id).ok_or_else(|| NetError::NotFound(format!("security list {id}")))?;
        if let Some(i) = ingress {
            l.ingress_security_rules = i;
        }
        if let Some(e) = egress {
            l.egress_security_rules = e;
        }
        if let Some(n) = display_name {
            l.display_name = n;
        }
        Ok(l.clone())
    }

    /// A VCN by id.
    pub fn vcn(&self, id: &str) -> Option<Vcn> {
        self.read().vcns.get(id).cloned()
    }
    /// A VCN by display name.
    pub fn vcn_by_name(&self, name: &str) -> Option<Vcn> {
        self.read().vcns.values().find(|v| v.display_name == name).cloned()
    }
    /// All VCNs.
    pub fn vcns(&self) -> Vec<Vcn> {
        self.read().vcns.values().cloned().collect()
    }
    /// A subnet by id.
    pub fn subnet(&self, id: &str) -> Option<Subnet> {
        self.read().subnets.get(id).cloned()
    }
    /// All subnets.
    pub fn subnets(&self) -> Vec<Subnet> {
        self.read().subnets.values().cloned().collect()
    }
    /// A security list by id.
    pub fn security_list(&self, id: &str) -> Option<SecurityList> {
        self.read().lists.get(id).cloned()
    }
    /// All security lists.
    pub fn security_lists(&self) -> Vec<SecurityList> {
        self.read().lists.values().cloned().collect()
    }
    /// All links.
    pub fn links(&self) -> Vec<Link> {
        self.read().links.clone()
    }

    /// Where an address lives.
    pub fn locate(&self, ip: Ipv4Addr) -> Option<Location> {
        locate(&self.read(), ip)
    }

    /// The subnet holding `ip`, if any.
    pub fn subnet_of(&self, ip: Ipv4Addr) -> Option<Subnet> {
        let s = self.read();
        match locate(&s, ip) {
            Some(Location::Subnet(id)) => s.subnets.get(&id).cloned(),
            _ => None,
        }
    }

    /// May a TCP connection go from `src` to `dst:port`? When not, the error names the missing
    /// route or rule.
    pub fn check_tcp(&self, src: Ipv4Addr, dst: Ipv4Addr, port: u16) -> Result<Allowed, Denial> {
        let s = self.read();
        let src_loc = locate(&s, src).ok_or(Denial::UnknownAddress(src))?;
        let dst_loc = locate(&s, dst).ok_or(Denial::UnknownAddress(dst))?;
        let (src_subnet, src_vcn) = match &src_loc {
            Location::OracleServices => {
                return match dst_loc {
                    Location::OracleServices => {
                        Ok(Allowed { path: "Oracle Services Network".into(), ingress_rule: None })
                    }
                    Location::Subnet(_) => Err(Denial::IntoVcnFromServices(dst)),
                };
            }
            Location::Subnet(id) => {
                let sub = &s.subnets[id];
                (sub, &s.vcns[&sub.vcn_id])
            }
        };
        // Route.
        let (path, dst_subnet) = match &dst_loc {
            Location::OracleServices => {
                if !src_vcn.reaches_oracle_services {
                    return Err(Denial::NoServiceGateway(src_vcn.display_name.clone()));
                }
                (format!("{} → Oracle Services Network", src_vcn.display_name), None)
            }
            Location::Subnet(id) => {
                let dsub = &s.subnets[id];
                let dvcn = &s.vcns[&dsub.vcn_id];
                (route(&s, src_vcn, dvcn)?, Some(dsub))
            }
        };
        // Egress on the source subnet.
        let egress_ok = src_subnet.security_list_ids.iter().filter_map(|id| s.lists.get(id)).any(|l| {
            l.egress_security_rules.iter().any(|r| {
                parse_cidr(&r.destination).is_ok_and(|n| n.contains(&dst))
                    && tcp_matches(&r.protocol, &r.tcp_options, port)
            })
        });
        if !egress_ok {
            return Err(Denial::Egress {
                lists: list_names(&s, src_subnet),
                subnet: src_subnet.display_name.clone(),
                cidr: src_subnet.cidr_block.clone(),
                dst,
                port,
            });
        }
        // Ingress on the destination subnet.
        let Some(dsub) = dst_subnet else {
            return Ok(Allowed { path, ingress_rule: None });
        };
        for l in dsub.security_list_ids.iter().filter_map(|id| s.lists.get(id)) {
            for (i, r) in l.ingress_security_rules.iter().enumerate() {
                if parse_cidr(&r.source).is_ok_and(|n| n.contains(&src))
                    && tcp_matches(&r.protocol, &r.tcp_options, port)
                {
                    return Ok(Allowed {
                        path,
                        ingress_rule: Some(format!(
                            "ingress rule {} of {} (source {}, {})",
                            i + 1,
                            l.display_name,
                            r.source,
                            describe_rule(&r.protocol, &r.tcp_options)
                        )),
                    });
                }
            }
        }
        Err(Denial::Ingress {
            lists: list_names(&s, dsub),
            subnet: dsub.display_name.clone(),
            cidr: dsub.cidr_block.clone(),
            src,
            port,
        })
    }
}

fn list_names(s: &State, sub: &Subnet) -> String {
    let names: Vec<String> = sub
        .security_list_ids
        .iter()
        .filter_map(|id| s.lists.get(id))
        .map(|l| format!("'{}'", l.display_name))
        .collect();
    if names.is_empty() { "(no security list)".into() } else { names.join(", ") }
}

fn locate(s: &State, ip: Ipv4Addr) -> Option<Location> {
    if s.oracle_services.iter().any(|n| n.contains(&ip)) {
        return Some(Location::OracleServices);
    }
    s.subnets
        .values()
        .find(|sub| parse_cidr(&sub.cidr_block).is_ok_and(|n| n.contains(&ip)))
        .map(|sub| Location::Subnet(sub.id.clone()))
}

/// Breadth-first search over links that are up; if only a down link joins them, say which.
fn route(s: &State, from: &Vcn, to: &Vcn) -> Result<String, Denial> {
    if from.id == to.id {
        return Ok(from.display_name.clone());
    }
    let search = |only_up: bool| -> Option<Vec<String>> {
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::from([from.id.clone()]);
        prev.insert(from.id.clone(), String::new());
        while let Some(cur) = queue.pop_front() {
            if cur == to.id {
                let mut path = vec![cur.clone()];
                let mut at = cur;
                while let Some(p) = prev.get(&at).filter(|p| !p.is_empty()) {
                    path.push(p.clone());
                    at = p.clone();
                }
                path.reverse();
                return Some(path);
            }
            for l in s.links.iter().filter(|l| l.up || !only_up) {
                let next = if l.a == cur {
                    &l.b
                } else if l.b == cur {
                    &l.a
                } else {
                    continue;
                };
                if !prev.contains_key(next) {
                    prev.insert(next.clone(), cur.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        None
    };
    let name = |id: &String| s.vcns.get(id).map(|v| v.display_name.clone()).unwrap_or_else(|| id.clone());
    if let Some(path) = search(true) {
        return Ok(path.iter().map(name).collect::<Vec<_>>().join(" → "));
    }
    if let Some(path) = search(false) {
        let down = path.windows(2).find_map(|w| {
            s.links.iter().find(|l| !l.up && ((l.a == w[0] && l.b == w[1]) || (l.a == w[1] && l.b == w[0])))
        });
        if let Some(l) = down {
            return Err(Denial::LinkDown {
                from: from.display_name.clone(),
                to: to.display_name.clone(),
                kind: l.kind,
                link: l.name.clone(),
            });
        }
    }
    Err(Denial::NoRoute { from: from.display_name.clone(), to: to.display_name.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    fn spoke() -> (NetworkModel, Subnet, SecurityList) {
        let m = NetworkModel::new();
        let v = m.create_vcn("spoke-a-vcn", "FRA", "172.16.0.0/16", "c", "spokea", true).expect("vcn");
        let l = m.create_default_security_list(&v.id).expect("list");
        let s = m.create_subnet(&v.id, "private-subnet", "172.16.1.0/24", vec![l.id.clone()], "priv").expect("subnet");
        (m, s, l)
    }

    #[test]
    fn same_subnet_is_denied_until_ingress_rule() {
        let (m, _s, l) = spoke();
        let e = m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 443).expect_err("denied");
        assert!(matches!(e, Denial::Ingress { .. }), "{e}");
        assert!(e.to_string().contains("Default Security List for spoke-a-vcn"), "{e}");
        let mut ingress = l.ingress_security_rules.clone();
        ingress.push(IngressRule {
            source: "172.16.1.0/24".into(),
            source_type: "CIDR_BLOCK".into(),
            protocol: "all".into(),
            is_stateless: false,
            tcp_options: None,
            udp_options: None,
            icmp_options: None,
            description: None,
        });
        let before = m.epoch();
        m.update_security_list(&l.id, Some(ingress), None, None).expect("update");
        assert!(m.epoch() > before);
        let ok = m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 443).expect("allowed");
        assert!(ok.ingress_rule.expect("rule").contains("ingress rule 4"));
        // SSH from anywhere is in the default list.
        m.check_tcp(ip("172.16.1.104"), ip("172.16.1.103"), 22).expect("ssh allowed");
    }

    #[test]
    fn routes_follow_links_and_name_down_links() {
        let (m, s, _) = spoke();
        let spoke_vcn = s.vcn_id.clone();
        let ams = m.create_vcn("ams-vcn", "AMS", "10.222.0.0/16", "c", "ams", true).expect("vcn");
        let web = m
            .create_security_list(
                &ams.id,
                "ctm-https",
                vec![IngressRule {
                    source: "172.16.0.0/12".into(),
                    source_type: "CIDR_BLOCK".into(),
                    protocol: "6".into(),
                    is_stateless: false,
                    tcp_options: Some(PortOptions {
                        destination_port_range: Some(PortRange { min: 443, max: 443 }),
                        source_port_range: None,
                    }),
                    udp_options: None,
                    icmp_options: None,
                    description: None,
                }],
                vec![],
            )
            .expect("list");
        m.create_subnet(&ams.id, "ams-private", "10.222.10.0/24", vec![web.id], "amspriv").expect("subnet");
        let err = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect_err("no link");
        assert!(matches!(err, Denial::NoRoute { .. }), "{err}");
        let hub = m.create_vcn("hub-vcn", "FRA", "10.10.0.0/16", "c", "hub", true).expect("hub");
        m.add_link("drg-spoke-a", &spoke_vcn, &hub.id, LinkKind::DrgAttachment).expect("link");
        m.add_link("vpn-fra-ams", &hub.id, &ams.id, LinkKind::SiteToSiteVpn).expect("link");
        let ok = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect("route");
        assert_eq!(ok.path, "spoke-a-vcn → hub-vcn → ams-vcn");
        assert!(matches!(m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 8443), Err(Denial::Ingress { .. })));
        m.set_link_up("vpn-fra-ams", false).expect("down");
        let err = m.check_tcp(ip("172.16.1.103"), ip("10.222.10.21"), 443).expect_err("down");
        assert!(err.to_string().contains("Site-to-Site VPN vpn-fra-ams is down"), "{err}");
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let (m, s, l) = spoke();
        assert!(matches!(m.create_vcn("x", "FRA", "10.0.0.0/33", "c", "x", true), Err(NetError::InvalidCidr(_))));
        assert!(matches!(
            m.create_subnet(&s.vcn_id, "o", "172.16.1.128/25", vec![], "o"),
            Err(NetError::OverlappingSubnet { .. })
        ));
        assert!(matches!(
            m.create_subnet(&s.vcn_id, "o", "10.9.0.0/24", vec![], "o"),
            Err(NetError::SubnetOutsideVcn { .. })
        ));
        let bad = IngressRule {
            source: "nope".into(),
            source_type: "CIDR_BLOCK".into(),
            protocol: "6".into(),
            is_stateless: false,
            tcp_options: None,
            udp_options: None,
            icmp_options: None,
            description: None,
        };
        let e = m.update_security_list(&l.id, Some(vec![bad]), None, None).expect_err("bad rule");
        assert!(e.to_string().contains("source \"nope\""), "{e}");
    }

    #[test]
    fn allocation_is_deterministic() {
        let (m, s, _) = spoke();
        m.set_allocation_start(&s.id, ip("172.16.1.103")).expect("start");
        assert_eq!(m.allocate_ip(&s.id, "API-GW").expect("ip"), ip("172.16.1.103"));
        assert_eq!(m.allocate_ip(&s.id, "pe").expect("ip"), ip("172.16.1.104"));
        m.release_ip(ip("172.16.1.103"));
        assert_eq!(m.allocate_ip(&s.id, "again").expect("ip"), ip("172.16.1.103"));
    }
}
