//! The OCI Certificates service (`certificatesmanagement.<region>.oci.oraclecloud.com`,
//! `/20210224`): CA bundles and imported certificates.
//!
//! An import is checked the way a TLS server would need it to be usable: the certificate and
//! chain parse, the private key matches the certificate, each chain certificate is a CA that signs
//! the one before it, and everything is within its validity. The private key is never returned
//! by the API; the lab composer reads it with [`CertificatesService::tls_material`].

use hyok_oci_rest::RetryTokens;
use hyok_oci_rest::{
    conventions::{
        HasLifecycle, LifecycleState, OciResponse, OciResult, PageQuery, Table, check_if_match, oci_now, oci_time,
        paginate, parse_json, required, required_ocid, settle_after,
    },
    signing::{self, SignatureVerifier},
};
use parking_lot::RwLock;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use hyok_oci_rest::OciError;
use serde::{Deserialize, Serialize};
use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use time::OffsetDateTime;
use x509_parser::{
    certificate::X509Certificate,
    extensions::GeneralName,
    oid_registry::{
        OID_EC_P256, OID_NIST_EC_P384, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
        OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512,
    },
    prelude::FromDer,
    public_key::PublicKey,
    time::ASN1Time,
    x509::{SubjectPublicKeyInfo, X509Name},
};

/// The service's host in the lab region.
pub const HOST: &str = "certificatesmanagement.eu-frankfurt-1.oci.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20210224";

const MAX_NAME_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 400;

/// Service settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct CertificatesConfig {
    /// How long CREATING lasts before ACTIVE.
    pub lifecycle_delay_ms: u64,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Compartment (or tenancy) OCIDs that exist; empty means any OCID-shaped id is accepted.
    pub compartments: Vec<String>,
}

impl Default for CertificatesConfig {
    fn default() -> Self {
        Self { lifecycle_delay_ms: 20, max_body_bytes: 256 * 1024, compartments: Vec::new() }
    }
}

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

struct BundleRecord {
    resource: CaBundle,
    pem: String,
    seq: u64,
}

impl HasLifecycle for BundleRecord {
    fn lifecycle_state(&self) -> LifecycleState {
        self.resource.lifecycle_state
    }
    fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>) {
        self.resource.lifecycle_state = state;
        self.resource.lifecycle_details = details;
    }
}

struct CertRecord {
    resource: Certificate,
    material: TlsMaterial,
    seq: u64,
}

impl HasLifecycle for CertRecord {
    fn lifecycle_state(&self) -> LifecycleState {
        self.resource.lifecycle_state
    }
    fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>) {
        self.resource.lifecycle_state = state;
        self.resource.lifecycle_details = details;
    }
}

struct Inner {
    config: CertificatesConfig,
    verifier: Arc<SignatureVerifier>,
    bundles: Table<BundleRecord>,
    certs: Table<CertRecord>,
    retry: RetryTokens,
    seq: AtomicU64,
}

/// The Certificates service state. Cheap to clone.
#[derive(Clone)]
pub struct CertificatesService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CertificatesService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificatesService").finish_non_exhaustive()
    }
}

fn read<T>(t: &Table<T>) -> OciResult<parking_lot::RwLockReadGuard<'_, HashMap<String, T>>> {
    Ok(t.read())
}

fn write<T>(t: &Table<T>) -> OciResult<parking_lot::RwLockWriteGuard<'_, HashMap<String, T>>> {
    Ok(t.write())
}

