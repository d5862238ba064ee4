//! `lab.json`: the lab's contract with other tools and tests. Schema in docs/lab-json.md.

use hyok_core::client::{HttpClient, StaticDial};
use serde::{Deserialize, Serialize};
use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};

/// Version tag of the schema.
pub const SCHEMA: &str = "hyok-lab/lab.json/v1";

/// The whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabInfo {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Process id of `hyok-lab up`.
    pub pid: u32,
    /// When the lab became ready (RFC 3339).
    pub ready_at: String,
    /// Absolute lab dir.
    pub lab_dir: PathBuf,
    /// OCI region.
    pub region: String,
    /// The lab's control endpoint (health, shutdown, events).
    pub admin: AdminInfo,
    /// CA files a client must trust (paths relative to the lab dir).
    pub ca: CaInfo,
    /// DNS servers.
    pub dns: DnsInfo,
    /// Every service.
    pub services: Vec<ServiceInfo>,
    /// Generated credentials.
    pub credentials: serde_json::Map<String, serde_json::Value>,
    /// The HTTPS proxy that takes the host to the lab's real names (absent in older labs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyInfo>,
    /// Set once `up --scenario NAME --until N` has provisioned the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<Provisioned>,
}

/// What `up --scenario` ran before handing the lab over.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provisioned {
    /// Scenario name.
    pub scenario: String,
    /// Last task run.
    pub until: Option<u32>,
}

/// The admin endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminInfo {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Bearer token for `/shutdown` and `/events`.
    pub token: String,
}

/// The host's HTTPS proxy: HTTP CONNECT to a name the lab serves opens a raw tunnel to its
/// socket (TLS stays end to end); every other destination is refused.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// `http://127.0.0.1:PORT`, the value for `HTTPS_PROXY`.
    pub url: String,
    /// Real socket on this host.
    pub address: SocketAddr,
}

/// CA files.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaInfo {
    /// The lab's public root (identity domain, OCI service hosts).
    pub public_root: String,
    /// Every CA a host client needs, in one PEM file.
    pub bundle: String,
    /// CipherTrust Manager's local CA, once CTM runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctm_root: Option<String>,
}

/// DNS servers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DnsInfo {
    /// The host-facing resolver: answers for every view (`dig @127.0.0.1 -p PORT name`).
    pub host_resolver: SocketAddr,
    /// One resolver per VCN, answering as a host in that VCN would be answered.
    pub vcn_resolvers: Vec<VcnResolverInfo>,
}

/// A VCN's resolver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VcnResolverInfo {
    /// VCN display name.
    pub vcn: String,
    /// VCN OCID.
    pub vcn_id: String,
    /// Resolver OCID.
    pub resolver_id: String,
    /// Real socket (UDP and TCP).
    pub address: SocketAddr,
}

/// One service.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Name (`identity`, `ctm-ams`, `dns-fra-spoke-a-vcn`, ...).
    pub name: String,
    /// Kind (`identity-domain`, `ciphertrust-manager`, `dns-resolver`, ...).
    pub kind: String,
    /// The URL inside the lab (`https://ctm1.oci-thales.lab`).
    pub lab_url: String,
    /// The URL a person on this host uses (`https://127.0.0.1:17402`).
    pub url: String,
    /// Host name.
    pub host: String,
    /// Virtual address.
    pub virtual_ip: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
    /// Real socket on this host.
    pub host_address: SocketAddr,
    /// True for endpoints created at run time by a tutorial task (a gateway, a vault's endpoints).
    #[serde(default)]
    pub created: bool,
}

/// Errors reading `lab.json`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InfoError {
    /// No lab.json: the lab is not up in that dir.
    #[error("no lab is running in {0} (no lab.json there); start one with `hyok-lab up`")]
    NotRunning(PathBuf),
    /// The file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Bad {
        /// Path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl LabInfo {
    /// Path of lab.json in a lab dir.
    pub fn path(lab_dir: &Path) -> PathBuf {
        lab_dir.join("lab.json")
    }

    /// Read lab.json from a lab dir.
    pub fn load(lab_dir: &Path) -> Result<Self, InfoError> {
        let path = Self::path(lab_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(InfoError::NotRunning(lab_dir.to_path_buf()));
            }
            Err(e) => return Err(InfoError::Bad { path, reason: e.to_string() }),
        };
        let mut info: LabInfo =
            serde_json::from_str(&text).map_err(|e| InfoError::Bad { path, reason: e.to_string() })?;
        // Files are found next to lab.json, wherever it was written (a container's /lab is
        // a host folder here).
        info.lab_dir = lab_dir.to_path_buf();
        Ok(info)
    }

    /// Write lab.json atomically (write then rename), so readers never see half a file.
    pub fn save(&self) -> std::io::Result<()> {
        let path = Self::path(&self.lab_dir);
        let tmp = self.lab_dir.join(".lab.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        std::fs::rename(tmp, path)
    }

    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&ServiceInfo> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The PEM bundle a host client trusts.
    pub fn ca_bundle_pem(&self) -> std::io::Result<String> {
        std::fs::read_to_string(self.lab_dir.join(&self.ca.bundle))
    }

    /// A client for a person on this host: lab host names and virtual addresses are pinned to
    /// their loopback sockets, TLS is verified against the lab's CA bundle with the real names.
    pub fn host_client(&self) -> Result<HttpClient, String> {
        let mut dial = StaticDial::new();
        for s in &self.services {
            dial = dial.pin(&s.host, s.port, s.host_address).pin(&s.virtual_ip.to_string(), s.port, s.host_address);
        }
        let pem = self.ca_bundle_pem().map_err(|e| format!("cannot read CA bundle: {e}"))?;
        let tls = hyok_core::tls::client_config(&pem).map_err(|e| e.to_string())?;
        Ok(HttpClient::new(Arc::new(dial), tls))
    }
}
