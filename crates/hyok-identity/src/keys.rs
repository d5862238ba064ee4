//! The domain's token-signing keys: RSA-2048, published as a JWK set with an X.509 chain.

use crate::IdentityError;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::{
    pkcs8::{EncodePrivateKey, LineEnding},
    traits::PublicKeyParts,
};
use sha2::{Digest, Sha256};

/// Bits of every signing key (what IDCS uses).
const KEY_BITS: usize = 2048;

/// One signing key with its published form.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// `x5t#S256` of the certificate, also put in token headers.
    pub(crate) x5t_s256: String,
    /// The JWK as `/admin/v1/SigningCert/jwk` lists it.
    pub(crate) jwk: serde_json::Value,
}

impl SigningKey {
    /// Generate a fresh key named `kid`, with a self-signed certificate whose subject is the
    /// tenant (IDCS publishes its signing certificate in `x5c`).
    pub(crate) fn generate(kid: &str, tenant: &str) -> Result<Self, IdentityError> {
        let key = hyok_core::rsa_key::generate(KEY_BITS).map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;
        let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;
        let n = URL_SAFE_NO_PAD.encode(key.n_bytes());
        let e = URL_SAFE_NO_PAD.encode(key.e_bytes());
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;

        let cert_der = self_signed_cert(pem.as_str(), tenant)?;
        let x5t_s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(&cert_der));
        let jwk = serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "key_ops": ["verify"],
            "e": e,
            "n": n,
            "x5c": [STANDARD.encode(&cert_der)],
            "x5t#S256": x5t_s256,
        });
        Ok(Self { kid: kid.to_string(), encoding, decoding, x5t_s256, jwk })
    }
}

fn self_signed_cert(pkcs8_pem: &str, tenant: &str) -> Result<Vec<u8>, IdentityError> {
    let kp = rcgen::KeyPair::from_pem(pkcs8_pem).map_err(|e| IdentityError::Certificate(e.to_string()))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| IdentityError::Certificate(e.to_string()))?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("{tenant} Signing Certificate"));
    dn.push(rcgen::DnType::OrganizationName, "Oracle");
    params.distinguished_name = dn;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&kp).map_err(|e| IdentityError::Certificate(e.to_string()))?;
    Ok(cert.der().to_vec())
}
