//! Throughput and latency through the gateway versus straight at the backend.
//!
//! Starts a trivial TLS backend and a gateway (tutorial deployment) in-process, then drives GET
//! requests over keep-alive TLS at concurrency 32 for a bounded time against each, and prints
//! requests/s, p50, p99 and the gateway/backend ratio.
//!
//! `cargo run --release -p hyok-apigw --example bench_gateway [seconds]` (default 5 s per phase).

use axum::{Router, routing::get};
use hyok_apigw::{Gateway, GatewayConfig};
use hyok_core::{
    EventLog,
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::{bind, serve},
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

const CONCURRENCY: usize = 32;
const GW_HOST: &str = "oci-api-gw.oci-thales.lab";
const CTM_HOST: &str = "ctm1.oci-thales.lab";
const PREFIX: &str = "/api/v1/cckm/oci/ekm/v1";

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn drive(client: HttpClient, url: String, secs: u64) -> Stats {
    let end = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < end {
                let t = Instant::now();
                let req = match http::Request::get(url.as_str()).body(axum::body::Body::empty()) {
                    Ok(r) => r,
                    Err(_) => {
                        errors += 1;
                        continue;
                    }
                };
                match client.send(req).await {
                    Ok(r) if r.status().is_success() => lat.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    Stats { rps: all.len() as f64 / elapsed, p50: pct(0.50), p99: pct(0.99), errors }
}

fn print(label: &str, s: &Stats) {
    println!(
        "{label:<10} {:>9.0} req/s   p50 {:>8.3} ms   p99 {:>8.3} ms   errors {}",
        s.rps,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.errors
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    hyok_core::tls::install_crypto_provider();
    let secs: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5).clamp(1, 60);
    let ca = LabCa::generate("CTM AMS CA")?;
    let backend_cert = ca.issue_server(&[CTM_HOST])?;
    let rsa_pem = <rsa::PrivateKey as rsa::Generate>::generate().to_pkcs8_pem(LineEnding::LF)?.to_string();
    let gw_cert = ca.issue_with_key(
        &[GW_HOST],
        rcgen::KeyPair::from_pem(&rsa_pem)?,
        &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
    )?;

    let backend_router = Router::new().fallback(get(|| async { "{\"state\":\"ACTIVE\",\"vendor\":\"Thales CTM\"}" }));
    let backend_tls = hyok_core::tls::server_config(&backend_cert.chain_pem(), &backend_cert.key_pem)?;
    let backend = serve(
        bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?,
        backend_router,
        Some(backend_tls),
        CancellationToken::new(),
    );

    let gw = Gateway::new(GatewayConfig {
        name: "API-GW".into(),
        ip: "172.16.1.103".into(),
        tls: (gw_cert.chain_pem(), gw_cert.key_pem.clone()),
        backend_ca_bundles: vec![ca.cert_pem().to_string()],
        dial: Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr)),
        events: EventLog::new(),
    })?;
    let spec = hyok_apigw::parse_specification(&serde_json::json!({"routes": [{
        "path": "/{path*}", "methods": ["GET", "POST"],
        "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}{PREFIX}/${{request.path[path]}}")}
    }]}))?;
    gw.set_deployment("bench", PREFIX, &spec)?;
    let gateway = serve(
        bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?,
        gw.clone().router(),
        Some(gw.tls_config()),
        CancellationToken::new(),
    );

    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr).pin(GW_HOST, 443, gateway.local_addr));
    let client = HttpClient::new(dial, hyok_core::tls::client_config(ca.cert_pem())?);
    let path = format!("{PREFIX}/vaults/v1/metadata");
    println!(
        "concurrency {CONCURRENCY}, {secs} s per phase, keep-alive TLS, {} CPUs",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    // Warm the pools so both phases start with open connections.
    drive(client.clone(), format!("https://{CTM_HOST}{path}"), 1).await;
    let direct = drive(client.clone(), format!("https://{CTM_HOST}{path}"), secs).await;
    print("backend", &direct);
    drive(client.clone(), format!("https://{GW_HOST}{path}"), 1).await;
    let via = drive(client.clone(), format!("https://{GW_HOST}{path}"), secs).await;
    print("gateway", &via);
    println!(
        "ratio      throughput {:.2}x lower, p50 {:.2}x, p99 {:.2}x",
        direct.rps / via.rps.max(1.0),
        via.p50.as_secs_f64() / direct.p50.as_secs_f64().max(1e-9),
        via.p99.as_secs_f64() / direct.p99.as_secs_f64().max(1e-9)
    );
    gateway.shutdown().await;
    backend.shutdown().await;
    Ok(())
}
