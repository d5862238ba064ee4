//! The KMS service of one region: what it needs from the lab, its tables, and serving a vault's
//! endpoints through the [`ServiceHost`].

use crate::{
    model::{KeyRecord, PrivateEndpoint, Served, VaultRecord},
    vendor,
};
use axum::Router;
use hyok_core::{
    Clock,
    client::HttpClient,
    host::{Endpoint, ServiceHost},
};
use hyok_netsim::NetworkModel;
use hyok_oci_rest::{
    RetryTokens, SignatureVerifier,
    conventions::{LifecycleState, Table},
};
use std::{
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

/// API version prefix of every KMS path.
pub const BASE_PATH: &str = "/20180608";
/// Block the vault endpoints' virtual IPs are taken from (Oracle Services Network).
pub const ENDPOINT_NET: [u8; 3] = [134, 70, 17];
/// First host number used in [`ENDPOINT_NET`].
const FIRST_ENDPOINT_HOST: u32 = 10;
/// How long a private endpoint stays CREATING.
pub const PE_SETTLE: Duration = Duration::from_millis(50);
/// Overall timeout of one vendor-API call.
pub(crate) const VENDOR_TIMEOUT: Duration = Duration::from_secs(15);

/// The regional KMS host of `region`.
pub fn regional_host(region: &str) -> String {
    format!("kms.{region}.oraclecloud.com")
}

/// Errors building the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The public CA bundle for the identity domain does not parse.
    #[error("invalid public CA bundle: {0}")]
    Tls(String),
    /// The region is not a valid region identifier.
    #[error("invalid region {0:?}")]
    Region(String),
}

/// What the KMS service needs from the lab.
#[derive(Clone)]
pub struct KmsDeps {
    /// The lab: serves vault endpoints, dials, records events, holds the public CA.
    pub host: Arc<dyn ServiceHost>,
    /// Network model (subnets and their address allocation).
    pub net: NetworkModel,
    /// OCI request signature verifier.
    pub verifier: Arc<SignatureVerifier>,
    /// The lab tenancy; requests signed by other tenancies see nothing.
    pub tenancy_id: String,
    /// Region identifier (`eu-frankfurt-1`).
    pub region: String,
    /// The KMS service's own address in the Oracle Services Network (source of token requests).
    pub kms_ip: Ipv4Addr,
    /// PEM of the public root that signs the identity domain's certificate.
    pub public_ca_pem: String,
}

impl std::fmt::Debug for KmsDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsDeps").field("region", &self.region).field("kms_ip", &self.kms_ip).finish_non_exhaustive()
    }
}

/// How the service runs; `Default` is what the lab runs.
#[derive(Clone, Debug, Default)]
pub struct KmsConfig {
    /// Time of the token caches, retry tokens and the private endpoints' settle delay (tests
    /// pass `Clock::manual()` and advance it).
    pub clock: Clock,
}

/// The OCI KMS service of one region.
pub struct KmsService {
    pub(crate) host: Arc<dyn ServiceHost>,
    pub(crate) net: NetworkModel,
    pub(crate) verifier: Arc<SignatureVerifier>,
    pub(crate) tenancy_id: Arc<str>,
    pub(crate) region: String,
    pub(crate) kms_ip: Ipv4Addr,
    pub(crate) clock: Clock,
    pub(crate) idcs: HttpClient,
    pub(crate) pes: Table<PrivateEndpoint>,
    pub(crate) vaults: Table<VaultRecord>,
    pub(crate) keys: Table<KeyRecord>,
    /// Retry tokens of the regional API (each vault's management endpoint keeps its own).
    pub(crate) retry: RetryTokens,
    next_endpoint_host: AtomicU32,
}

impl std::fmt::Debug for KmsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsService").field("region", &self.region).finish_non_exhaustive()
    }
}

impl KmsService {
    /// Build the service on the system clock. Nothing is served until the lab serves the
    /// regional router (`hyok_kms::router`).
    pub fn new(deps: KmsDeps) -> Result<Arc<KmsService>, KmsError> {
        Self::with_config(deps, KmsConfig::default())
    }

