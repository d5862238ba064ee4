//! The lab's one port plan: every port a lab listens on, as an offset from the port base.
//! The Dockerfile, the compose file and the justfile publish these ranges, and the world file
//! places services in them; a test (`tests/it/ports.rs`) checks that they agree with this file.
//! The testcontainers crate and the lab itself read them from here.

use std::ops::RangeInclusive;

/// Default first real port of `hyok-lab up` (stable URLs for workshops).
pub const DEFAULT_PORT_BASE: u16 = 17400;
/// Offset of the admin endpoint (`/health`, `/events`, a region's internal API).
pub const ADMIN_OFFSET: u16 = 0;
/// Offsets of the services the world file places (`port_offset` in world.toml), and the admin
/// endpoint's.
pub const SERVICE_OFFSETS: RangeInclusive<u16> = 0..=16;
/// Port offset at which the host reaches the gateway's 443 in the compose topology.
pub const GATEWAY_HOST_OFFSET: u16 = 50;
/// Port offset of the host's HTTPS proxy (HTTP CONNECT to the names the lab serves).
pub const PROXY_OFFSET: u16 = 51;
/// Port offset of Internet DNS (UDP and TCP).
pub const DNS_INTERNET_OFFSET: u16 = 52;
/// Port offset of the host resolver (every view).
pub const DNS_HOST_OFFSET: u16 = 53;
/// Port offset of the first VCN resolver; VCNs follow in name order.
pub const DNS_VCN_OFFSET: u16 = 54;
/// Offsets of every DNS server: Internet, host, and one per VCN of the shipped world.
pub const DNS_OFFSETS: RangeInclusive<u16> = DNS_INTERNET_OFFSET..=57;
/// Offset of the first port for endpoints created at run time (gateways, vault endpoints).
pub const DYNAMIC_PORT_OFFSET: u16 = 100;
/// How many run-time endpoints get fixed ports.
pub const DYNAMIC_PORTS: u16 = 100;
/// The run-time ports a container publishes (the first ten are enough for the tutorial).
pub const DYNAMIC_PUBLISHED: RangeInclusive<u16> = DYNAMIC_PORT_OFFSET..=109;
/// Port of the API gateway data-plane agent (internal; the region's control plane calls it).
pub const DATA_PLANE_PORT: u16 = 9443;

/// TCP offsets a container of the whole lab publishes.
pub fn published_tcp() -> [RangeInclusive<u16>; 4] {
    [SERVICE_OFFSETS, PROXY_OFFSET..=PROXY_OFFSET, DNS_OFFSETS, DYNAMIC_PUBLISHED]
}

/// UDP offsets a container of the whole lab publishes.
pub fn published_udp() -> [RangeInclusive<u16>; 1] {
    [DNS_OFFSETS]
}