impl CertificatesService {
    /// A new, empty service whose API requires signatures verified by `verifier`.
    pub fn new(config: CertificatesConfig, verifier: Arc<SignatureVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                verifier,
                bundles: Arc::new(RwLock::new(HashMap::new())),
                certs: Arc::new(RwLock::new(HashMap::new())),
                retry: RetryTokens::default(),
                seq: AtomicU64::new(0),
            }),
        }
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.inner.config.lifecycle_delay_ms)
    }

    fn check_compartment<'a>(&self, value: &'a Option<String>) -> OciResult<&'a str> {
        let c = required_ocid(value, "compartmentId", "compartment")?;
        let known = &self.inner.config.compartments;
        if !known.is_empty() && !known.iter().any(|k| k == c) {
            return Err(OciError::not_found(format!("compartment {c} not found or not authorized")));
        }
        Ok(c)
    }

    /// CreateCaBundle: validates the PEM; the bundle starts CREATING and turns ACTIVE shortly.
    pub fn create_ca_bundle(&self, d: CreateCaBundleDetails) -> OciResult<CaBundle> {
        let name = check_name(&d.name)?;
        let compartment = self.check_compartment(&d.compartment_id)?.to_string();
        check_description(&d.description)?;
        let pem = required(&d.ca_bundle_pem, "caBundlePem")?;
        let ders = parse_pem_certs(pem, "caBundlePem")?;
        for (i, der) in ders.iter().enumerate() {
            X509Certificate::from_der(der).map_err(|_| {
                OciError::invalid_parameter(format!(
                    "caBundlePem certificate {} is not a valid X.509 certificate",
                    i + 1
                ))
            })?;
        }
        let id = hyok_core::ids::regional_ocid("cabundle");
        let resource = CaBundle {
            id: id.clone(),
            name: name.to_string(),
            description: d.description.clone(),
            compartment_id: compartment.clone(),
            time_created: oci_now(),
            lifecycle_state: LifecycleState::Creating,
            lifecycle_details: None,
            freeform_tags: d.freeform_tags.unwrap_or_default(),
            defined_tags: d.defined_tags.unwrap_or_default(),
        };
        {
            let mut map = write(&self.inner.bundles)?;
            if map.values().any(|b| {
                b.resource.name == name
                    && b.resource.compartment_id == compartment
                    && b.resource.lifecycle_state != LifecycleState::Deleted
            }) {
                return Err(OciError::conflict(format!(
                    "a CA bundle named {name:?} already exists in this compartment"
                )));
            }
            let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
            map.insert(id.clone(), BundleRecord { resource: resource.clone(), pem: pem.to_string(), seq });
        }
        settle_after(&hyok_core::Clock::default(), self.inner.bundles.clone(), id, self.delay(), Ok(()));
        Ok(resource)
    }

    /// GetCaBundle.
    pub fn get_ca_bundle(&self, id: &str) -> OciResult<CaBundle> {
        read(&self.inner.bundles)?
            .get(id)
            .map(|b| b.resource.clone())
            .ok_or_else(|| OciError::not_found(format!("CA bundle {id} not found or not authorized")))
    }

    /// The PEM of an ACTIVE CA bundle (what a private endpoint or gateway trusts).
    pub fn ca_bundle_pem(&self, id: &str) -> Option<String> {
        let map = self.inner.bundles.read();
        map.get(id).filter(|b| b.resource.lifecycle_state == LifecycleState::Active).map(|b| b.pem.clone())
    }

    /// DeleteCaBundle (immediate DELETED; the lab has no deletion delay for bundles).
    pub fn delete_ca_bundle(&self, id: &str, headers: &HeaderMap) -> OciResult<()> {
        let mut map = write(&self.inner.bundles)?;
        let b = map
            .get_mut(id)
            .filter(|b| b.resource.lifecycle_state != LifecycleState::Deleted)
            .ok_or_else(|| OciError::not_found(format!("CA bundle {id} not found or not authorized")))?;
        check_if_match(headers, &hyok_oci_rest::conventions::etag_of(&b.resource))?;
        if b.resource.lifecycle_state != LifecycleState::Active {
            return Err(OciError::incorrect_state(format!(
                "CA bundle {id} is {}",
                b.resource.lifecycle_state.as_str()
            )));
        }
        b.resource.lifecycle_state = LifecycleState::Deleted;
        Ok(())
    }

    /// CreateCertificate with an IMPORTED config.
    pub fn create_certificate(&self, d: CreateCertificateDetails) -> OciResult<Certificate> {
        let name = check_name(&d.name)?;
        let compartment = self.check_compartment(&d.compartment_id)?.to_string();
        check_description(&d.description)?;
        let cfg = d
            .certificate_config
            .as_ref()
            .ok_or_else(|| OciError::missing_parameter("certificateConfig is required"))?;
        match cfg.config_type.as_deref() {
            Some("IMPORTED") => {}
            Some(t @ ("ISSUED_BY_INTERNAL_CA" | "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA")) => {
                return Err(OciError::invalid_parameter(format!(
                    "certificateConfig.configType {t} is not supported by the lab; only IMPORTED is"
                )));
            }
            Some(t) => {
                return Err(OciError::invalid_parameter(format!("certificateConfig.configType {t:?} is not valid")));
            }
            None => return Err(OciError::missing_parameter("certificateConfig.configType is required")),
        }
        let imported = validate_import(cfg, OffsetDateTime::now_utc())?;
        let id = hyok_core::ids::regional_ocid("certificate");
        let now = oci_now();
        let resource = Certificate {
            id: id.clone(),
            name: name.to_string(),
            description: d.description.clone(),
            compartment_id: compartment.clone(),
            time_created: now.clone(),
            lifecycle_state: LifecycleState::Creating,
            lifecycle_details: None,
            config_type: "IMPORTED",
            key_algorithm: imported.key_algorithm,
            signature_algorithm: imported.signature_algorithm,
            subject: imported.subject,
            current_version: CertificateVersionSummary {
                certificate_id: id.clone(),
                serial_number: imported.serial,
                time_created: now,
                version_number: 1,
                version_name: cfg.version_name.clone(),
                subject_alternative_names: imported.sans,
                validity: imported.validity,
                stages: vec!["CURRENT", "LATEST"],
            },
            certificate_rules: d.certificate_rules.clone().unwrap_or_default(),
            freeform_tags: d.freeform_tags.clone().unwrap_or_default(),
            defined_tags: d.defined_tags.clone().unwrap_or_default(),
        };
        {
            let mut map = write(&self.inner.certs)?;
            if map.values().any(|c| {
                c.resource.name == name
                    && c.resource.compartment_id == compartment
                    && c.resource.lifecycle_state != LifecycleState::Deleted
            }) {
                return Err(OciError::conflict(format!(
                    "a certificate named {name:?} already exists in this compartment"
                )));
            }
            let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
            map.insert(id.clone(), CertRecord { resource: resource.clone(), material: imported.material, seq });
        }
        settle_after(&hyok_core::Clock::default(), self.inner.certs.clone(), id, self.delay(), Ok(()));
        Ok(resource)
    }

    /// GetCertificate.
    pub fn get_certificate(&self, id: &str) -> OciResult<Certificate> {
        read(&self.inner.certs)?
            .get(id)
            .map(|c| c.resource.clone())
            .ok_or_else(|| OciError::not_found(format!("certificate {id} not found or not authorized")))
    }

    /// The chain, key and key algorithm of an ACTIVE certificate, for the API gateway.
    /// `None` if unknown or not ACTIVE.
    pub fn tls_material(&self, cert_id: &str) -> Option<TlsMaterial> {
        let map = self.inner.certs.read();
        map.get(cert_id).filter(|c| c.resource.lifecycle_state == LifecycleState::Active).map(|c| c.material.clone())
    }

    /// Wait until a certificate or CA bundle is ACTIVE; false on timeout, FAILED or unknown id.
    pub async fn wait_until_active(&self, id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = self
                .get_certificate(id)
                .map(|c| c.lifecycle_state)
                .or_else(|_| self.get_ca_bundle(id).map(|b| b.lifecycle_state));
            match state {
                Ok(LifecycleState::Active) => return true,
                Ok(LifecycleState::Creating) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ => return false,
            }
        }
    }
}

