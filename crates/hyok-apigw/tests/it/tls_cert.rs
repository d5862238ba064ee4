//! The gateway's own certificate and TLS profile, on the wire.

use crate::support::*;
use hyok_apigw::{ECDSA_REFUSED, GatewayConfig, GatewayError, check_gateway_certificate, gateway_tls_config};
use hyok_core::{EventLog, client::StaticDial};
use rustls::pki_types::ServerName;
use std::sync::Arc;

#[test]
fn ecdsa_gateway_certificate_is_refused_with_a_friendly_message() {
    let w = World::new();
    let ecdsa = w.ctm_ca.issue_server(&[GW_HOST]).expect("ecdsa cert");
    let err = gateway_tls_config(&ecdsa.chain_pem(), &ecdsa.key_pem).expect_err("ecdsa refused");
    assert!(matches!(err, GatewayError::EcdsaCertificate(_)), "{err}");
    let msg = err.to_string();
    assert_eq!(msg, ECDSA_REFUSED);
    assert!(msg.contains("ECDSA") && msg.contains("RSA") && msg.contains("Task 3"), "{msg}");
    let err = hyok_apigw::Gateway::new(GatewayConfig {
        name: "API-GW".into(),
        ip: "172.16.1.103".into(),
        tls: (ecdsa.chain_pem(), ecdsa.key_pem.clone()),
        backend_ca_bundles: vec![],
        dial: Arc::new(StaticDial::new()),
        events: EventLog::new(),
        clock: hyok_core::Clock::system(),
    })
    .expect_err("gateway refuses ECDSA");
    assert!(matches!(err, GatewayError::EcdsaCertificate(_)));
    check_gateway_certificate(&w.gw_cert.chain_pem(), &w.gw_cert.key_pem).expect("RSA accepted");
    // A key that does not belong to the certificate is refused too.
    let other = w.ctm_ca.issue_server(&["x.lab"]).expect("cert");
    let err = check_gateway_certificate(&w.gw_cert.chain_pem(), &other.key_pem).expect_err("mismatch");
    assert!(matches!(err, GatewayError::EcdsaCertificate(_) | GatewayError::Certificate(_)));
}

async fn handshake(
    addr: std::net::SocketAddr,
    ca: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(rustls::ProtocolVersion, rustls::CipherSuite), String> {
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(hyok_core::tls::root_store(ca).expect("roots"))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from(GW_HOST).expect("name"), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, conn) = tls.get_ref();
    Ok((conn.protocol_version().expect("version"), conn.negotiated_cipher_suite().expect("suite").suite()))
}

#[tokio::test]
async fn gateway_speaks_tls12_with_ecdhe_rsa_only() {
    let w = World::new();
    let gw = w.gateway(Arc::new(StaticDial::new()), vec![]);
    let server = serve_gateway(&gw).await;
    let (v, suite) =
        handshake(server.local_addr, w.ctm_ca.cert_pem(), &[&rustls::version::TLS12, &rustls::version::TLS13])
            .await
            .expect("TLS 1.2 handshake");
    assert_eq!(v, rustls::ProtocolVersion::TLSv1_2);
    assert!(format!("{suite:?}").starts_with("TLS_ECDHE_RSA_WITH_AES_"), "{suite:?}");
    let err = handshake(server.local_addr, w.ctm_ca.cert_pem(), &[&rustls::version::TLS13])
        .await
        .expect_err("TLS 1.3 refused");
    assert!(err.to_lowercase().contains("version") || err.to_lowercase().contains("alert"), "{err}");
    server.shutdown().await;
}
