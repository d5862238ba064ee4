//! The OCI region's internal API: the secret the containers share for it, its client (DNS
//! answers and network decisions for the other containers), and the region's side of it.

use crate::error::{LabError, io_err, svc_err};
use hyok_core::client::{HttpClient, StaticDial};
use hyok_dns::{DnsError, Resolution};
use serde::{Deserialize, Serialize};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
    sync::Arc,
    time::Duration,
};

/// The secret the split services share for the region's internal endpoints:
/// `HYOK_INTERNAL_TOKEN`, else a file in the lab dir made by whichever service starts first.
pub fn internal_token(lab_dir: &Path) -> Result<String, LabError> {
    if let Ok(t) = std::env::var("HYOK_INTERNAL_TOKEN")
        && t.len() >= 16
    {
        return Ok(t);
    }
    let dir = lab_dir.join("compose");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join("internal.token");
    let mine = hyok_core::ids::secret(32);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => {
            use std::io::Write as _;
            f.write_all(mine.as_bytes()).map_err(io_err(&path))?;
            return Ok(mine);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    // Another service made it; it may still be writing.
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(&path)
            && t.len() >= 16
        {
            return Ok(t);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(svc_err("internal token", format!("{} stays empty", path.display())))
}

/// What the region needs to know to run as one container among others.
#[derive(Clone, Debug)]
pub struct RegionOptions {
    /// Address of the DNS container (the region's own dialers query it).
    pub dns: IpAddr,
    /// The API gateway data-plane agent.
    pub data_plane: SocketAddr,
    /// Shared secret of the internal endpoints (also the admin token).
    pub token: String,
    /// Virtual addresses the host's proxy reaches at another address of their container
    /// (`HYOK_PROXY_VIA=10.222.10.21=134.70.16.40`: CTM from the region's network).
    pub proxy_via: std::collections::BTreeMap<Ipv4Addr, IpAddr>,
}

/// `virtual=real[,virtual=real…]`, as `HYOK_PROXY_VIA` gives it.
pub fn parse_proxy_via(text: &str) -> Result<std::collections::BTreeMap<Ipv4Addr, IpAddr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (v, r) = pair.split_once('=').ok_or_else(|| format!("{pair:?}: want virtual=real"))?;
            let v = v.trim().parse().map_err(|e| format!("{v:?}: {e}"))?;
            let r = r.trim().parse().map_err(|e| format!("{r:?}: {e}"))?;
            Ok((v, r))
        })
        .collect()
}

/// A client of the region's internal endpoints (DNS answers, network decisions).
#[derive(Clone)]
pub struct RegionClient {
    base: String,
    token: String,
    http: HttpClient,
}

impl std::fmt::Debug for RegionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// The region's network decision for one connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetDecision {
    /// Whether routing and security lists let it through.
    pub allowed: bool,
    /// Which rule or missing route refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RegionClient {
    /// A client for the region's admin endpoint at `addr` (plain HTTP on the internal network;
    /// `ca_pem` only satisfies the client type).
    pub fn new(addr: SocketAddr, token: String, ca_pem: &str) -> Result<Self, LabError> {
        let tls = hyok_core::tls::client_config(ca_pem)?;
        let http = HttpClient::new(Arc::new(StaticDial::new()), tls)
            .with_timeout(Duration::from_secs(5))
            .with_max_response(64 * 1024);
        Ok(Self { base: format!("http://{addr}"), token, http })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path_and_query: &str) -> Result<T, String> {
        let auth = format!("Bearer {}", self.token);
        let (status, body) = self
            .http
            .get_json(&format!("{}{path_and_query}", self.base), &[("authorization", auth.as_str())])
            .await
            .map_err(|e| format!("the OCI region at {} is unreachable: {e}", self.base))?;
        if !status.is_success() {
            return Err(format!("the OCI region answered {status}: {body}"));
        }
        serde_json::from_value(body).map_err(|e| format!("bad answer from the OCI region: {e}"))
    }

    /// Resolve `name` as resolver `selector` (`vcn:<name>`, `internet`, `host`).
    pub async fn resolve(&self, selector: &str, name: &str, rtype: &str) -> Result<Resolution, String> {
        let enc = hyok_core::url::encode_component;
        self.get_json(&format!(
            "/internal/dns/resolve?resolver={}&name={}&type={}",
            enc(selector),
            enc(name),
            enc(rtype)
        ))
        .await
    }

    /// May `src` open a TCP connection to `dst:port`?
    pub async fn check(&self, src: Ipv4Addr, dst: Ipv4Addr, port: u16) -> Result<NetDecision, String> {
        self.get_json(&format!("/internal/net/check?src={src}&dst={dst}&port={port}")).await
    }
}

/// The region's answer to `GET /internal/dns/resolve`.
pub fn region_resolve(
    dns: &hyok_dns::DnsModel,
    resolvers: &std::collections::BTreeMap<String, String>,
    selector: &str,
    name: &str,
    rtype: &str,
) -> Result<Resolution, DnsError> {
    let rid = match selector.strip_prefix("vcn:") {
        Some(vcn) => resolvers.get(vcn).cloned().ok_or_else(|| DnsError::NotFound(format!("VCN {vcn}")))?,
        None => selector.to_string(),
    };
    dns.resolve(&rid, name, rtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_starting_together_share_one_root_and_one_token() {
        let dir = tempfile::tempdir().expect("dir");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let ca = crate::pki::public_root(&dir).expect("root");
                    let token = internal_token(&dir).expect("token");
                    (ca.cert_pem().to_string(), token)
                })
            })
            .collect();
        let got: Vec<(String, String)> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
        assert!(got.iter().all(|g| g == &got[0]), "every service sees the same root and token");
        // The pair on disk is the one they share.
        let again = crate::pki::public_root(dir.path()).expect("root");
        assert_eq!(again.cert_pem(), got[0].0);
    }
}