fn check_name(name: &Option<String>) -> OciResult<&str> {
    let n = required(name, "name")?;
    if n.len() > MAX_NAME_LEN || n.chars().any(char::is_control) {
        return Err(OciError::invalid_parameter(format!("name must be 1 to {MAX_NAME_LEN} printable characters")));
    }
    Ok(n)
}

fn check_description(d: &Option<String>) -> OciResult<()> {
    match d {
        Some(d) if d.len() > MAX_DESCRIPTION_LEN => {
            Err(OciError::invalid_parameter(format!("description must be at most {MAX_DESCRIPTION_LEN} characters")))
        }
        _ => Ok(()),
    }
}

fn parse_pem_certs(pem: &str, field: &str) -> OciResult<Vec<Vec<u8>>> {
    match hyok_core::tls::certs_from_pem(pem) {
        Ok(c) => Ok(c.into_iter().map(|d| d.as_ref().to_vec()).collect()),
        Err(hyok_core::tls::TlsError::NoCertificate) => Err(OciError::invalid_parameter(format!(
            "{field} contains no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ))),
        Err(_) => Err(OciError::invalid_parameter(format!("{field} is not valid PEM"))),
    }
}

struct Imported {
    key_algorithm: KeyAlgorithm,
    signature_algorithm: &'static str,
    subject: CertificateSubject,
    sans: Vec<SubjectAlternativeName>,
    validity: Validity,
    serial: String,
    material: TlsMaterial,
}

fn parse_cert<'a>(der: &'a [u8], what: &str) -> OciResult<X509Certificate<'a>> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|_| OciError::invalid_parameter(format!("{what} is not a valid X.509 certificate")))
}

fn name_of(n: &X509Name<'_>) -> String {
    n.to_string()
}

/// Validate an IMPORTED config as of `now`.
fn validate_import(cfg: &CertificateConfig, now: OffsetDateTime) -> OciResult<Imported> {
    let cert_pem = required(&cfg.certificate_pem, "certificateConfig.certificatePem")?;
    let chain_pem = required(&cfg.cert_chain_pem, "certificateConfig.certChainPem")?;
    let key_pem = required(&cfg.private_key_pem, "certificateConfig.privateKeyPem")?;
    let leaf_ders = parse_pem_certs(cert_pem, "certificatePem")?;
    if leaf_ders.len() != 1 {
        return Err(OciError::invalid_parameter(format!(
            "certificatePem must contain exactly one certificate (found {}); put the issuers in certChainPem",
            leaf_ders.len()
        )));
    }
    let chain_ders = parse_pem_certs(chain_pem, "certChainPem")?;
    let leaf = parse_cert(&leaf_ders[0], "certificatePem")?;
    let chain = chain_ders
        .iter()
        .enumerate()
        .map(|(i, d)| parse_cert(d, &format!("certChainPem certificate {}", i + 1)))
        .collect::<OciResult<Vec<_>>>()?;

    // Key algorithm of the leaf.
    let key_algorithm = key_algorithm_of(leaf.public_key())?;

    // The private key parses and matches the certificate.
    if key_pem.contains("ENCRYPTED") || cfg.private_key_pem_passphrase.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(OciError::invalid_parameter(
            "privateKeyPem is encrypted; the lab accepts only unencrypted PKCS#8, PKCS#1 or SEC1 keys",
        ));
    }
    let key_der = hyok_core::tls::key_from_pem(key_pem)
        .map_err(|_| OciError::invalid_parameter("privateKeyPem is not a valid PEM private key"))?;
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|_| OciError::invalid_parameter("privateKeyPem is not a usable RSA or ECDSA private key"))?;
    let key_spki = signing_key
        .public_key()
        .ok_or_else(|| OciError::invalid_parameter("privateKeyPem: cannot derive its public key"))?;
    let (_, key_spki) = SubjectPublicKeyInfo::from_der(key_spki.as_ref())
        .map_err(|_| OciError::invalid_parameter("privateKeyPem: cannot derive its public key"))?;
    let cert_spki = leaf.public_key();
    if key_spki.algorithm.algorithm != cert_spki.algorithm.algorithm
        || key_spki.subject_public_key.data != cert_spki.subject_public_key.data
    {
        return Err(OciError::invalid_parameter(
            "privateKeyPem does not match certificatePem: the private key is not the key of this certificate",
        ));
    }

    // Validity.
    let at = ASN1Time::from_timestamp(now.unix_timestamp()).map_err(OciError::internal)?;
    if !leaf.validity().is_valid_at(at) {
        return Err(OciError::invalid_parameter(format!(
            "certificatePem is not valid now (valid from {} to {})",
            leaf.validity().not_before,
            leaf.validity().not_after
        )));
    }

    // The chain: each certificate is a CA that issued and signed the one before it.
    let mut child = &leaf;
    let mut child_label = "certificatePem".to_string();
    for (i, issuer) in chain.iter().enumerate() {
        let label = format!("certChainPem certificate {} ({})", i + 1, name_of(issuer.subject()));
        if child.issuer().as_raw() != issuer.subject().as_raw() {
            return Err(OciError::invalid_parameter(format!(
                "broken chain: {child_label} was issued by {:?} but the next certificate in certChainPem is {label}",
                name_of(child.issuer())
            )));
        }
        if !issuer.is_ca() {
            return Err(OciError::invalid_parameter(format!("broken chain: {label} is not a CA certificate")));
        }
        if child.verify_signature(Some(issuer.public_key())).is_err() {
            return Err(OciError::invalid_parameter(format!(
                "broken chain: the signature of {child_label} does not verify with the key of {label}"
            )));
        }
        if !issuer.validity().is_valid_at(at) {
            return Err(OciError::invalid_parameter(format!("broken chain: {label} is not valid now")));
        }
        child = issuer;
        child_label = label;
    }
    if child.issuer().as_raw() == child.subject().as_raw() && !chain.is_empty() && child.verify_signature(None).is_err()
    {
        return Err(OciError::invalid_parameter(format!(
            "broken chain: the self-signature of {child_label} does not verify"
        )));
    }

    let signature_algorithm = signature_algorithm_of(&leaf)?;
    let subject = subject_of(leaf.subject());
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = leaf.subject_alternative_name() {
        for gn in &ext.value.general_names {
            match gn {
                GeneralName::DNSName(d) => sans.push(SubjectAlternativeName { kind: "DNS", value: d.to_string() }),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.push(SubjectAlternativeName { kind: "IP", value: ip.to_string() });
                    }
                }
                _ => {}
            }
        }
    }
    let to_time = |t: ASN1Time| OffsetDateTime::from_unix_timestamp(t.timestamp()).map(oci_time).unwrap_or_default();
    let validity = Validity {
        time_of_validity_not_before: to_time(leaf.validity().not_before),
        time_of_validity_not_after: to_time(leaf.validity().not_after),
    };
    let serial = leaf.raw_serial_as_string().to_ascii_uppercase();
    let chain_pem_full = format!("{}\n{}\n", cert_pem.trim_end(), chain_pem.trim_end());
    Ok(Imported {
        key_algorithm,
        signature_algorithm,
        subject,
        sans,
        validity,
        serial,
        material: TlsMaterial {
            chain_pem: chain_pem_full,
            key_pem: format!("{}\n", key_pem.trim_end()),
            key_algorithm,
        },
    })
}

