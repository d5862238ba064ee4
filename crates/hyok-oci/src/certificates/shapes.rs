//! The Certificates API's resource shapes (`CaBundle`, `Certificate`) and request bodies, and
//! what a TLS server gets from an imported certificate.

use hyok_oci_rest::conventions::LifecycleState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key algorithms of OCI certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA 2048-bit.
    #[serde(rename = "RSA2048")]
    Rsa2048,
    /// RSA 4096-bit.
    #[serde(rename = "RSA4096")]
    Rsa4096,
    /// ECDSA on P-256.
    #[serde(rename = "ECDSA_P256")]
    EcdsaP256,
    /// ECDSA on P-384.
    #[serde(rename = "ECDSA_P384")]
    EcdsaP384,
}

impl KeyAlgorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa2048 => "RSA2048",
            Self::Rsa4096 => "RSA4096",
            Self::EcdsaP256 => "ECDSA_P256",
            Self::EcdsaP384 => "ECDSA_P384",
        }
    }

    /// True for the RSA variants (what OCI API Gateway can serve).
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa4096)
    }
}

/// What a TLS server needs from an imported certificate.
#[derive(Clone)]
pub struct TlsMaterial {
    /// Leaf followed by the imported chain, PEM.
    pub chain_pem: String,
    /// The private key as imported, PEM.
    pub key_pem: String,
    /// The key algorithm.
    pub key_algorithm: KeyAlgorithm,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("key_algorithm", &self.key_algorithm).finish_non_exhaustive()
    }
}

/// `CreateCaBundleDetails`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCaBundleDetails {
    /// Name, unique among live bundles of the compartment.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Compartment OCID.
    pub compartment_id: Option<String>,
    /// One or more PEM certificates.
    pub ca_bundle_pem: Option<String>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// `CreateCertificateDetails` (only the IMPORTED config type is modelled).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCertificateDetails {
    /// Name, unique among live certificates of the compartment.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Compartment OCID.
    pub compartment_id: Option<String>,
    /// Renewal rules (stored, not acted on).
    pub certificate_rules: Option<Vec<serde_json::Value>>,
    /// The config.
    pub certificate_config: Option<CertificateConfig>,
    /// Free-form tags.
    pub freeform_tags: Option<BTreeMap<String, String>>,
    /// Defined tags.
    pub defined_tags: Option<BTreeMap<String, serde_json::Value>>,
}

/// `CreateCertificateByImportingConfigDetails` and its siblings.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateConfig {
    /// `IMPORTED` (others are refused).
    pub config_type: Option<String>,
    /// Version name.
    pub version_name: Option<String>,
    /// The leaf certificate.
    pub certificate_pem: Option<String>,
    /// The issuing chain, issuer first.
    pub cert_chain_pem: Option<String>,
    /// The leaf's private key.
    pub private_key_pem: Option<String>,
    /// Passphrase of an encrypted key (not supported by the lab).
    pub private_key_pem_passphrase: Option<String>,
}

impl std::fmt::Debug for CertificateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateConfig").field("config_type", &self.config_type).finish_non_exhaustive()
    }
}

/// `CaBundle` / `CaBundleSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaBundle {
    /// OCID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Compartment OCID.
    pub compartment_id: String,
    /// RFC 3339.
    pub time_created: String,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Why FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, serde_json::Value>,
}

/// `CertificateSubject` (the attributes the lab reads).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSubject {
    /// CN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// O.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// OU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    /// L.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality_name: Option<String>,
    /// ST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_or_province_name: Option<String>,
}

/// `CertificateSubjectAlternativeName`.
#[derive(Clone, Debug, Serialize)]
pub struct SubjectAlternativeName {
    /// `DNS` or `IP`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The name or address.
    pub value: String,
}

/// `Validity`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validity {
    /// Not before.
    pub time_of_validity_not_before: String,
    /// Not after.
    pub time_of_validity_not_after: String,
}

/// `CertificateVersionSummary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateVersionSummary {
    /// Certificate OCID.
    pub certificate_id: String,
    /// Colon-separated upper-case hex serial.
    pub serial_number: String,
    /// RFC 3339.
    pub time_created: String,
    /// 1 for an import.
    pub version_number: u64,
    /// Version name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// SANs of the leaf.
    pub subject_alternative_names: Vec<SubjectAlternativeName>,
    /// Validity of the leaf.
    pub validity: Validity,
    /// `CURRENT`, `LATEST`.
    pub stages: Vec<&'static str>,
}

/// `Certificate`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// OCID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Compartment OCID.
    pub compartment_id: String,
    /// RFC 3339.
    pub time_created: String,
    /// State.
    pub lifecycle_state: LifecycleState,
    /// Why FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_details: Option<String>,
    /// `IMPORTED`.
    pub config_type: &'static str,
    /// Key algorithm of the leaf.
    pub key_algorithm: KeyAlgorithm,
    /// Signature algorithm of the leaf (`SHA256_WITH_RSA`, …).
    pub signature_algorithm: &'static str,
    /// Subject of the leaf.
    pub subject: CertificateSubject,
    /// The current version.
    pub current_version: CertificateVersionSummary,
    /// Renewal rules as given.
    pub certificate_rules: Vec<serde_json::Value>,
    /// Free-form tags.
    pub freeform_tags: BTreeMap<String, String>,
    /// Defined tags.
    pub defined_tags: BTreeMap<String, serde_json::Value>,
}

impl Certificate {
    /// The `CertificateSummary` form used in lists (`currentVersionSummary`, no details).
    pub fn summary(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            if let Some(cv) = obj.remove("currentVersion") {
                obj.insert("currentVersionSummary".into(), cv);
            }
            obj.remove("lifecycleDetails");
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyok_oci_rest::conventions::oci_now;

    #[test]
    fn summary_renames_current_version() {
        let c = Certificate {
            id: "i".into(),
            name: "n".into(),
            description: None,
            compartment_id: "c".into(),
            time_created: oci_now(),
            lifecycle_state: LifecycleState::Active,
            lifecycle_details: Some("x".into()),
            config_type: "IMPORTED",
            key_algorithm: KeyAlgorithm::Rsa2048,
            signature_algorithm: "SHA256_WITH_RSA",
            subject: CertificateSubject::default(),
            current_version: CertificateVersionSummary {
                certificate_id: "i".into(),
                serial_number: "01".into(),
                time_created: oci_now(),
                version_number: 1,
                version_name: None,
                subject_alternative_names: vec![],
                validity: Validity { time_of_validity_not_before: oci_now(), time_of_validity_not_after: oci_now() },
                stages: vec!["CURRENT", "LATEST"],
            },
            certificate_rules: vec![],
            freeform_tags: BTreeMap::new(),
            defined_tags: BTreeMap::new(),
        };
        let s = c.summary();
        assert!(s.get("currentVersionSummary").is_some());
        assert!(s.get("currentVersion").is_none());
        assert_eq!(s["keyAlgorithm"], "RSA2048");
        assert_eq!(s["lifecycleState"], "ACTIVE");
    }
}
