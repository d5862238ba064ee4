//! The API Gateway control plane over real TLS with signed requests: gateways served at their
//! private IP through a ServiceHost, deployments checked against real TLS backends, and the
//! official `oci` CLI when it is installed.

use crate::support::{CTM_HOST, EKM_PREFIX, GW_HOST, echo_backend};
use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use hyok_apigw::{
    ApiGatewayService, ControlDeps, DataPlane, ECDSA_REFUSED,
    control::{self, GATEWAY_PORT},
};
use hyok_core::{
    Clock,
    client::{BoxFuture, Dial, DialError, Dialed, HttpClient, StaticDial},
    host::{Endpoint, ServiceHost},
    pki::{IssuedCert, LabCa},
    server::Server,
};
use hyok_netsim::NetworkModel;
use hyok_oci::{
    CertificatesConfig, CertificatesService,
    certificates::{CertificateConfig, CreateCaBundleDetails, CreateCertificateDetails},
};
use hyok_oci_rest::{ApiKey, KeyStore, SignatureVerifier, Tenancy};
use hyok_test_support::{LoopbackHost, eventually};
use serde_json::{Value, json};
use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

pub const SPOKE_VCN: &str = "fra-spoke-a-vcn";

fn api_key() -> ApiKey {
    static KEY: OnceLock<ApiKey> = OnceLock::new();
    KEY.get_or_init(|| ApiKey::generate().expect("api key")).clone()
}

/// The gateway certificate's RSA key (PKCS#8 PEM), made once per run.
fn gateway_key_pem() -> String {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let k = hyok_oci_rest::tenancy::generate_rsa_key(2048).expect("rsa");
        k.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
    })
    .clone()
}

/// A LoopbackHost whose pins act as the VCN's DNS zone: a name with no pin does not resolve
/// (as the network model answers for a name missing from the spoke's resolver).
#[derive(Clone)]
pub struct ZoneHost(pub LoopbackHost);

struct ZoneDial(LoopbackHost);

impl Dial for ZoneDial {
    fn dial(&self, host: &str, port: u16) -> BoxFuture<'_, Result<Dialed, DialError>> {
        let found = self.0.real(host, port);
        let label = format!("{host}:{port}");
        let host = host.to_string();
        Box::pin(async move {
            found.map(|real| Dialed { real, label }).ok_or_else(|| {
                DialError::Dns(format!("cannot resolve {host} in VCN {SPOKE_VCN}: NXDOMAIN from the VCN resolver"))
            })
        })
    }
}

impl ServiceHost for ZoneHost {
    fn host(
        &self,
        endpoint: Endpoint,
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> BoxFuture<'_, Result<SocketAddr, String>> {
        self.0.host(endpoint, router, tls)
    }

    fn unhost(&self, ip: Ipv4Addr, port: u16) -> BoxFuture<'_, ()> {
        self.0.unhost(ip, port)
    }

    fn dial_from(&self, _ip: Ipv4Addr) -> Arc<dyn Dial> {
        Arc::new(ZoneDial(self.0.clone()))
    }

    fn events(&self) -> hyok_core::EventLog {
        self.0.events()
    }

    fn public_ca(&self) -> Arc<LabCa> {
        self.0.public_ca()
    }
}

pub struct Lab {
    pub host: LoopbackHost,
    pub net: NetworkModel,
    pub subnet_id: String,
    pub tenancy: Tenancy,
    pub certs: CertificatesService,
    pub service: Arc<ApiGatewayService>,
    pub server: Server,
    pub client: HttpClient,
    /// CTM's CA: signs the gateway certificate and the CTM server certificate (as in the tutorial).
    pub ctm_ca: LabCa,
    /// Web root of the control API's certificate.
    pub web_ca: LabCa,
    /// The control plane's clock: stands still until a test advances it.
    pub clock: Clock,
}

pub use hyok_test_support::oci::Reply;

/// The work request a control-plane call started (`opc-work-request-id`).
pub trait WorkRequestId {
    fn work_request(&self) -> String;
}

impl WorkRequestId for Reply {
    fn work_request(&self) -> String {
        self.headers
            .get(control::WORK_REQUEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .expect("opc-work-request-id")
            .to_string()
    }
}

impl Lab {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Self {
        Self::build(addr, LoopbackHost::new(), None).await
    }

    /// A lab on `host` whose control plane runs its gateways on `data_plane` (default: in process).
    /// Its clock is manual and asynchronous work starts at once, so nothing waits on time.
    pub async fn build(addr: &str, host: LoopbackHost, data_plane: Option<Arc<dyn DataPlane>>) -> Self {
        Self::build_with(addr, host, data_plane, Duration::ZERO).await
    }

