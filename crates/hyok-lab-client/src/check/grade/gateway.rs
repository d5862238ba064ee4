//! Tasks 2–7: DNS for spoke A, the gateway certificate, the security list, the API gateway and
//! its deployment.

use super::{
    chosen::{Chosen, gateway_ip, ok},
    verdicts::{Verdicts, not_needed, settled},
};
use crate::check::{
    cert::{CertFacts, cert_facts, first_cert_der, norm_serial},
    json::{pick, state, text},
    names::{CA_BUNDLE, EKM_PREFIX, GATEWAY_FQDN, HUB_VIEW, ROUTE_PATH, SPOKE_SUBNET, SPOKE_VCN},
    report::{Setup, Status},
    seen::Seen,
};
use serde_json::Value;

pub(super) fn task2(s: &Seen, v: &mut Verdicts) {
    let d = match &s.dns {
        Ok(d) => d,
        Err(e) => return v.not_done(2, format!("cannot read spoke A's DNS resolver: {e}")),
    };
    let Some(hub) = &d.hub_view else {
        return v.not_done(2, format!("there is no private view {HUB_VIEW} to attach"));
    };
    if !d.attached.contains(hub) {
        let names: Vec<&str> = d
            .attached
            .iter()
            .map(|id| d.view_names.iter().find(|(i, _)| i == id).map(|(_, n)| n.as_str()).unwrap_or(id.as_str()))
            .collect();
        return v.not_done(
            2,
            format!(
                "attachedViews of {SPOKE_VCN}'s resolver holds [{}]; attach {HUB_VIEW} (Manage private views) so spoke A resolves the lab's names",
                names.join(", ")
            ),
        );
    }
    match &d.lookup {
        Ok(ips) if ips.iter().any(|ip| ip.to_string() == s.ctm_ip) => v.done(
            2,
            format!("{HUB_VIEW} is attached to {SPOKE_VCN}'s resolver, which resolves CTM's name to {}", s.ctm_ip),
        ),
        Ok(ips) => v.push(
            2,
            Status::Wrong,
            vec![format!("{SPOKE_VCN}'s resolver answers {ips:?} for CTM's name; expected {} (CTM1)", s.ctm_ip)],
        ),
        Err(e) => v.push(2, Status::Wrong, vec![format!("{HUB_VIEW} is attached, but {e}")]),
    }
}

/// Task 3: CTM issued a server certificate for the gateway FQDN with an RSA key. Returns the
/// certificate's serial (normalised) when one exists.
pub(super) fn task3(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) -> Option<String> {
    if c.setup == Setup::Direct {
        not_needed(v, 3, s);
        return None;
    }
    let ctm = match &s.ctm {
        Ok(x) => x,
        Err(e) => {
            v.not_done(3, format!("cannot read CipherTrust Manager: {e}"));
            return None;
        }
    };
    let imported_serial = ok(&s.certificates)
        .iter()
        .find(|x| text(x, "/subject/commonName") == GATEWAY_FQDN)
        .map(|x| norm_serial(text(x, "/currentVersionSummary/serialNumber")));
    let mut found: Vec<(&Value, CertFacts)> = ctm
        .issued
        .iter()
        .filter(|x| text(x, "/state") != "revoked")
        .filter_map(|x| first_cert_der(text(x, "/cert")).and_then(|d| cert_facts(&d)).map(|f| (x, f)))
        .filter(|(_, f)| f.names.iter().any(|n| n.eq_ignore_ascii_case(GATEWAY_FQDN)))
        .collect();
    // The one uploaded to OCI decides; otherwise an RSA one.
    found.sort_by_key(|(_, f)| (imported_serial.as_deref() == Some(f.serial.as_str()), f.is_rsa));
    let Some((rec, facts)) = found.last() else {
        v.not_done(3, format!("CTM's local CA has issued no certificate for {GATEWAY_FQDN}; create a CSR (RSA 2048) and issue a server certificate"));
        return None;
    };
    let mut hints = Vec::new();
    if !facts.is_rsa {
        hints.push(format!(
            "the certificate for {GATEWAY_FQDN} (CTM id {}) has an {} key; OCI API Gateway accepts only RSA keys: generate the CSR with algorithm RSA, size 2048",
            text(rec, "/id"),
            facts.key
        ));
    }
    let purpose = text(rec, "/purpose");
    if !purpose.is_empty() && purpose != "server" {
        hints.push(format!("the certificate for {GATEWAY_FQDN} has purpose {purpose:?}; expected \"server\""));
    }
    v.judge(3, hints, format!("CTM issued a server certificate for {GATEWAY_FQDN} ({})", facts.key));
    Some(facts.serial.clone())
}

