//! HYOK Lab inside another project's tests, on [testcontainers].
//!
//! ```no_run
//! # async fn demo() -> Result<(), hyok_lab_testcontainers::Error> {
//! let lab = hyok_lab_testcontainers::HyokLab::start().await?;      // image hyok-lab:dev
//! let report = lab.run_scenario("oci-hyok-api-gateway", Some(16)).await?;
//! assert!(report.passed);
//! let identity = lab.url("identity");                                // https://127.0.0.1:PORT
//! let ca = lab.ca_bundle();                                          // PEM to trust
//! let oci_config = lab.oci_config();                                 // for the official `oci` CLI
//! let (user, password) = lab.ctm_credentials();
//! let env = lab.oci_env();                                           // `source` it: plain `oci ...`
//! # let _ = (identity, ca, oci_config, user, password, env); Ok(()) }
//! ```
//!
//! The container publishes its ports on 127.0.0.1 under the same numbers it uses inside (the
//! lab writes host URLs into lab.json), from a port base picked free on this host. The lab dir
//! is a host folder mounted at `/lab`, so lab.json, the CA bundle and the CLI config are plain
//! files here. The container is removed when the [`HyokLab`] is dropped.

use hyok_lab_client::{
    LabInfo,
    ports::{DYNAMIC_PORT_OFFSET, DYNAMIC_PORTS, published_tcp, published_udp},
    scenario,
};
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    time::Duration,
};
use testcontainers::{
    ContainerAsync, GenericImage, ImageExt,
    core::{ContainerPort, Mount, WaitFor},
    runners::AsyncRunner,
};

/// The image `docker/build.sh` builds.
pub const IMAGE: &str = "hyok-lab";
/// Its default tag.
pub const TAG: &str = "dev";

/// Why the lab could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No Docker engine, no image, or the container did not become ready.
    #[error("cannot start the HYOK Lab container ({IMAGE}:{TAG}; build it with docker/build.sh): {0}")]
    Docker(String),
    /// No free block of host ports was found.
    #[error("no free block of host ports for the lab: {0}")]
    Ports(String),
    /// lab.json or another file of the lab dir could not be read or written.
    #[error("lab dir {0}")]
    LabDir(String),
    /// A scenario could not be loaded or run.
    #[error("scenario: {0}")]
    Scenario(String),
}

/// Options for [`HyokLab::start_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Image name.
    pub image: String,
    /// Image tag.
    pub tag: String,
    /// Port base; `None` picks a free one.
    pub port_base: Option<u16>,
    /// How long the container may take to be ready.
    pub startup_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { image: IMAGE.into(), tag: TAG.into(), port_base: None, startup_timeout: Duration::from_secs(60) }
    }
}

/// A running lab container.
pub struct HyokLab {
    _container: ContainerAsync<GenericImage>,
    dir: PathBuf,
    /// The lab's lab.json.
    pub info: LabInfo,
}

impl std::fmt::Debug for HyokLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyokLab").field("lab_dir", &self.dir).finish_non_exhaustive()
    }
}

/// Docker publishes on 0.0.0.0; probe the same way, TCP and UDP.
fn block_is_free(base: u16) -> bool {
    published_tcp().into_iter().flatten().all(|o| TcpListener::bind(("0.0.0.0", base + o)).is_ok())
        && published_udp().into_iter().flatten().all(|o| std::net::UdpSocket::bind(("0.0.0.0", base + o)).is_ok())
}

/// Blocks of 200 ports (a lab's whole plan, run-time endpoints included) from 20000 to 32599:
/// below Linux's ephemeral range (32768+), where outgoing connections would otherwise take ports
/// between the probe and `docker run`.
const BLOCK: u16 = DYNAMIC_PORT_OFFSET + DYNAMIC_PORTS;
const FIRST_BASE: u16 = 20_000;
const BLOCKS: u16 = 63;

fn free_base() -> Result<u16, Error> {
    // Start at a random block so parallel tests rarely probe the same one.
    let start = u16::from_str_radix(&hyok_core::ids::hex32()[..4], 16).unwrap_or(0) % BLOCKS;
    (0..BLOCKS).map(|i| FIRST_BASE + ((start + i) % BLOCKS) * BLOCK).find(|b| block_is_free(*b)).ok_or_else(|| {
        let last = FIRST_BASE + BLOCKS * BLOCK - 1;
        Error::Ports(format!("every block of ports from {FIRST_BASE} to {last} was partly taken"))
    })
}

