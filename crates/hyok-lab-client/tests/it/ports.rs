//! The port plan (`hyok_lab_client::ports`) against every file that repeats it: the Dockerfile's
//! EXPOSE, the justfile's `docker run -p`, the compose file's published ports and the world
//! file's `port_offset`s. A port changed in one place and not the others fails here.

use hyok_lab_client::ports::{
    ADMIN_OFFSET, DATA_PLANE_PORT, DEFAULT_PORT_BASE, DNS_HOST_OFFSET, DNS_INTERNET_OFFSET, DNS_OFFSETS,
    DNS_VCN_OFFSET, DYNAMIC_PUBLISHED, GATEWAY_HOST_OFFSET, PROXY_OFFSET, SERVICE_OFFSETS, published_tcp,
    published_udp,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    ops::RangeInclusive,
    path::Path,
};

fn repo_file(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Ports as a set, for comparing ranges however they are split.
type Ports = BTreeSet<u16>;

fn ports(ranges: impl IntoIterator<Item = RangeInclusive<u16>>, base: u16) -> Ports {
    ranges.into_iter().flat_map(|r| (base + r.start())..=(base + r.end())).collect()
}

/// `17400` or `17400-17416`.
fn range(s: &str) -> RangeInclusive<u16> {
    let n = |x: &str| x.parse::<u16>().unwrap_or_else(|e| panic!("port {x:?}: {e}"));
    match s.split_once('-') {
        Some((a, b)) => n(a)..=n(b),
        None => n(s)..=n(s),
    }
}

/// One published mapping: `[ip:]host[:container][/proto]`.
#[derive(Debug)]
struct Publish {
    host: RangeInclusive<u16>,
    container: RangeInclusive<u16>,
    udp: bool,
}

fn publish(spec: &str) -> Publish {
    let (spec, udp) = match spec.rsplit_once('/') {
        Some((s, proto)) => (s, proto == "udp"),
        None => (spec, false),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, container) = match parts.as_slice() {
        [_, h, c] | [h, c] => (range(h), range(c)),
        [single] => (range(single), range(single)),
        _ => panic!("cannot read port mapping {spec:?}"),
    };
    Publish { host, container, udp }
}

/// Host TCP and UDP ports of a list of mappings that publish each port under its own number.
fn same_numbers(maps: &[Publish]) -> (Ports, Ports) {
    let (mut tcp, mut udp) = (Ports::new(), Ports::new());
    for m in maps {
        assert_eq!(m.host, m.container, "{m:?}: the ports are published under the same numbers");
        (if m.udp { &mut udp } else { &mut tcp }).extend(m.host.clone());
    }
    (tcp, udp)
}

#[test]
fn the_dockerfile_exposes_the_plan() {
    let text = repo_file("docker/Dockerfile");
    assert!(text.contains(&format!("HYOK_LAB_PORT_BASE={DEFAULT_PORT_BASE}")), "the image's port base");
    let expose: Vec<Publish> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(publish).collect::<Vec<_>>())
        .collect();
    let (tcp, udp) = same_numbers(&expose);
    assert_eq!(tcp, ports(published_tcp(), DEFAULT_PORT_BASE), "EXPOSE …/tcp");
    assert_eq!(udp, ports(published_udp(), DEFAULT_PORT_BASE), "EXPOSE …/udp");
}

#[test]
fn just_docker_run_publishes_the_plan() {
    let text = repo_file("justfile");
    let run = text.lines().find(|l| l.trim_start().starts_with("docker run")).expect("docker-run recipe");
    let words: Vec<&str> = run.split_whitespace().collect();
    let maps: Vec<Publish> = words.windows(2).filter(|w| w[0] == "-p").map(|w| publish(w[1])).collect();
    let (tcp, udp) = same_numbers(&maps);
    assert_eq!(tcp, ports(published_tcp(), DEFAULT_PORT_BASE), "{run}");
    assert_eq!(udp, ports(published_udp(), DEFAULT_PORT_BASE), "{run}");
}

/// The compose file's services: published mappings, environment and health-check lines.
#[derive(Default, Debug)]
struct ComposeService {
    publish: Vec<Publish>,
    lines: Vec<String>,
}

fn compose_services(text: &str) -> BTreeMap<String, ComposeService> {
    let mut out: BTreeMap<String, ComposeService> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_services = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_services = line.trim_end() == "services:";
            current = None;
            continue;
        }
        if in_services && line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            current = Some(line.trim().trim_end_matches(':').to_string());
            continue;
        }
        let Some(name) = &current else { continue };
        let svc = out.entry(name.clone()).or_default();
        svc.lines.push(line.trim().to_string());
        for quoted in line.split('"').skip(1).step_by(2) {
            if let Some(spec) = quoted.strip_prefix("127.0.0.1:")
                && spec.contains(':')
            {
                svc.publish.push(publish(spec));
            }
        }
    }
    out
}

/// `port_offset` (and virtual port) of every `[[service]]` of the world file, by name.
fn world_services() -> BTreeMap<String, (u16, u16, String)> {
    let world: toml::Value = toml::from_str(&repo_file("scenarios/world.toml")).expect("world.toml");
    world["service"]
        .as_array()
        .expect("[[service]]")
        .iter()
        .map(|s| {
            let n = |k: &str, default: i64| s.get(k).and_then(toml::Value::as_integer).unwrap_or(default) as u16;
            let text = |k: &str| s[k].as_str().expect("text").to_string();
            (text("name"), (n("port_offset", -1), n("port", 443), text("kind")))
        })
        .collect()
}