/// Task 4: the CA bundle and the imported certificate. Returns the certificate's OCID.
pub(super) fn task4(s: &Seen, c: &Chosen<'_>, issued: Option<String>, v: &mut Verdicts) -> Option<String> {
    if c.setup == Setup::Direct {
        not_needed(v, 4, s);
        return None;
    }
    let (bundles, certs) = match (&s.bundles, &s.certificates) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            v.not_done(4, format!("cannot read the Certificates service: {e}"));
            return None;
        }
    };
    let bundle = bundles.iter().find(|b| text(b, "/name") == CA_BUNDLE);
    let cert = certs
        .iter()
        .filter(|x| text(x, "/subject/commonName") == GATEWAY_FQDN || text(x, "/name").contains(GATEWAY_FQDN))
        .max_by_key(|x| (state(x) == "ACTIVE", text(x, "/timeCreated").to_string()));
    let cert_id = cert.map(|x| text(x, "/id").to_string());
    let (Some(bundle), Some(cert)) = (bundle, cert) else {
        let missing = match (bundle, cert) {
            (None, None) => format!("no CA bundle {CA_BUNDLE} and no imported certificate for {GATEWAY_FQDN}"),
            (None, _) => format!("no CA bundle {CA_BUNDLE} (CTM's root CA certificate)"),
            _ => format!("no imported certificate for {GATEWAY_FQDN}"),
        };
        v.not_done(4, format!("{missing} in the Certificates service"));
        return cert_id;
    };
    let mut hints = Vec::new();
    for (what, x) in
        [(format!("CA bundle {CA_BUNDLE}"), bundle), (format!("certificate {}", text(cert, "/name")), cert)]
    {
        if let Err(m) = settled(&what, x, "ACTIVE", &mut hints) {
            v.not_done(4, m);
            return cert_id;
        }
    }
    let alg = text(cert, "/keyAlgorithm");
    if alg.starts_with("EC") {
        hints.push(format!(
            "certificate {} has keyAlgorithm {alg}; the API gateway needs an RSA certificate (RSA2048): reissue it from an RSA CSR (Task 3)",
            text(cert, "/name")
        ));
    }
    if text(cert, "/configType") != "IMPORTED" {
        hints.push(format!(
            "certificate {} has configType {}; expected IMPORTED",
            text(cert, "/name"),
            text(cert, "/configType")
        ));
    }
    // The bundle's PEM is not readable through the management API; the imported certificate
    // must be the one CTM's CA issued (its chain is CTM's root).
    let serial = norm_serial(text(cert, "/currentVersionSummary/serialNumber"));
    if let Some(issued) = issued
        && !serial.is_empty()
        && serial != issued
    {
        hints.push(format!(
            "certificate {} has serialNumber {}, which is not the certificate CTM issued for {GATEWAY_FQDN}; import CTM's certificate with CTM's CA as the chain",
            text(cert, "/name"),
            text(cert, "/currentVersionSummary/serialNumber")
        ));
    }
    v.judge(
        4,
        hints,
        format!("CA bundle {CA_BUNDLE} and certificate {} (the one CTM issued, {alg}) are ACTIVE", text(cert, "/name")),
    );
    cert_id
}

/// Does an ingress rule let TCP 443 in from every address of `from`?
fn admits_443(rule: &Value, from: cidr::Net) -> bool {
    let proto = text(rule, "/protocol");
    if proto != "6" && proto != "all" {
        return false;
    }
    let Some(src) = cidr::parse(text(rule, "/source")) else { return false };
    if !src.covers(from) {
        return false;
    }
    if proto == "all" {
        return true;
    }
    match rule.pointer("/tcpOptions/destinationPortRange") {
        None | Some(Value::Null) => true,
        Some(r) => {
            let n = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
            n("min") <= 443 && 443 <= n("max")
        }
    }
}

