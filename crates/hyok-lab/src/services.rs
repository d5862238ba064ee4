//! Starting the lab's services. Each service is its own crate; this file only wires them to the
//! network model, DNS, PKI and the address book.

use crate::{
    compose::{Fragment, Role},
    lab::{Lab, LabError},
    world::{ServiceConfig, WorldConfig},
};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// How long a region waits for the identity and CTM containers' fragments.
const FRAGMENT_PATIENCE: Duration = Duration::from_secs(60);
/// How often the region checks that the gateway data-plane container still runs its gateways.
const GATEWAY_RESYNC_EVERY: Duration = Duration::from_secs(2);

/// Handles on running services.
#[derive(Default, Clone)]
pub struct Handles {
    /// The identity domain.
    pub identity: Option<Arc<hyok_identity::IdentityDomain>>,
    /// The lab tenancy (user, API key).
    pub tenancy: Option<hyok_oci_rest::Tenancy>,
    /// Public keys allowed to sign OCI requests.
    pub oci_keys: Option<hyok_oci_rest::KeyStore>,
    /// The OCI signature verifier shared by every OCI service.
    pub verifier: Option<Arc<hyok_oci_rest::SignatureVerifier>>,
    /// The Certificates service.
    pub certificates: Option<hyok_oci::CertificatesService>,
    /// CipherTrust Manager in AMS.
    pub ctm: Option<Arc<hyok_ctm::Ctm>>,
    /// The API Gateway control plane.
    pub apigateway: Option<Arc<hyok_apigw::ApiGatewayService>>,
    /// KMS for external keys.
    pub kms: Option<Arc<hyok_kms::KmsService>>,
    /// Object Storage.
    pub objectstorage: Option<Arc<hyok_objectstorage::ObjectStorage>>,
}

/// RSA keys made on blocking threads at the start of `Lab::start`.
pub struct KeyJobs {
    identity: tokio::task::JoinHandle<Result<Arc<hyok_identity::IdentityDomain>, hyok_identity::IdentityError>>,
    oci_user: tokio::task::JoinHandle<Result<hyok_oci_rest::ApiKey, hyok_oci_rest::Error>>,
    objectstorage_principal: tokio::task::JoinHandle<Result<hyok_oci_rest::ApiKey, hyok_oci_rest::Error>>,
}

impl KeyJobs {
    /// Start making the keys.
    pub fn spawn() -> Self {
        Self {
            identity: tokio::task::spawn_blocking(|| {
                hyok_identity::IdentityDomain::new(hyok_identity::IdentityConfig::random())
            }),
            oci_user: tokio::task::spawn_blocking(hyok_oci_rest::ApiKey::generate),
            objectstorage_principal: tokio::task::spawn_blocking(hyok_oci_rest::ApiKey::generate),
        }
    }
}

fn svc_err(service: &str, e: impl std::fmt::Display) -> LabError {
    LabError::Service { service: service.to_string(), reason: e.to_string() }
}

fn find<'a>(cfg: &'a WorldConfig, name: &str) -> Result<&'a ServiceConfig, LabError> {
    cfg.services
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| svc_err(name, "missing from the world file's [[service]] list"))
}

/// Serve `router` for a service over TLS and register it.
async fn serve(
    lab: &mut Lab,
    svc: &ServiceConfig,
    host: &str,
    port: SocketAddr,
    router: axum::Router,
    tls: Arc<rustls::ServerConfig>,
) -> Result<SocketAddr, LabError> {
    let listener = hyok_core::server::bind(port).await?;
    let real = listener.local_addr().map_err(|e| svc_err(&svc.name, e))?;
    let server = hyok_core::server::serve(listener, router, Some(tls), lab.stop_token().child_token());
    lab.push_server(server);
    lab.register_service(&svc.name, &svc.kind, host, svc.ip, svc.port, real);
    Ok(real)
}

/// A certificate from the lab's public root for a cloud endpoint: its host name, its virtual
/// IP, and 127.0.0.1/localhost so the `url` in lab.json verifies from the host.
pub(crate) fn public_cert(
    ca: &hyok_core::pki::LabCa,
    host: &str,
    ip: std::net::Ipv4Addr,
) -> Result<Arc<rustls::ServerConfig>, LabError> {
    let ip = ip.to_string();
    let cert = ca.issue_server(&[host, &ip, "127.0.0.1", "localhost"])?;
    Ok(hyok_core::tls::server_config(&cert.chain_pem(), &cert.key_pem)?)
}

