//! Test certificates: RSA and ECDSA chains made with rcgen and the rsa crate.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use std::sync::OnceLock;

/// A fresh RSA private key as PKCS#8 PEM.
pub fn rsa_pem(bits: usize) -> String {
    let k = hyok_oci_rest::tenancy::generate_rsa_key(bits).expect("rsa");
    k.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
}

/// A few RSA-2048 keys reused across tests.
pub fn rsa_2048(i: usize) -> String {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| (0..3).map(|_| rsa_pem(2048)).collect())[i].clone()
}

pub struct Ca {
    pub pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

/// A CA certificate for `cn` with `key`, self-signed or signed by `parent`.
pub fn ca(cn: &str, key: KeyPair, parent: Option<&Ca>) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "HYOK Lab Tests");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let cert = match parent {
        None => p.self_signed(&key).expect("self-signed"),
        Some(parent) => p.signed_by(&key, &parent.issuer).expect("signed"),
    };
    Ca { pem: cert.pem(), issuer: Issuer::new(p, key) }
}

/// A leaf for `names` with `key`, signed by `ca`. Returns the certificate PEM.
pub fn leaf(names: &[&str], key: &KeyPair, ca: &Ca) -> String {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.distinguished_name.push(DnType::CountryName, "NL");
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().expect("dns")),
        })
        .collect();
    p.is_ca = IsCa::ExplicitNoCa;
    p.signed_by(key, &ca.issuer).expect("leaf").pem()
}

/// Material for an import: leaf, chain (issuer first), key.
pub struct Import {
    pub cert: String,
    pub chain: String,
    pub key: String,
}

/// RSA root → RSA intermediate → RSA-2048 leaf for the gateway's FQDN.
pub fn rsa_chain() -> Import {
    let root = ca("HYOK Lab Test RSA Root", KeyPair::from_pem(&rsa_2048(0)).expect("k"), None);
    let inter = ca("HYOK Lab Test RSA Issuing CA", KeyPair::from_pem(&rsa_2048(1)).expect("k"), Some(&root));
    let key_pem = rsa_2048(2);
    let key = KeyPair::from_pem(&key_pem).expect("k");
    let cert = leaf(&["oci-api-gw.oci-thales.lab", "172.16.1.103"], &key, &inter);
    Import { cert, chain: format!("{}{}", inter.pem, root.pem), key: key_pem }
}

/// ECDSA P-256 root → ECDSA P-256 leaf.
pub fn ec_chain(cn: &str) -> Import {
    let root = ca(&format!("{cn} root"), KeyPair::generate().expect("k"), None);
    let key = KeyPair::generate().expect("k");
    let cert = leaf(&[cn], &key, &root);
    Import { cert, chain: root.pem.clone(), key: key.serialize_pem() }
}
