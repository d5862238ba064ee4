//! `hyok-lab bench`: figures for the whole chain, measured from a release build.
//!
//! `chain`: OCI `encrypt` on a vault's crypto endpoint through KMS → private endpoint →
//! API gateway → CipherTrust Manager, keep-alive, at a given concurrency, for a bounded time;
//! then the same with the private endpoint pointed straight at CTM (`oci-hyok-direct`).
//! `proxy_vs_direct`: encrypt on one lab, to the crypto endpoint's socket and by its real name
//! through the host's proxy, side by side. Load goes to loopback only and stops by itself.

use crate::lab::{Lab, LabOptions};
use axum::body::Body;
use bytes::Bytes;
use hyok_lab_client::scenario;
use serde::Serialize;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// What was measured.
    pub name: String,
    /// Completed operations.
    pub ops: u64,
    /// Failed operations.
    pub errors: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<46} {:>9.0} ops/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ops, {} errors)",
            self.name, self.ops_per_sec, self.p50_ms, self.p99_ms, self.ops, self.errors
        )
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Drive `make()`-built requests through `client` from `concurrency` workers for `duration`.
pub async fn drive(
    name: &str,
    client: hyok_core::client::HttpClient,
    requests: Vec<http::Request<Bytes>>,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    let deadline = Instant::now() + duration;
    let requests = Arc::new(requests);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let template = &requests[w % requests.len()];
            while Instant::now() < deadline {
                let mut b = http::Request::builder().method(template.method()).uri(template.uri());
                for (k, v) in template.headers() {
                    b = b.header(k, v);
                }
                let Ok(req) = b.body(Body::from(template.body().clone())) else {
                    errors += 1;
                    continue;
                };
                let t = Instant::now();
                match client.send(req).await {
                    Ok(r) if r.status().is_success() => lat.push(t.elapsed().as_micros() as u64),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    collect(name.to_string(), tasks, duration).await
}

/// Signed encrypt requests on `key` at `endpoint`, one per worker up to eight. Signatures stay
/// valid for five minutes, so each worker reuses one: the load generator then does not spend the
/// CPU on RSA that the lab needs.
fn signed_encrypts(
    runner: &scenario::Runner,
    endpoint: &str,
    key: &str,
    concurrency: usize,
) -> Result<Vec<http::Request<Bytes>>, String> {
    let body = serde_json::json!({"keyId": key, "plaintext": "SFlPSyBMYWIgYmVuY2htYXJrIHBheWxvYWQ="}).to_string();
    let (k, id) = runner.signer().ok_or("no OCI signing key")?;
    (0..concurrency.min(8))
        .map(|_| {
            let mut req = http::Request::post(format!("{endpoint}/20180608/encrypt"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(Bytes::from(body.clone()))
                .map_err(|e| e.to_string())?;
            hyok_oci_rest::sign_request(&mut req, k, id).map_err(|e| e.to_string())?;
            Ok(req)
        })
        .collect()
}

/// Wait for the clients' `(latencies in µs, errors)` and sum them up as one figure.
async fn collect(name: String, tasks: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>, duration: Duration) -> Figures {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let secs = started.elapsed().as_secs_f64().max(duration.as_secs_f64());
    all.sort_unstable();
    Figures {
        name,
        ops: all.len() as u64,
        errors,
        ops_per_sec: all.len() as f64 / secs,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
    }
}

/// Provision a fresh lab with `scenario_name` up to task 16 and measure OCI encrypt on its key.
pub async fn chain(
    scenario_name: &str,
    label: &str,
    concurrency: usize,
    duration: Duration,
) -> Result<Figures, String> {
    // Removed when it goes out of scope, whatever happens on the way.
    let tmp = tempfile::Builder::new().prefix("hyok-bench-").tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path().to_path_buf();
    let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.map_err(|e| e.to_string())?;
    lab.write_lab_json().map_err(|e| e.to_string())?;
    let result = async {
        let s = scenario::load(scenario_name).map_err(|e| e.to_string())?;
        let mut runner = scenario::Runner::new(&dir)?;
        let report = runner.run(&s, Some(16), &|_| {}).await;
        if !report.passed {
            return Err(format!("provisioning failed: {}", report.problem.unwrap_or_default()));
        }
        let key = runner
            .vars
            .get("oci_key_id")
            .and_then(|v| v.as_str())
            .ok_or("scenario did not capture oci_key_id")?
            .to_string();
        let crypto = runner
            .vars
            .get("vault_crypto_endpoint")
            .and_then(|v| v.as_str())
            .ok_or("scenario did not capture vault_crypto_endpoint")?
            .to_string();
        let info = hyok_lab_client::LabInfo::load(&dir).map_err(|e| e.to_string())?;
        let client = info.host_client()?;
        let reqs = signed_encrypts(&runner, &crypto, &key, concurrency)?;
        // Warm up pools and token caches.
        let _ = drive("warm-up", client.clone(), reqs.clone(), concurrency, Duration::from_millis(300)).await;
        Ok(drive(label, client, reqs, concurrency, duration).await)
    }
    .await;
    lab.shutdown().await;
    result
}

/// How a bench client reaches the crypto endpoint.
#[derive(Clone, Debug)]
enum Route {
    /// `--endpoint https://127.0.0.1:PORT`: straight to the socket.
    Direct(std::net::SocketAddr),
    /// The real name through the host's proxy (`HTTPS_PROXY`).
    Proxy(std::net::SocketAddr),
}

type Sender = hyper::client::conn::http1::SendRequest<Body>;

/// One HTTP/1.1 connection over TLS to `host:443`, verified under `host`, as the route says.
async fn open(route: &Route, host: &str, tls: &tokio_rustls::TlsConnector) -> Result<Sender, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = match route {
        Route::Direct(a) => tokio::net::TcpStream::connect(a).await.map_err(|e| e.to_string())?,
        Route::Proxy(p) => {
            let mut s = tokio::net::TcpStream::connect(p).await.map_err(|e| e.to_string())?;
            let _ = s.set_nodelay(true);
            s.write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nhost: {host}:443\r\n\r\n").as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            // The answer is one short head; read it byte by byte so no TLS byte is taken.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") && head.len() < 1024 {
                let b = s.read_u8().await.map_err(|e| e.to_string())?;
                head.push(b);
            }
            if !head.starts_with(b"HTTP/1.1 200") {
                return Err(format!("proxy refused: {}", String::from_utf8_lossy(&head)));
            }
            s
        }
    };
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Drive `requests` (origin-form, signed for `host`) over `route` from `concurrency` workers
/// for `duration`; `fresh` opens a new connection for every call, as each `oci` CLI run does.
async fn drive_route(
    name: String,
    (route, host): (Route, String),
    tls: tokio_rustls::TlsConnector,
    requests: Vec<http::Request<Bytes>>,
    (concurrency, fresh): (usize, bool),
    duration: Duration,
) -> Figures {
    let deadline = Instant::now() + duration;
    let requests = Arc::new(requests);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (route, host, tls, requests) = (route.clone(), host.clone(), tls.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let template = &requests[w % requests.len()];
            let mut sender: Option<Sender> = None;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut s = match sender.take() {
                    Some(s) if !fresh => s,
                    _ => match open(&route, &host, &tls).await {
                        Ok(s) => s,
                        Err(_) => {
                            errors += 1;
                            continue;
                        }
                    },
                };
                let mut b = http::Request::builder().method(template.method()).uri(template.uri().path());
                for (k, v) in template.headers() {
                    b = b.header(k, v);
                }
                let Ok(req) = b.body(Body::from(template.body().clone())) else {
                    errors += 1;
                    continue;
                };
                match s.send_request(req).await {
                    Ok(r) if r.status().is_success() => {
                        match axum::body::to_bytes(Body::new(r.into_body()), 1 << 20).await {
                            Ok(_) => {
                                lat.push(t.elapsed().as_micros() as u64);
                                sender = Some(s);
                            }
                            Err(_) => errors += 1,
                        }
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    collect(name, tasks, duration).await
}

/// OCI encrypt on one provisioned lab, straight to the crypto endpoint's socket (as with
/// `--endpoint https://127.0.0.1:PORT`) and by its real name through the host's proxy, with the
/// same client code: keep-alive first, then a new connection per call (as each `oci` CLI run
/// makes). Returns `(direct, proxied)` pairs, keep-alive first.
pub async fn proxy_vs_direct(concurrency: usize, duration: Duration) -> Result<Vec<(Figures, Figures)>, String> {
    let tmp = tempfile::Builder::new().prefix("hyok-bench-").tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path().to_path_buf();
    let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.map_err(|e| e.to_string())?;
    lab.write_lab_json().map_err(|e| e.to_string())?;
    let result = async {
        let s = scenario::load("oci-hyok-api-gateway").map_err(|e| e.to_string())?;
        let mut runner = scenario::Runner::new(&dir)?;
        let report = runner.run(&s, Some(16), &|_| {}).await;
        if !report.passed {
            return Err(format!("provisioning failed: {}", report.problem.unwrap_or_default()));
        }
        let var = |k: &str| runner.vars.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let key = var("oci_key_id").ok_or("scenario did not capture oci_key_id")?;
        let crypto = var("vault_crypto_endpoint").ok_or("scenario did not capture vault_crypto_endpoint")?;
        let host = crypto.trim_start_matches("https://").to_string();
        let info = hyok_lab_client::LabInfo::load(&dir).map_err(|e| e.to_string())?;
        let socket =
            info.services.iter().find(|s| s.host == host).ok_or("no crypto endpoint in lab.json")?.host_address;
        let proxy = info.proxy.as_ref().ok_or("no proxy in lab.json")?.address;
        let tls = tokio_rustls::TlsConnector::from(
            hyok_core::tls::client_config(&info.ca_bundle_pem().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?,
        );
        let signed = |authority: &str| signed_encrypts(&runner, &format!("https://{authority}"), &key, concurrency);
        let direct = (Route::Direct(socket), socket.ip().to_string());
        let (direct_reqs, proxy_reqs) = (signed(&socket.to_string())?, signed(&host)?);
        let via_proxy = (Route::Proxy(proxy), host.clone());
        let run = |label: &str, route: (Route, String), reqs: &Vec<http::Request<Bytes>>, fresh: bool, d: Duration| {
            drive_route(label.to_string(), route, tls.clone(), reqs.clone(), (concurrency, fresh), d)
        };
        // Warm up both ways (pools, token caches), then measure; the order flips between the
        // two modes so that neither side always runs first.
        let warm = Duration::from_millis(300);
        let _ = run("warm-up", direct.clone(), &direct_reqs, false, warm).await;
        let _ = run("warm-up", via_proxy.clone(), &proxy_reqs, false, warm).await;
        let d1 = run("encrypt, --endpoint 127.0.0.1 (keep-alive)", direct.clone(), &direct_reqs, false, duration).await;
        let p1 =
            run("encrypt, real name via proxy (keep-alive)", via_proxy.clone(), &proxy_reqs, false, duration).await;
        let p2 = run("encrypt, real name via proxy (new conn/call)", via_proxy, &proxy_reqs, true, duration).await;
        let d2 = run("encrypt, --endpoint 127.0.0.1 (new conn/call)", direct, &direct_reqs, true, duration).await;
        Ok(vec![(d1, p1), (d2, p2)])
    }
    .await;
    lab.shutdown().await;
    result
}
