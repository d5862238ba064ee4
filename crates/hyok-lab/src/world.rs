//! The lab's starting world, read from `scenarios/world.toml` (or a file given with `--world`).

use hyok_dns::{DnsModel, RecordData, model::RecordOp};
use hyok_netsim::{EgressRule, IngressRule, LinkKind, NetworkModel, PortRange, model::PortOptions};
use serde::Deserialize;
use std::{collections::BTreeMap, net::Ipv4Addr};

/// The world shipped with the lab.
pub const DEFAULT_WORLD: &str = include_str!("../../../scenarios/world.toml");

/// Errors in a world file; each names the item at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// The TOML does not parse or has unknown/missing fields (the message has line and column).
    #[error("world file: {0}")]
    Parse(#[from] toml::de::Error),
    /// A network item is invalid.
    #[error("world file: {item}: {source}")]
    Net {
        /// Which item.
        item: String,
        /// Why.
        source: hyok_netsim::NetError,
    },
    /// A DNS item is invalid.
    #[error("world file: {item}: {source}")]
    Dns {
        /// Which item.
        item: String,
        /// Why.
        source: hyok_dns::DnsError,
    },
    /// A reference to something that is not defined.
    #[error("world file: {0}")]
    Reference(String),
}

/// The world file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldConfig {
    /// OCI region name.
    pub region: String,
    /// CIDR of the Oracle Services Network (public cloud endpoints).
    pub oracle_services_cidr: String,
    /// VCNs (and on-premises networks).
    #[serde(default, rename = "vcn")]
    pub vcns: Vec<VcnConfig>,
    /// Links between VCNs.
    #[serde(default, rename = "link")]
    pub links: Vec<LinkConfig>,
    /// Private views.
    #[serde(default, rename = "view")]
    pub views: Vec<ViewConfig>,
    /// Where lab services sit.
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceConfig>,
}

/// A VCN.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VcnConfig {
    /// Display name.
    pub name: String,
    /// Region key (FRA, AMS, ASH).
    pub region: String,
    /// CIDR block.
    pub cidr: String,
    /// DNS label.
    pub dns_label: String,
    /// Whether it reaches the Oracle Services Network.
    #[serde(default = "yes")]
    pub reaches_oracle_services: bool,
    /// Subnets.
    #[serde(default)]
    pub subnets: Vec<SubnetConfig>,
    /// Extra security lists (the default list always exists).
    #[serde(default)]
    pub security_lists: Vec<SecurityListConfig>,
}

fn yes() -> bool {
    true
}

/// A subnet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetConfig {
    /// Display name.
    pub name: String,
    /// CIDR block.
    pub cidr: String,
    /// DNS label.
    pub dns_label: String,
    /// Security lists by name; empty means the VCN's default list.
    #[serde(default)]
    pub security_lists: Vec<String>,
    /// First address to allocate.
    #[serde(default)]
    pub allocation_start: Option<Ipv4Addr>,
}

/// A security list with short rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityListConfig {
    /// Display name.
    pub name: String,
    /// Ingress rules.
    #[serde(default)]
    pub ingress: Vec<RuleConfig>,
    /// Egress rules; empty means everything out.
    #[serde(default)]
    pub egress: Vec<RuleConfig>,
}

/// One rule: `source` (ingress) or `destination` (egress), protocol and optional TCP port.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Source CIDR (ingress).
    #[serde(default)]
    pub source: Option<String>,
    /// Destination CIDR (egress).
    #[serde(default)]
    pub destination: Option<String>,
    /// `all`, `6`, `17`, `1`.
    pub protocol: String,
    /// Destination TCP port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Name.
    pub name: String,
    /// One VCN (by name).
    pub a: String,
    /// The other VCN.
    pub b: String,
    /// Kind.
    pub kind: LinkKind,
}

/// A private view with zones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewConfig {
    /// Display name.
    pub name: String,
    /// VCNs whose resolvers have it attached.
    #[serde(default)]
    pub attached_to: Vec<String>,
    /// Zones.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

/// A zone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Zone name.
    pub name: String,
    /// Records.
    #[serde(default)]
    pub records: Vec<RecordConfig>,
}

/// A record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// Owner name.
    pub domain: String,
    /// Type.
    pub rtype: String,
    /// Data.
    pub rdata: String,
    /// TTL (default 0 so changes show at once).
    #[serde(default)]
    pub ttl: u32,
}

/// Where a lab service sits in the world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Service name (`identity`, `ctm-ams`, ...).
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Host name (`{idcs}` is replaced).
    pub host: String,
    /// Virtual IP.
    pub ip: Ipv4Addr,
    /// Virtual port (default 443).
    #[serde(default = "https_port")]
    pub port: u16,
    /// Offset from the lab's port base for its real loopback port.
    pub port_offset: u16,
}

