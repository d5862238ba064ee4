//! The Certificates service's state and operations: CA bundles and imported certificates, each
//! CREATING until its lifecycle delay has passed on the config's clock, then ACTIVE.

use crate::{
    certificates::{
        import::{check_description, check_name, parse_pem_certs, validate_import},
        shapes::{
            CaBundle, Certificate, CertificateVersionSummary, CreateCaBundleDetails, CreateCertificateDetails,
            TlsMaterial,
        },
    },
    common::check_compartment,
};
use http::HeaderMap;
use hyok_core::Clock;
use hyok_oci_rest::{
    OciError, RetryTokens,
    conventions::{
        HasLifecycle, LifecycleState, OciResult, Table, check_if_match, etag_of, oci_time, required, settle_after,
    },
    signing::SignatureVerifier,
};
use parking_lot::RwLock;
use serde::Deserialize;
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use x509_parser::{certificate::X509Certificate, prelude::FromDer};

/// The service's host in the lab region.
pub const HOST: &str = "certificatesmanagement.eu-frankfurt-1.oci.oraclecloud.com";
/// API version path prefix.
pub const BASE_PATH: &str = "/20210224";

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
    /// Time for lifecycle delays, creation times and retry tokens (tests pass a manual clock).
    #[serde(skip)]
    pub clock: Clock,
}

impl Default for CertificatesConfig {
    fn default() -> Self {
        Self { lifecycle_delay_ms: 20, max_body_bytes: 256 * 1024, compartments: Vec::new(), clock: Clock::system() }
    }
}

pub(super) struct BundleRecord {
    pub(super) resource: CaBundle,
    pem: String,
    /// Creation order: the time key of lists (two creates can share a millisecond).
    pub(super) seq: u64,
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

pub(super) struct CertRecord {
    pub(super) resource: Certificate,
    material: TlsMaterial,
    /// Creation order, as for bundles.
    pub(super) seq: u64,
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

pub(super) struct Inner {
    pub(super) config: CertificatesConfig,
    pub(super) verifier: Arc<SignatureVerifier>,
    pub(super) bundles: Table<BundleRecord>,
    pub(super) certs: Table<CertRecord>,
    pub(super) retry: RetryTokens,
    seq: AtomicU64,
}

/// The Certificates service state. Cheap to clone.
#[derive(Clone)]
pub struct CertificatesService {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for CertificatesService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificatesService").finish_non_exhaustive()
    }
}

impl CertificatesService {
    /// A new, empty service whose API requires signatures verified by `verifier`.
    pub fn new(config: CertificatesConfig, verifier: Arc<SignatureVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                retry: RetryTokens::new(config.clock.clone()).with_max_body(config.max_body_bytes),
                config,
                verifier,
                bundles: Arc::new(RwLock::new(HashMap::new())),
                certs: Arc::new(RwLock::new(HashMap::new())),
                seq: AtomicU64::new(0),
            }),
        }
    }

    fn now(&self) -> time::OffsetDateTime {
        self.inner.config.clock.now_utc()
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.inner.config.lifecycle_delay_ms)
    }

    fn check_compartment<'a>(&self, value: &'a Option<String>) -> OciResult<&'a str> {
        check_compartment(&self.inner.config.compartments, value)
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
            time_created: oci_time(self.now()),
            lifecycle_state: LifecycleState::Creating,
            lifecycle_details: None,
            freeform_tags: d.freeform_tags.unwrap_or_default(),
            defined_tags: d.defined_tags.unwrap_or_default(),
        };
        {
            let mut map = self.inner.bundles.write();
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
        settle_after(&self.inner.config.clock, self.inner.bundles.clone(), id, self.delay(), Ok(()));
        Ok(resource)
    }

    /// GetCaBundle.
    pub fn get_ca_bundle(&self, id: &str) -> OciResult<CaBundle> {
        self.inner
            .bundles
            .read()
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
        let mut map = self.inner.bundles.write();
        let b = map
            .get_mut(id)
            .filter(|b| b.resource.lifecycle_state != LifecycleState::Deleted)
            .ok_or_else(|| OciError::not_found(format!("CA bundle {id} not found or not authorized")))?;
        check_if_match(headers, &etag_of(&b.resource))?;
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
        let imported = validate_import(cfg, self.now())?;
        let id = hyok_core::ids::regional_ocid("certificate");
        let now = oci_time(self.now());
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
            let mut map = self.inner.certs.write();
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
        settle_after(&self.inner.config.clock, self.inner.certs.clone(), id, self.delay(), Ok(()));
        Ok(resource)
    }

    /// GetCertificate.
    pub fn get_certificate(&self, id: &str) -> OciResult<Certificate> {
        self.inner
            .certs
            .read()
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
    /// `timeout` is real time (the caller's patience), also with a manual clock: a test advances
    /// that clock past the lifecycle delay and then waits here for the settling task.
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