impl HyokLab {
    /// Start `hyok-lab:dev` and wait until it is ready.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(Options::default()).await
    }

    /// Start with options. With a picked port base, a port taken between the probe and
    /// `docker run` makes it try another block (three tries).
    pub async fn start_with(opts: Options) -> Result<Self, Error> {
        let mut tries = 0;
        loop {
            tries += 1;
            let base = match opts.port_base {
                Some(b) => b,
                None => free_base()?,
            };
            match Self::start_at(&opts, base).await {
                Err(Error::Docker(e))
                    if opts.port_base.is_none() && tries < 3 && e.contains("address already in use") =>
                {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn start_at(opts: &Options, base: u16) -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!("hyok-lab-tc-{}", hyok_core::ids::hex32()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::LabDir(format!("{}: {e}", dir.display())))?;
        let image = GenericImage::new(opts.image.as_str(), opts.tag.as_str())
            .with_wait_for(WaitFor::message_on_stderr("hyok-lab: ready in"));
        // A known name lets a failed start (created, not started: a port was taken) be removed.
        let name = format!("hyok-lab-{}", &hyok_core::ids::hex32()[..12]);
        let mut req = image
            .with_container_name(name.as_str())
            .with_env_var("HYOK_LAB_PORT_BASE", base.to_string())
            .with_mount(Mount::bind_mount(dir.display().to_string(), "/lab"))
            .with_startup_timeout(opts.startup_timeout);
        // The lab's port plan, published under the same numbers (lab.json holds host URLs).
        for o in published_tcp().into_iter().flatten() {
            req = req.with_mapped_port(base + o, ContainerPort::Tcp(base + o));
        }
        for o in published_udp().into_iter().flatten() {
            req = req.with_mapped_port(base + o, ContainerPort::Udp(base + o));
        }
        let container = match req.start().await {
            Ok(c) => c,
            Err(e) => {
                let _ = std::process::Command::new("docker").args(["rm", "-f", &name]).output();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(Error::Docker(e.to_string()));
            }
        };
        let info = LabInfo::load(&dir).map_err(|e| Error::LabDir(e.to_string()))?;
        let lab = Self { _container: container, dir, info };
        lab.write_host_cli_config()?;
        Ok(lab)
    }

    /// The lab dir on this host (lab.json, `ca/`, `oci/`).
    pub fn lab_dir(&self) -> &Path {
        &self.dir
    }

    /// A service's URL for this host (`https://127.0.0.1:PORT`).
    pub fn url(&self, service: &str) -> Option<&str> {
        self.info.service(service).map(|s| s.url.as_str())
    }

    /// The PEM bundle of every CA a client must trust.
    pub fn ca_bundle(&self) -> PathBuf {
        self.dir.join(&self.info.ca.bundle)
    }

    /// An `oci` CLI config whose key path points at this host's copy of the key.
    pub fn oci_config(&self) -> PathBuf {
        self.dir.join("oci/config.host")
    }

    /// The HTTPS proxy to the lab's real names (`http://127.0.0.1:PORT`, for `HTTPS_PROXY`).
    pub fn proxy_url(&self) -> Option<&str> {
        self.info.proxy.as_ref().map(|p| p.url.as_str())
    }

    /// A shell file for this host: `oci/env` with its paths turned into this host's
    /// (`source` it, then plain `oci ...` reaches the real names through the proxy).
    pub fn oci_env(&self) -> PathBuf {
        self.dir.join("oci/env.host")
    }

    /// CipherTrust Manager's user and password.
    pub fn ctm_credentials(&self) -> (String, String) {
        let c = &self.info.credentials["ctm"];
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        (s("username"), s("password"))
    }

    /// Run a shipped scenario (or a scenario file) up to task `until`, from this host.
    pub async fn run_scenario(&self, name: &str, until: Option<u32>) -> Result<scenario::Report, Error> {
        let s = scenario::load(name).map_err(|e| Error::Scenario(e.to_string()))?;
        let mut runner = scenario::Runner::new(&self.dir).map_err(Error::Scenario)?;
        Ok(runner.run(&s, until, &|_| {}).await)
    }

    fn write_host_cli_config(&self) -> Result<(), Error> {
        let config = self.dir.join("oci/config");
        let text = std::fs::read_to_string(&config).map_err(|e| Error::LabDir(format!("{}: {e}", config.display())))?;
        let host_key = self.dir.join("oci/oci_api_key.pem");
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("key_file=") { format!("key_file={}\n", host_key.display()) } else { format!("{l}\n") }
            })
            .collect();
        let out = self.oci_config();
        std::fs::write(&out, text).map_err(|e| Error::LabDir(format!("{}: {e}", out.display())))?;
        // The env file names the container's paths (/lab/...).
        let env = self.dir.join("oci/env");
        let text = std::fs::read_to_string(&env).map_err(|e| Error::LabDir(format!("{}: {e}", env.display())))?;
        let dir = self.dir.display().to_string();
        let text =
            text.replace("'/lab/oci/config'", &format!("'{}'", out.display())).replace("'/lab/", &format!("'{dir}/"));
        let out = self.oci_env();
        std::fs::write(&out, text).map_err(|e| Error::LabDir(format!("{}: {e}", out.display())))
    }
}

impl Drop for HyokLab {
    fn drop(&mut self) {
        // The container goes with its handle; its files go too.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
