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

/// The two endpoints of an OCI KMS vault, named by the vault's DNS prefix: keys are managed at
/// `management` and used at `crypto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultEndpoints {
    /// `https://<prefix>-management.kms.<region>.oraclecloud.com`.
    pub management: String,
    /// `https://<prefix>-crypto.kms.<region>.oraclecloud.com`.
    pub crypto: String,
}

impl VaultEndpoints {
    /// The endpoints of the vault with DNS `prefix` in `region`.
    pub fn of(region: &str, prefix: &str) -> Self {
        Self {
            management: format!("https://{prefix}-management.kms.{region}.oraclecloud.com"),
            crypto: format!("https://{prefix}-crypto.kms.{region}.oraclecloud.com"),
        }
    }
}

/// The endpoints of the vault a key belongs to, read from the key OCID alone
/// (`ocid1.key.<realm>.<region>.<vaultprefix>.<unique>`), as OCI services find a vault from a
/// `kmsKeyId`. `None` unless it is a key OCID whose region and prefix are DNS labels (the
/// prefix lowercase letters and digits only), so the result is always a host name OCI issues.
pub fn kms_vault_endpoints(key_ocid: &str) -> Option<VaultEndpoints> {
    if !is_ocid(key_ocid) {
        return None;
    }
    let dns_label = |s: &str| (1..=63).contains(&s.len()) && !s.starts_with('-') && !s.ends_with('-');
    match key_ocid.split('.').collect::<Vec<_>>().as_slice() {
        ["ocid1", "key", _realm, region, prefix, _unique]
            if dns_label(region)
                && dns_label(prefix)
                && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            Some(VaultEndpoints::of(region, prefix))
        }
        _ => None,
    }
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
    fn vault_endpoints_come_from_key_ocids() {
        let key =
            "ocid1.key.oc1.eu-frankfurt-1.bbpfhl7baaeug.abtheljrgqkhtpv4x7kc2xxpkbd6cojyrnbrfzw6c2shg2ms6yvdb2ju5xmq";
        let e = kms_vault_endpoints(key).expect("endpoints");
        assert_eq!(e.crypto, "https://bbpfhl7baaeug-crypto.kms.eu-frankfurt-1.oraclecloud.com");
        assert_eq!(e.management, "https://bbpfhl7baaeug-management.kms.eu-frankfurt-1.oraclecloud.com");
        assert_eq!(e, VaultEndpoints::of("eu-frankfurt-1", "bbpfhl7baaeug"));
        for bad in [
            "ocid1.key.oc1.eu-frankfurt-1.aaaaaaaabbbbbbbb", // no vault prefix
            "ocid1.vault.oc1.eu-frankfurt-1.abcdefghijkl.abaaaaaaaa", // not a key
            "ocid1.bucket.oc1.eu-frankfurt-1.abc.abcdefghijkl",
            "ocid1.key.oc1.eu-frankfurt-1.EVIL/host.abaaaaaaaa", // not a host label
            "ocid1.key.oc1.eu-frankfurt-1.a:1@b.abaaaaaaaa",
            "ocid1.key.oc1.eu-frankfurt-1.ab-cd.abaaaaaaaa", // prefix: letters and digits
            "ocid1.key.oc1.-eu.abcdefghijkl.abaaaaaaaa",     // region label
            "ocid1.key.oc1..abcdefghijkl.abaaaaaaaa",        // no region
            "ocid1.key.oc1.eu-frankfurt-1.abcdefghijkl.short", // unique part too short
            "not an ocid",
        ] {
            assert_eq!(kms_vault_endpoints(bad), None, "{bad}");
        }
    }

    #[test]
    fn request_ids_and_secrets_are_random() {
        assert_ne!(opc_request_id(), opc_request_id());
        assert_eq!(secret(40).len(), 40);
        assert_eq!(hex32().len(), 32);
    }
}
