//! Security rules (`IngressSecurityRule`, `EgressSecurityRule`): their shapes, the checks every
//! list must pass, and whether a rule lets a TCP connection through.

use crate::model::error::NetError;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

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

/// The only source and destination type the lab models.
pub(super) fn cidr_block() -> String {
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

/// Whether a rule with this protocol and these TCP options admits TCP to `port`.
pub(super) fn tcp_matches(protocol: &str, tcp: &Option<PortOptions>, port: u16) -> bool {
    match protocol {
        "all" => true,
        "6" => match tcp.as_ref().and_then(|o| o.destination_port_range) {
            None => true,
            Some(r) => (r.min..=r.max).contains(&port),
        },
        _ => false,
    }
}

/// A rule in words, for the reason a connection was allowed.
pub(super) fn describe_rule(protocol: &str, tcp: &Option<PortOptions>) -> String {
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