    /// As [`Lab::build`], with asynchronous work waiting `delay` on the manual clock first.
    pub async fn build_with(
        addr: &str,
        host: LoopbackHost,
        data_plane: Option<Arc<dyn DataPlane>>,
        delay: Duration,
    ) -> Self {
        let tenancy = Tenancy::with_key("hyoklab", "hyok", "lab-admin", api_key());
        let keys = KeyStore::new();
        tenancy.register(&keys);
        let verifier = Arc::new(SignatureVerifier::new(keys));
        let compartments = vec![tenancy.compartment_id.clone(), tenancy.tenancy_id.clone()];

        let net = NetworkModel::new();
        let vcn =
            net.create_vcn(SPOKE_VCN, "FRA", "172.16.0.0/16", &tenancy.compartment_id, "spokea", false).expect("vcn");
        let sl = net.create_default_security_list(&vcn.id).expect("security list");
        let subnet =
            net.create_subnet(&vcn.id, "private-subnet-a", "172.16.1.0/24", vec![sl.id], "priva").expect("subnet");
        net.set_allocation_start(&subnet.id, Ipv4Addr::new(172, 16, 1, 103)).expect("alloc start");

        let certs = CertificatesService::new(
            CertificatesConfig { lifecycle_delay_ms: 2, compartments: compartments.clone(), ..Default::default() },
            verifier.clone(),
        );
        let clock = Clock::manual();
        let mut service = ApiGatewayService::new(ControlDeps {
            host: Arc::new(ZoneHost(host.clone())),
            net: net.clone(),
            certificates: certs.clone(),
            verifier,
            compartments,
            public_ca_pem: host.public_ca().cert_pem().to_string(),
        })
        .with_clock(clock.clone())
        .with_lifecycle_delay(delay);
        if let Some(dp) = data_plane {
            service = service.with_data_plane(dp);
        }
        let service = Arc::new(service);
        let web_ca = LabCa::generate("HYOK Lab Test Web Root").expect("web ca");
        let leaf = web_ca.issue_server(&[control::HOST, "127.0.0.1"]).expect("leaf");
        let tls = hyok_core::tls::server_config(&leaf.chain_pem(), &leaf.key_pem).expect("tls");
        let listener = hyok_core::server::bind(addr.parse().expect("addr")).await.expect("bind");
        let server =
            hyok_core::server::serve(listener, control::router(service.clone()), Some(tls), CancellationToken::new());
        let dial = StaticDial::new().pin(control::HOST, 443, server.local_addr);
        let client = HttpClient::new(Arc::new(dial), hyok_core::tls::client_config(web_ca.cert_pem()).expect("tls"));
        let ctm_ca = LabCa::generate("CTM AMS CA").expect("ctm ca");
        Self { host, net, subnet_id: subnet.id, tenancy, certs, service, server, client, ctm_ca, web_ca, clock }
    }

    pub fn compartment(&self) -> String {
        self.tenancy.compartment_id.clone()
    }

    /// Import the tutorial's gateway certificate (RSA, signed by the CTM CA) into Certificates.
    pub async fn import_gateway_cert(&self, name: &str) -> String {
        let key = rcgen::KeyPair::from_pem(&gateway_key_pem()).expect("rsa keypair");
        let cert = self
            .ctm_ca
            .issue_with_key(&[GW_HOST, "172.16.1.103"], key, &[rcgen::ExtendedKeyUsagePurpose::ServerAuth])
            .expect("gateway cert");
        self.import(name, &cert).await
    }