fn https_port() -> u16 {
    443
}

/// What building the world produced, by name.
#[derive(Debug, Default)]
pub struct BuiltWorld {
    /// VCN ids by name.
    pub vcns: BTreeMap<String, String>,
    /// Subnet ids by name.
    pub subnets: BTreeMap<String, String>,
    /// Resolver ids by VCN name.
    pub resolvers: BTreeMap<String, String>,
    /// View ids by name.
    pub views: BTreeMap<String, String>,
}

impl WorldConfig {
    /// Parse a world file.
    pub fn parse(text: &str) -> Result<Self, WorldError> {
        Ok(toml::from_str(text)?)
    }

    /// Create everything in the models.
    pub fn build(&self, net: &NetworkModel, dns: &DnsModel, compartment: &str) -> Result<BuiltWorld, WorldError> {
        let mut w = BuiltWorld::default();
        net.add_oracle_services_cidr(&self.oracle_services_cidr)
            .map_err(|source| WorldError::Net { item: "oracle_services_cidr".into(), source })?;
        for v in &self.vcns {
            let item = format!("vcn {:?}", v.name);
            let vcn = net
                .create_vcn(&v.name, &v.region, &v.cidr, compartment, &v.dns_label, v.reaches_oracle_services)
                .map_err(|source| WorldError::Net { item: item.clone(), source })?;
            let default_list = net
                .create_default_security_list(&vcn.id)
                .map_err(|source| WorldError::Net { item: item.clone(), source })?;
            let mut lists = BTreeMap::new();
            for l in &v.security_lists {
                let item = format!("{item} security list {:?}", l.name);
                let ingress = l
                    .ingress
                    .iter()
                    .map(|r| {
                        to_ingress(r)
                            .ok_or_else(|| WorldError::Reference(format!("{item}: an ingress rule needs `source`")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let egress = if l.egress.is_empty() {
                    vec![all_out()]
                } else {
                    l.egress
                        .iter()
                        .map(|r| {
                            to_egress(r).ok_or_else(|| {
                                WorldError::Reference(format!("{item}: an egress rule needs `destination`"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?
                };
                let list = net
                    .create_security_list(&vcn.id, &l.name, ingress, egress)
                    .map_err(|source| WorldError::Net { item, source })?;
                lists.insert(l.name.clone(), list.id);
            }
            for s in &v.subnets {
                let item = format!("{item} subnet {:?}", s.name);
                let ids = if s.security_lists.is_empty() {
                    vec![default_list.id.clone()]
                } else {
                    s.security_lists
                        .iter()
                        .map(|n| {
                            lists.get(n).cloned().ok_or_else(|| {
                                WorldError::Reference(format!("{item}: no security list named {n:?} in this VCN"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?
                };
                let sub = net
                    .create_subnet(&vcn.id, &s.name, &s.cidr, ids, &s.dns_label)
                    .map_err(|source| WorldError::Net { item: item.clone(), source })?;
                if let Some(start) = s.allocation_start {
                    net.set_allocation_start(&sub.id, start).map_err(|source| WorldError::Net { item, source })?;
                }
                w.subnets.insert(s.name.clone(), sub.id);
            }
            let resolver = dns.create_resolver(&vcn.id, &v.name, compartment);
            w.resolvers.insert(v.name.clone(), resolver.id);
            w.vcns.insert(v.name.clone(), vcn.id);
        }
        for l in &self.links {
            let item = format!("link {:?}", l.name);
            let a = w.vcns.get(&l.a).ok_or_else(|| WorldError::Reference(format!("{item}: no VCN named {:?}", l.a)))?;
            let b = w.vcns.get(&l.b).ok_or_else(|| WorldError::Reference(format!("{item}: no VCN named {:?}", l.b)))?;
            net.add_link(&l.name, a, b, l.kind).map_err(|source| WorldError::Net { item, source })?;
        }
        for v in &self.views {
            let item = format!("view {:?}", v.name);
            let view = dns.create_view(&v.name, compartment, false);
            for z in &v.zones {
                let item = format!("{item} zone {:?}", z.name);
                let zone = dns
                    .create_zone(&z.name, &view.id, compartment)
                    .map_err(|source| WorldError::Dns { item: item.clone(), source })?;
                let ops: Vec<_> = z
                    .records
                    .iter()
                    .map(|r| {
                        (
                            RecordOp::Add,
                            RecordData {
                                domain: r.domain.clone(),
                                rtype: r.rtype.clone(),
                                rdata: r.rdata.clone(),
                                ttl: r.ttl,
                            },
                        )
                    })
                    .collect();
                dns.patch_records(&zone.id, &ops).map_err(|source| WorldError::Dns { item, source })?;
            }
            for vcn in &v.attached_to {
                let rid = w
                    .resolvers
                    .get(vcn)
                    .ok_or_else(|| WorldError::Reference(format!("{item}: attached_to names no VCN {vcn:?}")))?;
                let mut attached = dns.resolver(rid).map(|r| r.attached_views).unwrap_or_default();
                attached.push(view.id.clone());
                dns.set_attached_views(rid, attached)
                    .map_err(|source| WorldError::Dns { item: item.clone(), source })?;
            }
            w.views.insert(v.name.clone(), view.id);
        }
        Ok(w)
    }
}

fn tcp(port: Option<u16>) -> Option<PortOptions> {
    port.map(|p| PortOptions { destination_port_range: Some(PortRange { min: p, max: p }), source_port_range: None })
}

fn to_ingress(r: &RuleConfig) -> Option<IngressRule> {
    Some(IngressRule {
        source: r.source.clone()?,
        source_type: "CIDR_BLOCK".into(),
        protocol: r.protocol.clone(),
        is_stateless: false,
        tcp_options: tcp(r.port),
        udp_options: None,
        icmp_options: None,
        description: r.description.clone(),
    })
}

fn to_egress(r: &RuleConfig) -> Option<EgressRule> {
    Some(EgressRule {
        destination: r.destination.clone()?,
        destination_type: "CIDR_BLOCK".into(),
        protocol: r.protocol.clone(),
        is_stateless: false,
        tcp_options: tcp(r.port),
        udp_options: None,
        icmp_options: None,
        description: r.description.clone(),
    })
}

fn all_out() -> EgressRule {
    EgressRule {
        destination: "0.0.0.0/0".into(),
        destination_type: "CIDR_BLOCK".into(),
        protocol: "all".into(),
        is_stateless: false,
        tcp_options: None,
        udp_options: None,
        icmp_options: None,
        description: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_world_builds() {
        let cfg = WorldConfig::parse(DEFAULT_WORLD).expect("parse");
        let net = NetworkModel::new();
        let dns = DnsModel::new();
        let w = cfg.build(&net, &dns, "c").expect("build");
        assert_eq!(w.vcns.len(), 4);
        let ok = net
            .check_tcp("172.16.1.103".parse().expect("ip"), "10.222.10.21".parse().expect("ip"), 443)
            .expect("gw to ctm");
        assert_eq!(ok.path, "fra-spoke-a-vcn → fra-hub-vcn → ams-vcn");
        let spoke = &w.resolvers["fra-spoke-a-vcn"];
        assert!(matches!(
            dns.resolve(spoke, "ctm1.oci-thales.lab", "A").expect("r"),
            hyok_dns::Resolution::NxDomain { .. }
        ));
        let hub = &w.resolvers["fra-hub-vcn"];
        assert!(dns.resolve(hub, "ctm1.oci-thales.lab", "A").expect("r").first_ipv4().is_some());
    }

    #[test]
    fn errors_name_the_item() {
        let bad = DEFAULT_WORLD.replace("cidr = \"172.16.1.0/24\"", "cidr = \"172.16.1.0/33\"");
        let e = WorldConfig::parse(&bad)
            .expect("parse")
            .build(&NetworkModel::new(), &DnsModel::new(), "c")
            .expect_err("bad cidr");
        assert!(e.to_string().contains("subnet \"fra-spoke-a-private-subnet\""), "{e}");
        let e = WorldConfig::parse("region = 1").expect_err("type");
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = WorldConfig::parse(&format!("{DEFAULT_WORLD}\nsurprise = true\n")).expect_err("unknown");
        assert!(e.to_string().contains("surprise"), "{e}");
        let overlap = DEFAULT_WORLD.replace(
            "subnets = [{ name = \"fra-hub-private-subnet\", cidr = \"10.10.1.0/24\", dns_label = \"hubpriv\" }]",
            "subnets = [{ name = \"a\", cidr = \"10.10.1.0/24\", dns_label = \"a\" }, { name = \"b\", cidr = \"10.10.1.128/25\", dns_label = \"b\" }]",
        );
        let e = WorldConfig::parse(&overlap)
            .expect("parse")
            .build(&NetworkModel::new(), &DnsModel::new(), "c")
            .expect_err("overlap");
        assert!(e.to_string().contains("overlaps"), "{e}");
        let badzone = DEFAULT_WORLD.replacen("name = \"oci-thales.lab\"", "name = \"oci thales.lab\"", 1);
        let e = WorldConfig::parse(&badzone)
            .expect("parse")
            .build(&NetworkModel::new(), &DnsModel::new(), "c")
            .expect_err("zone");
        assert!(e.to_string().contains("invalid DNS name"), "{e}");
    }
}