/// CIDR arithmetic on IPv4 (source rules are CIDRs; a single address is a /32).
mod cidr {
    use std::net::Ipv4Addr;

    #[derive(Clone, Copy, Debug)]
    pub struct Net {
        base: u32,
        len: u8,
    }

    pub fn parse(s: &str) -> Option<Net> {
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, len.parse::<u8>().ok().filter(|l| *l <= 32)?),
            None => (s, 32),
        };
        let ip: Ipv4Addr = ip.trim().parse().ok()?;
        Some(Net { base: u32::from(ip) & mask(len), len })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
    }

    impl Net {
        /// Every address of `other` is in `self`.
        pub fn covers(self, other: Net) -> bool {
            other.len >= self.len && other.base & mask(self.len) == self.base
        }
    }
}

pub(super) fn task5(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    let sub = match &s.subnet {
        Ok(Some(x)) => x,
        Ok(None) => return v.not_done(5, format!("no subnet {SPOKE_SUBNET} in {SPOKE_VCN}")),
        Err(e) => return v.not_done(5, format!("cannot read spoke A's subnet: {e}")),
    };
    let cidr = text(&sub.subnet, "/cidrBlock");
    // Who must get in: the private endpoint's own address once it exists, else the subnet.
    let pe_ip = c.pe.map(|p| text(p, "/privateEndpointIp")).filter(|ip| !ip.is_empty());
    let (from_text, from) = match pe_ip.and_then(cidr::parse) {
        Some(net) => (format!("{} (the private endpoint)", pe_ip.unwrap_or_default()), Some(net)),
        None => ("the whole subnet (where the private endpoint will be)".to_string(), cidr::parse(cidr)),
    };
    let Some(from) = from else {
        return v.not_done(5, format!("subnet {SPOKE_SUBNET} has no usable cidrBlock ({cidr:?})"));
    };
    let found = sub.security_lists.iter().find_map(|l| {
        l.get("ingressSecurityRules")
            .and_then(Value::as_array)
            .and_then(|rules| rules.iter().find(|r| admits_443(r, from)))
            .map(|r| (text(l, "/displayName"), text(r, "/source")))
    });
    match (found, c.setup) {
        (Some((list, src)), _) => {
            v.done(5, format!("security list {list} lets TCP 443 in from {src}, which covers {from_text}"))
        }
        (None, Setup::Direct) => {
            v.done(5, "not needed: without a gateway nothing in spoke A receives the private endpoint's calls")
        }
        (None, Setup::ApiGateway) => {
            let names: Vec<&str> = sub.security_lists.iter().map(|l| text(l, "/displayName")).collect();
            v.not_done(
                5,
                format!(
                    "no ingress rule in the security lists of {SPOKE_SUBNET} ({}) lets TCP 443 in from {from_text}; add source {cidr}, TCP 443 (or all protocols)",
                    names.join(", ")
                ),
            )
        }
    }
}

