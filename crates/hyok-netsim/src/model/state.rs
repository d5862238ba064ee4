//! The model's state and every change to it; each change bumps the epoch, so dialers drop
//! connections made under the old rules.

use crate::model::{
    error::NetError,
    resources::{Link, LinkKind, SecurityList, Subnet, Vcn},
    rules::{
        EgressRule, IcmpOptions, IngressRule, PortOptions, PortRange, cidr_block, parse_cidr, validate_egress,
        validate_ingress,
    },
};
use ipnet::Ipv4Net;
use parking_lot::RwLock;
use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

#[derive(Default)]
pub(super) struct State {
    pub(super) vcns: BTreeMap<String, Vcn>,
    pub(super) subnets: BTreeMap<String, Subnet>,
    pub(super) lists: BTreeMap<String, SecurityList>,
    pub(super) links: Vec<Link>,
    /// Allocated private IPs and who holds them.
    hosts: BTreeMap<Ipv4Addr, String>,
    pub(super) oracle_services: Vec<Ipv4Net>,
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

    pub(super) fn read(&self) -> parking_lot::RwLockReadGuard<'_, State> {
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
            default_route_table_id: hyok_core::ids::regional_ocid("routetable"),
            default_dhcp_options_id: hyok_core::ids::regional_ocid("dhcpoptions"),
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
            route_table_id: vcn.default_route_table_id.clone(),
            dhcp_options_id: vcn.default_dhcp_options_id.clone(),
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
}