    /// [`KmsService::new`] with `config` (e.g. a manual clock).
    pub fn with_config(deps: KmsDeps, config: KmsConfig) -> Result<Arc<KmsService>, KmsError> {
        if deps.region.is_empty()
            || !deps.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(KmsError::Region(deps.region));
        }
        let tls = hyok_core::tls::client_config(&deps.public_ca_pem).map_err(|e| KmsError::Tls(e.to_string()))?;
        let idcs = HttpClient::new(deps.host.dial_from(deps.kms_ip), tls)
            .with_events(deps.host.events(), format!("kms@{}", deps.kms_ip))
            .with_timeout(VENDOR_TIMEOUT)
            .with_max_response(vendor::MAX_RESPONSE);
        Ok(Arc::new(KmsService {
            host: deps.host,
            net: deps.net,
            verifier: deps.verifier,
            tenancy_id: deps.tenancy_id.into(),
            region: deps.region,
            kms_ip: deps.kms_ip,
            idcs,
            pes: Table::default(),
            vaults: Table::default(),
            keys: Table::default(),
            retry: RetryTokens::new(config.clock.clone()),
            clock: config.clock,
            next_endpoint_host: AtomicU32::new(FIRST_ENDPOINT_HOST),
        }))
    }

    /// The regional host name (`kms.<region>.oraclecloud.com`).
    pub fn host_name(&self) -> String {
        regional_host(&self.region)
    }

    /// The KMS service's own address (source of its token requests).
    pub fn kms_ip(&self) -> Ipv4Addr {
        self.kms_ip
    }

    /// A vault's API representation.
    pub fn vault(&self, id: &str) -> Option<crate::model::Vault> {
        self.vaults.read().get(id).map(|r| r.vault.clone())
    }

    /// Where a vault's endpoints are served (virtual IPs on port 443 and real loopback sockets),
    /// once it is ACTIVE.
    pub fn served(&self, vault_id: &str) -> Option<Served> {
        self.vaults.read().get(vault_id).and_then(|r| r.served)
    }

    /// An EKMS private endpoint.
    pub fn private_endpoint(&self, id: &str) -> Option<PrivateEndpoint> {
        self.pes.read().get(id).cloned()
    }

    /// A key reference.
    pub fn key(&self, id: &str) -> Option<crate::model::Key> {
        self.keys.read().get(id).map(|r| r.key.clone())
    }

    /// Let every vault's cached access token run out now, so the next call fetches a new one
    /// (the lab's "an hour later" control: a rotated client secret then shows, as in OCI).
    pub fn expire_tokens(&self) -> usize {
        let runtimes: Vec<_> = self.vaults.read().values().filter_map(|r| r.runtime.clone()).collect();
        for r in &runtimes {
            r.expire_token();
        }
        runtimes.len()
    }

    /// Stop serving every vault endpoint (lab shutdown).
    pub async fn shutdown(&self) {
        let served: Vec<Served> = self.vaults.read().values().filter_map(|r| r.served).collect();
        for s in served {
            self.host.unhost(s.management_ip, 443).await;
            self.host.unhost(s.crypto_ip, 443).await;
        }
    }

    fn next_endpoint_ip(&self) -> Result<Ipv4Addr, String> {
        let n = self.next_endpoint_host.fetch_add(1, Ordering::Relaxed);
        if n > 254 {
            return Err("no free address left for vault endpoints in 134.70.17.0/24".into());
        }
        Ok(Ipv4Addr::new(ENDPOINT_NET[0], ENDPOINT_NET[1], ENDPOINT_NET[2], n as u8))
    }

    /// Serve one vault endpoint with a certificate from the public CA.
    pub(crate) async fn serve_endpoint(
        &self,
        name: String,
        kind: &str,
        url: &str,
        router: Router,
    ) -> Result<(Ipv4Addr, std::net::SocketAddr), String> {
        let host = url.trim_start_matches("https://").to_string();
        let ip = self.next_endpoint_ip()?;
        let ip_text = ip.to_string();
        let cert = self
            .host
            .public_ca()
            .issue_server(&[host.as_str(), ip_text.as_str(), "127.0.0.1", "localhost"])
            .map_err(|e| format!("cannot issue the {kind} endpoint certificate: {e}"))?;
        let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)
            .map_err(|e| format!("cannot build the {kind} endpoint TLS config: {e}"))?;
        let endpoint = Endpoint { name, kind: kind.to_string(), host, ip, port: 443 };
        let real = self
            .host
            .host(endpoint, router, tls)
            .await
            .map_err(|e| format!("cannot serve the {kind} endpoint: {e}"))?;
        Ok((ip, real))
    }

    pub(crate) fn set_vault_state(&self, id: &str, state: LifecycleState, details: Option<String>) {
        if let Some(r) = self.vaults.write().get_mut(id)
            && r.vault.lifecycle_state == LifecycleState::Creating
        {
            if let Some(d) = &details {
                tracing::info!(vault = %id, details = %d, "vault creation failed");
            }
            r.vault.lifecycle_state = state;
            r.vault.lifecycle_details = details;
        }
    }
}

fn random_lower(len: usize, alphabet: &[u8]) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A vault DNS prefix: 12 lowercase letters.
pub(crate) fn new_prefix() -> String {
    random_lower(12, b"abcdefghijklmnopqrstuvwxyz")
}

/// An OCID carrying the vault prefix, as OCI's vault, key and key version OCIDs do.
pub(crate) fn prefixed_ocid(kind: &str, region: &str, prefix: &str) -> String {
    format!("ocid1.{kind}.oc1.{region}.{prefix}.ab{}", random_lower(58, b"abcdefghijklmnopqrstuvwxyz0123456789"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyok_core::ids::{VaultEndpoints, kms_vault_endpoints};

    #[test]
    fn key_ocids_lead_to_their_vault_endpoints() {
        let prefix = new_prefix();
        assert_eq!(prefix.len(), 12);
        let key = prefixed_ocid("key", "eu-frankfurt-1", &prefix);
        assert!(hyok_core::ids::is_ocid(&key), "{key}");
        assert_eq!(kms_vault_endpoints(&key), Some(VaultEndpoints::of("eu-frankfurt-1", &prefix)));
    }
}
