//! What certificates say about themselves (CTM's issued certificates, CA bundles).

pub(super) fn pem_ders(pem: &str) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

pub(super) fn first_cert_der(pem: &str) -> Option<Vec<u8>> {
    pem_ders(pem).into_iter().next()
}

/// What a certificate says about itself.
pub(super) struct CertFacts {
    pub(super) names: Vec<String>,
    pub(super) key: String,
    pub(super) is_rsa: bool,
    pub(super) serial: String,
    pub(super) subject: String,
}

pub(super) fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    use x509_parser::{extensions::GeneralName, public_key::PublicKey};
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names: Vec<String> =
        cert.subject().iter_common_name().filter_map(|c| c.as_str().ok()).map(str::to_string).collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push((*d).to_string());
            }
        }
    }
    let pk = cert.public_key();
    let (key, is_rsa) = match pk.parsed() {
        Ok(PublicKey::RSA(r)) => (format!("RSA {}", r.key_size()), true),
        Ok(PublicKey::EC(e)) => (format!("ECDSA P-{}", e.key_size()), false),
        _ => (format!("key algorithm {}", pk.algorithm.algorithm), false),
    };
    Some(CertFacts {
        names,
        key,
        is_rsa,
        serial: norm_serial(&cert.raw_serial_as_string()),
        subject: cert.subject().to_string(),
    })
}

/// Serials as hex without separators, leading zeros or case, so CTM's and OCI's forms compare.
pub(super) fn norm_serial(s: &str) -> String {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    hex.trim_start_matches('0').to_string()
}
