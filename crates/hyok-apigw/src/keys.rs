//! Verification keys of JWT policies: a specification's static keys and a fetched JWKS, each
//! with the algorithms it may verify. Knows nothing of specifications or requests, so both
//! validation ([`crate::spec`]) and verification ([`crate::auth`]) build on it.

use jsonwebtoken::{Algorithm, DecodingKey, jwk::JwkSet};

/// A verification key with the algorithms it may verify.
#[derive(Clone)]
pub(crate) struct KeyEntry {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algs: Vec<Algorithm>,
}

const RSA_ALGS: [Algorithm; 6] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512];
const EC_ALGS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::ES384];

fn restrict(family: &[Algorithm], alg: Option<&str>) -> Result<Vec<Algorithm>, String> {
    match alg {
        None => Ok(family.to_vec()),
        Some(a) => {
            let parsed: Algorithm = a.parse().map_err(|_| format!("alg {a:?} is not a supported algorithm"))?;
            if family.contains(&parsed) {
                Ok(vec![parsed])
            } else {
                Err(format!("alg {a:?} does not fit the key type"))
            }
        }
    }
}

/// A `JSON_WEB_KEY` static key (the lab accepts RSA ones).
pub(crate) fn from_rsa_jwk(kid: &str, kty: &str, alg: Option<&str>, n: &str, e: &str) -> Result<KeyEntry, String> {
    if kty != "RSA" {
        return Err(format!("kty {kty:?} is not supported; the lab accepts RSA JSON web keys"));
    }
    let key = DecodingKey::from_rsa_components(n, e).map_err(|e| format!("n/e are not a valid RSA key: {e}"))?;
    Ok(KeyEntry { kid: Some(kid.to_string()), key, algs: restrict(&RSA_ALGS, alg)? })
}

/// A `PEM` static key: an RSA or EC public key.
pub(crate) fn from_pem(kid: &str, pem: &str) -> Result<KeyEntry, String> {
    if let Ok(k) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok(KeyEntry { kid: Some(kid.to_string()), key: k, algs: RSA_ALGS.to_vec() });
    }
    if let Ok(k) = DecodingKey::from_ec_pem(pem.as_bytes()) {
        return Ok(KeyEntry { kid: Some(kid.to_string()), key: k, algs: EC_ALGS.to_vec() });
    }
    Err("key is not an RSA or EC public key in PEM".to_string())
}

/// The usable keys of a fetched JWKS (others are skipped, as OCI does).
pub(crate) fn from_jwks(set: &JwkSet) -> Vec<KeyEntry> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).ok()?;
            let family: &[Algorithm] = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => &RSA_ALGS,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => &EC_ALGS,
                _ => return None,
            };
            let alg = jwk.common.key_algorithm.map(|a| a.to_string());
            let algs = restrict(family, alg.as_deref()).ok()?;
            Some(KeyEntry { kid: jwk.common.key_id.clone(), key, algs })
        })
        .collect()
}