pub(super) fn task6(s: &Seen, c: &Chosen<'_>, imported: Option<String>, v: &mut Verdicts) {
    if c.setup == Setup::Direct {
        return not_needed(v, 6, s);
    }
    if let Err(e) = &s.gateways {
        return v.not_done(6, format!("cannot read the API Gateway service: {e}"));
    }
    let Some(g) = c.gateway else {
        // A create refused for an ECDSA certificate leaves no gateway: say why it will fail again.
        let ec = imported
            .as_ref()
            .and_then(|id| ok(&s.certificates).iter().find(|x| text(x, "/id") == id))
            .map(|x| text(x, "/keyAlgorithm"))
            .filter(|a| a.starts_with("EC"));
        return v.not_done(
            6,
            match ec {
                Some(a) => format!(
                    "no API gateway in the compartment; the certificate for {GATEWAY_FQDN} has keyAlgorithm {a}, which a gateway refuses (RSA only): fix Task 3 first"
                ),
                None => "no API gateway in the compartment".to_string(),
            },
        );
    };
    let name = text(g, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("gateway {name}"), g, "ACTIVE", &mut hints) {
        return v.not_done(6, m);
    }
    if text(g, "/endpointType") != "PRIVATE" {
        hints.push(format!("gateway {name} has endpointType {}; expected PRIVATE", text(g, "/endpointType")));
    }
    if let Ok(Some(sub)) = &s.subnet
        && text(g, "/subnetId") != text(&sub.subnet, "/id")
    {
        hints.push(format!(
            "gateway {name} is in subnet {}; expected {SPOKE_SUBNET} ({})",
            text(g, "/subnetId"),
            text(&sub.subnet, "/id")
        ));
    }
    if let Some(cert) = &imported
        && text(g, "/certificateId") != cert
    {
        hints.push(format!(
            "gateway {name} has certificateId {:?}; expected the imported certificate for {GATEWAY_FQDN} ({cert})",
            text(g, "/certificateId")
        ));
    }
    v.judge(6, hints, format!("gateway {name} is ACTIVE, PRIVATE in {SPOKE_SUBNET} at {}", gateway_ip(g)));
}

pub(super) fn task7(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if c.setup == Setup::Direct {
        return not_needed(v, 7, s);
    }
    let deployments = match &s.deployments {
        Ok(d) => d,
        Err(e) => return v.not_done(7, format!("cannot read the API Gateway service: {e}")),
    };
    let Some(g) = c.gateway else { return v.not_done(7, "no API gateway yet (Task 6)") };
    let mine: Vec<Value> = deployments.iter().filter(|d| text(d, "/gatewayId") == text(g, "/id")).cloned().collect();
    let Some(d) = pick(&mine, "/pathPrefix", EKM_PREFIX) else {
        return v.not_done(7, format!("gateway {} has no deployment", text(g, "/displayName")));
    };
    let name = text(d, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("deployment {name}"), d, "ACTIVE", &mut hints) {
        return v.not_done(7, m);
    }
    if state(d) == "FAILED" && text(d, "/lifecycleDetails").contains("cannot resolve") {
        hints.push(format!(
            "the gateway resolves {} through {SPOKE_VCN}'s resolver: finish Task 2, then update or recreate the deployment",
            s.ctm_host
        ));
    }
    if text(d, "/pathPrefix") != EKM_PREFIX {
        hints.push(format!("deployment {name} has pathPrefix {:?}; expected {EKM_PREFIX:?}", text(d, "/pathPrefix")));
    }
    let want_url = format!("https://{}{EKM_PREFIX}/${{request.path[path]}}", s.ctm_host);
    let routes: Vec<&Value> =
        d.pointer("/specification/routes").and_then(Value::as_array).map(|r| r.iter().collect()).unwrap_or_default();
    match routes.iter().find(|r| text(r, "/path") == ROUTE_PATH) {
        None => hints.push(format!(
            "deployment {name} has routes [{}]; expected a route {ROUTE_PATH}",
            routes.iter().map(|r| text(r, "/path")).collect::<Vec<_>>().join(", ")
        )),
        Some(r) => {
            let methods: Vec<&str> = r
                .get("methods")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let allows = |m: &str| methods.is_empty() || methods.iter().any(|x| *x == m || *x == "ANY");
            if !allows("GET") || !allows("POST") {
                hints.push(format!("route {ROUTE_PATH} has methods {methods:?}; expected GET and POST"));
            }
            let url = text(r, "/backend/url");
            if text(r, "/backend/type") != "HTTP_BACKEND" {
                hints.push(format!(
                    "route {ROUTE_PATH} has backend type {:?}; expected HTTP_BACKEND",
                    text(r, "/backend/type")
                ));
            } else if url != want_url {
                hints.push(format!("route {ROUTE_PATH} has backend url {url:?}; expected {want_url:?}"));
            }
        }
    }
    v.judge(7, hints, format!("deployment {name} is ACTIVE: {EKM_PREFIX}{ROUTE_PATH} → {want_url}"));
}
