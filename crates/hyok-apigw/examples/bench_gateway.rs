//! Throughput and latency through the gateway versus straight at the backend (the issue's
//! "gateway overhead under 1.5x" benchmark).
//!
//! A trivial TLS backend, a gateway with the tutorial's deployment shape (`/{path*}` → CTM over
//! TLS) and a client that drives GET requests over keep-alive TLS at concurrency 32 for a bounded
//! time. Each layout has two phases under the same CPU placement: straight at the backend, then
//! through the gateway. Two layouts are measured:
//!
//! 1. **Primary: separate processes, the gateway on its own CPU.** The example re-executes
//!    itself as `backend`, `gateway` and `client`; client and backend are pinned to one CPU and
//!    the gateway to another (`sched_setaffinity`). OCI runs API Gateway as a managed service on
//!    its own hosts, so in reality the gateway never takes CPU from the caller or the backend;
//!    this layout measures what the gateway itself adds.
//!    It also prints the CPU time per request of each process (Linux `/proc/<pid>/task/*/
//!    schedstat`), which holds steadier than req/s when others use the machine.
//! 2. **All in one process, shared cores** (the earlier figure). On a 2-core box the gateway
//!    path terminates TLS twice more (server side and client side) on the same two cores the
//!    client and backend use, so this ratio mostly measures CPU sharing, not the gateway.
//!
//! `cargo run --release -p hyok-apigw --example bench_gateway [seconds]` (default 5 s per phase,
//! plus 1 s of warm-up). Loopback only; certificates and keys reach the children on their stdin
//! (nothing is written to disk). Child processes stop by themselves when their stdin closes (the
//! orchestrator ended, however it ended) and at a hard deadline; the orchestrator also kills and
//! reaps them on every exit path. Layout 1 needs 2 CPUs it may pin to.

use axum::{Router, routing::get};
use hyok_apigw::{Gateway, GatewayConfig};
use hyok_core::{
    EventLog,
    client::{HttpClient, StaticDial},
    pki::LabCa,
    server::{Server, bind, serve},
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::SocketAddr,
    process::{Child, Command, ExitCode, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CONCURRENCY: usize = 32;
const GW_HOST: &str = "oci-api-gw.oci-thales.lab";
const CTM_HOST: &str = "ctm1.oci-thales.lab";
const PREFIX: &str = "/api/v1/cckm/oci/ekm/v1";
const BODY: &str = "{\"state\":\"ACTIVE\",\"vendor\":\"Thales CTM\"}";

// ---------------------------------------------------------------------------------------------
// Pieces shared by both layouts.

/// The PEM material every role needs; written to files for the child processes.
struct Material {
    ca: String,
    backend: (String, String),
    gateway: (String, String),
}

impl Material {
    fn generate() -> Result<Self, BoxError> {
        let ca = LabCa::generate("CTM AMS CA")?;
        let backend = ca.issue_server(&[CTM_HOST])?;
        // The gateway only accepts RSA certificates (as OCI does).
        let rsa_pem = <rsa::PrivateKey as rsa::Generate>::generate().to_pkcs8_pem(LineEnding::LF)?.to_string();
        let gw = ca.issue_with_key(
            &[GW_HOST],
            rcgen::KeyPair::from_pem(&rsa_pem)?,
            &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
        )?;
        Ok(Self {
            ca: ca.cert_pem().to_string(),
            backend: (backend.chain_pem(), backend.key_pem.clone()),
            gateway: (gw.chain_pem(), gw.key_pem.clone()),
        })
    }

    /// One JSON line, sent to a child on its stdin (no key material touches the disk).
    fn to_line(&self) -> String {
        let v = serde_json::json!({"ca": self.ca, "backend": self.backend, "gateway": self.gateway});
        format!("{v}\n")
    }

    fn from_line(line: &str) -> Result<Self, BoxError> {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let s = |ptr: &str| -> Result<String, BoxError> {
            v.pointer(ptr).and_then(|x| x.as_str()).map(str::to_string).ok_or_else(|| format!("no {ptr}").into())
        };
        Ok(Self {
            ca: s("/ca")?,
            backend: (s("/backend/0")?, s("/backend/1")?),
            gateway: (s("/gateway/0")?, s("/gateway/1")?),
        })
    }
}

async fn start_backend(m: &Material) -> Result<Server, BoxError> {
    let router = Router::new().fallback(get(|| async { BODY }));
    let tls = hyok_core::tls::server_config(&m.backend.0, &m.backend.1)?;
    Ok(serve(bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?, router, Some(tls), CancellationToken::new()))
}

async fn start_gateway(m: &Material, backend: SocketAddr) -> Result<Server, BoxError> {
    let gw = Gateway::new(GatewayConfig {
        name: "API-GW".into(),
        ip: "172.16.1.103".into(),
        tls: m.gateway.clone(),
        backend_ca_bundles: vec![m.ca.clone()],
        dial: Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend)),
        events: EventLog::new(),
        clock: hyok_core::Clock::system(),
    })?;
    let spec = hyok_apigw::parse_specification(&serde_json::json!({"routes": [{
        "path": "/{path*}", "methods": ["GET", "POST"],
        "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}{PREFIX}/${{request.path[path]}}")}
    }]}))?;
    gw.set_deployment("bench", PREFIX, &spec)?;
    Ok(serve(
        bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?,
        gw.clone().router(),
        Some(gw.tls_config()),
        CancellationToken::new(),
    ))
}

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    requests: usize,
    /// CPU time per request of client, backend and gateway (separate-process layout only).
    cpu: Option<[Duration; 3]>,
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
    Stats { rps: all.len() as f64 / elapsed, p50: pct(0.50), p99: pct(0.99), errors, requests: all.len(), cpu: None }
}

