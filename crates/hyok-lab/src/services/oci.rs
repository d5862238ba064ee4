//! The lab tenancy as every OCI service shares it: its user and API key, the keys allowed to
//! sign OCI requests, one signature verifier, and the `oci` CLI config written for students.

use super::site::Site;
use crate::error::{LabError, svc_err};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy, tenancy::CliEndpoint};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// An API key being made on a blocking thread while the lab starts.
pub(super) type KeyJob = JoinHandle<Result<ApiKey, String>>;

/// Start making an API key (the lab user's, or a service principal's).
pub(super) fn spawn_key() -> KeyJob {
    tokio::task::spawn_blocking(|| ApiKey::generate().map_err(|e| e.to_string()))
}

/// What the OCI services are started with.
pub(super) struct Oci {
    /// The lab tenancy, its user and API key.
    pub(super) tenancy: Tenancy,
    /// Public keys allowed to sign OCI requests (the user's; service principals join).
    pub(super) keys: KeyStore,
    /// The signature verifier shared by every OCI service.
    pub(super) verifier: Arc<SignatureVerifier>,
    /// The tenancy and the students' compartment.
    pub(super) compartments: Vec<String>,
}

impl Oci {
    /// The tenancy of the lab user whose key `user_key` makes.
    pub(super) async fn new(site: &Site<'_>, user_key: KeyJob) -> Result<Self, LabError> {
        let api_key = user_key.await.map_err(|e| svc_err("oci", e))?.map_err(|e| svc_err("oci", e))?;
        let mut tenancy = Tenancy::with_key("hyoklab", "hyok-lab", "lab-admin", api_key);
        tenancy.tenancy_id = site.tenancy_id.to_string();
        tenancy.compartment_id = site.compartment_id.to_string();
        tenancy.region = site.world.region.clone();
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let verifier = Arc::new(SignatureVerifier::new(keys.clone()));
        let compartments = vec![site.tenancy_id.to_string(), site.compartment_id.to_string()];
        Ok(Self { tenancy, keys, verifier, compartments })
    }

    /// Write the `oci` CLI config, key and env file into `<lab-dir>/oci/` for every OCI
    /// service in lab.json (and the host's proxy to the real names), and list them in lab.json.
    pub(super) fn write_cli_config(&self, site: &mut Site<'_>) -> Result<(), LabError> {
        let tenancy = &self.tenancy;
        let dir = site.lab_dir.join("oci");
        let bundle = site.lab_dir.join(&site.info.ca.bundle);
        let endpoints: Vec<CliEndpoint> = site
            .info
            .services
            .iter()
            .filter_map(|s| {
                s.name.strip_prefix("oci-").map(|n| CliEndpoint { name: n.to_string(), url: s.url.clone() })
            })
            .collect();
        let proxy = site.info.proxy.as_ref().map(|p| p.url.as_str());
        let files =
            hyok_oci_rest::tenancy::write_cli_config_with_proxy(&dir, tenancy, Some(&bundle), &endpoints, proxy)
                .map_err(|e| svc_err("oci", e))?;
        let rel = |p: &std::path::Path| {
            p.strip_prefix(site.lab_dir).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string())
        };
        let entry = serde_json::json!({
            "tenancy": tenancy.tenancy_id,
            "tenancy_name": tenancy.name,
            "compartment": tenancy.compartment_id,
            "user": tenancy.user_id,
            "fingerprint": tenancy.api_key.fingerprint(),
            "region": tenancy.region,
            "config_file": rel(&files.config),
            "key_file": rel(&files.key),
            "env_file": rel(&files.env),
        });
        site.info.credentials.insert("oci".into(), entry);
        Ok(())
    }
}
