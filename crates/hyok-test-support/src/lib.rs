//! Helpers shared by HYOK Lab tests.

use std::{future::Future, sync::Once, time::Duration};

static INIT: Once = Once::new();

/// Install the ring rustls provider and a test tracing subscriber (once per process).
/// `RUST_LOG` controls the level; default is `warn`.
pub fn init() {
    INIT.call_once(|| {
        hyok_core::tls::install_crypto_provider();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
    });
}

/// How long [`eventually`] waits; `HYOK_TEST_PATIENCE_MS` raises it on slow machines.
pub fn patience() -> Duration {
    std::env::var("HYOK_TEST_PATIENCE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

/// Poll `check` until it returns `Some`, or give up after [`patience`] with the last state.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + patience();
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if tokio::time::Instant::now() > deadline {
            panic!("gave up waiting for {what} after {:?}: {last}", patience());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serve `router` over TLS on 127.0.0.1 with a certificate for `names` from `ca`.
pub async fn serve_tls(ca: &hyok_core::pki::LabCa, names: &[&str], router: axum::Router) -> hyok_core::server::Server {
    let cert = ca.issue_server(names).expect("issue test certificate");
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem).expect("server TLS config");
    let listener = hyok_core::server::bind(([127, 0, 0, 1], 0).into()).await.expect("bind test server");
    hyok_core::server::serve(listener, router, Some(tls), Default::default())
}
