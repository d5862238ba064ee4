//! The KMS resources as OCI serialises them (camelCase, field names of the Go SDK's
//! `keymanagement` package), plus the lab-only state kept beside them.

use hyok_oci_rest::conventions::{HasLifecycle, LifecycleState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{collections::HashMap, net::Ipv4Addr, sync::Arc};

/// `freeformTags` / `definedTags` as given.
pub type Tags = Option<HashMap<String, Value>>;

/// An EKMS private endpoint (`EkmsPrivateEndpoint`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpoint {
    /// OCID.
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Subnet the endpoint's VNIC lives in.
    pub subnet_id: String,
    /// Display name.
    pub display_name: String,
    /// Creation time.
    pub time_created: String,
    /// Last update time.
    pub time_updated: String,
    /// Free-form tags.
    pub freeform_tags: HashMap<String, Value>,
    /// Defined tags.
    pub defined_tags: HashMap<String, Value>,
    /// Lifecycle state.
    pub lifecycle_state: LifecycleState,
    /// Why the state is what it is (FAILED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// The key manager's (or the API gateway's) private IP.
    pub external_key_manager_ip: String,
    /// Port of the key manager; absent means 443.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// PEM CA bundle the endpoint trusts for the key manager's TLS certificate.
    pub ca_bundle: String,
    /// The endpoint's own address in the customer subnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_endpoint_ip: Option<String>,
}

impl PrivateEndpoint {
    /// The key manager port (443 unless set).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(443)
    }
}

impl HasLifecycle for PrivateEndpoint {
    fn lifecycle_state(&self) -> LifecycleState {
        self.lifecycle_state
    }
    fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>) {
        self.lifecycle_state = state;
        self.lifecycle_details = details;
        self.time_updated = hyok_oci_rest::conventions::oci_now();
    }
}

/// `oauthMetadataSummary` (never the secret).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OauthMetadataSummary {
    /// Identity domain URL.
    pub idcs_account_name_url: String,
    /// Client application id.
    pub client_app_id: String,
}

/// `externalKeyManagerMetadataSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalKeyManagerMetadataSummary {
    /// Vault URL at the key manager.
    pub external_vault_endpoint_url: String,
    /// EKMS private endpoint OCID.
    pub private_endpoint_id: String,
    /// Vendor, from the key manager's vault metadata once fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// OAuth settings without the secret.
    pub oauth_metadata_summary: OauthMetadataSummary,
}

/// A vault (`Vault`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    /// OCID (`ocid1.vault.oc1.<region>.<prefix>.<unique>`).
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Display name.
    pub display_name: String,
    /// `https://<prefix>-crypto.kms.<region>.oraclecloud.com`.
    pub crypto_endpoint: String,
    /// `https://<prefix>-management.kms.<region>.oraclecloud.com`.
    pub management_endpoint: String,
    /// Lifecycle state.
    pub lifecycle_state: LifecycleState,
    /// Why creation failed (lab addition; see fidelity doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// Creation time.
    pub time_created: String,
    /// Always `EXTERNAL` in the lab.
    pub vault_type: &'static str,
    /// External vaults have no wrapping key.
    pub wrappingkey_id: Option<String>,
    /// Not scheduled for deletion.
    pub time_of_deletion: Option<String>,
    /// Not restored.
    pub restored_from_vault_id: Option<String>,
    /// Not replicated.
    pub replica_details: Option<Value>,
    /// The primary copy.
    pub is_primary: bool,
    /// External vaults cannot be replicated.
    pub is_vault_replicable: bool,
    /// External key manager settings (no secret).
    pub external_key_manager_metadata_summary: ExternalKeyManagerMetadataSummary,
    /// Free-form tags.
    pub freeform_tags: HashMap<String, Value>,
    /// Defined tags.
    pub defined_tags: HashMap<String, Value>,
}

impl HasLifecycle for Vault {
    fn lifecycle_state(&self) -> LifecycleState {
        self.lifecycle_state
    }
    fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>) {
        self.lifecycle_state = state;
        self.lifecycle_details = details;
    }
}