    pub async fn import(&self, name: &str, cert: &IssuedCert) -> String {
        let c = self
            .certs
            .create_certificate(CreateCertificateDetails {
                name: Some(name.into()),
                compartment_id: Some(self.compartment()),
                certificate_config: Some(CertificateConfig {
                    config_type: Some("IMPORTED".into()),
                    certificate_pem: Some(cert.cert_pem.clone()),
                    cert_chain_pem: Some(cert.ca_pem.clone()),
                    private_key_pem: Some(cert.key_pem.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .expect("import certificate");
        assert!(self.certs.wait_until_active(&c.id, Duration::from_secs(5)).await, "certificate ACTIVE");
        c.id
    }

    pub async fn ca_bundle(&self, name: &str, pem: &str) -> String {
        let b = self
            .certs
            .create_ca_bundle(CreateCaBundleDetails {
                name: Some(name.into()),
                compartment_id: Some(self.compartment()),
                ca_bundle_pem: Some(pem.into()),
                ..Default::default()
            })
            .expect("ca bundle");
        assert!(self.certs.wait_until_active(&b.id, Duration::from_secs(5)).await, "bundle ACTIVE");
        b.id
    }

    pub fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Request<Bytes> {
        let url = format!("https://{}{}{path}", control::HOST, control::BASE_PATH);
        hyok_test_support::oci::json_request(method, &url, body)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        hyok_test_support::oci::send_signed(&self.client, &self.tenancy, self.request(method, path, body)).await
    }

    pub async fn send(&self, req: Request<Bytes>) -> Reply {
        hyok_test_support::oci::send(&self.client, req.map(Body::from)).await
    }

    /// Poll `path` until its `lifecycleState` is `state`; returns the resource.
    pub async fn wait_state(&self, path: &str, state: &str) -> Value {
        eventually(&format!("{path} {state}"), || async {
            let r = self.call(Method::GET, path, None).await;
            if r.json["lifecycleState"] == state { Ok(r.json) } else { Err(format!("{} {}", r.status, r.json)) }
        })
        .await
    }

    pub async fn create_gateway(&self, cert_id: Option<&str>, bundles: &[&str]) -> Reply {
        let mut body = json!({
            "compartmentId": self.compartment(),
            "displayName": "API-GW",
            "endpointType": "PRIVATE",
            "subnetId": self.subnet_id,
            "caBundles": bundles.iter().map(|b| json!({"type": "CA_BUNDLE", "caBundleId": b})).collect::<Vec<_>>(),
        });
        if let Some(c) = cert_id {
            body["certificateId"] = json!(c);
        }
        self.call(Method::POST, "/gateways", Some(&body)).await
    }

    /// An ACTIVE gateway with the tutorial certificate, trusting the CTM CA for backends.
    pub async fn active_gateway(&self) -> Value {
        let cert = self.import_gateway_cert("oci-api-gw").await;
        let bundle = self.ca_bundle("ctm-ca", self.ctm_ca.cert_pem()).await;
        let r = self.create_gateway(Some(&cert), &[&bundle]).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        self.wait_state(&format!("/gateways/{}", r.id()), "ACTIVE").await
    }

    pub async fn create_deployment(&self, gateway_id: &str, spec: &Value) -> Reply {
        let body = json!({
            "compartmentId": self.compartment(),
            "gatewayId": gateway_id,
            "displayName": "API-GW-DEPLOYMENT",
            "pathPrefix": EKM_PREFIX,
            "specification": spec,
        });
        self.call(Method::POST, "/deployments", Some(&body)).await
    }

    /// A client reaching the gateway `gw` (its hosted socket) by the tutorial FQDN.
    pub fn gateway_client(&self, gw: &Value) -> HttpClient {
        let hostname = gw["hostname"].as_str().expect("hostname");
        let real = self.host.real(hostname, GATEWAY_PORT).expect("gateway is hosted");
        let dial = StaticDial::new().pin(GW_HOST, 443, real);
        HttpClient::new(Arc::new(dial), hyok_core::tls::client_config(self.ctm_ca.cert_pem()).expect("tls"))
            .with_timeout(Duration::from_secs(20))
    }

    /// A CTM stand-in at `ctm1.oci-thales.lab:443` with a certificate from `ca`.
    pub async fn ctm_backend(&self, ca: &LabCa) -> Server {
        let cert = ca.issue_server(&[CTM_HOST]).expect("ctm cert");
        echo_backend(&cert).await
    }
}

pub fn tutorial_spec() -> Value {
    json!({
        "routes": [{
            "path": "/{path*}",
            "methods": ["GET", "POST"],
            "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}{EKM_PREFIX}/${{request.path[path]}}")}
        }]
    })
}

pub async fn through_gateway(client: &HttpClient, path: &str) -> (StatusCode, Value) {
    let req = Request::builder().uri(format!("https://{GW_HOST}{path}")).body(Body::empty()).expect("request");
    let resp = client.send(req).await.expect("gateway answers");
    (resp.status(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn private_gateway_gets_its_ip_and_a_deployment_reaches_the_backend() {
    let lab = Lab::start().await;
    let cert = lab.import_gateway_cert("oci-api-gw").await;
    let bundle = lab.ca_bundle("ctm-ca", lab.ctm_ca.cert_pem()).await;
    let created = lab.create_gateway(Some(&cert), &[&bundle]).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json);
    assert_eq!(created.json["lifecycleState"], "CREATING");
    assert_eq!(created.json["ipAddresses"], json!([{"ipAddress": "172.16.1.103"}]));
    assert_eq!(created.json["certificateId"], cert.as_str());
    assert_eq!(created.json["caBundles"], json!([{"type": "CA_BUNDLE", "caBundleId": bundle}]));
    let hostname = created.json["hostname"].as_str().expect("hostname").to_string();
    assert!(hostname.ends_with(".apigateway.eu-frankfurt-1.oci.customer-oci.com"), "{hostname}");
    assert!(created.headers.contains_key("etag"));
    let gw_id = created.id();
    assert!(gw_id.starts_with("ocid1.apigateway."), "{gw_id}");
    assert_eq!(lab.net.owner_of(Ipv4Addr::new(172, 16, 1, 103)).as_deref(), Some("API gateway API-GW"));

    let wr_id = created.work_request();
    let wr = eventually("create work request SUCCEEDED", || async {
        let r = lab.call(Method::GET, &format!("/workRequests/{wr_id}"), None).await;
        if r.json["status"] == "SUCCEEDED" { Ok(r.json) } else { Err(r.json.to_string()) }
    })
    .await;
    assert_eq!(wr["operationType"], "CREATE_GATEWAY");
    assert_eq!(wr["resources"][0]["identifier"], gw_id.as_str());
    assert_eq!(wr["resources"][0]["entityType"], "gateway");
    assert_eq!(wr["resources"][0]["actionType"], "CREATED");
    let gw = lab.wait_state(&format!("/gateways/{gw_id}"), "ACTIVE").await;
    assert!(lab.service.gateway_runtime(&gw_id).is_some());

    // ListWorkRequests answers `WorkRequestCollection` of the SDK's `WorkRequestSummary`, whose
    // id is `workRequestId` (oci/apigateway/models/work_request_summary.py), no `resources`.
    let url = format!("/workRequests?compartmentId={}&resourceId={gw_id}", lab.compartment());
    let listed = lab.call(Method::GET, &url, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.json);
    let row = &listed.json["items"][0];
    let keys: std::collections::BTreeSet<&str> = row.as_object().expect("row").keys().map(String::as_str).collect();
    let expected = [
        "compartmentId",
        "operationType",
        "percentComplete",
        "status",
        "timeAccepted",
        "timeFinished",
        "timeStarted",
        "workRequestId",
    ];
    assert_eq!(keys, expected.into_iter().collect(), "{row}");
    assert_eq!((row["workRequestId"].as_str(), row["status"].as_str()), (Some(wr_id.as_str()), Some("SUCCEEDED")));
    assert_eq!(row["percentComplete"], 100.0);
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(1), "{:?}", listed.json);

    let listed = lab.call(Method::GET, &format!("/gateways?compartmentId={}", lab.compartment()), None).await;
    assert_eq!(listed.json["items"][0]["id"], gw_id.as_str(), "{:?}", listed.json);

    // The tutorial's Task 7 deployment against a CTM stand-in.
    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    lab.host.pin(CTM_HOST, 443, backend.local_addr);
    let dep = lab.create_deployment(&gw_id, &tutorial_spec()).await;
    assert_eq!(dep.status, StatusCode::OK, "{:?}", dep.json);
    assert_eq!(dep.json["lifecycleState"], "CREATING");
    assert_eq!(dep.json["endpoint"], format!("https://{hostname}{EKM_PREFIX}"));
    assert_eq!(dep.json["specification"]["routes"][0]["path"], "/{path*}");
    let dep_id = dep.id();
    assert!(dep.headers.contains_key(control::WORK_REQUEST_HEADER));
    lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;

    let client = lab.gateway_client(&gw);
    let (status, echo) = through_gateway(&client, &format!("{EKM_PREFIX}/vaults/v1/keys/k1/encrypt")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["path"], format!("{EKM_PREFIX}/vaults/v1/keys/k1/encrypt"));
    assert_eq!(echo["method"], "GET");

    // A gateway with deployments cannot be deleted.
    let refused = lab.call(Method::DELETE, &format!("/gateways/{gw_id}"), None).await;
    refused.assert_error(StatusCode::CONFLICT, "Conflict", &dep_id);

    let del = lab.call(Method::DELETE, &format!("/deployments/{dep_id}"), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    assert!(del.headers.contains_key(control::WORK_REQUEST_HEADER));
    lab.wait_state(&format!("/deployments/{dep_id}"), "DELETED").await;
    let (status, _) = through_gateway(&client, &format!("{EKM_PREFIX}/vaults/v1/keys/k1/encrypt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no deployment serves the prefix any more");

    let del = lab.call(Method::DELETE, &format!("/gateways/{gw_id}"), None).await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{:?}", del.json);
    lab.wait_state(&format!("/gateways/{gw_id}"), "DELETED").await;
    assert_eq!(lab.net.owner_of(Ipv4Addr::new(172, 16, 1, 103)), None, "IP released");
    let req = Request::builder().uri(format!("https://{GW_HOST}/")).body(Body::empty()).expect("request");
    assert!(client.send(req).await.is_err(), "the gateway no longer listens");
    let listed = lab.call(Method::GET, &format!("/gateways?compartmentId={}", lab.compartment()), None).await;
    assert_eq!(listed.json["items"], json!([]), "deleted gateways are not listed");
}

#[tokio::test]
async fn ecdsa_certificate_is_refused_with_the_friendly_message() {
    let lab = Lab::start().await;
    let ec = lab.ctm_ca.issue_server(&[GW_HOST, "172.16.1.103"]).expect("ecdsa cert");
    let cert = lab.import("oci-api-gw-ec", &ec).await;
    let r = lab.create_gateway(Some(&cert), &[]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", ECDSA_REFUSED);
    assert!(r.json["message"].as_str().unwrap_or_default().starts_with("certificateId: "));
    assert_eq!(lab.net.owner_of(Ipv4Addr::new(172, 16, 1, 103)), None, "no IP is taken by a refused create");
}

#[tokio::test]
async fn unknown_references_and_missing_fields_are_refused() {
    let lab = Lab::start().await;
    let c = lab.compartment();
    let unknown_subnet = hyok_core::ids::regional_ocid("subnet");
    let r = lab
        .call(
            Method::POST,
            "/gateways",
            Some(&json!({"compartmentId": c, "endpointType": "PRIVATE", "subnetId": unknown_subnet})),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", &unknown_subnet);
    let r = lab
        .call(Method::POST, "/gateways", Some(&json!({"compartmentId": c, "endpointType": "PRIVATE", "subnetId": "x"})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "subnetId");
    let r = lab.call(Method::POST, "/gateways", Some(&json!({"compartmentId": c, "subnetId": lab.subnet_id}))).await;
    r.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "endpointType");
    let r = lab
        .call(
            Method::POST,
            "/gateways",
            Some(&json!({"compartmentId": c, "endpointType": "PUBLIC", "subnetId": lab.subnet_id})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "PUBLIC gateway needs a public subnet");
    let unknown_cert = hyok_core::ids::regional_ocid("certificate");
    let r = lab.create_gateway(Some(&unknown_cert), &[]).await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", &unknown_cert);
    let unknown_bundle = hyok_core::ids::regional_ocid("cabundle");
    let r = lab.create_gateway(None, &[&unknown_bundle]).await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", &unknown_bundle);
    let other_compartment = hyok_core::ids::ocid("compartment", None);
    let r = lab
        .call(
            Method::POST,
            "/gateways",
            Some(&json!({"compartmentId": other_compartment, "endpointType": "PRIVATE", "subnetId": lab.subnet_id})),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "compartment");
    let r = lab.call(Method::POST, "/gateways", Some(&json!({"compartmentId": 5}))).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "compartmentId");
    let r = lab.call(Method::GET, &format!("/gateways/{}", hyok_core::ids::regional_ocid("apigateway")), None).await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "not found");
    let r = lab.call(Method::GET, "/gateways", None).await;
    r.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "compartmentId");
    assert_eq!(lab.net.owner_of(Ipv4Addr::new(172, 16, 1, 103)), None);
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let lab = Lab::start().await;
    let req = lab.request(Method::GET, &format!("/gateways?compartmentId={}", lab.compartment()), None);
    let r = lab.send(req).await;
    r.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "");
    let mut req = lab.request(Method::POST, "/gateways", Some(&json!({"compartmentId": lab.compartment()})));
    req.headers_mut().insert("authorization", http::HeaderValue::from_static("Bearer nope"));
    lab.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_oci_shape() {
    let lab = Lab::start().await;
    let r = lab.call(Method::GET, "/gatewayz", None).await;
    r.assert_error(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", "Unknown resource path");
    let r = lab.call(Method::PATCH, "/gateways", Some(&json!({}))).await;
    r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "PATCH");
    let r = lab.call(Method::GET, &format!("/gateways?compartmentId={}&limit=0", lab.compartment()), None).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "limit");
    let r = lab.call(Method::GET, &format!("/deployments?compartmentId={}&sortBy=size", lab.compartment()), None).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "sortBy");
}

#[tokio::test]
async fn work_waits_for_the_lifecycle_delay_on_the_clock() {
    // A delay no real time would reach within the test: only the clock's advance starts the work.
    let delay = Duration::from_secs(60);
    let lab = Lab::build_with("127.0.0.1:0", LoopbackHost::new(), None, delay).await;
    let created = lab.create_gateway(None, &[]).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json);
    let (gw, wr) = (created.id(), created.work_request());
    // Let the work task run up to its pause.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    let seen = lab.call(Method::GET, &format!("/gateways/{gw}"), None).await;
    assert_eq!(seen.json["lifecycleState"], "CREATING", "clients observe CREATING");
    let pending = lab.call(Method::GET, &format!("/workRequests/{wr}"), None).await;
    assert_eq!(pending.json["status"], "ACCEPTED");
    assert_eq!(pending.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));

    lab.clock.advance(delay);
    lab.wait_state(&format!("/gateways/{gw}"), "ACTIVE").await;
    let done = lab.call(Method::GET, &format!("/workRequests/{wr}"), None).await;
    assert_eq!(done.json["status"], "SUCCEEDED");
    assert!(done.headers.get("retry-after").is_none());
}

#[tokio::test]
async fn invalid_specification_names_the_field() {
    let lab = Lab::start().await;
    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id");
    let bad_param = json!({"routes": [{
        "path": "/{path*}",
        "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/${{request.path[nope]}}")}
    }]});
    let r = lab.create_deployment(gw_id, &bad_param).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "specification.routes[0].backend.url");
    let bad_type = json!({"routes": [{"path": "/x", "backend": {"type": "HTTP_BACKEND", "url": "https://a.lab/", "readTimeoutInSeconds": "slow"}}]});
    let r = lab.create_deployment(gw_id, &bad_type).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "specification.routes[0].backend.readTimeoutInSeconds");
    let two = json!({"routes": [
        {"path": "x", "backend": {"type": "HTTP_BACKEND", "url": "https://a.lab/"}},
        {"path": "/y", "methods": ["FETCH"], "backend": {"type": "HTTP_BACKEND", "url": "https://a.lab/"}}
    ]});
    let r = lab.create_deployment(gw_id, &two).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "specification.routes[0].path");
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "; specification.routes[1].methods[0]");
    let body = json!({"compartmentId": lab.compartment(), "gatewayId": gw_id, "pathPrefix": EKM_PREFIX});
    lab.call(Method::POST, "/deployments", Some(&body)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "specification",
    );
    let body = json!({"compartmentId": lab.compartment(), "gatewayId": gw_id, "pathPrefix": "api/", "specification": tutorial_spec()});
    lab.call(Method::POST, "/deployments", Some(&body)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "pathPrefix",
    );
    let unknown_gw = hyok_core::ids::regional_ocid("apigateway");
    lab.create_deployment(&unknown_gw, &tutorial_spec()).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        &unknown_gw,
    );
    let listed = lab.call(Method::GET, &format!("/deployments?compartmentId={}", lab.compartment()), None).await;
    assert_eq!(listed.json["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn unresolvable_backend_fails_the_deployment_until_the_name_resolves() {
    let lab = Lab::start().await;
    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id");
    let dep = lab.create_deployment(gw_id, &tutorial_spec()).await;
    assert_eq!(dep.status, StatusCode::OK, "{:?}", dep.json);
    let dep_id = dep.id();
    let failed = lab.wait_state(&format!("/deployments/{dep_id}"), "FAILED").await;
    let details = failed["lifecycleDetails"].as_str().expect("lifecycleDetails");
    assert!(details.contains(&format!("cannot resolve {CTM_HOST} in VCN {SPOKE_VCN}")), "{details}");
    let wr = lab.call(Method::GET, &format!("/workRequests/{}/errors", dep.work_request()), None).await;
    assert_eq!(wr.json["items"][0]["message"], details);
    let (status, _) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a FAILED deployment is not served");

    // OCI keeps FAILED until the deployment is updated, even once the cause is gone: nothing
    // retries it, however long it waits.
    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    lab.host.pin(CTM_HOST, 443, backend.local_addr);
    lab.clock.advance(Duration::from_secs(24 * 3600));
    tokio::task::yield_now().await;
    let still = lab.call(Method::GET, &format!("/deployments/{dep_id}"), None).await;
    assert_eq!(still.json["lifecycleState"], "FAILED");

    // If-match is honoured on the update.
    let mut stale = lab.request(Method::PUT, &format!("/deployments/{dep_id}"), Some(&json!({})));
    stale.headers_mut().insert("if-match", http::HeaderValue::from_static("not-the-etag"));
    hyok_test_support::oci::sign(&mut stale, &lab.tenancy);
    lab.send(stale).await.assert_error(StatusCode::PRECONDITION_FAILED, "NoEtagMatch", "if-match");

    let upd = lab.call(Method::PUT, &format!("/deployments/{dep_id}"), Some(&json!({}))).await;
    assert_eq!(upd.status, StatusCode::ACCEPTED, "{:?}", upd.json);
    let wr_id = upd.work_request();
    let active = lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;
    assert!(active.get("lifecycleDetails").is_none(), "{active}");
    let wr = lab.call(Method::GET, &format!("/workRequests/{wr_id}"), None).await;
    assert_eq!(wr.json["operationType"], "UPDATE_DEPLOYMENT");
    assert_eq!(wr.json["status"], "SUCCEEDED");
    let (status, echo) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/healthz")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["path"], format!("{EKM_PREFIX}/healthz"));
}

#[tokio::test]
async fn untrusted_backend_certificate_is_fixed_by_adding_a_ca_bundle() {
    let lab = Lab::start().await;
    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id").to_string();
    // CTM presents a certificate from a CA the gateway does not know.
    let other_ca = LabCa::generate("CTM ASH CA").expect("ca");
    let backend = lab.ctm_backend(&other_ca).await;
    lab.host.pin(CTM_HOST, 443, backend.local_addr);
    let dep = lab.create_deployment(&gw_id, &tutorial_spec()).await;
    let dep_id = dep.id();
    let failed = lab.wait_state(&format!("/deployments/{dep_id}"), "FAILED").await;
    let details = failed["lifecycleDetails"].as_str().expect("details");
    assert!(details.starts_with("certificate not trusted"), "{details}");
    assert!(details.contains(CTM_HOST), "{details}");

    let bundle_ctm = lab.service.gateway(&gw_id).expect("gateway").ca_bundles[0].ca_bundle_id.clone().expect("id");
    let bundle_ash = lab.ca_bundle("ctm-ash-ca", other_ca.cert_pem()).await;
    let body = json!({"caBundles": [
        {"type": "CA_BUNDLE", "caBundleId": bundle_ctm},
        {"type": "CA_BUNDLE", "caBundleId": bundle_ash}
    ]});
    let upd = lab.call(Method::PUT, &format!("/gateways/{gw_id}"), Some(&body)).await;
    assert_eq!(upd.status, StatusCode::ACCEPTED, "{:?}", upd.json);
    let updated = lab.wait_state(&format!("/gateways/{gw_id}"), "ACTIVE").await;
    assert_eq!(updated["caBundles"][1]["caBundleId"], bundle_ash.as_str());

    // Redeploy: the same specification again.
    let upd = lab
        .call(Method::PUT, &format!("/deployments/{dep_id}"), Some(&json!({"specification": tutorial_spec()})))
        .await;
    assert_eq!(upd.status, StatusCode::ACCEPTED, "{:?}", upd.json);
    lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;
    let (status, echo) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/vaults")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");

    // The create's health check left a hop event under the create's request id.
    let rid = dep.headers.get("opc-request-id").and_then(|v| v.to_str().ok()).expect("request id");
    let events = lab.host.events().by_request(rid);
    assert!(
        events.iter().any(|e| e.hop.contains("health check") && e.reason.contains("certificate not trusted")),
        "{events:?}"
    );
}

