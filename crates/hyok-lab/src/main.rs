//! `hyok-lab`: a thin command line over the `hyok_lab` library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hyok_lab::{Lab, LabOptions};
use hyok_lab_client::{
    LabInfo,
    ports::{ADMIN_OFFSET, DATA_PLANE_PORT, DEFAULT_PORT_BASE},
    status,
};
use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

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
        /// Address the real sockets bind to (0.0.0.0 in a container).
        #[arg(long, default_value = "127.0.0.1", env = "HYOK_LAB_LISTEN")]
        listen: std::net::IpAddr,
        /// Address written into lab.json's host URLs (where this host reaches the sockets).
        #[arg(long, default_value = "127.0.0.1", env = "HYOK_LAB_ADVERTISE")]
        advertise: std::net::IpAddr,
        /// Provision the lab with a scenario before handing it over (workshops that start mid-way).
        #[arg(long)]
        scenario: Option<String>,
        /// With --scenario: run its tasks up to and including this tutorial task number.
        #[arg(long, requires = "scenario")]
        until: Option<u32>,
    },
    /// List or run scenarios (the tutorial and its misconfigurations).
    Scenario {
        #[command(subcommand)]
        command: ScenarioCommand,
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
    /// Grade the lab a student configured: each of the 18 tasks done, not done or wrong (with a hint).
    Check {
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
    /// Measure the whole HYOK chain, and encrypt through the HTTPS proxy against --endpoint
    /// (release build recommended; loopback only, bounded time).
    Bench {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Run one service on its own (the compose topology: one container per service).
    Serve {
        /// Which service.
        #[arg(value_enum)]
        service: ServeRole,
        /// The lab dir every service of the topology shares.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
        /// Port base of the host-published ports (lab.json URLs); DNS and the region listen on it.
        #[arg(long, default_value_t = DEFAULT_PORT_BASE, env = "HYOK_LAB_PORT_BASE")]
        port_base: u16,
        /// A world file instead of the shipped scenarios/world.toml.
        #[arg(long, env = "HYOK_WORLD")]
        world: Option<PathBuf>,
        /// Address written into lab.json's host URLs.
        #[arg(long, default_value = "127.0.0.1", env = "HYOK_LAB_ADVERTISE")]
        advertise: std::net::IpAddr,
        /// The OCI region's admin endpoint (internal API: DNS answers, network decisions).
        #[arg(long, default_value_t = SocketAddr::from(([134, 70, 16, 20], DEFAULT_PORT_BASE + ADMIN_OFFSET)), env = "HYOK_REGION")]
        region: std::net::SocketAddr,
        /// Address of the DNS service.
        #[arg(long, default_value = "134.70.16.53", env = "HYOK_DNS")]
        dns: std::net::IpAddr,
        /// The API gateway data-plane agent.
        #[arg(long, default_value_t = SocketAddr::from(([134, 70, 16, 30], DATA_PLANE_PORT)), env = "HYOK_DATA_PLANE")]
        data_plane: std::net::SocketAddr,
    },
    /// Exit 0 when every address accepts a TCP connection within a second (container health checks).
    Ping {
        /// `ip:port` to try.
        #[arg(required = true)]
        addresses: Vec<std::net::SocketAddr>,
    },
    /// Stop the lab running in the lab dir.
    Down {
        /// Lab dir.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ServeRole {
    /// The IAM identity domain.
    Identity,
    /// CipherTrust Manager (AMS).
    Ctm,
    /// The API gateway data plane.
    ApiGateway,
    /// DNS: VCN resolvers, Internet DNS, host resolver.
    Dns,
    /// The OCI region: every OCI service, the network and DNS models.
    Oci,
}

impl From<ServeRole> for hyok_lab::compose::Role {
    fn from(r: ServeRole) -> Self {
        use hyok_lab::compose::Role;
        match r {
            ServeRole::Identity => Role::Identity,
            ServeRole::Ctm => Role::Ctm,
            ServeRole::ApiGateway => Role::ApiGateway,
            ServeRole::Dns => Role::Dns,
            ServeRole::Oci => Role::Oci,
        }
    }
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// List the shipped scenarios.
    List,
    /// Run a scenario against the lab in the lab dir, or a fresh in-process lab when none runs.
    Run {
        /// Shipped scenario name or a scenario file.
        name: String,
        /// Stop after this tutorial task number.
        #[arg(long)]
        until: Option<u32>,
        /// Lab dir of a running lab.
        #[arg(long, default_value = ".hyok-lab", env = "HYOK_LAB_DIR")]
        lab_dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    hyok_core::tls::install_crypto_provider();
    let cli = Cli::parse();
    // A running lab logs warnings (a deployment that failed, say); one-shot commands print their
    // own explanations, so their logs stay quiet unless RUST_LOG asks.
    let default_filter =
        if matches!(cli.command, Command::Up { .. } | Command::Serve { .. }) { "warn" } else { "error" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Up { lab_dir, port_base, world, listen, advertise, scenario, until } => {
                up(UpArgs { lab_dir, port_base, world, listen, advertise }, scenario, until).await
            }
            Command::Scenario { command: ScenarioCommand::List } => scenario_list(),
            Command::Scenario { command: ScenarioCommand::Run { name, until, lab_dir, json } } => {
                scenario_run(name, until, lab_dir, json).await
            }
            Command::Status { lab_dir, json } => status_cmd(lab_dir, json).await,
            Command::Down { lab_dir } => down(lab_dir).await,
            Command::Serve { service, lab_dir, port_base, world, advertise, region, dns, data_plane } => {
                let world = read_world(world)?;
                let opts =
                    hyok_lab::compose::ServeOptions { lab_dir, world, port_base, advertise, region, dns, data_plane };
                serve(service.into(), opts).await
            }
            Command::Ping { addresses } => ping(addresses).await,
            Command::Bench { concurrency, seconds } => bench(concurrency, seconds).await,
            Command::Check { lab_dir, json } => check_cmd(lab_dir, json).await,
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

struct UpArgs {
    lab_dir: PathBuf,
    port_base: u16,
    world: Option<PathBuf>,
    listen: std::net::IpAddr,
    advertise: std::net::IpAddr,
}

async fn up(args: UpArgs, scenario: Option<String>, until: Option<u32>) -> anyhow::Result<ExitCode> {
    let UpArgs { lab_dir, port_base, world, listen, advertise } = args;
    // Load the scenario first: a typo should fail before anything starts.
    let scenario = scenario.map(|n| hyok_lab_client::scenario::load(&n)).transpose()?;
    let world = read_world(world)?;
    let started = std::time::Instant::now();
    eprintln!("hyok-lab: starting the lab in {}", lab_dir.display());
    let progress = |s: hyok_lab::lab::Step| eprintln!("  ✓ {:<32} {:>7.1} ms", s.what, s.took.as_secs_f64() * 1000.0);
    let lab = Lab::start(LabOptions { lab_dir, port_base, world, listen, advertise, region: None }, &progress).await?;
    let info = lab.write_lab_json()?;
    let ready = started.elapsed();
    if let Some(scenario) = scenario {
        eprintln!(
            "hyok-lab: provisioning with scenario {} up to task {}",
            scenario.name,
            until.map(|u| u.to_string()).unwrap_or("18".into())
        );
        let report = run_scenario(&info.lab_dir, &scenario, until).await?;
        if !report.passed {
            lab.shutdown().await;
            anyhow::bail!("provisioning failed: {}", report.problem.unwrap_or_default());
        }
        lab.mark_provisioned(&scenario.name, until);
        eprintln!("hyok-lab: provisioned in {:.0} ms", report.millis);
    }
    print_table(&info);
    eprintln!(
        "hyok-lab: ready in {:.0} ms; lab.json at {}. Ctrl-C or `hyok-lab down` stops it.",
        ready.as_secs_f64() * 1000.0,
        LabInfo::path(&info.lab_dir).display()
    );
    wait_for_stop(lab.stop_token()).await?;
    lab.shutdown().await;
    eprintln!("hyok-lab: stopped");
    Ok(ExitCode::SUCCESS)
}

fn read_world(world: Option<PathBuf>) -> anyhow::Result<String> {
    Ok(match world {
        Some(p) => std::fs::read_to_string(&p).with_context(|| format!("cannot read world file {}", p.display()))?,
        None => hyok_lab::world::DEFAULT_WORLD.to_string(),
    })
}

/// Wait for Ctrl-C, SIGTERM or the stop token.
async fn wait_for_stop(token: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
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
    Ok(())
}

async fn serve(role: hyok_lab::compose::Role, opts: hyok_lab::compose::ServeOptions) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    if role == hyok_lab::compose::Role::Oci {
        let token = hyok_lab::compose::internal_token(&opts.lab_dir)?;
        let via = std::env::var("HYOK_PROXY_VIA").unwrap_or_default();
        let proxy_via = hyok_lab::compose::parse_proxy_via(&via).map_err(|e| anyhow::anyhow!("HYOK_PROXY_VIA: {e}"))?;
        let region = hyok_lab::compose::RegionOptions { dns: opts.dns, data_plane: opts.data_plane, token, proxy_via };
        let lab_opts = LabOptions {
            lab_dir: opts.lab_dir,
            port_base: opts.port_base,
            world: opts.world,
            listen: std::net::Ipv4Addr::UNSPECIFIED.into(),
            advertise: opts.advertise,
            region: Some(region),
        };
        let lab = Lab::start(lab_opts, &|_| {}).await?;
        let info = lab.write_lab_json()?;
        print_table(&info);
        eprintln!(
            "hyok-lab: oci ready in {:.0} ms (the OCI region; lab.json at {})",
            started.elapsed().as_secs_f64() * 1000.0,
            LabInfo::path(&info.lab_dir).display()
        );
        wait_for_stop(lab.stop_token()).await?;
        lab.shutdown().await;
    } else {
        let svc = hyok_lab::compose::serve(role, opts).await?;
        eprintln!(
            "hyok-lab: {} ready in {:.0} ms: {}",
            role.name(),
            started.elapsed().as_secs_f64() * 1000.0,
            svc.summary
        );
        wait_for_stop(svc.stop_token()).await?;
        svc.shutdown().await;
    }
    eprintln!("hyok-lab: stopped");
    Ok(ExitCode::SUCCESS)
}

async fn ping(addresses: Vec<std::net::SocketAddr>) -> anyhow::Result<ExitCode> {
    for a in addresses {
        match tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(a)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => anyhow::bail!("{a}: {e}"),
            Err(_) => anyhow::bail!("{a}: no answer within 1 s"),
        }
    }
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
    if let Some(p) = &info.proxy {
        row("https proxy", "-", "(the lab's real names)", &p.url);
    }
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

async fn check_cmd(lab_dir: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let report = hyok_lab_client::check::check(&lab_dir).await.map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.all_done() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn trace_cmd(lab_dir: PathBuf, request_id: Option<String>, last: bool, json: bool) -> anyhow::Result<ExitCode> {
    if request_id.is_none() && !last {
        anyhow::bail!("give a request id, or --last for the most recent request");
    }
    let hops = hyok_lab_client::trace::load(&lab_dir, request_id.as_deref()).await.map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hops)?);
    } else {
        print!("{}", hyok_lab_client::trace::render(&hops));
    }
    Ok(if hops.is_empty() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn bench(concurrency: usize, seconds: u64) -> anyhow::Result<ExitCode> {
    let d = Duration::from_secs(seconds.clamp(1, 300));
    eprintln!("OCI encrypt, concurrency {concurrency}, {seconds} s each, all services in this process");
    let gw =
        hyok_lab::bench::chain("oci-hyok-api-gateway", "KMS → private endpoint → API gateway → CTM", concurrency, d)
            .await
            .map_err(anyhow::Error::msg)?;
    println!("{gw}");
    let direct = hyok_lab::bench::chain("oci-hyok-direct", "KMS → private endpoint → CTM (no gateway)", concurrency, d)
        .await
        .map_err(anyhow::Error::msg)?;
    println!("{direct}");
    println!(
        "gateway chain / direct chain throughput: {:.2}",
        if direct.ops_per_sec > 0.0 { gw.ops_per_sec / direct.ops_per_sec } else { 0.0 }
    );
    eprintln!("OCI encrypt on one lab: --endpoint 127.0.0.1:PORT vs the real name through the HTTPS proxy");
    for (direct, proxied) in hyok_lab::bench::proxy_vs_direct(concurrency, d).await.map_err(anyhow::Error::msg)? {
        println!("{direct}");
        println!("{proxied}");
        println!(
            "proxy / --endpoint throughput: {:.3}",
            if direct.ops_per_sec > 0.0 { proxied.ops_per_sec / direct.ops_per_sec } else { 0.0 }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn scenario_list() -> anyhow::Result<ExitCode> {
    for (name, _) in hyok_lab_client::scenario::shipped() {
        let s = hyok_lab_client::scenario::load(name)?;
        let kind = if s.expect.is_some() { "misconfiguration" } else { "tutorial" };
        println!("{:<44} {:<16} {}", s.name, kind, s.title);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_task(t: &hyok_lab_client::scenario::TaskResult) {
    let mark = if matches!(t.outcome, hyok_lab_client::scenario::Outcome::Passed) { "✓" } else { "✗" };
    eprintln!("  {mark} Task {:>2}  {:<72} {:>8.1} ms", t.number, t.title, t.millis);
}

async fn run_scenario(
    lab_dir: &std::path::Path,
    scenario: &hyok_lab_client::scenario::Scenario,
    until: Option<u32>,
) -> anyhow::Result<hyok_lab_client::scenario::Report> {
    let mut runner = hyok_lab_client::scenario::Runner::new(lab_dir).map_err(anyhow::Error::msg)?;
    Ok(runner.run(scenario, until, &print_task).await)
}

async fn scenario_run(name: String, until: Option<u32>, lab_dir: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let scenario = hyok_lab_client::scenario::load(&name)?;
    eprintln!("scenario {}: {}", scenario.name, scenario.title);
    let (report, fresh) = if LabInfo::path(&lab_dir).exists() {
        (run_scenario(&lab_dir, &scenario, until).await?, None)
    } else {
        // A throwaway lab dir, removed when done (or when a step fails on the way).
        let dir = tempfile::Builder::new().prefix("hyok-lab-scenario-").tempdir()?;
        eprintln!("(no lab in {}; starting a fresh one in-process)", lab_dir.display());
        let lab = Lab::start(LabOptions::ephemeral(dir.path().to_path_buf()), &|_| {}).await?;
        lab.write_lab_json()?;
        let report = run_scenario(dir.path(), &scenario, until).await?;
        (report, Some((lab, dir)))
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    match (&report.problem, &scenario.expect) {
        (None, Some(_)) => eprintln!("scenario {}: failed as expected ✓ ({:.0} ms)", report.scenario, report.millis),
        (None, None) => eprintln!("scenario {}: all tasks passed ✓ ({:.0} ms)", report.scenario, report.millis),
        (Some(p), _) => eprintln!("\nscenario {} did not pass:\n{p}", report.scenario),
    }
    if let Some(failed) = report.tasks.iter().find_map(|t| match &t.outcome {
        hyok_lab_client::scenario::Outcome::Failed { explanation } => Some(explanation),
        _ => None,
    }) && scenario.expect.is_some()
        && report.passed
    {
        eprintln!("\n{failed}");
    }
    if let Some((lab, _dir)) = fresh {
        lab.shutdown().await;
    }
    Ok(if report.passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn down(lab_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let info = match LabInfo::load(&lab_dir) {
        Ok(i) => i,
        Err(hyok_lab_client::info::InfoError::NotRunning(_)) => {
            eprintln!("no lab is running in {}", lab_dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    };
    let client = info.host_client().map_err(anyhow::Error::msg)?.with_timeout(Duration::from_secs(3));
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
