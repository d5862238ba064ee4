//! The OCI Certificates service (`certificatesmanagement.<region>.oci.oraclecloud.com`,
//! `/20210224`): CA bundles and imported certificates.
//!
//! An import is checked the way a TLS server would need it to be usable (`import`). The private
//! key is never returned by the API; the lab composer reads it with
//! [`CertificatesService::tls_material`].
//!
//! Modules: `shapes` (resources and request bodies), `import` (validation of an import),
//! `service` (state and operations), `routes` (lists, handlers, router).

mod import;
mod routes;
mod service;
mod shapes;

pub use routes::{ListQuery, router};
pub use service::{BASE_PATH, CertificatesConfig, CertificatesService, HOST};
pub use shapes::{
    CaBundle, Certificate, CertificateConfig, CertificateSubject, CertificateVersionSummary, CreateCaBundleDetails,
    CreateCertificateDetails, KeyAlgorithm, SubjectAlternativeName, TlsMaterial, Validity,
};