#[test]
fn the_world_places_services_within_the_plan() {
    let services = world_services();
    let mut seen = BTreeSet::new();
    for (name, (offset, _, _)) in &services {
        assert!(SERVICE_OFFSETS.contains(offset), "{name}: port_offset {offset} is outside {SERVICE_OFFSETS:?}");
        assert_ne!(*offset, ADMIN_OFFSET, "{name}: port_offset {offset} is the admin endpoint's");
        assert!(seen.insert(*offset), "{name}: port_offset {offset} is taken twice");
    }
    // One DNS server per VCN, in the range the containers publish.
    let world: toml::Value = toml::from_str(&repo_file("scenarios/world.toml")).expect("world.toml");
    let vcns = world["vcn"].as_array().expect("[[vcn]]").len() as u16;
    assert_eq!(*DNS_OFFSETS.start(), DNS_INTERNET_OFFSET);
    assert!(DNS_OFFSETS.contains(&DNS_HOST_OFFSET));
    assert_eq!(DNS_VCN_OFFSET + vcns - 1, *DNS_OFFSETS.end(), "{vcns} VCN resolvers after the host resolver");
}

#[test]
fn the_compose_file_publishes_the_plan() {
    let text = repo_file("docker/compose.yaml");
    let services = compose_services(&text);
    let world = world_services();
    let base = DEFAULT_PORT_BASE;
    let svc = |name: &str| services.get(name).unwrap_or_else(|| panic!("compose service {name}: {services:?}"));
    // The environment every container shares (the `x-lab` block).
    for env in [
        format!("HYOK_LAB_PORT_BASE: \"{base}\""),
        format!("HYOK_REGION: 134.70.16.20:{}", base + ADMIN_OFFSET),
        format!("HYOK_DATA_PLANE: 134.70.16.30:{DATA_PLANE_PORT}"),
    ] {
        assert!(text.lines().any(|l| l.trim() == env), "compose.yaml: {env}");
    }
    let health = |name: &str, port: u16| {
        let want = format!("\"127.0.0.1:{port}\"]");
        assert!(svc(name).lines.iter().any(|l| l.starts_with("test:") && l.ends_with(&want)), "{name}: {want}")
    };

    // DNS: every resolver, TCP and UDP, under its own number; health-checked on the host resolver.
    let (tcp, udp) = same_numbers(&svc("dns").publish);
    assert_eq!(tcp, ports([DNS_OFFSETS], base));
    assert_eq!(udp, ports([DNS_OFFSETS], base));
    health("dns", base + DNS_HOST_OFFSET);

    // Identity and CTM: their world offset on the host, their virtual port in the container.
    for (container, service) in [("identity", "identity"), ("ctm-ams", "ctm-ams")] {
        let (offset, port, _) = world[service];
        let maps = &svc(container).publish;
        assert_eq!(maps.len(), 1, "{container}: {maps:?}");
        assert_eq!((maps[0].host.clone(), maps[0].container.clone()), (base + offset..=base + offset, port..=port));
    }
    // The gateway's 443 at the fixed host offset; its agent health-checked on its port.
    let gw = &svc("api-gateway").publish;
    assert_eq!(gw.len(), 1, "{gw:?}");
    assert_eq!(
        (gw[0].host.clone(), gw[0].container.clone()),
        (base + GATEWAY_HOST_OFFSET..=base + GATEWAY_HOST_OFFSET, 443..=443)
    );
    health("api-gateway", DATA_PLANE_PORT);

    // The region: its admin endpoint, every OCI service of the world, the run-time endpoints.
    let (tcp, udp) = same_numbers(&svc("oci").publish);
    assert!(udp.is_empty());
    let oci: Vec<u16> = world.values().filter(|(_, _, kind)| kind == "oci-service").map(|(o, _, _)| base + o).collect();
    assert!(tcp.contains(&(base + ADMIN_OFFSET)), "the admin endpoint: {tcp:?}");
    assert!(tcp.contains(&(base + PROXY_OFFSET)), "the region runs the host's HTTPS proxy: {tcp:?}");
    assert!(oci.iter().all(|p| tcp.contains(p)), "every OCI service {oci:?} in {tcp:?}");
    assert!(ports([DYNAMIC_PUBLISHED], base).is_subset(&tcp), "run-time endpoints in {tcp:?}");
    assert!(tcp.is_subset(&ports(published_tcp(), base)), "{tcp:?} outside the plan");
    health("oci", base + ADMIN_OFFSET);
}

#[test]
fn the_plan_gives_every_port_one_use() {
    let fixed = [GATEWAY_HOST_OFFSET, PROXY_OFFSET];
    for o in fixed {
        assert!(!SERVICE_OFFSETS.contains(&o), "{o} is a service offset");
        assert!(!DNS_OFFSETS.contains(&o), "{o} is a DNS offset");
        assert!(!DYNAMIC_PUBLISHED.contains(&o), "{o} is a run-time endpoint's");
    }
    assert_ne!(GATEWAY_HOST_OFFSET, PROXY_OFFSET);
    let all: Vec<u16> = published_tcp().into_iter().flatten().collect();
    let unique: Ports = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "published TCP ranges overlap: {all:?}");
    assert!(unique.contains(&PROXY_OFFSET), "a lab container publishes the proxy");
}