fn key_algorithm_of(spki: &SubjectPublicKeyInfo<'_>) -> OciResult<KeyAlgorithm> {
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let m = rsa.modulus;
            let first = m.iter().position(|b| *b != 0).unwrap_or(m.len());
            let bits = m.get(first).map(|b| (m.len() - first) * 8 - b.leading_zeros() as usize).unwrap_or(0);
            match bits {
                2048 => Ok(KeyAlgorithm::Rsa2048),
                4096 => Ok(KeyAlgorithm::Rsa4096),
                n => Err(OciError::invalid_parameter(format!(
                    "certificatePem has an RSA {n}-bit key; supported key algorithms are RSA2048, RSA4096, ECDSA_P256, ECDSA_P384"
                ))),
            }
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == OID_EC_P256 => Ok(KeyAlgorithm::EcdsaP256),
                Some(c) if c == OID_NIST_EC_P384 => Ok(KeyAlgorithm::EcdsaP384),
                _ => Err(OciError::invalid_parameter(
                    "certificatePem has an EC key on an unsupported curve; supported are P-256 and P-384",
                )),
            }
        }
        _ => Err(OciError::invalid_parameter(
            "certificatePem has an unsupported key type; supported key algorithms are RSA2048, RSA4096, ECDSA_P256, ECDSA_P384",
        )),
    }
}

