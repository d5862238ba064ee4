//! `hyok-lab`: a thin command line over the `hyok_lab` library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hyok_lab::{Lab, LabInfo, LabOptions, lab::DEFAULT_PORT_BASE, status};
use std::{path::PathBuf, process::ExitCode, time::Duration};

#[derive(Parser)]
#[command(
    name = "hyok-lab",
    version,
    about = "OCI Hold Your Own Key with Thales CipherTrust Manager, as a lab on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service of the lab in this process (foreground; Ctrl-C stops it).
    Up {
        /// Where lab.json, CA files, keys and events go.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
        /// First loopback port; services take fixed offsets from it. 0 picks free ports.
        #[arg(long, default_value_t = DEFAULT_PORT_BASE, env = "HYOK_LAB_PORT_BASE")]
        port_base: u16,
        /// A world file instead of the shipped scenarios/world.toml.
        #[arg(long)]
        world: Option<PathBuf>,
    },
    /// Exit 0 only when the lab in the lab dir is up and healthy.
    Status {
        /// Lab dir.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the hop-by-hop path of a request (`--last` for the most recent one).
    Trace {
        /// The `opc-request-id` to explain.
        request_id: Option<String>,
        /// The most recent request.
        #[arg(long, conflicts_with = "request_id")]
        last: bool,
        /// Lab dir.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
        /// Print the hops as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the lab running in the lab dir.
    Down {
        /// Lab dir.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    hyok_core::tls::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Up { lab_dir, port_base, world } => up(lab_dir, port_base, world).await,
            Command::Status { lab_dir, json } => status_cmd(lab_dir, json).await,
            Command::Down { lab_dir } => down(lab_dir).await,
            Command::Trace { request_id, last, lab_dir, json } => trace_cmd(lab_dir, request_id, last, json).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn up(lab_dir: PathBuf, port_base: u16, world: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let world = match world {
        Some(p) => std::fs::read_to_string(&p).with_context(|| format!("cannot read world file {}", p.display()))?,
        None => hyok_lab::world::DEFAULT_WORLD.to_string(),
    };
    let started = std::time::Instant::now();
    eprintln!("hyok-lab: starting the lab in {}", lab_dir.display());
    let progress = |s: hyok_lab::lab::Step| eprintln!("  ✓ {:<32} {:>7.1} ms", s.what, s.took.as_secs_f64() * 1000.0);
    let lab = Lab::start(LabOptions { lab_dir, port_base, world }, &progress).await?;
    let info = lab.write_lab_json()?;
    let ready = started.elapsed();
    print_table(&info);
    eprintln!(
        "hyok-lab: ready in {:.0} ms; lab.json at {}. Ctrl-C or `hyok-lab down` stops it.",
        ready.as_secs_f64() * 1000.0,
        LabInfo::path(&info.lab_dir).display()
    );
    let token = lab.stop_token();
    #[cfg(unix)]
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("cannot watch SIGTERM")?;
    #[cfg(unix)]
    let sigterm = term.recv();
    #[cfg(not(unix))]
    let sigterm = std::future::pending::<Option<()>>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("hyok-lab: Ctrl-C, stopping"),
        _ = sigterm => eprintln!("hyok-lab: SIGTERM, stopping"),
        _ = token.cancelled() => eprintln!("hyok-lab: `down` asked, stopping"),
    }
    lab.shutdown().await;
    eprintln!("hyok-lab: stopped");
    Ok(ExitCode::SUCCESS)
}

fn row(a: &str, b: &str, c: &str, d: &str) {
    println!("{a:<22} {b:<22} {c:<42} {d}");
}

fn print_table(info: &LabInfo) {
    row("SERVICE", "LAB ADDRESS", "LAB URL", "HOST URL");
    for s in &info.services {
        row(&s.name, &format!("{}:{}", s.virtual_ip, s.port), &s.lab_url, &s.url);
    }
    for r in &info.dns.vcn_resolvers {
        row(&format!("dns {}", r.vcn), "169.254.169.254:53", "(VCN resolver)", &format!("udp/tcp {}", r.address));
    }
    row("dns host", "-", "(every view)", &format!("udp/tcp {}", info.dns.host_resolver));
    row("admin", "-", "-", &info.admin.url);
}

async fn status_cmd(lab_dir: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let info = match LabInfo::load(&lab_dir) {
        Ok(i) => i,
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"healthy": false, "lab_dir": lab_dir, "error": e.to_string()}));
            } else {
                eprintln!("{e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = status::check(&info).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &report.checks {
            println!("{} {:<14} {}", if c.ok { "✓" } else { "✗" }, c.name, c.detail);
        }
        println!("{}", if report.healthy { "lab is up and healthy" } else { "lab is NOT healthy" });
    }
    Ok(if report.healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn trace_cmd(lab_dir: PathBuf, request_id: Option<String>, last: bool, json: bool) -> anyhow::Result<ExitCode> {
    if request_id.is_none() && !last {
        anyhow::bail!("give a request id, or --last for the most recent request");
    }
    let hops = hyok_lab::trace::load(&lab_dir, request_id.as_deref()).await.map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hops)?);
    } else {
        print!("{}", hyok_lab::trace::render(&hops));
    }
    Ok(if hops.is_empty() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn down(lab_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let info = match LabInfo::load(&lab_dir) {
        Ok(i) => i,
        Err(hyok_lab::info::InfoError::NotRunning(_)) => {
            eprintln!("no lab is running in {}", lab_dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    };
    let client = hyok_core::client::HttpClient::new(
        std::sync::Arc::new(hyok_core::client::StaticDial::new()),
        hyok_core::tls::client_config(&info.ca_bundle_pem()?)?,
    )
    .with_timeout(Duration::from_secs(3));
    let req = http::Request::post(format!("{}/shutdown", info.admin.url))
        .header("authorization", format!("Bearer {}", info.admin.token))
        .body(axum::body::Body::empty())?;
    match client.send(req).await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => anyhow::bail!("the lab refused to stop: HTTP {}", r.status()),
        Err(e) => {
            // The process is gone; clear its stale file so `status` tells the truth.
            let _ = std::fs::remove_file(LabInfo::path(&lab_dir));
            eprintln!("the lab at {} did not answer ({e}); removed its stale lab.json", info.admin.url);
            return Ok(ExitCode::SUCCESS);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while LabInfo::path(&lab_dir).exists() {
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the lab did not stop within 10 s (pid {})", info.pid);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("lab stopped");
    Ok(ExitCode::SUCCESS)
}
