//! `hyok-lab bench`: figures for the whole chain, measured from a release build.
//!
//! `chain`: OCI `encrypt` on a vault's crypto endpoint through KMS → private endpoint →
//! API gateway → CipherTrust Manager, keep-alive, at a given concurrency, for a bounded time;
//! then the same with the private endpoint pointed straight at CTM (`oci-hyok-direct`).
//! Load goes to loopback only and stops by itself.

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
        name: name.to_string(),
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
        // Signatures stay valid for five minutes, so each worker reuses one signed request:
        // the load generator then does not spend the CPU on RSA that the lab needs.
        let body = serde_json::json!({"keyId": key, "plaintext": "SFlPSyBMYWIgYmVuY2htYXJrIHBheWxvYWQ="}).to_string();
        let mut reqs = Vec::new();
        for _ in 0..concurrency.min(8) {
            let mut req = http::Request::post(format!("{crypto}/20180608/encrypt"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(Bytes::from(body.clone()))
                .map_err(|e| e.to_string())?;
            let (k, id) = runner.signer().ok_or("no OCI signing key")?;
            hyok_oci_rest::sign_request(&mut req, k, id).map_err(|e| e.to_string())?;
            reqs.push(req);
        }
        // Warm up pools and token caches.
        let _ = drive("warm-up", client.clone(), reqs.clone(), concurrency, Duration::from_millis(300)).await;
        Ok(drive(label, client, reqs, concurrency, duration).await)
    }
    .await;
    lab.shutdown().await;
    result
}