fn signature_algorithm_of(cert: &X509Certificate<'_>) -> OciResult<&'static str> {
    let oid = &cert.signature_algorithm.algorithm;
    let table = [
        (OID_PKCS1_SHA256WITHRSA, "SHA256_WITH_RSA"),
        (OID_PKCS1_SHA384WITHRSA, "SHA384_WITH_RSA"),
        (OID_PKCS1_SHA512WITHRSA, "SHA512_WITH_RSA"),
        (OID_SIG_ECDSA_WITH_SHA256, "SHA256_WITH_ECDSA"),
        (OID_SIG_ECDSA_WITH_SHA384, "SHA384_WITH_ECDSA"),
        (OID_SIG_ECDSA_WITH_SHA512, "SHA512_WITH_ECDSA"),
    ];
    table.iter().find(|(o, _)| o == oid).map(|(_, n)| *n).ok_or_else(|| {
        OciError::invalid_parameter(format!("certificatePem is signed with an unsupported algorithm ({oid})"))
    })
}

fn subject_of(n: &X509Name<'_>) -> CertificateSubject {
    let first = |mut it: Box<dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>> + '_>| {
        it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
    };
    CertificateSubject {
        common_name: first(Box::new(n.iter_common_name())),
        country: first(Box::new(n.iter_country())),
        organization: first(Box::new(n.iter_organization())),
        organizational_unit: first(Box::new(n.iter_organizational_unit())),
        locality_name: first(Box::new(n.iter_locality())),
        state_or_province_name: first(Box::new(n.iter_state_or_province())),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// List query parameters of `ListCaBundles` / `ListCertificates`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Filter.
    pub compartment_id: Option<String>,
    /// Filter.
    pub name: Option<String>,
    /// Filter.
    pub lifecycle_state: Option<String>,
    /// Filter (CA bundles).
    pub ca_bundle_id: Option<String>,
    /// Filter (certificates).
    pub certificate_id: Option<String>,
    /// `NAME` or `TIMECREATED`.
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    pub sort_order: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Page token.
    pub page: Option<String>,
}

struct Sortable<'a> {
    name: &'a str,
    seq: u64,
}