#[tokio::test]
async fn new_certificate_rebuilds_the_listener_and_keeps_deployments() {
    let lab = Lab::start().await;
    let gw = lab.active_gateway().await;
    let gw_id = gw["id"].as_str().expect("id").to_string();
    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    lab.host.pin(CTM_HOST, 443, backend.local_addr);
    let dep_id = lab.create_deployment(&gw_id, &tutorial_spec()).await.id();
    lab.wait_state(&format!("/deployments/{dep_id}"), "ACTIVE").await;

    // An ECDSA replacement is refused up front; the gateway stays as it was.
    let ec = lab.ctm_ca.issue_server(&[GW_HOST]).expect("ec");
    let ec_id = lab.import("ec", &ec).await;
    let r = lab.call(Method::PUT, &format!("/gateways/{gw_id}"), Some(&json!({"certificateId": ec_id}))).await;
    r.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", ECDSA_REFUSED);

    // Back to the default certificate (empty certificateId): RSA, for the gateway's host name,
    // from the lab's public root.
    let upd = lab.call(Method::PUT, &format!("/gateways/{gw_id}"), Some(&json!({"certificateId": ""}))).await;
    assert_eq!(upd.status, StatusCode::ACCEPTED, "{:?}", upd.json);
    let gw = lab.wait_state(&format!("/gateways/{gw_id}"), "ACTIVE").await;
    assert!(gw.get("certificateId").is_none(), "{gw}");
    let hostname = gw["hostname"].as_str().expect("hostname");
    let real = lab.host.real(hostname, GATEWAY_PORT).expect("hosted");
    let dial = StaticDial::new().pin(hostname, 443, real);
    let tls = hyok_core::tls::client_config(lab.host.public_ca().cert_pem()).expect("tls");
    let client = HttpClient::new(Arc::new(dial), tls);
    let req = Request::builder()
        .uri(format!("https://{hostname}{EKM_PREFIX}/after-rotation"))
        .body(Body::empty())
        .expect("request");
    let resp = client.send(req).await.expect("default certificate is trusted by the public root");
    assert_eq!(resp.status(), StatusCode::OK);
    let echo: Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(echo["path"], format!("{EKM_PREFIX}/after-rotation"), "deployment survived the new listener");

    // Lab shutdown stops every data plane.
    lab.service.shutdown().await;
    let req = Request::builder().uri(format!("https://{hostname}/")).body(Body::empty()).expect("request");
    assert!(client.send(req).await.is_err(), "nothing listens after shutdown");
    assert!(lab.service.gateway_runtime(&gw_id).is_none());
}

