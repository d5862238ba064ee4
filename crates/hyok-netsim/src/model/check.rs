//! The decision whether a TCP connection may pass: where both ends live, the route between
//! their networks, the source subnet's egress rules and the destination subnet's ingress rules.
//! A refusal names the missing route or rule.

use crate::model::{
    resources::{LinkKind, Location, Subnet, Vcn},
    rules::{describe_rule, parse_cidr, tcp_matches},
    state::{NetworkModel, State},
};
use std::{
    collections::{BTreeMap, VecDeque},
    net::Ipv4Addr,
};

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

impl NetworkModel {
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