/// The identity domain's entry in lab.json's credentials.
pub(crate) fn identity_credentials(identity: &hyok_identity::IdentityDomain) -> serde_json::Value {
    let (admin_id, admin_secret) = identity.admin_credentials();
    serde_json::json!({
        "domain_url": identity.domain_url(),
        "admin_client_id": admin_id,
        "admin_client_secret": admin_secret,
    })
}

/// CipherTrust Manager's entry in lab.json's credentials.
pub(crate) fn ctm_credentials(ctm: &hyok_ctm::Ctm, host: &str) -> serde_json::Value {
    let (user, password) = ctm.initial_credentials();
    serde_json::json!({ "url": format!("https://{host}"), "username": user, "password": password })
}

/// Serve a public (Oracle Services Network) service named in the world file.
async fn serve_public(
    lab: &mut Lab,
    cfg: &WorldConfig,
    name: &str,
    port: &(dyn Fn(u16) -> SocketAddr + Sync),
    router: axum::Router,
) -> Result<SocketAddr, LabError> {
    let svc = find(cfg, name)?.clone();
    let tls = public_cert(&lab.public_ca, &svc.host, svc.ip)?;
    serve(lab, &svc, &svc.host.clone(), port(svc.port_offset), router, tls).await
}

/// Start every service of the world.
pub async fn start_all(
    lab: &mut Lab,
    cfg: &WorldConfig,
    port: &(dyn Fn(u16) -> SocketAddr + Sync),
    keys: KeyJobs,
    tenancy_id: &str,
    compartment_id: &str,
) -> Result<(), LabError> {
    // CipherTrust Manager in AMS: its own CA and RSA web certificate take a moment, so start it
    // on a blocking thread first. Its outbound calls (issuer discovery, JWKS) leave from its IP.
    // A region of a split lab finds identity and CTM in their own containers instead.
    let ctm_svc = find(cfg, "ctm-ams")?.clone();
    let ctm_job = if lab.opts.region.is_some() {
        None
    } else {
        let ctm_client = lab.client_from(ctm_svc.ip, "ctm-ams", lab.public_ca.cert_pem())?;
        let ctm_cfg = hyok_ctm::CtmConfig {
            hostname: ctm_svc.host.clone(),
            ip: ctm_svc.ip.to_string(),
            ..hyok_ctm::CtmConfig::default()
        };
        let events = lab.events.clone();
        Some(tokio::task::spawn_blocking(move || hyok_ctm::Ctm::new(ctm_cfg, ctm_client, events)))
    };

    // Identity domain.
    if lab.opts.region.is_some() {
        keys.identity.abort();
        let fragment = Fragment::wait(&lab.opts.lab_dir, Role::Identity, FRAGMENT_PATIENCE).await?;
        crate::compose::adopt(lab, fragment);
    } else {
        let identity = keys.identity.await.map_err(|e| svc_err("identity", e))?.map_err(|e| svc_err("identity", e))?;
        let identity_host = identity.config().domain_host.clone();
        let svc = find(cfg, "identity")?.clone();
        let tls = public_cert(&lab.public_ca, &identity_host, svc.ip)?;
        serve(lab, &svc, &identity_host, port(svc.port_offset), hyok_identity::router(identity.clone()), tls).await?;
        lab.info.credentials.insert("identity".into(), identity_credentials(&identity));
        lab.handles.identity = Some(identity);
    }

    // The OCI tenancy, its user and API key; one verifier for every OCI service.
    let api_key = keys.oci_user.await.map_err(|e| svc_err("oci", e))?.map_err(|e| svc_err("oci", e))?;
    let mut tenancy = hyok_oci_rest::Tenancy::with_key("hyoklab", "hyok-lab", "lab-admin", api_key);
    tenancy.tenancy_id = tenancy_id.to_string();
    tenancy.compartment_id = compartment_id.to_string();
    tenancy.region = cfg.region.clone();
    let oci_keys = hyok_oci_rest::KeyStore::new();
    tenancy.register(&oci_keys);
    let verifier = Arc::new(hyok_oci_rest::SignatureVerifier::new(oci_keys.clone()));

    let compartments = vec![tenancy_id.to_string(), compartment_id.to_string()];

    // Networking (core) and DNS: the APIs over the lab's network and DNS models.
    let network = hyok_oci::network::NetworkApi::new(
        hyok_oci::network::NetworkConfig { compartments: compartments.clone(), ..Default::default() },
        lab.net.clone(),
        lab.dns.clone(),
        verifier.clone(),
    );
    serve_public(lab, cfg, "oci-iaas", port, hyok_oci::network::router(network)).await?;
    let dns_api = hyok_oci::dns::DnsApi::new(
        hyok_oci::dns::DnsConfig { compartments: compartments.clone(), ..Default::default() },
        lab.dns.clone(),
        verifier.clone(),
    );
    serve_public(lab, cfg, "oci-dns", port, hyok_oci::dns::router(dns_api)).await?;

    // Certificates.
    let certificates = hyok_oci::CertificatesService::new(
        hyok_oci::CertificatesConfig {
            lifecycle_delay_ms: 20,
            max_body_bytes: hyok_core::MAX_BODY_BYTES,
            compartments: vec![tenancy_id.to_string(), compartment_id.to_string()],
        },
        verifier.clone(),
    );
    serve_public(lab, cfg, "oci-certificates", port, hyok_oci::certificates::router(certificates.clone())).await?;

    // API Gateway: the control plane; each gateway's data plane appears at run time (Task 6).
    let mut apigw = hyok_apigw::ApiGatewayService::new(hyok_apigw::ControlDeps {
        host: Arc::new(lab.host.clone()),
        net: lab.net.clone(),
        certificates: certificates.clone(),
        verifier: verifier.clone(),
        compartments: compartments.clone(),
        public_ca_pem: lab.public_ca.cert_pem().to_string(),
    });
    if let Some(region) = &lab.opts.region {
        // The gateways' data plane runs in its own container; the control plane drives it.
        let url = format!("https://{}", region.data_plane);
        let remote = hyok_apigw::plane::RemoteDataPlane::new(
            &url,
            Arc::new(hyok_core::client::StaticDial::new()),
            lab.public_ca.cert_pem(),
            region.token.clone(),
        )
        .map_err(|e| svc_err("oci-apigateway", e))?;
        apigw = apigw.with_data_plane(Arc::new(remote));
    }
    let apigw = Arc::new(apigw);
    if lab.opts.region.is_some() {
        // The data-plane container may restart and come back empty; give it its gateways back.
        apigw.spawn_reconciler(GATEWAY_RESYNC_EVERY);
    }
    serve_public(lab, cfg, "oci-apigateway", port, hyok_apigw::control::router(apigw.clone())).await?;
    lab.handles.apigateway = Some(apigw);

    // KMS: vaults and private endpoints on the regional host; each vault's management and
    // crypto endpoints appear at run time (Task 14). Its own calls leave from its OSN address.
    let kms_svc = find(cfg, "oci-kms")?.clone();
    let kms = hyok_kms::KmsService::new(hyok_kms::KmsDeps {
        host: Arc::new(lab.host.clone()),
        net: lab.net.clone(),
        verifier: verifier.clone(),
        tenancy_id: tenancy_id.to_string(),
        region: cfg.region.clone(),
        kms_ip: kms_svc.ip,
        public_ca_pem: lab.public_ca.cert_pem().to_string(),
    })
    .map_err(|e| svc_err("oci-kms", e))?;
    serve_public(lab, cfg, "oci-kms", port, hyok_kms::router(kms.clone())).await?;
    lab.handles.kms = Some(kms);

    // Object Storage: it calls KMS's crypto endpoints over HTTPS as its own service principal,
    // whose key the shared verifier knows, from its address in the Oracle Services Network.
    let os_svc = find(cfg, "oci-objectstorage")?.clone();
    let principal = keys
        .objectstorage_principal
        .await
        .map_err(|e| svc_err("oci-objectstorage", e))?
        .map_err(|e| svc_err("oci-objectstorage", e))?;
    let principal_id = format!("{tenancy_id}/{}/{}", hyok_core::ids::ocid("user", None), principal.fingerprint());
    oci_keys.insert(principal_id.clone(), principal.public_key());
    let kms_client = hyok_objectstorage::HttpKmsClient::new(
        Arc::new(lab.host.vcn_dial(os_svc.ip)),
        lab.public_ca.cert_pem(),
        principal,
        principal_id,
        lab.events.clone(),
    )
    .map_err(|e| svc_err("oci-objectstorage", e))?
    .with_source(format!("objectstorage@{}", os_svc.ip));
    // OCI namespaces are short lower-case strings generated per tenancy.
    let namespace = format!("hyoklab{}", &hyok_core::ids::hex32()[..6]);
    let os = Arc::new(
        hyok_objectstorage::ObjectStorage::new(
            hyok_objectstorage::OsConfig {
                namespace,
                data_dir: lab.opts.lab_dir.join("objectstorage"),
                compartment_id: compartment_id.to_string(),
                tenancy_id: tenancy_id.to_string(),
            },
            hyok_objectstorage::OsDeps { kms: Arc::new(kms_client) },
        )
        .map_err(|e| svc_err("oci-objectstorage", e))?,
    );
    serve_public(lab, cfg, "oci-objectstorage", port, hyok_objectstorage::router(os.clone(), verifier.clone())).await?;
    lab.handles.objectstorage = Some(os);
    lab.handles.certificates = Some(certificates);

    // CipherTrust Manager serves its web interface with a certificate from its own CA.
    if let Some(ctm_job) = ctm_job {
        let ctm = ctm_job.await.map_err(|e| svc_err("ctm-ams", e))?.map_err(|e| svc_err("ctm-ams", e))?;
        let web = ctm.web_tls();
        let tls = hyok_core::tls::server_config(&web.chain_pem(), &web.key_pem)?;
        serve(lab, &ctm_svc, &ctm_svc.host, port(ctm_svc.port_offset), hyok_ctm::router(ctm.clone()), tls).await?;
        let ctm_root = lab.opts.lab_dir.join("ca/ctm-root.pem");
        std::fs::write(&ctm_root, ctm.ca_cert_pem()).map_err(|e| svc_err("ctm-ams", e))?;
        lab.info.ca.ctm_root = Some("ca/ctm-root.pem".into());
        lab.info.credentials.insert("ctm".into(), ctm_credentials(&ctm, &ctm_svc.host));
        lab.handles.ctm = Some(ctm);
    } else {
        let fragment = Fragment::wait(&lab.opts.lab_dir, Role::Ctm, FRAGMENT_PATIENCE).await?;
        crate::compose::adopt(lab, fragment);
    }

    write_oci_cli_config(lab, &tenancy)?;
    lab.handles.tenancy = Some(tenancy);
    lab.handles.oci_keys = Some(oci_keys);
    lab.handles.verifier = Some(verifier);
    Ok(())
}