#[tokio::test]
async fn retry_token_replays_the_create() {
    let lab = Lab::start().await;
    let cert = lab.import_gateway_cert("oci-api-gw").await;
    let body = json!({
        "compartmentId": lab.compartment(), "displayName": "API-GW", "endpointType": "PRIVATE",
        "subnetId": lab.subnet_id, "certificateId": cert,
    });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut req = lab.request(Method::POST, "/gateways", Some(&body));
        req.headers_mut().insert("opc-retry-token", http::HeaderValue::from_static("gw-create-1"));
        hyok_test_support::oci::sign(&mut req, &lab.tenancy);
        let r = lab.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        ids.push((r.id(), r.work_request()));
    }
    assert_eq!(ids[0], ids[1], "same resource and work request");
    assert_eq!(lab.net.owner_of(Ipv4Addr::new(172, 16, 1, 104)), None, "only one IP taken");
}

// ---------------------------------------------------------------------------------------------
// The official CLI

#[tokio::test]
async fn official_cli_creates_a_gateway_and_a_deployment() {
    let Some(cli) = hyok_test_support::oci_cli::cli_or_skip() else { return };
    let lab = Lab::start().await;
    let cert = lab.import_gateway_cert("oci-api-gw").await;
    let bundle = lab.ca_bundle("ctm-ca", lab.ctm_ca.cert_pem()).await;
    let ec = lab.ctm_ca.issue_server(&[GW_HOST]).expect("ec");
    let ec_cert = lab.import("oci-api-gw-ec", &ec).await;
    let backend = lab.ctm_backend(&lab.ctm_ca).await;
    lab.host.pin(CTM_HOST, 443, backend.local_addr);

    let tmp = tempfile::TempDir::new().expect("dir");
    let dir = tmp.path();
    let ca_path = dir.join("web-root.pem");
    std::fs::write(&ca_path, lab.web_ca.cert_pem()).expect("ca");
    std::fs::write(dir.join("spec.json"), serde_json::to_vec_pretty(&tutorial_spec()).expect("json")).expect("spec");
    let endpoint = format!("https://127.0.0.1:{}", lab.server.local_addr.port());
    hyok_oci_rest::write_cli_config(
        dir,
        &lab.tenancy,
        Some(&ca_path),
        &[hyok_oci_rest::tenancy::CliEndpoint { name: "apigateway".into(), url: endpoint }],
    )
    .expect("cli config");
    let env = [
        ("OCI_LAB_SUBNET_ID", lab.subnet_id.as_str()),
        ("OCI_LAB_CERTIFICATE_ID", &cert),
        ("OCI_LAB_ECDSA_CERTIFICATE_ID", &ec_cert),
        ("OCI_LAB_CA_BUNDLE_ID", &bundle),
    ];
    let out = hyok_test_support::oci_cli::run_script("apigateway.sh", &cli, dir, &env).await;

    // What the CLI created serves traffic.
    let gw_id = out.value("gateway");
    let gw = serde_json::to_value(lab.service.gateway(gw_id).expect("gateway")).expect("json");
    assert_eq!(gw["ipAddresses"][0]["ipAddress"], "172.16.1.103");
    let (status, echo) = through_gateway(&lab.gateway_client(&gw), &format!("{EKM_PREFIX}/cli-check")).await;
    assert_eq!(status, StatusCode::OK, "{echo}");
    assert_eq!(echo["path"], format!("{EKM_PREFIX}/cli-check"));
}
