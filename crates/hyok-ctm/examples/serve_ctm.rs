//! Serve one CTM node over TLS on loopback, for real-client checks outside the lab
//! (e.g. `tests/python-ctm/test_sdk.py`).
//!
//! `cargo run -p hyok-ctm --example serve_ctm -- --port 8443 --out /tmp/ctm`
//! writes `/tmp/ctm/ca.pem` (CTM's root CA) and `/tmp/ctm/credentials.env` (mode 0600,
//! `CTM_HOST`, `CTM_CA`, `CTM_USER`, `CTM_PASSWORD`, `CTM_CONNECT`) and serves until Ctrl-C.
//! Outbound calls (issuer discovery) trust only a throwaway CA in this mode.

use hyok_core::{
    EventLog,
    client::{HttpClient, StaticDial},
    server::{bind, serve},
    tls,
};
use hyok_ctm::{Ctm, CtmConfig, router};
use std::{io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf, sync::Arc};
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tls::install_crypto_provider();
    let mut port: u16 = 8443;
    let mut out = PathBuf::from("/tmp/hyok-ctm");
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = val.parse()?,
            "--out" => out = PathBuf::from(val),
            other => return Err(format!("unknown flag {other}; use --port N --out DIR").into()),
        }
    }
    std::fs::create_dir_all(&out)?;
    let cfg = CtmConfig::default();
    let outbound = HttpClient::new(Arc::new(StaticDial::new()), tls::client_config(&placeholder_ca()?)?);
    let ctm = Ctm::new(cfg.clone(), outbound, EventLog::new())?;
    let ca_path = out.join("ca.pem");
    std::fs::write(&ca_path, ctm.ca_cert_pem())?;
    let web = ctm.web_tls();
    let listener = bind(([127, 0, 0, 1], port).into()).await?;
    let server = serve(
        listener,
        router(ctm.clone()),
        Some(tls::server_config(&web.chain_pem(), &web.key_pem)?),
        CancellationToken::new(),
    );
    let (user, pass) = ctm.initial_credentials();
    let creds = out.join("credentials.env");
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(&creds)?;
    writeln!(
        f,
        "CTM_HOST={}\nCTM_CA={}\nCTM_USER={user}\nCTM_PASSWORD={pass}\nCTM_CONNECT={}",
        cfg.hostname,
        ca_path.display(),
        server.local_addr
    )?;
    println!(
        "CTM {} serving on https://{} (CA {}, credentials in {})",
        cfg.hostname,
        server.local_addr,
        ca_path.display(),
        creds.display()
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

/// A throwaway CA for the outbound client: issuer discovery is not what this example is for.
fn placeholder_ca() -> Result<String, Error> {
    Ok(hyok_core::pki::LabCa::generate("serve_ctm outbound placeholder")?.cert_pem().to_string())
}
