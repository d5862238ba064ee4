//! The gateway's TLS: its listener (TLS 1.2, ECDHE-RSA suites, RSA certificate only) and the
//! client configs it uses towards backends (trusting the gateway's CA bundles).

use crate::error::GatewayError;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SignatureAlgorithm, crypto::CryptoProvider};
use std::sync::Arc;

/// The student-facing explanation when the gateway certificate has an ECDSA key.
pub const ECDSA_REFUSED: &str = "the certificate's private key is ECDSA, but OCI API Gateway only accepts RSA \
certificates: it speaks TLS 1.2 with ECDHE-RSA cipher suites only, so an ECDSA certificate could never complete \
a handshake. Generate the CSR again with Algorithm RSA and Size 2048 (tutorial Task 3), have the CA sign it, \
and import the new certificate";

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Check that a gateway certificate and key are usable: PEM parses, key is RSA, key matches.
pub fn check_gateway_certificate(chain_pem: &str, key_pem: &str) -> Result<(), GatewayError> {
    gateway_tls_config(chain_pem, key_pem).map(|_| ())
}

/// The gateway listener's TLS config: TLS 1.2 only, `ECDHE-RSA-AES{128,256}-GCM` suites, an RSA
/// certificate. An ECDSA key is refused with [`ECDSA_REFUSED`].
pub fn gateway_tls_config(chain_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, GatewayError> {
    let certs = hyok_core::tls::certs_from_pem(chain_pem).map_err(|e| GatewayError::Certificate(e.to_string()))?;
    let key = hyok_core::tls::key_from_pem(key_pem).map_err(|e| GatewayError::Certificate(e.to_string()))?;
    let mut prov = provider();
    let signing = prov
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| GatewayError::Certificate(format!("the private key cannot be used: {e}")))?;
    match signing.algorithm() {
        SignatureAlgorithm::RSA => {}
        SignatureAlgorithm::ECDSA => return Err(GatewayError::EcdsaCertificate(ECDSA_REFUSED.to_string())),
        other => {
            return Err(GatewayError::Certificate(format!(
                "the private key algorithm {other:?} is not supported; OCI API Gateway needs an RSA certificate"
            )));
        }
    }
    prov.cipher_suites = vec![
        rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];
    let mut cfg = ServerConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|e| GatewayError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| GatewayError::Certificate(format!("certificate and key do not fit together: {e}")))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A root store holding every certificate of every bundle (empty bundles are skipped).
pub fn roots_from_bundles(bundles: &[String]) -> Result<RootCertStore, GatewayError> {
    let mut roots = RootCertStore::empty();
    for (i, pem) in bundles.iter().enumerate() {
        if pem.trim().is_empty() {
            continue;
        }
        let certs =
            hyok_core::tls::certs_from_pem(pem).map_err(|e| GatewayError::CaBundle(format!("CA bundle {i}: {e}")))?;
        for c in certs {
            roots.add(c).map_err(|e| GatewayError::CaBundle(format!("CA bundle {i}: {e}")))?;
        }
    }
    Ok(roots)
}

/// Client config towards backends: verify chain and host name against the gateway's bundles, or
/// (for `isSslVerifyDisabled`) accept any certificate while still checking handshake signatures.
pub fn backend_client_config(bundles: &[String], verify: bool) -> Result<Arc<ClientConfig>, GatewayError> {
    if !verify {
        return hyok_core::tls::client_config_unverified().map_err(|e| GatewayError::CaBundle(e.to_string()));
    }
    let mut cfg = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::CaBundle(e.to_string()))?
        .with_root_certificates(roots_from_bundles(bundles)?)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
