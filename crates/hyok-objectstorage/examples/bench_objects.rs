//! Throughput of envelope-encrypted objects through the real router over TLS.
//!
//! Puts and gets 64 MiB objects (signed like the `oci` CLI) against Object Storage with an
//! in-process KMS, and prints MiB/s next to what bounds them, measured in the same program:
//! raw single-core AES-256-GCM (RustCrypto `aes-gcm`, ring as the store uses it, and
//! `openssl speed -evp aes-256-gcm` when an `openssl` binary is on PATH), raw MD5, and the TLS
//! transport alone. Takes well under a minute and stops by itself.
//! Run: `cargo run --release -p hyok-objectstorage --example bench_objects`.

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use hyok_core::{client::HttpClient, host::Endpoint, host::ServiceHost};
use hyok_objectstorage::{HOST, InProcessKms, ObjectStorage, OsConfig, OsDeps, crypto};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};

use std::{net::Ipv4Addr, sync::Arc, time::Instant};

const MIB: usize = 1024 * 1024;
const OBJECT: usize = 64 * MIB;
const ROUNDS: usize = 3;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// RustCrypto `aes-gcm` sealing 64 KiB segments in place (what the store used before ring).
fn raw_rustcrypto_mib_s() -> f64 {
    use aes_gcm::{Aes256Gcm, KeyInit as _, aead::AeadInOut as _};
    let cipher = Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::from(crypto::random_key()));
    let mut buf = vec![3u8; crypto::SEGMENT_SIZE];
    let total = 256 * MIB;
    let started = Instant::now();
    for i in 0..total / crypto::SEGMENT_SIZE {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = cipher
            .encrypt_inout_detached(&n.into(), b"header", buf.as_mut_slice().into())
            .unwrap_or_else(|e| panic!("seal: {e}"));
        std::hint::black_box(tag);
    }
    (total / MIB) as f64 / started.elapsed().as_secs_f64()
}

/// `openssl speed -evp aes-256-gcm` at 16 KiB blocks for one second, if `openssl` is on PATH.
fn openssl_aes_gcm_mib_s() -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-evp", "aes-256-gcm", "-seconds", "1", "-bytes", "16384"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    // The result line is `AES-256-GCM  4170079.09k`, in thousands of bytes per second.
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.to_ascii_uppercase().starts_with("AES-256-GCM"))?;
    let k: f64 = line.split_whitespace().last()?.trim_end_matches('k').parse().ok()?;
    Some(k * 1000.0 / MIB as f64)
}

/// CPU seconds this process has used (all threads), from `/proc/self/stat`; `None` off Linux.
/// On a shared machine wall-clock figures swing with other load; CPU per MiB barely does.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`: state is field 3, utime and stime are 14 and 15 (clock ticks).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The store's own sealer (ring AES-256-GCM), 64 KiB segments.
fn raw_aes_gcm_mib_s() -> f64 {
    let dek = crypto::random_key();
    let mut sealer = crypto::Sealer::new(&dek, crypto::SEGMENT_SIZE).unwrap_or_else(|e| panic!("sealer: {e}"));
    let mut buf = Vec::with_capacity(crypto::SEGMENT_SIZE + crypto::TAG_LEN);
    let total = 256 * MIB;
    let started = Instant::now();
    for i in 0..total / crypto::SEGMENT_SIZE {
        buf.clear();
        buf.resize(crypto::SEGMENT_SIZE, i as u8);
        sealer.seal(&mut buf, false).unwrap_or_else(|e| panic!("seal: {e}"));
    }
    (total / MIB) as f64 / started.elapsed().as_secs_f64()
}

fn raw_md5_mib_s() -> f64 {
    use md5::Digest as _;
    let buf = vec![7u8; crypto::SEGMENT_SIZE];
    let total = 256 * MIB;
    let started = Instant::now();
    let mut h = md5::Md5::new();
    for _ in 0..total / buf.len() {
        h.update(&buf);
    }
    std::hint::black_box(h.finalize());
    (total / MIB) as f64 / started.elapsed().as_secs_f64()
}