/// Write the `oci` CLI config, key and env file into `<lab-dir>/oci/`, and list them in lab.json.
fn write_oci_cli_config(lab: &mut Lab, tenancy: &hyok_oci_rest::Tenancy) -> Result<(), LabError> {
    let dir = lab.opts.lab_dir.join("oci");
    let bundle = lab.opts.lab_dir.join(&lab.info.ca.bundle);
    let endpoints: Vec<hyok_oci_rest::tenancy::CliEndpoint> = lab
        .info
        .services
        .iter()
        .filter_map(|s| {
            s.name
                .strip_prefix("oci-")
                .map(|n| hyok_oci_rest::tenancy::CliEndpoint { name: n.to_string(), url: s.url.clone() })
        })
        .collect();
    let files =
        hyok_oci_rest::write_cli_config(&dir, tenancy, Some(&bundle), &endpoints).map_err(|e| svc_err("oci", e))?;
    let rel = |p: &std::path::Path| {
        p.strip_prefix(&lab.opts.lab_dir).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string())
    };
    lab.info.credentials.insert(
        "oci".into(),
        serde_json::json!({
            "tenancy": tenancy.tenancy_id,
            "tenancy_name": tenancy.name,
            "compartment": tenancy.compartment_id,
            "user": tenancy.user_id,
            "fingerprint": tenancy.api_key.fingerprint(),
            "region": tenancy.region,
            "config_file": rel(&files.config),
            "key_file": rel(&files.key),
            "env_file": rel(&files.env),
        }),
    );
    Ok(())
}
