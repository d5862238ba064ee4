//! Identifiers in the formats the real systems use.

use rand::Rng;

/// The region the lab's OCI tenancy lives in.
pub const REGION: &str = "eu-frankfurt-1";

const OCID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_chars(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| OCID_ALPHABET[rng.random_range(0..OCID_ALPHABET.len())] as char).collect()
}

/// A new OCID such as `ocid1.vcn.oc1.eu-frankfurt-1.aaaaaaaa…`.
///
/// Tenancies, users, compartments and other global resources have an empty region part
/// (`ocid1.tenancy.oc1..aaaa…`), as in OCI.
pub fn ocid(resource_type: &str, region: Option<&str>) -> String {
    format!("ocid1.{resource_type}.oc1.{}.aaaaaaaa{}", region.unwrap_or(""), random_chars(52))
}

/// A regional OCID in the lab's region.
pub fn regional_ocid(resource_type: &str) -> String {
    ocid(resource_type, Some(REGION))
}

/// True when `s` has the shape of an OCID (`ocid1.<type>.<realm>.<region>.<unique>`).
pub fn is_ocid(s: &str) -> bool {
    // Five parts; key OCIDs carry the vault's endpoint prefix as a sixth.
    let parts: Vec<&str> = s.split('.').collect();
    (parts.len() == 5 || parts.len() == 6)
        && parts[0] == "ocid1"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && parts[parts.len() - 1].len() >= 8
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_')
}

/// The resource type part of an OCID (`vcn` for `ocid1.vcn.oc1...`).
pub fn ocid_type(s: &str) -> Option<&str> {
    if is_ocid(s) { s.split('.').nth(1) } else { None }
}

/// 32 lowercase hex characters, as in an identity domain's `idcs-<hex>` host.
pub fn hex32() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    hex::encode(b)
}

/// A random UUID (v4) as a string, the id format of CTM resources.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An opaque request id in the shape OCI uses (32 hex, `/`, 32 hex, `/`, 32 hex).
pub fn opc_request_id() -> String {
    format!("{}/{}/{}", hex32().to_uppercase(), hex32().to_uppercase(), hex32().to_uppercase())
}

/// A random secret of `len` url-safe characters (client secrets, passwords).
pub fn secret(len: usize) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocids_have_oci_shape() {
        let t = ocid("tenancy", None);
        assert!(t.starts_with("ocid1.tenancy.oc1..aaaaaaaa"), "{t}");
        assert!(is_ocid(&t));
        let v = regional_ocid("vcn");
        assert!(v.starts_with("ocid1.vcn.oc1.eu-frankfurt-1.aaaaaaaa"));
        assert_eq!(ocid_type(&v), Some("vcn"));
        assert!(!is_ocid("ocid1.vcn"));
        assert!(!is_ocid("ocid1.vcn.oc1.eu-frankfurt-1.AAAA_bad!"));
    }

    #[test]
    fn request_ids_and_secrets_are_random() {
        assert_ne!(opc_request_id(), opc_request_id());
        assert_eq!(secret(40).len(), 40);
        assert_eq!(hex32().len(), 32);
    }
}