/// PUT and GET of the same bytes through the same TLS server and client with handlers that
/// do nothing else: the transport's own ceiling on this machine.
async fn tls_baseline(host: &hyok_test_support::LoopbackHost, data: Bytes) -> Result<[f64; 4], BoxError> {
    use axum::routing::get;
    let name = "baseline.example.com";
    let served = data.clone();
    let app = axum::Router::new().route(
        "/blob",
        get(move || {
            let d = served.clone();
            async move { d }
        })
        .put(|body: Body| async move {
            let mut s = body.into_data_stream();
            let mut n = 0usize;
            while let Some(Ok(c)) = futures_util::StreamExt::next(&mut s).await {
                n += c.len();
            }
            n.to_string()
        }),
    );
    let cert = host.public_ca().issue_server(&[name])?;
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?;
    let ep = Endpoint {
        name: "baseline".into(),
        kind: "test".into(),
        host: name.into(),
        ip: Ipv4Addr::new(10, 9, 9, 9),
        port: 443,
    };
    host.host(ep, app, tls).await?;
    let client = HttpClient::new(
        host.dial_from(Ipv4Addr::new(10, 0, 0, 3)),
        hyok_core::tls::client_config(host.public_ca().cert_pem())?,
    )
    .with_timeout(std::time::Duration::from_secs(300));
    let (mut put, mut get_s, mut put_cpu, mut get_cpu) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..ROUNDS {
        let cpu = cpu_secs();
        let started = Instant::now();
        client.send(Request::put(format!("https://{name}/blob")).body(Body::from(data.clone()))?).await?;
        put += started.elapsed().as_secs_f64();
        put_cpu += cpu_secs().zip(cpu).map_or(0.0, |(b, a)| b - a);
        let cpu = cpu_secs();
        let started = Instant::now();
        let resp = client.send_streaming(Request::get(format!("https://{name}/blob")).body(Body::empty())?).await?;
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            std::hint::black_box(frame?);
        }
        get_s += started.elapsed().as_secs_f64();
        get_cpu += cpu_secs().zip(cpu).map_or(0.0, |(b, a)| b - a);
    }
    let mib = (data.len() / MIB * ROUNDS) as f64;
    Ok([mib / put, mib / get_s, 1000.0 * put_cpu / mib, 1000.0 * get_cpu / mib])
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    hyok_core::tls::install_crypto_provider();
    let raw = raw_aes_gcm_mib_s();
    let raw_rc = raw_rustcrypto_mib_s();
    let openssl = openssl_aes_gcm_mib_s();
    let raw_md5 = raw_md5_mib_s();

    let host = hyok_test_support::LoopbackHost::new();
    let kms = Arc::new(InProcessKms::new());
    let key = kms.create_key();
    let tenancy = Tenancy::with_key("hyoklab", "hyok", "bench", ApiKey::generate()?);
    let keys = KeyStore::new();
    tenancy.register(&keys);
    // Removed on drop, also when the bench fails half-way.
    let dir = tempfile::TempDir::new()?;
    let config = OsConfig {
        namespace: "frbench".into(),
        data_dir: dir.path().to_path_buf(),
        compartment_id: tenancy.compartment_id.clone(),
        tenancy_id: tenancy.tenancy_id.clone(),
    };
    let os = Arc::new(ObjectStorage::new(config, OsDeps { kms: kms.clone() })?);
    let cert = host.public_ca().issue_server(&[HOST])?;
    let tls = hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?;
    let ep = Endpoint {
        name: "objectstorage".into(),
        kind: "objectstorage".into(),
        host: HOST.into(),
        ip: Ipv4Addr::new(134, 70, 24, 1),
        port: 443,
    };
    let router = hyok_objectstorage::router(os, Arc::new(SignatureVerifier::new(keys)));
    host.host(ep, router, tls).await?;
    let client = HttpClient::new(
        host.dial_from(Ipv4Addr::new(10, 0, 0, 2)),
        hyok_core::tls::client_config(host.public_ca().cert_pem())?,
    )
    .with_timeout(std::time::Duration::from_secs(300));

    let sign = |req: &mut http::Request<Bytes>| {
        hyok_oci_rest::sign_request(req, tenancy.api_key.private_key(), &tenancy.key_id())
    };
    let mut req = Request::post(format!("https://{HOST}/n/frbench/b")).body(Bytes::from(serde_json::to_vec(
        &serde_json::json!({"name": "bench", "compartmentId": tenancy.compartment_id, "kmsKeyId": key}),
    )?))?;
    sign(&mut req)?;
    let r = client.send(req.map(Body::from)).await?;
    if r.status() != StatusCode::OK {
        return Err(format!("create bucket: {}", r.status()).into());
    }

    let data = Bytes::from((0..OBJECT).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>());
    let url = format!("https://{HOST}/n/frbench/b/bench/o/blob.bin");
    let mut put_secs = 0.0;
    let mut get_secs = 0.0;
    let (mut put_cpu, mut get_cpu) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        let (mut parts, ()) = Request::put(&url)
            .header("content-type", "application/octet-stream")
            .header("content-length", OBJECT.to_string())
            .body(())?
            .into_parts();
        hyok_oci_rest::sign_parts(&mut parts, None, tenancy.api_key.private_key(), &tenancy.key_id(), None)?;
        let cpu = cpu_secs();
        let started = Instant::now();
        let r = client.send(Request::from_parts(parts, Body::from(data.clone()))).await?;
        put_secs += started.elapsed().as_secs_f64();
        put_cpu += cpu_secs().zip(cpu).map_or(0.0, |(b, a)| b - a);
        if r.status() != StatusCode::OK {
            return Err(format!("put: {}", r.status()).into());
        }

        let mut req = Request::get(&url).body(Bytes::new())?;
        sign(&mut req)?;
        let cpu = cpu_secs();
        let started = Instant::now();
        let resp = client.send_streaming(req.map(Body::from)).await?;
        if resp.status() != StatusCode::OK {
            return Err(format!("get: {}", resp.status()).into());
        }
        let mut body = resp.into_body();
        let mut got = 0usize;
        while let Some(frame) = body.frame().await {
            if let Ok(d) = frame?.into_data() {
                got += d.len();
            }
        }
        get_secs += started.elapsed().as_secs_f64();
        get_cpu += cpu_secs().zip(cpu).map_or(0.0, |(b, a)| b - a);
        if got != OBJECT {
            return Err(format!("get returned {got} bytes").into());
        }
    }
    let mib = (OBJECT / MIB * ROUNDS) as f64;
    let (put, get) = (mib / put_secs, mib / get_secs);
    let [base_put, base_get, base_put_cpu, base_get_cpu] = tls_baseline(&host, data.clone()).await?;
    // The target compares with openssl's figure; without openssl, with ring's.
    let (reference, ref_name) = match openssl {
        Some(o) => (o, "openssl"),
        None => (raw, "ring"),
    };
    println!("raw AES-256-GCM, 1 core, 64 KiB segments, RustCrypto aes-gcm: {raw_rc:8.1} MiB/s");
    println!("raw AES-256-GCM, 1 core, 64 KiB segments, ring (the store's): {raw:8.1} MiB/s");
    match openssl {
        Some(o) => println!("raw AES-256-GCM, 1 core, openssl speed -evp, 16 KiB blocks:  {o:8.1} MiB/s"),
        None => println!("raw AES-256-GCM, openssl speed:                              (no openssl binary)"),
    }
    println!("raw MD5, 1 core (md-5; bounds PUT, which must hash every byte): {raw_md5:8.1} MiB/s");
    println!("TLS transport only, same client/server: PUT {base_put:8.1} MiB/s, GET {base_get:8.1} MiB/s");
    println!(
        "PUT 64 MiB objects over TLS (MD5 + encrypt + disk):  {put:8.1} MiB/s ({:.0}% of {ref_name} raw, {:.0}% of MD5 raw)",
        100.0 * put / reference,
        100.0 * put / raw_md5
    );
    println!(
        "GET 64 MiB objects over TLS (KMS unwrap + decrypt):  {get:8.1} MiB/s ({:.0}% of {ref_name} raw, {:.0}% of TLS-only GET)",
        100.0 * get / reference,
        100.0 * get / base_get
    );
    if put_cpu > 0.0 && get_cpu > 0.0 {
        // Client and server together (both are in this process), all threads: less is better,
        // and unlike MiB/s it hardly moves with other load on the machine.
        println!(
            "CPU ms per MiB: PUT {:.2} (TLS only {base_put_cpu:.2}), GET {:.2} (TLS only {base_get_cpu:.2})",
            1000.0 * put_cpu / mib,
            1000.0 * get_cpu / mib
        );
    }
    drop(dir);
    Ok(())
}
