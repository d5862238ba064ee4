//! Throughput of the vendor-API Encrypt call over real TLS with keep-alive.
//!
//! Starts, in this process: a test identity provider (OIDC discovery + JWKS over TLS), a CTM
//! node over its own web certificate, then sets up tenancy, issuer, external vault and key
//! through the management API, mints access tokens and drives `POST .../encrypt` from
//! `--concurrency` workers for `--seconds` (bounded to 60). Prints ops/s, p50 and p99.
//!
//! `cargo run -p hyok-ctm --release --example bench_encrypt -- --seconds 10 --concurrency 32`

use axum::{Json, Router, routing::get};
use base64::Engine;
use hyok_core::{
    EventLog,
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::{bind, serve},
    tls,
};
use hyok_ctm::{Ctm, CtmConfig, router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    seconds: u64,
    concurrency: usize,
}

fn args() -> Result<Args, Error> {
    let mut a = Args { seconds: 10, concurrency: 32 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => a.seconds = val.parse::<u64>()?.clamp(1, 60),
            "--concurrency" => a.concurrency = val.parse::<usize>()?.clamp(1, 256),
            other => return Err(format!("unknown flag {other}; use --seconds N --concurrency N").into()),
        }
    }
    Ok(a)
}

async fn call(
    client: &HttpClient,
    method: &str,
    url: &str,
    auth: Option<&str>,
    body: Value,
) -> Result<(u16, Value), Error> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", format!("Bearer {a}"));
    }
    let resp = client.send(b.body(axum::body::Body::from(serde_json::to_vec(&body)?))?).await?;
    Ok((resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null)))
}

