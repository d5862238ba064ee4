//! The lab's public root CA: it plays the web PKI that signs cloud endpoints (identity domain,
//! OCI service hosts). CipherTrust Manager's own CA is separate and lives in `hyok-ctm`.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::IpAddr;

/// Errors of the lab PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// rcgen refused the parameters or the key.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A SAN entry is neither an IP address nor a valid DNS name.
    #[error("invalid subject alternative name {0:?}")]
    BadName(String),
}

/// A certificate with its private key, both PEM.
#[derive(Clone, Debug)]
pub struct IssuedCert {
    /// Leaf certificate PEM.
    pub cert_pem: String,
    /// PKCS#8 private key PEM.
    pub key_pem: String,
    /// The issuing CA certificate PEM (the chain a server sends after its leaf).
    pub ca_pem: String,
}

impl IssuedCert {
    /// Leaf followed by the CA, as a server presents it.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.ca_pem)
    }
}

/// A certificate authority that can issue server and client certificates.
pub struct LabCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for LabCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabCa").finish_non_exhaustive()
    }
}

impl LabCa {
    /// A new self-signed root with an ECDSA P-256 key (fast to make; RSA is only needed where a
    /// protocol insists on it).
    pub fn generate(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "HYOK Lab");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        Ok(Self { issuer: Issuer::new(params, key), cert_pem: cert.pem(), key_pem })
    }

    /// Reload a CA saved with [`LabCa::cert_pem`] and [`LabCa::key_pem`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Self { issuer, cert_pem: cert_pem.to_string(), key_pem: key_pem.to_string() })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM. Only the lab itself may hold this.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issue a TLS server certificate (ECDSA P-256) for the given DNS names and IP addresses.
    /// The first name becomes the common name.
    pub fn issue_server(&self, names: &[&str]) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate()?;
        self.issue_with_key(names, key, &[ExtendedKeyUsagePurpose::ServerAuth])
    }

    /// Issue a certificate for `names` around an existing key (e.g. an RSA key made elsewhere).
    pub fn issue_with_key(
        &self,
        names: &[&str],
        key: KeyPair,
        ekus: &[ExtendedKeyUsagePurpose],
    ) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
        let mut dn = DistinguishedName::new();
        if let Some(cn) = names.first() {
            dn.push(DnType::CommonName, *cn);
        }
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = ekus.to_vec();
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem(), ca_pem: self.cert_pem.clone() })
    }
}

/// A SAN entry from a string: an IP address if it parses as one, else a DNS name.
pub fn san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let ia5 = name.try_into().map_err(|_| PkiError::BadName(name.to_string()))?;
    Ok(SanType::DnsName(ia5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_cert_round_trips_through_pem() {
        let ca = LabCa::generate("HYOK Lab Test Root").expect("ca");
        let leaf = ca.issue_server(&["iaas.eu-frankfurt-1.oraclecloud.com", "127.0.0.1"]).expect("leaf");
        assert!(leaf.cert_pem.contains("BEGIN CERTIFICATE"));
        assert!(leaf.key_pem.contains("PRIVATE KEY"));
        let again = LabCa::from_pem(ca.cert_pem(), ca.key_pem()).expect("reload");
        again.issue_server(&["x.lab"]).expect("issue after reload");
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(san("not a name\u{7f}").is_err() || san("not a name\u{7f}").is_ok());
        assert!(matches!(san("10.0.0.1"), Ok(SanType::IpAddress(_))));
    }
}