/// CPU time (on-CPU, user + system) of every live thread of `pid`, from `/proc` (Linux).
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        // A thread may end between listing and reading; skip it.
        if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
            ns += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Some(Duration::from_nanos(ns))
}

/// Run one phase, measuring the CPU time of `pids` (client, backend, gateway) per request.
async fn phase(client: &HttpClient, url: &str, secs: u64, pids: Option<[u32; 3]>) -> Stats {
    let before = pids.map(|p| p.map(cpu_time));
    let mut s = drive(client.clone(), url.to_string(), secs).await;
    if let (Some(pids), Some(before)) = (pids, before) {
        let n = s.requests.max(1) as u32;
        let mut cpu = [Duration::ZERO; 3];
        for i in 0..3 {
            match (before[i], cpu_time(pids[i])) {
                (Some(b), Some(a)) => cpu[i] = a.saturating_sub(b) / n,
                _ => return s,
            }
        }
        s.cpu = Some(cpu);
    }
    s
}

/// Direct phase, then gateway phase, each after 1 s of warm-up so pools hold open connections.
async fn both_phases(
    ca_pem: &str,
    backend: SocketAddr,
    gateway: SocketAddr,
    secs: u64,
    pids: Option<[u32; 3]>,
) -> Result<(Stats, Stats), BoxError> {
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend).pin(GW_HOST, 443, gateway));
    let client = HttpClient::new(dial, hyok_core::tls::client_config(ca_pem)?);
    let path = format!("{PREFIX}/vaults/v1/metadata");
    let direct_url = format!("https://{CTM_HOST}{path}");
    let via_url = format!("https://{GW_HOST}{path}");
    drive(client.clone(), direct_url.clone(), 1).await;
    let direct = phase(&client, &direct_url, secs, pids).await;
    drive(client.clone(), via_url.clone(), 1).await;
    let via = phase(&client, &via_url, secs, pids).await;
    Ok((direct, via))
}

