//! The rows of the KMS lists: the SDK's `VaultSummary`, `KeySummary`, `KeyVersionSummary` and
//! `EkmsPrivateEndpointSummary` (`oci/key_management/models/*_summary.py`, field names from
//! each model's `attribute_map`). OCI lists answer a bare array of these, not the resources.

use crate::model::{
    ExternalKeyManagerMetadataSummary, ExternalKeyReferenceDetails, Key, KeyState, KeyVersion, PrivateEndpoint, Vault,
};
use hyok_oci_rest::conventions::LifecycleState;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// `VaultSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VaultSummary {
    compartment_id: String,
    crypto_endpoint: String,
    defined_tags: HashMap<String, Value>,
    display_name: String,
    freeform_tags: HashMap<String, Value>,
    id: String,
    lifecycle_state: LifecycleState,
    management_endpoint: String,
    time_created: String,
    vault_type: &'static str,
    external_key_manager_metadata_summary: ExternalKeyManagerMetadataSummary,
}

impl From<&Vault> for VaultSummary {
    fn from(v: &Vault) -> Self {
        Self {
            compartment_id: v.compartment_id.clone(),
            crypto_endpoint: v.crypto_endpoint.clone(),
            defined_tags: v.defined_tags.clone(),
            display_name: v.display_name.clone(),
            freeform_tags: v.freeform_tags.clone(),
            id: v.id.clone(),
            lifecycle_state: v.lifecycle_state,
            management_endpoint: v.management_endpoint.clone(),
            time_created: v.time_created.clone(),
            vault_type: v.vault_type,
            external_key_manager_metadata_summary: v.external_key_manager_metadata_summary.clone(),
        }
    }
}

/// `KeySummary`: `algorithm` is the key shape's.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeySummary {
    compartment_id: String,
    defined_tags: HashMap<String, Value>,
    display_name: String,
    freeform_tags: HashMap<String, Value>,
    id: String,
    lifecycle_state: KeyState,
    time_created: String,
    vault_id: String,
    protection_mode: &'static str,
    algorithm: String,
    external_key_reference_details: Option<ExternalKeyReferenceDetails>,
    is_auto_rotation_enabled: bool,
}

impl From<&Key> for KeySummary {
    fn from(k: &Key) -> Self {
        Self {
            compartment_id: k.compartment_id.clone(),
            defined_tags: k.defined_tags.clone(),
            display_name: k.display_name.clone(),
            freeform_tags: k.freeform_tags.clone(),
            id: k.id.clone(),
            lifecycle_state: k.lifecycle_state,
            time_created: k.time_created.clone(),
            vault_id: k.vault_id.clone(),
            protection_mode: k.protection_mode,
            algorithm: k.key_shape.algorithm.clone(),
            external_key_reference_details: k.external_key_reference_details.clone(),
            is_auto_rotation_enabled: k.is_auto_rotation_enabled,
        }
    }
}

/// `KeyVersionSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyVersionSummary {
    compartment_id: String,
    id: String,
    key_id: String,
    lifecycle_state: KeyState,
    origin: &'static str,
    time_created: String,
    time_of_deletion: Option<String>,
    vault_id: String,
    external_key_reference_details: Option<ExternalKeyReferenceDetails>,
    is_auto_rotated: bool,
}

impl From<&KeyVersion> for KeyVersionSummary {
    fn from(v: &KeyVersion) -> Self {
        Self {
            compartment_id: v.compartment_id.clone(),
            id: v.id.clone(),
            key_id: v.key_id.clone(),
            lifecycle_state: v.lifecycle_state,
            origin: v.origin,
            time_created: v.time_created.clone(),
            time_of_deletion: v.time_of_deletion.clone(),
            vault_id: v.vault_id.clone(),
            external_key_reference_details: v.external_key_reference_details.clone(),
            is_auto_rotated: v.is_auto_rotated,
        }
    }
}

/// `EkmsPrivateEndpointSummary`: no IP, port or CA bundle (GetEkmsPrivateEndpoint has them).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrivateEndpointSummary {
    id: String,
    subnet_id: String,
    compartment_id: String,
    time_created: String,
    time_updated: String,
    display_name: String,
    freeform_tags: HashMap<String, Value>,
    defined_tags: HashMap<String, Value>,
    lifecycle_state: LifecycleState,
}

impl From<&PrivateEndpoint> for PrivateEndpointSummary {
    fn from(p: &PrivateEndpoint) -> Self {
        Self {
            id: p.id.clone(),
            subnet_id: p.subnet_id.clone(),
            compartment_id: p.compartment_id.clone(),
            time_created: p.time_created.clone(),
            time_updated: p.time_updated.clone(),
            display_name: p.display_name.clone(),
            freeform_tags: p.freeform_tags.clone(),
            defined_tags: p.defined_tags.clone(),
            lifecycle_state: p.lifecycle_state,
        }
    }
}