/// A vault with what is not part of its API representation.
#[derive(Clone, Debug)]
pub struct VaultRecord {
    /// The API representation.
    pub vault: Vault,
    /// Its DNS prefix.
    pub prefix: String,
    /// Virtual and real sockets of the management and crypto endpoints, once served.
    pub served: Option<Served>,
    /// The vendor client, once built.
    pub runtime: Option<Arc<crate::vendor::VaultRuntime>>,
}

/// Where a vault's endpoints are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Virtual IP of the management endpoint (port 443).
    pub management_ip: Ipv4Addr,
    /// Real loopback socket of the management endpoint.
    pub management_real: std::net::SocketAddr,
    /// Virtual IP of the crypto endpoint (port 443).
    pub crypto_ip: Ipv4Addr,
    /// Real loopback socket of the crypto endpoint.
    pub crypto_real: std::net::SocketAddr,
}

/// `keyShape`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyShape {
    /// `AES` for external keys.
    pub algorithm: String,
    /// Bytes (32 for AES-256).
    pub length: i64,
    /// Only for ECDSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_id: Option<String>,
}

/// `externalKeyReferenceDetails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalKeyReferenceDetails {
    /// The key manager's key id.
    pub external_key_id: String,
    /// The key manager's key version id.
    pub external_key_version_id: String,
}

/// Lifecycle of keys and key versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyState {
    /// Being created (the key manager is being asked about it).
    Creating,
    /// Usable.
    Enabled,
    /// Disabled by the customer.
    Disabled,
    /// Creation failed; see `lifecycleDetails`.
    Failed,
}

impl KeyState {
    /// The wire name (`ENABLED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::Failed => "FAILED",
        }
    }
}

/// A key (`Key`), here always a key reference (`protectionMode: EXTERNAL`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    /// OCID (`ocid1.key.oc1.<region>.<vault prefix>.<unique>`).
    pub id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Display name.
    pub display_name: String,
    /// Shape.
    pub key_shape: KeyShape,
    /// Creation time.
    pub time_created: String,
    /// Current key version OCID (none until ENABLED).
    pub current_key_version: Option<String>,
    /// Lifecycle state.
    pub lifecycle_state: KeyState,
    /// Why creation failed (lab addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// `EXTERNAL`.
    pub protection_mode: &'static str,
    /// Key manager ids (null in the create response, as OCI's known issue).
    pub external_key_reference_details: Option<ExternalKeyReferenceDetails>,
    /// Primary copy.
    pub is_primary: bool,
    /// External keys are rotated in the key manager, not by OCI.
    pub is_auto_rotation_enabled: bool,
    /// Not scheduled for deletion.
    pub time_of_deletion: Option<String>,
    /// Not replicated.
    pub replica_details: Option<Value>,
    /// Not restored.
    pub restored_from_key_id: Option<String>,
    /// Free-form tags.
    pub freeform_tags: HashMap<String, Value>,
    /// Defined tags.
    pub defined_tags: HashMap<String, Value>,
}

/// A key version (`KeyVersion`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersion {
    /// OCID (`ocid1.keyversion.oc1.<region>.<vault prefix>.<unique>`).
    pub id: String,
    /// Key OCID.
    pub key_id: String,
    /// Vault OCID.
    pub vault_id: String,
    /// Compartment OCID.
    pub compartment_id: String,
    /// Creation time.
    pub time_created: String,
    /// Lifecycle state.
    pub lifecycle_state: KeyState,
    /// Why creation failed (lab addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// `EXTERNAL`.
    pub origin: &'static str,
    /// Key manager ids.
    pub external_key_reference_details: Option<ExternalKeyReferenceDetails>,
    /// Primary copy.
    pub is_primary: bool,
    /// Rotated by a customer call, not automatically.
    pub is_auto_rotated: bool,
    /// Not scheduled for deletion.
    pub time_of_deletion: Option<String>,
}

/// A key with its versions.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    /// The key.
    pub key: Key,
    /// Versions, oldest first.
    pub versions: Vec<KeyVersion>,
}

impl KeyRecord {
    /// A version of this key by OCID.
    pub fn version(&self, id: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.id == id)
    }
}