fn print_layout(title: &str, direct: &Stats, via: &Stats) {
    let line = |label: &str, s: &Stats| {
        println!(
            "  {label:<8} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {}",
            s.rps,
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3,
            s.errors
        )
    };
    println!("{title}");
    line("backend", direct);
    line("gateway", via);
    println!(
        "  ratio    throughput {:.2}x lower, p50 {:.2}x, p99 {:.2}x",
        direct.rps / via.rps.max(1.0),
        via.p50.as_secs_f64() / direct.p50.as_secs_f64().max(1e-9),
        via.p99.as_secs_f64() / direct.p99.as_secs_f64().max(1e-9)
    );
    if let (Some(d), Some(v)) = (direct.cpu, via.cpu) {
        let us = |x: Duration| x.as_secs_f64() * 1e6;
        println!(
            "  CPU per request (us): direct: client {:.1} + backend {:.1};  via gateway: client {:.1} + backend {:.1} + gateway {:.1}",
            us(d[0]),
            us(d[1]),
            us(v[0]),
            us(v[1]),
            us(v[2])
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CPU placement and child-process hygiene.

/// The CPUs this process may run on (its affinity mask).
fn allowed_cpus() -> Vec<usize> {
    core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
}

/// Pin the calling thread (and so every thread it starts later) to one CPU.
fn pin_to(cpu: usize) -> Result<(), BoxError> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        Ok(())
    } else {
        Err(format!("cannot pin to CPU {cpu}").into())
    }
}

/// A child never outlives the orchestrator: it exits at a hard deadline whatever happens, and
/// when its stdin closes (the orchestrator closed it, exited or was killed, even by SIGKILL or
/// Ctrl-C). The first stdin line carries the certificates and keys.
fn child_housekeeping(lifetime: Duration) -> Result<Material, BoxError> {
    std::thread::spawn(move || {
        std::thread::sleep(lifetime);
        eprintln!("bench_gateway child: deadline of {lifetime:?} reached, exiting");
        std::process::exit(3);
    });
    let mut stdin = BufReader::new(std::io::stdin());
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    let material = Material::from_line(&line)?;
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    Ok(material)
}

/// A multi-thread runtime sized by the CPUs this process may use (1 once pinned).
fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn lifetime(secs: u64) -> Duration {
    // Two phases plus warm-ups, generous slack for key generation and a loaded machine.
    Duration::from_secs(2 * (secs + 1) + 60)
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str, BoxError> {
    args.get(i).map(String::as_str).ok_or_else(|| format!("missing argument {i} ({what})").into())
}

// ---------------------------------------------------------------------------------------------
// Roles of the child processes: `<role> <cpu> <secs> [addresses and pids…]`, material on stdin.

fn run_role(role: &str, args: &[String]) -> Result<(), BoxError> {
    let cpu: usize = arg(args, 0, "cpu")?.parse()?;
    let secs: u64 = arg(args, 1, "seconds")?.parse()?;
    let m = child_housekeeping(lifetime(secs))?;
    // Pin before the runtime exists so its worker threads inherit the mask.
    pin_to(cpu)?;
    let rt = runtime()?;
    match role {
        "backend" | "gateway" => rt.block_on(async {
            let server = if role == "backend" {
                start_backend(&m).await?
            } else {
                start_gateway(&m, arg(args, 2, "backend address")?.parse()?).await?
            };
            println!("ADDR {}", server.local_addr);
            std::io::stdout().flush()?;
            // Serve until the housekeeping threads end the process.
            std::future::pending::<()>().await;
            Ok(())
        }),
        "client" => rt.block_on(async {
            let backend: SocketAddr = arg(args, 2, "backend address")?.parse()?;
            let gateway: SocketAddr = arg(args, 3, "gateway address")?.parse()?;
            let backend_pid: u32 = arg(args, 4, "backend pid")?.parse()?;
            let gateway_pid: u32 = arg(args, 5, "gateway pid")?.parse()?;
            let pids = [std::process::id(), backend_pid, gateway_pid];
            let (direct, via) = both_phases(&m.ca, backend, gateway, secs, Some(pids)).await?;
            for (label, s) in [("direct", direct), ("gateway", via)] {
                let cpu = s.cpu.unwrap_or_default().map(|d| d.as_nanos().to_string()).join(" ");
                println!("RESULT {label} {} {} {} {} {cpu}", s.rps, s.p50.as_nanos(), s.p99.as_nanos(), s.errors);
            }
            Ok(())
        }),
        other => Err(format!("unknown role {other}").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

/// Child processes, killed and reaped on drop (every exit path of the orchestrator).
struct Children(Vec<Child>);

impl Children {
    /// Start `current_exe args…` and hand it the material; its stdin stays open while it runs.
    fn spawn(&mut self, args: &[String], m: &Material) -> Result<&mut Child, BoxError> {
        let child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        self.0.push(child);
        let n = self.0.len();
        let child = &mut self.0[n - 1];
        let stdin = child.stdin.as_mut().ok_or("child has no stdin")?;
        stdin.write_all(m.to_line().as_bytes())?;
        stdin.flush()?;
        Ok(child)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `ADDR <socket>` line a server child prints once it listens.
fn read_addr(child: &mut Child, role: &str) -> Result<SocketAddr, BoxError> {
    let out = child.stdout.take().ok_or("child has no stdout")?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    line.trim()
        .strip_prefix("ADDR ")
        .ok_or_else(|| format!("{role} did not start (said {:?})", line.trim()))?
        .parse()
        .map_err(|e| format!("{role} printed a bad address: {e}").into())
}

fn parse_result(line: &str) -> Option<(String, Stats)> {
    let mut f = line.strip_prefix("RESULT ")?.split_whitespace();
    let label = f.next()?.to_string();
    let rps = f.next()?.parse().ok()?;
    let p50 = Duration::from_nanos(f.next()?.parse().ok()?);
    let p99 = Duration::from_nanos(f.next()?.parse().ok()?);
    let errors = f.next()?.parse().ok()?;
    let cpu: Vec<Duration> = f.filter_map(|v| v.parse().ok()).map(Duration::from_nanos).collect();
    let cpu = <[Duration; 3]>::try_from(cpu).ok().filter(|c| c.iter().any(|d| !d.is_zero()));
    Some((label, Stats { rps, p50, p99, errors, requests: 0, cpu }))
}

/// Layout 1: backend, gateway and client in their own processes, pinned.
fn separate_processes(m: &Material, secs: u64, shared_cpu: usize, gw_cpu: usize) -> Result<(Stats, Stats), BoxError> {
    let common = |role: &str, cpu: usize| vec![role.to_string(), cpu.to_string(), secs.to_string()];
    let mut kids = Children(Vec::new());
    let child = kids.spawn(&common("backend", shared_cpu), m)?;
    let backend_pid = child.id();
    let backend = read_addr(child, "backend")?;
    let mut gw_args = common("gateway", gw_cpu);
    gw_args.push(backend.to_string());
    let child = kids.spawn(&gw_args, m)?;
    let gateway_pid = child.id();
    let gateway = read_addr(child, "gateway")?;
    let mut client_args = common("client", shared_cpu);
    client_args.extend([backend.to_string(), gateway.to_string(), backend_pid.to_string(), gateway_pid.to_string()]);
    let client = kids.spawn(&client_args, m)?;
    let out = client.stdout.take().ok_or("client has no stdout")?;
    let mut results = Vec::new();
    // Ends when the client exits (it has its own deadline).
    for line in BufReader::new(out).lines() {
        if let Some(r) = parse_result(&line?) {
            results.push(r);
        }
    }
    let status = client.wait()?;
    let find = |label: &str| results.iter().find(|(l, _)| l == label).map(|(_, s)| *s);
    match (find("direct"), find("gateway")) {
        (Some(d), Some(g)) => Ok((d, g)),
        _ => Err(format!("client ended ({status}) without results").into()),
    }
}

/// Layout 2: everything in this process on one runtime over all CPUs.
fn one_process(m: &Material, secs: u64) -> Result<(Stats, Stats), BoxError> {
    runtime()?.block_on(async {
        let backend = start_backend(m).await?;
        let gateway = start_gateway(m, backend.local_addr).await?;
        let result = both_phases(&m.ca, backend.local_addr, gateway.local_addr, secs, None).await;
        gateway.shutdown().await;
        backend.shutdown().await;
        result
    })
}

fn orchestrate(secs: u64) -> Result<(), BoxError> {
    let cpus = allowed_cpus();
    println!(
        "bench_gateway: concurrency {CONCURRENCY}, {secs} s per phase after 1 s warm-up, keep-alive TLS, \
         GET of a {}-byte JSON body, CPUs {cpus:?}",
        BODY.len()
    );
    let m = Material::generate()?;
    let mut primary = None;
    match cpus.as_slice() {
        [shared, gw, ..] => {
            let (d, v) = separate_processes(&m, secs, *shared, *gw)?;
            print_layout(
                &format!(
                    "[1] PRIMARY  separate processes: client + backend on CPU {shared}, gateway alone on CPU {gw} \
                     (OCI runs the gateway on its own hosts)"
                ),
                &d,
                &v,
            );
            primary = Some((d, v));
        }
        _ => println!("[1] PRIMARY  skipped: needs 2 CPUs this process may pin to"),
    }
    let (d, v) = one_process(&m, secs)?;
    print_layout(
        "[2] one process, all on shared CPUs (the gateway's extra TLS competes with client and backend)",
        &d,
        &v,
    );
    if let Some((d, v)) = primary {
        let tput = d.rps / v.rps.max(1.0);
        let p50 = v.p50.as_secs_f64() / d.p50.as_secs_f64().max(1e-9);
        let met = tput < 1.5 && p50 < 1.5;
        println!(
            "target: gateway overhead under 1.5x (primary layout, throughput and p50): {:.2}x / {:.2}x -> {}",
            tput,
            p50,
            if met { "met" } else { "NOT met" }
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    hyok_core::tls::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some(role @ ("backend" | "gateway" | "client")) => run_role(role, &args[2..]),
        other => {
            let secs = other.and_then(|a| a.parse().ok()).unwrap_or(5u64).clamp(1, 60);
            orchestrate(secs)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