fn sort_and_filter<T, F>(items: Vec<(Sortable<'_>, T)>, q: &ListQuery, mut keep: F) -> OciResult<Vec<T>>
where
    F: FnMut(&T) -> bool,
{
    let by_name = match q.sort_by.as_deref() {
        None | Some("TIMECREATED") => false,
        Some("NAME") => true,
        Some(o) => return Err(OciError::invalid_parameter(format!("sortBy {o:?} must be NAME or TIMECREATED"))),
    };
    // OCI: TIMECREATED defaults to descending, NAME to ascending.
    let desc = match q.sort_order.as_deref() {
        None => !by_name,
        Some("ASC") => false,
        Some("DESC") => true,
        Some(o) => return Err(OciError::invalid_parameter(format!("sortOrder {o:?} must be ASC or DESC"))),
    };
    let mut items: Vec<_> = items.into_iter().filter(|(_, t)| keep(t)).collect();
    items.sort_by(|(a, _), (b, _)| {
        let o = if by_name { a.name.cmp(b.name).then(a.seq.cmp(&b.seq)) } else { a.seq.cmp(&b.seq) };
        if desc { o.reverse() } else { o }
    });
    Ok(items.into_iter().map(|(_, t)| t).collect())
}

fn query(q: Result<Query<ListQuery>, QueryRejection>) -> OciResult<ListQuery> {
    q.map(|Query(q)| q).map_err(|e| OciError::invalid_parameter(format!("invalid query string: {}", e.body_text())))
}

fn page_of(q: &ListQuery) -> PageQuery {
    PageQuery { limit: q.limit.clone(), page: q.page.clone() }
}

fn state_filter(q: &ListQuery) -> OciResult<Option<LifecycleState>> {
    q.lifecycle_state
        .as_deref()
        .map(|s| {
            serde_json::from_value::<LifecycleState>(serde_json::Value::String(s.to_string()))
                .map_err(|_| OciError::invalid_parameter(format!("lifecycleState {s:?} is not valid")))
        })
        .transpose()
}

async fn create_ca_bundle_h(State(s): State<CertificatesService>, headers: HeaderMap, body: Bytes) -> Response {
    let svc = s.clone();
    let payload = body.clone();
    let r = s
        .inner
        .retry
        .run("POST /caBundles", &headers, &body, || async move {
            let d: CreateCaBundleDetails = parse_json(&payload)?;
            OciResponse::resource(&svc.create_ca_bundle(d)?)
        })
        .await;
    r.into_response()
}

async fn list_ca_bundles_h(
    State(s): State<CertificatesService>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let state = state_filter(&q)?;
    let map = read(&s.inner.bundles)?;
    let rows: Vec<_> =
        map.values().map(|b| (Sortable { name: &b.resource.name, seq: b.seq }, b.resource.clone())).collect();
    let items = sort_and_filter(rows, &q, |b: &CaBundle| {
        q.compartment_id.as_deref().is_none_or(|c| c == b.compartment_id)
            && q.name.as_deref().is_none_or(|n| n == b.name)
            && q.ca_bundle_id.as_deref().is_none_or(|i| i == b.id)
            && state.is_none_or(|st| st == b.lifecycle_state)
            && (state.is_some() || b.lifecycle_state != LifecycleState::Deleted)
    })?;
    drop(map);
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn get_ca_bundle_h(State(s): State<CertificatesService>, Path(id): Path<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&s.get_ca_bundle(&id)?)
}

async fn delete_ca_bundle_h(
    State(s): State<CertificatesService>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> OciResult<StatusCode> {
    s.delete_ca_bundle(&id, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_certificate_h(State(s): State<CertificatesService>, headers: HeaderMap, body: Bytes) -> Response {
    let svc = s.clone();
    let payload = body.clone();
    let r = s
        .inner
        .retry
        .run("POST /certificates", &headers, &body, || async move {
            let d: CreateCertificateDetails = parse_json(&payload)?;
            OciResponse::resource(&svc.create_certificate(d)?)
        })
        .await;
    r.into_response()
}

async fn list_certificates_h(
    State(s): State<CertificatesService>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> OciResult<OciResponse> {
    let q = query(q)?;
    let state = state_filter(&q)?;
    let map = read(&s.inner.certs)?;
    let rows: Vec<_> =
        map.values().map(|c| (Sortable { name: &c.resource.name, seq: c.seq }, c.resource.clone())).collect();
    let items = sort_and_filter(rows, &q, |c: &Certificate| {
        q.compartment_id.as_deref().is_none_or(|x| x == c.compartment_id)
            && q.name.as_deref().is_none_or(|n| n == c.name)
            && q.certificate_id.as_deref().is_none_or(|i| i == c.id)
            && state.is_none_or(|st| st == c.lifecycle_state)
    })?;
    drop(map);
    let (page, next) = paginate(&items, &page_of(&q), Clone::clone)?;
    let summaries: Vec<serde_json::Value> = page.iter().map(Certificate::summary).collect();
    OciResponse::collection(&summaries, next)
}

async fn get_certificate_h(State(s): State<CertificatesService>, Path(id): Path<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&s.get_certificate(&id)?)
}

async fn not_found_h() -> OciError {
    OciError::new(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "Unknown resource path")
}

/// The Certificates service API: `/20210224/...` behind signature verification, with
/// `opc-request-id` on every response and the configured body limit.
pub fn router(service: CertificatesService) -> Router {
    let verifier = service.inner.verifier.clone();
    let limit = service.inner.config.max_body_bytes;
    let api = Router::new()
        .route("/caBundles", get(list_ca_bundles_h).post(create_ca_bundle_h))
        .route("/caBundles/{id}", get(get_ca_bundle_h).delete(delete_ca_bundle_h))
        .route("/certificates", get(list_certificates_h).post(create_certificate_h))
        .route("/certificates/{id}", get(get_certificate_h))
        .with_state(service);
    let app = Router::new().nest(BASE_PATH, api).fallback(not_found_h).layer(DefaultBodyLimit::max(limit));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

#[cfg(test)]
mod tests {
    use super::*;

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
