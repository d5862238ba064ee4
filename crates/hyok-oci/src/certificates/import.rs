//! Validation of an imported certificate, the way a TLS server would need it to be usable: the
//! certificate and chain parse, the private key matches the certificate, each chain certificate
//! is a CA that signs the one before it, and everything is within its validity.

use crate::certificates::shapes::{
    CertificateConfig, CertificateSubject, KeyAlgorithm, SubjectAlternativeName, TlsMaterial, Validity,
};
use hyok_oci_rest::{
    OciError,
    conventions::{OciResult, oci_time, required},
};
use std::net::IpAddr;
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

const MAX_NAME_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 400;

pub(super) fn check_name(name: &Option<String>) -> OciResult<&str> {
    let n = required(name, "name")?;
    if n.len() > MAX_NAME_LEN || n.chars().any(char::is_control) {
        return Err(OciError::invalid_parameter(format!("name must be 1 to {MAX_NAME_LEN} printable characters")));
    }
    Ok(n)
}

pub(super) fn check_description(d: &Option<String>) -> OciResult<()> {
    match d {
        Some(d) if d.len() > MAX_DESCRIPTION_LEN => {
            Err(OciError::invalid_parameter(format!("description must be at most {MAX_DESCRIPTION_LEN} characters")))
        }
        _ => Ok(()),
    }
}

pub(super) fn parse_pem_certs(pem: &str, field: &str) -> OciResult<Vec<Vec<u8>>> {
    match hyok_core::tls::certs_from_pem(pem) {
        Ok(c) => Ok(c.into_iter().map(|d| d.as_ref().to_vec()).collect()),
        Err(hyok_core::tls::TlsError::NoCertificate) => Err(OciError::invalid_parameter(format!(
            "{field} contains no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ))),
        Err(_) => Err(OciError::invalid_parameter(format!("{field} is not valid PEM"))),
    }
}

/// What the service keeps of a valid import.
pub(super) struct Imported {
    pub(super) key_algorithm: KeyAlgorithm,
    pub(super) signature_algorithm: &'static str,
    pub(super) subject: CertificateSubject,
    pub(super) sans: Vec<SubjectAlternativeName>,
    pub(super) validity: Validity,
    pub(super) serial: String,
    pub(super) material: TlsMaterial,
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
pub(super) fn validate_import(cfg: &CertificateConfig, now: OffsetDateTime) -> OciResult<Imported> {
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