fn expect_status(what: &str, got: (u16, Value), want: u16) -> Result<Value, Error> {
    if got.0 != want {
        return Err(format!("{what}: HTTP {} {}", got.0, got.1).into());
    }
    Ok(got.1)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tls::install_crypto_provider();
    let args = args()?;

    // Identity provider with one RSA signing key.
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let rsa_key = hyok_core::rsa_key::generate(2048)?;
    let enc = EncodingKey::from_rsa_pem(rsa_key.to_pkcs8_pem(LineEnding::LF)?.as_bytes())?;
    let mut jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, Algorithm::RS256)?)?;
    jwk["kid"] = json!("SIGNING_KEY");
    let idp_host = format!("idcs-{}.identity.oraclecloud.com", hyok_core::ids::hex32());
    let web_ca = LabCa::generate("HYOK Lab Bench Web Root")?;
    let idp_cert = web_ca.issue_server(&[&idp_host])?;
    let doc = json!({"issuer": "https://identity.oraclecloud.com/", "jwks_uri": format!("https://{idp_host}/admin/v1/SigningCert/jwk")});
    let jwks = json!({"keys": [jwk]});
    let idp_app = Router::new()
        .route("/.well-known/openid-configuration", get(move || async move { Json(doc) }))
        .route("/admin/v1/SigningCert/jwk", get(move || async move { Json(jwks) }));
    let idp = serve(
        bind("127.0.0.1:0".parse()?).await?,
        idp_app,
        Some(tls::server_config(&idp_cert.chain_pem(), &idp_cert.key_pem)?),
        CancellationToken::new(),
    );

    // CTM over its own certificate.
    let ctm_out = HttpClient::new(
        Arc::new(StaticDial::new().pin(&idp_host, 443, idp.local_addr)),
        tls::client_config(web_ca.cert_pem())?,
    );
    let cfg = CtmConfig::default();
    let ctm = Ctm::new(cfg.clone(), ctm_out, EventLog::new())?;
    let web = ctm.web_tls();
    let server = serve(
        bind("127.0.0.1:0".parse()?).await?,
        router(ctm.clone()),
        Some(tls::server_config(&web.chain_pem(), &web.key_pem)?),
        CancellationToken::new(),
    );
    let dial = StaticDial::new().pin(&cfg.hostname, 443, server.local_addr).pin(&cfg.ip, 443, server.local_addr);
    let client = HttpClient::new(Arc::new(dial), tls::client_config(&ctm.ca_cert_pem())?);

    // Management setup.
    let base = format!("https://{}/api/v1", cfg.hostname);
    let (user, pass) = ctm.initial_credentials();
    let login = expect_status(
        "login",
        call(
            &client,
            "POST",
            &format!("{base}/auth/tokens"),
            None,
            json!({"grant_type": "password", "username": user, "password": pass}),
        )
        .await?,
        200,
    )?;
    let jwt = login["jwt"].as_str().ok_or("no jwt")?.to_string();
    let m = |path: &str| format!("{base}{path}");
    expect_status(
        "tenancy",
        call(
            &client,
            "POST",
            &m("/cckm/oci/add-tenancy"),
            Some(&jwt),
            json!({"tenancy": "bench", "tenancy_ocid": hyok_core::ids::ocid("tenancy", None)}),
        )
        .await?,
        201,
    )?;
    let issuer = expect_status(
        "issuer",
        call(&client, "POST", &m("/cckm/oci/issuers"), Some(&jwt), json!({"name": "idcs", "openid_config_url": format!("https://{idp_host}/.well-known/openid-configuration"), "jwks_uri_protected": false})).await?,
        201,
    )?;
    let client_app = hyok_core::ids::hex32();
    let vault = expect_status(
        "vault",
        call(
            &client,
            "POST",
            &m("/cckm/oci/create-external-vault"),
            Some(&jwt),
            json!({"vault_name": "bench", "tenancy": "bench", "issuer_id": issuer["id"], "client_application_id": client_app, "endpoint_url_hostname": cfg.ip}),
        )
        .await?,
        201,
    )?;
    let key = expect_status(
        "key",
        call(
            &client,
            "POST",
            &m("/cckm/oci/create-external-key"),
            Some(&jwt),
            json!({"vault": vault["id"], "name": "bench-key"}),
        )
        .await?,
        201,
    )?;
    let encrypt_url = format!(
        "{}/keys/{}/encrypt",
        vault["endpoint_url"].as_str().ok_or("no endpoint")?,
        key["id"].as_str().ok_or("no key id")?
    );

    // A few access tokens, as several OCI KMS hosts would hold.
    let now = hyok_core::unix_now();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("SIGNING_KEY".into());
    let tokens: Vec<String> = (0..4)
        .map(|i| {
            let claims = json!({"iss": "https://identity.oraclecloud.com/", "aud": format!("https://{}/", cfg.ip), "sub": client_app,
                "client_id": client_app, "scope": "oci_ekms", "iat": now, "exp": now + 3600, "jti": format!("bench-{i}")});
            jsonwebtoken::encode(&header, &claims, &enc)
        })
        .collect::<Result<_, _>>()?;
    let plaintext = base64::engine::general_purpose::STANDARD.encode([0x5au8; 32]);
    let body = Arc::new(serde_json::to_vec(&json!({"plaintext": plaintext, "mode": "AES_GCM"}))?);

    // Warm-up: one call per worker connection, and a correctness check.
    let first = expect_status(
        "encrypt",
        call(&client, "POST", &encrypt_url, Some(&tokens[0]), json!({"plaintext": plaintext})).await?,
        200,
    )?;
    let decrypt_url = encrypt_url.replace("/encrypt", "/decrypt");
    let back = expect_status("decrypt", call(&client, "POST", &decrypt_url, Some(&tokens[0]), first).await?, 200)?;
    if back["plaintext"] != json!(plaintext) {
        return Err("decrypt did not return the plaintext".into());
    }

    println!(
        "bench_encrypt: {} workers, {} s, HTTP/1.1 keep-alive over TLS, CTM + IdP + client in one process",
        args.concurrency, args.seconds
    );
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let client = client.clone();
        let url = encrypt_url.clone();
        let token = format!("Bearer {}", tokens[w % tokens.len()]);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let req = http::Request::post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .header("authorization", &token)
                    .body(axum::body::Body::from(body.as_ref().clone()));
                let Ok(req) = req else {
                    errors += 1;
                    continue;
                };
                let t = Instant::now();
                match client.send(req).await {
                    Ok(r) if r.status() == 200 => lat.push(t.elapsed().as_micros() as u32),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    println!("ops: {}  errors: {}  elapsed: {:.2} s", all.len(), errors, elapsed);
    println!("throughput: {:.0} ops/s", all.len() as f64 / elapsed);
    println!(
        "latency: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        all.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!("audit records written: {}", ctm.audit_records().len());
    server.shutdown().await;
    idp.shutdown().await;
    Ok(())
}
