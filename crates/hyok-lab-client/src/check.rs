//! `hyok-lab check`: grade a lab that a student configured by hand, task by task.
//!
//! Invariant: the grader reads the lab only through the public APIs a student has (OCI,
//! identity domain SCIM, CipherTrust Manager, DNS), never the lab's in-process state, so a
//! verdict here is what the student can see for themselves. It never changes anything (it
//! does not reveal client secrets, which the identity domain shows once).
//!
//! Two phases: [`Seen::gather`] makes every call (concurrently), then `grade` turns what was
//! seen into one verdict per tutorial task, without I/O.

use crate::{
    info::LabInfo,
    scenario::{Auth, authorize, lab_signer},
};
use axum::body::Body;
use bytes::Bytes;
use hyok_core::client::{ClientError, HttpClient};
use serde::Serialize;
use serde_json::Value;
use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

// Names the tutorial gives to what the student creates, and the world's fixed names.
const SPOKE_VCN: &str = "fra-spoke-a-vcn";
const SPOKE_SUBNET: &str = "fra-spoke-a-private-subnet";
const HUB_VIEW: &str = "fra-hub-private-view";
const GATEWAY_FQDN: &str = "oci-api-gw.oci-thales.lab";
const CA_BUNDLE: &str = "thales-ca";
const GATEWAY_NAME: &str = "API-GW";
const RESOURCE_APP: &str = "Resource_App";
const CLIENT_APP: &str = "Client_App";
const ISSUER_NAME: &str = "OCI";
const CTM_VAULT_NAME: &str = "OCI";
const EKM_PREFIX: &str = "/api/v1/cckm/oci/ekm/v1";
const ROUTE_PATH: &str = "/{path*}";
const BUCKET: &str = "OCI_EKMS_Test_Bucket";
const SCOPE: &str = "oci_ekms";
/// Pages followed per OCI list at most (100 items each).
const MAX_PAGES: usize = 20;

/// Tutorial task titles, Task 1 first.
pub const TASK_TITLES: [&str; 18] = [
    "Review the architecture",
    "Configure OCI DNS for all locations",
    "Create a certificate for the OCI API Gateway",
    "Upload the signed OCI API Gateway certificate with the CA bundle",
    "Allow the private endpoint to reach the OCI API Gateway (security list)",
    "Create an OCI API Gateway",
    "Create an API deployment with FQDN details",
    "Create a confidential resource app and client app",
    "Collect the identity domain URL",
    "Create the identity provider in CipherTrust Manager",
    "Add the OCI tenancy in CipherTrust Manager",
    "Create a private endpoint for the External Key Manager Service",
    "Add the external vault in CipherTrust Manager",
    "Create the OCI External Key Management Service vault",
    "Add the external key in CipherTrust Manager",
    "Create the key reference in OCI",
    "Create an Object Storage bucket with the customer-managed key",
    "Block and unblock the key; test the bucket",
];

/// A task's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Configured as the tutorial asks.
    Done,
    /// Not (yet) configured.
    NotDone,
    /// Configured, but a field holds something that breaks the setup.
    Wrong,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::NotDone => "not done",
            Status::Wrong => "WRONG",
        }
    }
}

/// Which variant of the setup the student built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Setup {
    /// Private endpoint → API gateway → CTM (the tutorial).
    ApiGateway,
    /// Private endpoint straight at CTM's IP; Tasks 3, 4, 6 and 7 have nothing to do.
    Direct,
}

/// One task's verdict with what was seen.
#[derive(Debug, Clone, Serialize)]
pub struct TaskCheck {
    /// Tutorial task number (1–18).
    pub number: u32,
    /// Title.
    pub title: String,
    /// Verdict.
    pub status: Status,
    /// For `done`: what was verified. For `not_done`: what is missing. For `wrong`: one hint per
    /// wrong field (the field, what it holds, what is expected).
    pub details: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The lab checked.
    pub lab_dir: PathBuf,
    /// The setup variant, decided from the private endpoint's `externalKeyManagerIp`.
    pub setup: Setup,
    /// Tasks 1–18 in order.
    pub tasks: Vec<TaskCheck>,
    /// Time the check took, in milliseconds.
    pub millis: f64,
}

impl CheckReport {
    /// True when every task is done.
    pub fn all_done(&self) -> bool {
        self.tasks.iter().all(|t| t.status == Status::Done)
    }

    /// The verdict of task `number`.
    pub fn task(&self, number: u32) -> Option<&TaskCheck> {
        self.tasks.iter().find(|t| t.number == number)
    }

    /// Text for people.
    pub fn render(&self) -> String {
        let setup = match self.setup {
            Setup::ApiGateway => "private endpoint → API gateway → CTM",
            Setup::Direct => "private endpoint → CTM directly, no API gateway",
        };
        let mut out = format!("HYOK Lab check of {} ({setup})\n\n", self.lab_dir.display());
        for t in &self.tasks {
            out.push_str(&format!("Task {:>2}  {:<8}  {}\n", t.number, t.status.label(), t.title));
            for d in &t.details {
                if t.status == Status::Wrong {
                    out.push_str(&format!("          Task {}: {d}\n", t.number));
                } else {
                    out.push_str(&format!("          {d}\n"));
                }
            }
        }
        let count = |s: Status| self.tasks.iter().filter(|t| t.status == s).count();
        out.push_str(&format!(
            "\n{} of {} tasks done, {} not done, {} wrong ({:.0} ms).\n",
            count(Status::Done),
            self.tasks.len(),
            count(Status::NotDone),
            count(Status::Wrong),
            self.millis
        ));
        out
    }
}

/// Check the lab in `lab_dir`. Errors only when the lab cannot be reached at all; a service
/// that fails to answer makes the tasks that need it "not done" with the reason.
pub async fn check(lab_dir: &Path) -> Result<CheckReport, String> {
    let started = Instant::now();
    let api = Api::open(lab_dir)?;
    let seen = Seen::gather(&api).await;
    let (setup, tasks) = grade(&seen);
    Ok(CheckReport {
        lab_dir: api.info.lab_dir.clone(),
        setup,
        tasks,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    })
}

// ---- reading the lab like a student ---------------------------------------------------------

/// A student's view of the lab: lab.json, a host client, the OCI API key.
struct Api {
    info: LabInfo,
    http: HttpClient,
    signer: Option<(rsa::PrivateKey, String)>,
}

type Fetched<T> = Result<T, String>;

impl Api {
    fn open(lab_dir: &Path) -> Result<Self, String> {
        let info = LabInfo::load(lab_dir).map_err(|e| e.to_string())?;
        let http = info.host_client()?.with_timeout(Duration::from_secs(15));
        let signer = lab_signer(&info)?;
        Ok(Self { info, http, signer })
    }

    fn credential(&self, path: &str) -> String {
        let mut v = Value::Object(self.info.credentials.clone());
        for part in path.split('.') {
            v = v.get(part).cloned().unwrap_or(Value::Null);
        }
        v.as_str().unwrap_or_default().to_string()
    }

    fn url(&self, service: &str) -> Fetched<String> {
        self.info
            .service(service)
            .map(|s| s.lab_url.clone())
            .ok_or_else(|| format!("{service} is not running in this lab"))
    }

    /// One request with `auth`; the outer error is a request that could not be built.
    async fn exchange(
        &self,
        method: &str,
        url: &str,
        auth: &Auth,
        body: Option<&Value>,
    ) -> Fetched<Result<http::Response<Bytes>, NoAnswer>> {
        let request_id = format!("check-{}", &hyok_core::ids::hex32()[..12]);
        let mut b = http::Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/json")
            .header("opc-request-id", request_id.as_str());
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(v).map_err(|e| e.to_string())?)
            }
            None => Bytes::new(),
        };
        let mut req = b.body(bytes).map_err(|e| format!("bad request {method} {url}: {e}"))?;
        authorize(&mut req, auth, self.signer.as_ref())?;
        let (parts, bytes) = req.into_parts();
        let answer = self.http.send(http::Request::from_parts(parts, Body::from(bytes))).await;
        Ok(answer.map_err(|error| NoAnswer { error, request_id }))
    }

    async fn send(&self, method: &str, url: &str, auth: &Auth, body: Option<&Value>) -> Fetched<http::Response<Bytes>> {
        self.exchange(method, url, auth, body).await?.map_err(|e| format!("{method} {url} did not get an answer: {e}"))
    }

    /// GET JSON; `None` on 404, an error on any other non-2xx.
    async fn get_opt(&self, url: &str, auth: &Auth) -> Fetched<Option<Value>> {
        let resp = self.send("GET", url, auth, None).await?;
        match resp.status().as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => serde_json::from_slice(resp.body())
                .map(Some)
                .map_err(|e| format!("GET {url}: the answer is not JSON: {e}")),
            _ => Err(refused("GET", url, &resp)),
        }
    }

    async fn get(&self, url: &str, auth: &Auth) -> Fetched<Value> {
        self.get_opt(url, auth).await?.ok_or_else(|| format!("GET {url} answered HTTP 404"))
    }

    /// An OCI list, following `opc-next-page`; core, DNS and API Gateway lists may be a bare
    /// array or `{items}`.
    async fn oci_list(&self, base: &str, path_and_query: String) -> Fetched<Vec<Value>> {
        let sep = if path_and_query.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = format!("{base}{path_and_query}{sep}limit=100");
            if let Some(p) = &page {
                url.push_str("&page=");
                url.push_str(p);
            }
            let resp = self.send("GET", &url, &Auth::Oci, None).await?;
            if !resp.status().is_success() {
                return Err(refused("GET", &url, &resp));
            }
            let v: Value = serde_json::from_slice(resp.body()).map_err(|e| format!("GET {url}: not JSON: {e}"))?;
            match v {
                Value::Array(a) => out.extend(a),
                Value::Object(mut m) => match m.remove("items") {
                    Some(Value::Array(a)) => out.extend(a),
                    _ => return Err(format!("GET {url}: the answer has no items")),
                },
                _ => return Err(format!("GET {url}: the answer is not a list")),
            }
            page = resp.headers().get("opc-next-page").and_then(|h| h.to_str().ok()).map(str::to_string);
            if page.is_none() {
                break;
            }
        }
        Ok(out.into_iter().filter(is_live).collect())
    }
}

/// "GET url answered HTTP 500: body…"
fn refused(method: &str, url: &str, resp: &http::Response<Bytes>) -> String {
    format!("{method} {url} answered HTTP {}: {}", resp.status().as_u16(), short(&String::from_utf8_lossy(resp.body())))
}

fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `/a/b` of a JSON value as text ("" when absent or not a string).
fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn state(v: &Value) -> &str {
    text(v, "/lifecycleState")
}

fn is_live(v: &Value) -> bool {
    !matches!(
        state(v),
        "DELETED" | "DELETING" | "TERMINATED" | "TERMINATING" | "SCHEDULING_DELETION" | "PENDING_DELETION"
    )
}

/// The resource a student most likely means: the tutorial's name, then a usable state, then
/// the newest.
fn pick<'a>(items: &'a [Value], name_field: &str, name: &str) -> Option<&'a Value> {
    items.iter().max_by_key(|v| {
        (text(v, name_field) == name, matches!(state(v), "ACTIVE" | "ENABLED"), text(v, "/timeCreated").to_string())
    })
}

/// Percent-encode for a URL path, keeping `/`.
fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- what the lab shows ---------------------------------------------------------------------

/// Task 2's view: spoke A's resolver and a live lookup through it.
struct DnsSeen {
    attached: Vec<String>,
    view_names: Vec<(String, String)>,
    hub_view: Option<String>,
    lookup: Fetched<Vec<Ipv4Addr>>,
}

/// Spoke A's private subnet and its security lists.
struct SubnetSeen {
    subnet: Value,
    security_lists: Vec<Value>,
}

/// Everything read from CipherTrust Manager.
#[derive(Default)]
struct CtmSeen {
    root_der: Vec<u8>,
    root_subject: String,
    issued: Vec<Value>,
    issuers: Vec<Value>,
    tenancies: Vec<Value>,
    vaults: Vec<Value>,
    keys: Vec<Value>,
}

/// Task 8's apps (none, one or several with each name).
struct AppsSeen {
    resource: Vec<Value>,
    client: Vec<Value>,
}

/// What reading the bucket's object gave.
enum ObjectRead {
    Readable { name: String, bytes: usize },
    Blocked { name: String, code: String, message: String },
    Failed { name: String, why: String },
}

/// Object Storage as seen for Tasks 17 and 18.
enum StorageSeen {
    NotRunning,
    NoBucket,
    /// The bucket is listed, but its KMS key refuses (HTTP 409): its details are unavailable.
    Locked {
        code: String,
        message: String,
    },
    Seen {
        bucket: Value,
        objects: Vec<String>,
        read: Option<ObjectRead>,
    },
}

struct Seen {
    ctm_ip: String,
    ctm_host: String,
    domain_url: String,
    tenancy: String,
    dns: Fetched<DnsSeen>,
    subnet: Fetched<Option<SubnetSeen>>,
    ctm: Fetched<CtmSeen>,
    bundles: Fetched<Vec<Value>>,
    certificates: Fetched<Vec<Value>>,
    gateways: Fetched<Vec<Value>>,
    deployments: Fetched<Vec<Value>>,
    apps: Fetched<AppsSeen>,
    pes: Fetched<Vec<Value>>,
    vaults: Fetched<Vec<Value>>,
    oci_keys: Fetched<Vec<Value>>,
    storage: Fetched<StorageSeen>,
}

impl Seen {
    async fn gather(api: &Api) -> Self {
        let compartment = api.credential("oci.compartment");
        let (dns_subnet, ctm, certs, apigw, apps, kms, storage) = tokio::join!(
            gather_network(api, &compartment),
            gather_ctm(api),
            gather_certificates(api, &compartment),
            gather_apigateway(api, &compartment),
            gather_apps(api),
            gather_kms(api, &compartment),
            gather_storage(api),
        );
        let (dns, subnet) = dns_subnet;
        let (bundles, certificates) = certs;
        let (gateways, deployments) = apigw;
        let (pes, vaults, oci_keys) = kms;
        Seen {
            ctm_ip: api.info.service("ctm-ams").map(|s| s.virtual_ip.to_string()).unwrap_or_default(),
            ctm_host: api.info.service("ctm-ams").map(|s| s.host.clone()).unwrap_or_default(),
            domain_url: api.credential("identity.domain_url"),
            tenancy: api.credential("oci.tenancy"),
            dns,
            subnet,
            ctm,
            bundles,
            certificates,
            gateways,
            deployments,
            apps,
            pes,
            vaults,
            oci_keys,
            storage,
        }
    }
}

async fn gather_network(api: &Api, compartment: &str) -> (Fetched<DnsSeen>, Fetched<Option<SubnetSeen>>) {
    let spoke = async {
        let iaas = api.url("oci-iaas")?;
        let vcns = api.oci_list(&iaas, format!("/20160918/vcns?compartmentId={compartment}")).await?;
        Ok::<_, String>(
            pick(&vcns, "/displayName", SPOKE_VCN)
                .filter(|v| text(v, "/displayName") == SPOKE_VCN)
                .map(|v| text(v, "/id").to_string()),
        )
    };
    let spoke = spoke.await;
    let dns = async {
        let spoke = spoke.clone()?.ok_or_else(|| format!("no VCN {SPOKE_VCN} in the compartment"))?;
        let iaas = api.url("oci-iaas")?;
        let dns_url = api.url("oci-dns")?;
        let assoc = api.get(&format!("{iaas}/20160918/vcns/{spoke}/dnsResolverAssociation"), &Auth::Oci).await?;
        let resolver = api
            .get(&format!("{dns_url}/20180115/resolvers/{}?scope=PRIVATE", text(&assoc, "/dnsResolverId")), &Auth::Oci)
            .await?;
        let views =
            api.oci_list(&dns_url, format!("/20180115/views?compartmentId={compartment}&scope=PRIVATE")).await?;
        let attached = resolver
            .get("attachedViews")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| text(v, "/viewId").to_string()).collect())
            .unwrap_or_default();
        let view_names: Vec<(String, String)> =
            views.iter().map(|v| (text(v, "/id").to_string(), text(v, "/displayName").to_string())).collect();
        let hub_view = view_names.iter().find(|(_, n)| n == HUB_VIEW).map(|(id, _)| id.clone());
        Ok(DnsSeen { attached, view_names, hub_view, lookup: lookup_from_spoke(api).await })
    };
    let subnet = async {
        let Some(spoke) = spoke.clone()? else { return Ok(None) };
        let iaas = api.url("oci-iaas")?;
        let subnets =
            api.oci_list(&iaas, format!("/20160918/subnets?compartmentId={compartment}&vcnId={spoke}")).await?;
        let Some(subnet) = subnets.into_iter().find(|s| text(s, "/displayName") == SPOKE_SUBNET) else {
            return Ok(None);
        };
        let mut security_lists = Vec::new();
        for id in subnet.get("securityListIds").and_then(Value::as_array).into_iter().flatten() {
            let id = id.as_str().unwrap_or_default();
            security_lists.push(api.get(&format!("{iaas}/20160918/securityLists/{id}"), &Auth::Oci).await?);
        }
        Ok(Some(SubnetSeen { subnet, security_lists }))
    };
    tokio::join!(dns, subnet)
}

/// Resolve CTM's name through spoke A's own resolver, as a host in spoke A would.
async fn lookup_from_spoke(api: &Api) -> Fetched<Vec<Ipv4Addr>> {
    let ctm_host = api.info.service("ctm-ams").map(|s| s.host.clone()).ok_or("ctm-ams is not in lab.json")?;
    let resolver = api
        .info
        .dns
        .vcn_resolvers
        .iter()
        .find(|r| r.vcn == SPOKE_VCN)
        .ok_or_else(|| format!("lab.json lists no DNS resolver for {SPOKE_VCN}"))?;
    match hyok_core::dns::query_a(resolver.address, &ctm_host).await {
        Ok(Ok(ips)) => Ok(ips),
        Ok(Err(code)) => Err(format!("{ctm_host} does not resolve in {SPOKE_VCN} ({code})")),
        Err(e) => Err(format!("spoke A's resolver at {} did not answer: {e}", resolver.address)),
    }
}

async fn gather_ctm(api: &Api) -> Fetched<CtmSeen> {
    let base = api.url("ctm-ams")?;
    let login = serde_json::json!({
        "grant_type": "password",
        "username": api.credential("ctm.username"),
        "password": api.credential("ctm.password"),
    });
    let resp = api.send("POST", &format!("{base}/api/v1/auth/tokens"), &Auth::None, Some(&login)).await?;
    if !resp.status().is_success() {
        return Err(format!("CipherTrust Manager refused the lab's login: HTTP {}", resp.status().as_u16()));
    }
    let jwt: Value = serde_json::from_slice(resp.body()).map_err(|e| e.to_string())?;
    let auth = Auth::Bearer(text(&jwt, "/jwt").to_string());
    let list = |path: &'static str| {
        let url = format!("{base}{path}?skip=0&limit=1000");
        let auth = &auth;
        async move {
            let v = api.get(&url, auth).await?;
            Ok::<_, String>(v.get("resources").and_then(Value::as_array).cloned().unwrap_or_default())
        }
    };
    let (cas, issuers, tenancies, vaults, keys) = tokio::join!(
        list("/api/v1/ca/local-cas"),
        list("/api/v1/cckm/oci/issuers"),
        list("/api/v1/cckm/oci/tenancy"),
        list("/api/v1/cckm/oci/vaults"),
        list("/api/v1/cckm/oci/keys"),
    );
    let cas = cas?;
    let ca = cas.first().ok_or("CipherTrust Manager lists no local CA")?;
    let root_der = first_cert_der(text(ca, "/cert")).ok_or("CTM's local CA certificate is not PEM")?;
    let issued = api
        .get(&format!("{base}/api/v1/ca/local-cas/{}/certs?skip=0&limit=1000", text(ca, "/id")), &auth)
        .await?
        .get("resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(CtmSeen {
        root_der,
        root_subject: text(ca, "/subject").to_string(),
        issued,
        issuers: issuers?,
        tenancies: tenancies?,
        vaults: vaults?,
        keys: keys?,
    })
}

async fn gather_certificates(api: &Api, compartment: &str) -> (Fetched<Vec<Value>>, Fetched<Vec<Value>>) {
    let base = match api.url("oci-certificates") {
        Ok(b) => b,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    tokio::join!(
        api.oci_list(&base, format!("/20210224/caBundles?compartmentId={compartment}")),
        api.oci_list(&base, format!("/20210224/certificates?compartmentId={compartment}")),
    )
}

async fn gather_apigateway(api: &Api, compartment: &str) -> (Fetched<Vec<Value>>, Fetched<Vec<Value>>) {
    let base = match api.url("oci-apigateway") {
        Ok(b) => b,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    let (gateways, summaries) = tokio::join!(
        api.oci_list(&base, format!("/20190501/gateways?compartmentId={compartment}")),
        api.oci_list(&base, format!("/20190501/deployments?compartmentId={compartment}")),
    );
    // Summaries leave out the specification (the routes): read each deployment.
    let deployments = async {
        let mut out = Vec::new();
        for d in summaries? {
            if let Some(full) =
                api.get_opt(&format!("{base}/20190501/deployments/{}", text(&d, "/id")), &Auth::Oci).await?
            {
                out.push(full);
            }
        }
        Ok(out)
    };
    (gateways, deployments.await)
}

async fn gather_apps(api: &Api) -> Fetched<AppsSeen> {
    let base = api.url("identity")?;
    let auth = Auth::Basic(api.credential("identity.admin_client_id"), api.credential("identity.admin_client_secret"));
    let find = |name: &'static str| {
        let url = format!("{base}/admin/v1/Apps?filter=displayName%20eq%20%22{name}%22");
        let auth = &auth;
        async move {
            let v = api.get(&url, auth).await?;
            Ok::<_, String>(v.get("Resources").and_then(Value::as_array).cloned().unwrap_or_default())
        }
    };
    let (resource, client) = tokio::join!(find(RESOURCE_APP), find(CLIENT_APP));
    Ok(AppsSeen { resource: resource?, client: client? })
}

async fn gather_kms(api: &Api, compartment: &str) -> (Fetched<Vec<Value>>, Fetched<Vec<Value>>, Fetched<Vec<Value>>) {
    let base = match api.url("oci-kms") {
        Ok(b) => b,
        Err(e) => return (Err(e.clone()), Err(e.clone()), Err(e)),
    };
    let (pes, vaults) = tokio::join!(
        api.oci_list(&base, format!("/20180608/ekmsPrivateEndpoints?compartmentId={compartment}")),
        api.oci_list(&base, format!("/20180608/vaults?compartmentId={compartment}")),
    );
    // Key references live on the vault's own management endpoint; real lists give summaries, so
    // each key is read for its externalKeyReferenceDetails.
    let keys = async {
        let vaults = vaults.as_ref().map_err(Clone::clone)?;
        let Some(vault) = pick(vaults, "/displayName", "OCI_EKMS_Vault").filter(|v| state(v) == "ACTIVE") else {
            return Ok(Vec::new());
        };
        let mgmt = text(vault, "/managementEndpoint").trim_end_matches('/').to_string();
        let mut out = Vec::new();
        for k in api.oci_list(&mgmt, format!("/20180608/keys?compartmentId={compartment}")).await? {
            if let Some(full) = api.get_opt(&format!("{mgmt}/20180608/keys/{}", text(&k, "/id")), &Auth::Oci).await? {
                out.push(full);
            }
        }
        Ok(out)
    };
    let keys = keys.await;
    (pes, vaults, keys)
}

async fn gather_storage(api: &Api) -> Fetched<StorageSeen> {
    let Ok(base) = api.url("oci-objectstorage") else { return Ok(StorageSeen::NotRunning) };
    let ns = api.get(&format!("{base}/n"), &Auth::Oci).await?;
    let ns = ns.as_str().ok_or("GET /n did not answer a namespace string")?.to_string();
    let bucket_url = format!("{base}/n/{ns}/b/{BUCKET}");
    let resp = api.send("GET", &bucket_url, &Auth::Oci, None).await?;
    let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    let bucket = match resp.status().as_u16() {
        404 => return Ok(StorageSeen::NoBucket),
        // A bucket whose key is blocked refuses even its metadata.
        409 => {
            return Ok(StorageSeen::Locked {
                code: text(&body, "/code").to_string(),
                message: text(&body, "/message").to_string(),
            });
        }
        s if (200..300).contains(&s) => body,
        _ => return Err(refused("GET", &bucket_url, &resp)),
    };
    let list = api.get(&format!("{bucket_url}/o?fields=name,size"), &Auth::Oci).await?;
    let mut objects: Vec<(u64, String)> = list
        .get("objects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| (o.get("size").and_then(Value::as_u64).unwrap_or(0), text(o, "/name").to_string()))
        .collect();
    objects.sort();
    // Read the smallest object: its key must unwrap through KMS, the gateway and CTM right now.
    let read = match objects.first() {
        None => None,
        Some((_, name)) => Some(read_object(api, &format!("{bucket_url}/o/{}", path_escape(name)), name).await),
    };
    Ok(StorageSeen::Seen { bucket, objects: objects.into_iter().map(|(_, n)| n).collect(), read })
}

/// A request that got no answer, and the id under which its hops were recorded.
#[derive(Debug)]
struct NoAnswer {
    error: ClientError,
    request_id: String,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A timeout leaves hops marked abandoned; trace shows the one it was stuck at.
        match self.error {
            ClientError::Timeout(_) => {
                write!(f, "{} (where it was stuck: hyok-lab trace {})", self.error, self.request_id)
            }
            _ => write!(f, "{}", self.error),
        }
    }
}

async fn read_object(api: &Api, url: &str, name: &str) -> ObjectRead {
    let name = name.to_string();
    match api.exchange("GET", url, &Auth::Oci, None).await {
        Err(why) => ObjectRead::Failed { name, why },
        Ok(Ok(resp)) if resp.status().is_success() => ObjectRead::Readable { name, bytes: resp.body().len() },
        Ok(Ok(resp)) if resp.status().as_u16() == 409 => {
            let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
            ObjectRead::Blocked { name, code: text(&v, "/code").to_string(), message: text(&v, "/message").to_string() }
        }
        Ok(Ok(resp)) => ObjectRead::Failed { name, why: refused("GET", url, &resp) },
        // The status was 200 and more than the buffer limit decrypted: readable.
        Ok(Err(NoAnswer { error: ClientError::TooLarge(n), .. })) => ObjectRead::Readable { name, bytes: n },
        Ok(Err(e)) => ObjectRead::Failed { name, why: e.to_string() },
    }
}

// ---- certificates ---------------------------------------------------------------------------

fn pem_ders(pem: &str) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

fn first_cert_der(pem: &str) -> Option<Vec<u8>> {
    pem_ders(pem).into_iter().next()
}

/// What a certificate says about itself.
struct CertFacts {
    names: Vec<String>,
    key: String,
    is_rsa: bool,
    serial: String,
    subject: String,
}

fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    use x509_parser::{extensions::GeneralName, public_key::PublicKey};
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names: Vec<String> =
        cert.subject().iter_common_name().filter_map(|c| c.as_str().ok()).map(str::to_string).collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push((*d).to_string());
            }
        }
    }
    let pk = cert.public_key();
    let (key, is_rsa) = match pk.parsed() {
        Ok(PublicKey::RSA(r)) => (format!("RSA {}", r.key_size()), true),
        Ok(PublicKey::EC(e)) => (format!("ECDSA P-{}", e.key_size()), false),
        _ => (format!("key algorithm {}", pk.algorithm.algorithm), false),
    };
    Some(CertFacts {
        names,
        key,
        is_rsa,
        serial: norm_serial(&cert.raw_serial_as_string()),
        subject: cert.subject().to_string(),
    })
}

/// Serials as hex without separators, leading zeros or case, so CTM's and OCI's forms compare.
fn norm_serial(s: &str) -> String {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    hex.trim_start_matches('0').to_string()
}

// ---- grading --------------------------------------------------------------------------------

struct Verdicts(Vec<TaskCheck>);

impl Verdicts {
    fn push(&mut self, number: u32, status: Status, details: Vec<String>) {
        let title = TASK_TITLES.get(number as usize - 1).copied().unwrap_or_default().to_string();
        self.0.push(TaskCheck { number, title, status, details });
    }
    fn done(&mut self, number: u32, detail: impl Into<String>) {
        self.push(number, Status::Done, vec![detail.into()]);
    }
    fn not_done(&mut self, number: u32, detail: impl Into<String>) {
        self.push(number, Status::NotDone, vec![detail.into()]);
    }
    /// Wrong when there are hints, otherwise done with `ok`.
    fn judge(&mut self, number: u32, hints: Vec<String>, ok: impl Into<String>) {
        if hints.is_empty() { self.done(number, ok) } else { self.push(number, Status::Wrong, hints) }
    }
}

/// The lifecycle shared by OCI resources: FAILED adds a hint with OCI's `lifecycleDetails`;
/// any other state than `want` (still being created) is an `Err` with the not-done text.
fn settled(what: &str, v: &Value, want: &str, hints: &mut Vec<String>) -> Result<(), String> {
    match state(v) {
        s if s == want => Ok(()),
        "FAILED" => {
            let details = text(v, "/lifecycleDetails");
            let details = if details.is_empty() { "none given" } else { details };
            hints.push(format!("{what} is FAILED (lifecycleDetails: {details})"));
            Ok(())
        }
        other => Err(format!("{what} is {other}, not yet {want}; run the check again in a moment")),
    }
}

/// What the grader settled on, shared by the task checks.
struct Chosen<'a> {
    setup: Setup,
    gateway: Option<&'a Value>,
    gateway_ip: Option<String>,
    pe: Option<&'a Value>,
    resource_app: Option<&'a Value>,
    client_app: Option<&'a Value>,
    ctm_vault: Option<&'a Value>,
    ctm_key: Option<&'a Value>,
    oci_vault: Option<&'a Value>,
    oci_key: Option<&'a Value>,
}

fn ok<T>(f: &Fetched<Vec<T>>) -> &[T] {
    f.as_deref().unwrap_or(&[])
}

fn choose(s: &Seen) -> Chosen<'_> {
    let ctm = s.ctm.as_ref().ok();
    let vaults = ok(&s.vaults);
    let oci_vault = pick(vaults, "/displayName", "OCI_EKMS_Vault");
    // The private endpoint the vault uses, else the likeliest one.
    let pes = ok(&s.pes);
    let pe = oci_vault
        .and_then(|v| {
            let id = text(v, "/externalKeyManagerMetadataSummary/privateEndpointId");
            pes.iter().find(|p| text(p, "/id") == id)
        })
        .or_else(|| pick(pes, "/displayName", "Private-Endpoint-For-Vault"));
    let ekm_ip = pe.map(|p| text(p, "/externalKeyManagerIp"));
    let gateways = ok(&s.gateways);
    let gateway = gateways
        .iter()
        .find(|g| ekm_ip.is_some_and(|ip| gateway_ip(g) == ip))
        .or_else(|| pick(gateways, "/displayName", GATEWAY_NAME));
    let setup = if ekm_ip.is_some_and(|ip| ip == s.ctm_ip) { Setup::Direct } else { Setup::ApiGateway };
    let apps = s.apps.as_ref().ok();
    let resource_app = apps.and_then(|a| pick(&a.resource, "/displayName", RESOURCE_APP));
    let client_app = apps.and_then(|a| pick(&a.client, "/displayName", CLIENT_APP));
    let ctm_vaults = ctm.map(|c| c.vaults.as_slice()).unwrap_or(&[]);
    let ctm_vault = oci_vault
        .and_then(|v| {
            let url = text(v, "/externalKeyManagerMetadataSummary/externalVaultEndpointUrl");
            ctm_vaults.iter().find(|c| text(c, "/endpoint_url") == url)
        })
        .or_else(|| pick(ctm_vaults, "/vault_name", CTM_VAULT_NAME));
    let oci_key = pick(ok(&s.oci_keys), "/displayName", "OCI_Key_Reference");
    let ctm_keys: Vec<&Value> = ctm
        .map(|c| {
            c.keys.iter().filter(|k| ctm_vault.is_some_and(|v| text(k, "/cckm_vault_id") == text(v, "/id"))).collect()
        })
        .unwrap_or_default();
    let referenced = oci_key.map(|k| text(k, "/externalKeyReferenceDetails/externalKeyId"));
    let ctm_key =
        ctm_keys.iter().find(|k| referenced.is_some_and(|r| text(k, "/id") == r)).or(ctm_keys.last()).copied();
    Chosen {
        setup,
        gateway,
        gateway_ip: gateway.map(|g| gateway_ip(g).to_string()).filter(|ip| !ip.is_empty()),
        pe,
        resource_app,
        client_app,
        ctm_vault,
        ctm_key,
        oci_vault,
        oci_key,
    }
}

fn gateway_ip(g: &Value) -> &str {
    text(g, "/ipAddresses/0/ipAddress")
}

fn grade(s: &Seen) -> (Setup, Vec<TaskCheck>) {
    let c = choose(s);
    let mut v = Verdicts(Vec::with_capacity(18));
    v.done(1, "nothing to configure: the lab's world is the tutorial's architecture");
    task2(s, &mut v);
    let issued = task3(s, &c, &mut v);
    let imported = task4(s, &c, issued, &mut v);
    task5(s, &c, &mut v);
    task6(s, &c, imported, &mut v);
    task7(s, &c, &mut v);
    task8(s, &c, &mut v);
    task9(s, &c, &mut v);
    task10(s, &c, &mut v);
    task11(s, &mut v);
    task12(s, &c, &mut v);
    task13(&c, &mut v);
    task14(s, &c, &mut v);
    task15(&c, &mut v);
    task16(&c, &mut v);
    task17_18(s, &c, &mut v);
    (c.setup, v.0)
}

fn task2(s: &Seen, v: &mut Verdicts) {
    let d = match &s.dns {
        Ok(d) => d,
        Err(e) => return v.not_done(2, format!("cannot read spoke A's DNS resolver: {e}")),
    };
    let Some(hub) = &d.hub_view else {
        return v.not_done(2, format!("there is no private view {HUB_VIEW} to attach"));
    };
    if !d.attached.contains(hub) {
        let names: Vec<&str> = d
            .attached
            .iter()
            .map(|id| d.view_names.iter().find(|(i, _)| i == id).map(|(_, n)| n.as_str()).unwrap_or(id.as_str()))
            .collect();
        return v.not_done(
            2,
            format!(
                "attachedViews of {SPOKE_VCN}'s resolver holds [{}]; attach {HUB_VIEW} (Manage private views) so spoke A resolves the lab's names",
                names.join(", ")
            ),
        );
    }
    match &d.lookup {
        Ok(ips) if ips.iter().any(|ip| ip.to_string() == s.ctm_ip) => v.done(
            2,
            format!("{HUB_VIEW} is attached to {SPOKE_VCN}'s resolver, which resolves CTM's name to {}", s.ctm_ip),
        ),
        Ok(ips) => v.push(
            2,
            Status::Wrong,
            vec![format!("{SPOKE_VCN}'s resolver answers {ips:?} for CTM's name; expected {} (CTM1)", s.ctm_ip)],
        ),
        Err(e) => v.push(2, Status::Wrong, vec![format!("{HUB_VIEW} is attached, but {e}")]),
    }
}

fn not_needed(v: &mut Verdicts, n: u32, s: &Seen) {
    v.done(n, format!("not needed: the private endpoint talks to CTM ({}) directly, without an API gateway", s.ctm_ip));
}

/// Task 3: CTM issued a server certificate for the gateway FQDN with an RSA key. Returns the
/// certificate's serial (normalised) when one exists.
fn task3(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) -> Option<String> {
    if c.setup == Setup::Direct {
        not_needed(v, 3, s);
        return None;
    }
    let ctm = match &s.ctm {
        Ok(x) => x,
        Err(e) => {
            v.not_done(3, format!("cannot read CipherTrust Manager: {e}"));
            return None;
        }
    };
    let imported_serial = ok(&s.certificates)
        .iter()
        .find(|x| text(x, "/subject/commonName") == GATEWAY_FQDN)
        .map(|x| norm_serial(text(x, "/currentVersionSummary/serialNumber")));
    let mut found: Vec<(&Value, CertFacts)> = ctm
        .issued
        .iter()
        .filter(|x| text(x, "/state") != "revoked")
        .filter_map(|x| first_cert_der(text(x, "/cert")).and_then(|d| cert_facts(&d)).map(|f| (x, f)))
        .filter(|(_, f)| f.names.iter().any(|n| n.eq_ignore_ascii_case(GATEWAY_FQDN)))
        .collect();
    // The one uploaded to OCI decides; otherwise an RSA one.
    found.sort_by_key(|(_, f)| (imported_serial.as_deref() == Some(f.serial.as_str()), f.is_rsa));
    let Some((rec, facts)) = found.last() else {
        v.not_done(3, format!("CTM's local CA has issued no certificate for {GATEWAY_FQDN}; create a CSR (RSA 2048) and issue a server certificate"));
        return None;
    };
    let mut hints = Vec::new();
    if !facts.is_rsa {
        hints.push(format!(
            "the certificate for {GATEWAY_FQDN} (CTM id {}) has an {} key; OCI API Gateway accepts only RSA keys: generate the CSR with algorithm RSA, size 2048",
            text(rec, "/id"),
            facts.key
        ));
    }
    let purpose = text(rec, "/purpose");
    if !purpose.is_empty() && purpose != "server" {
        hints.push(format!("the certificate for {GATEWAY_FQDN} has purpose {purpose:?}; expected \"server\""));
    }
    v.judge(3, hints, format!("CTM issued a server certificate for {GATEWAY_FQDN} ({})", facts.key));
    Some(facts.serial.clone())
}

/// Task 4: the CA bundle and the imported certificate. Returns the certificate's OCID.
fn task4(s: &Seen, c: &Chosen<'_>, issued: Option<String>, v: &mut Verdicts) -> Option<String> {
    if c.setup == Setup::Direct {
        not_needed(v, 4, s);
        return None;
    }
    let (bundles, certs) = match (&s.bundles, &s.certificates) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            v.not_done(4, format!("cannot read the Certificates service: {e}"));
            return None;
        }
    };
    let bundle = bundles.iter().find(|b| text(b, "/name") == CA_BUNDLE);
    let cert = certs
        .iter()
        .filter(|x| text(x, "/subject/commonName") == GATEWAY_FQDN || text(x, "/name").contains(GATEWAY_FQDN))
        .max_by_key(|x| (state(x) == "ACTIVE", text(x, "/timeCreated").to_string()));
    let cert_id = cert.map(|x| text(x, "/id").to_string());
    let (Some(bundle), Some(cert)) = (bundle, cert) else {
        let missing = match (bundle, cert) {
            (None, None) => format!("no CA bundle {CA_BUNDLE} and no imported certificate for {GATEWAY_FQDN}"),
            (None, _) => format!("no CA bundle {CA_BUNDLE} (CTM's root CA certificate)"),
            _ => format!("no imported certificate for {GATEWAY_FQDN}"),
        };
        v.not_done(4, format!("{missing} in the Certificates service"));
        return cert_id;
    };
    let mut hints = Vec::new();
    for (what, x) in
        [(format!("CA bundle {CA_BUNDLE}"), bundle), (format!("certificate {}", text(cert, "/name")), cert)]
    {
        if let Err(m) = settled(&what, x, "ACTIVE", &mut hints) {
            v.not_done(4, m);
            return cert_id;
        }
    }
    let alg = text(cert, "/keyAlgorithm");
    if alg.starts_with("EC") {
        hints.push(format!(
            "certificate {} has keyAlgorithm {alg}; the API gateway needs an RSA certificate (RSA2048): reissue it from an RSA CSR (Task 3)",
            text(cert, "/name")
        ));
    }
    if text(cert, "/configType") != "IMPORTED" {
        hints.push(format!(
            "certificate {} has configType {}; expected IMPORTED",
            text(cert, "/name"),
            text(cert, "/configType")
        ));
    }
    // The bundle's PEM is not readable through the management API; the imported certificate
    // must be the one CTM's CA issued (its chain is CTM's root).
    let serial = norm_serial(text(cert, "/currentVersionSummary/serialNumber"));
    if let Some(issued) = issued
        && !serial.is_empty()
        && serial != issued
    {
        hints.push(format!(
            "certificate {} has serialNumber {}, which is not the certificate CTM issued for {GATEWAY_FQDN}; import CTM's certificate with CTM's CA as the chain",
            text(cert, "/name"),
            text(cert, "/currentVersionSummary/serialNumber")
        ));
    }
    v.judge(
        4,
        hints,
        format!("CA bundle {CA_BUNDLE} and certificate {} (the one CTM issued, {alg}) are ACTIVE", text(cert, "/name")),
    );
    cert_id
}

/// Does an ingress rule let TCP 443 in from every address of `from`?
fn admits_443(rule: &Value, from: cidr::Net) -> bool {
    let proto = text(rule, "/protocol");
    if proto != "6" && proto != "all" {
        return false;
    }
    let Some(src) = cidr::parse(text(rule, "/source")) else { return false };
    if !src.covers(from) {
        return false;
    }
    if proto == "all" {
        return true;
    }
    match rule.pointer("/tcpOptions/destinationPortRange") {
        None | Some(Value::Null) => true,
        Some(r) => {
            let n = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
            n("min") <= 443 && 443 <= n("max")
        }
    }
}

/// CIDR arithmetic on IPv4 (source rules are CIDRs; a single address is a /32).
mod cidr {
    use std::net::Ipv4Addr;

    #[derive(Clone, Copy, Debug)]
    pub struct Net {
        base: u32,
        len: u8,
    }

    pub fn parse(s: &str) -> Option<Net> {
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, len.parse::<u8>().ok().filter(|l| *l <= 32)?),
            None => (s, 32),
        };
        let ip: Ipv4Addr = ip.trim().parse().ok()?;
        Some(Net { base: u32::from(ip) & mask(len), len })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
    }

    impl Net {
        /// Every address of `other` is in `self`.
        pub fn covers(self, other: Net) -> bool {
            other.len >= self.len && other.base & mask(self.len) == self.base
        }
    }
}

fn task5(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    let sub = match &s.subnet {
        Ok(Some(x)) => x,
        Ok(None) => return v.not_done(5, format!("no subnet {SPOKE_SUBNET} in {SPOKE_VCN}")),
        Err(e) => return v.not_done(5, format!("cannot read spoke A's subnet: {e}")),
    };
    let cidr = text(&sub.subnet, "/cidrBlock");
    // Who must get in: the private endpoint's own address once it exists, else the subnet.
    let pe_ip = c.pe.map(|p| text(p, "/privateEndpointIp")).filter(|ip| !ip.is_empty());
    let (from_text, from) = match pe_ip.and_then(cidr::parse) {
        Some(net) => (format!("{} (the private endpoint)", pe_ip.unwrap_or_default()), Some(net)),
        None => ("the whole subnet (where the private endpoint will be)".to_string(), cidr::parse(cidr)),
    };
    let Some(from) = from else {
        return v.not_done(5, format!("subnet {SPOKE_SUBNET} has no usable cidrBlock ({cidr:?})"));
    };
    let found = sub.security_lists.iter().find_map(|l| {
        l.get("ingressSecurityRules")
            .and_then(Value::as_array)
            .and_then(|rules| rules.iter().find(|r| admits_443(r, from)))
            .map(|r| (text(l, "/displayName"), text(r, "/source")))
    });
    match (found, c.setup) {
        (Some((list, src)), _) => {
            v.done(5, format!("security list {list} lets TCP 443 in from {src}, which covers {from_text}"))
        }
        (None, Setup::Direct) => {
            v.done(5, "not needed: without a gateway nothing in spoke A receives the private endpoint's calls")
        }
        (None, Setup::ApiGateway) => {
            let names: Vec<&str> = sub.security_lists.iter().map(|l| text(l, "/displayName")).collect();
            v.not_done(
                5,
                format!(
                    "no ingress rule in the security lists of {SPOKE_SUBNET} ({}) lets TCP 443 in from {from_text}; add source {cidr}, TCP 443 (or all protocols)",
                    names.join(", ")
                ),
            )
        }
    }
}

fn task6(s: &Seen, c: &Chosen<'_>, imported: Option<String>, v: &mut Verdicts) {
    if c.setup == Setup::Direct {
        return not_needed(v, 6, s);
    }
    if let Err(e) = &s.gateways {
        return v.not_done(6, format!("cannot read the API Gateway service: {e}"));
    }
    let Some(g) = c.gateway else {
        // A create refused for an ECDSA certificate leaves no gateway: say why it will fail again.
        let ec = imported
            .as_ref()
            .and_then(|id| ok(&s.certificates).iter().find(|x| text(x, "/id") == id))
            .map(|x| text(x, "/keyAlgorithm"))
            .filter(|a| a.starts_with("EC"));
        return v.not_done(
            6,
            match ec {
                Some(a) => format!(
                    "no API gateway in the compartment; the certificate for {GATEWAY_FQDN} has keyAlgorithm {a}, which a gateway refuses (RSA only): fix Task 3 first"
                ),
                None => "no API gateway in the compartment".to_string(),
            },
        );
    };
    let name = text(g, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("gateway {name}"), g, "ACTIVE", &mut hints) {
        return v.not_done(6, m);
    }
    if text(g, "/endpointType") != "PRIVATE" {
        hints.push(format!("gateway {name} has endpointType {}; expected PRIVATE", text(g, "/endpointType")));
    }
    if let Ok(Some(sub)) = &s.subnet
        && text(g, "/subnetId") != text(&sub.subnet, "/id")
    {
        hints.push(format!(
            "gateway {name} is in subnet {}; expected {SPOKE_SUBNET} ({})",
            text(g, "/subnetId"),
            text(&sub.subnet, "/id")
        ));
    }
    if let Some(cert) = &imported
        && text(g, "/certificateId") != cert
    {
        hints.push(format!(
            "gateway {name} has certificateId {:?}; expected the imported certificate for {GATEWAY_FQDN} ({cert})",
            text(g, "/certificateId")
        ));
    }
    v.judge(6, hints, format!("gateway {name} is ACTIVE, PRIVATE in {SPOKE_SUBNET} at {}", gateway_ip(g)));
}

fn task7(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if c.setup == Setup::Direct {
        return not_needed(v, 7, s);
    }
    let deployments = match &s.deployments {
        Ok(d) => d,
        Err(e) => return v.not_done(7, format!("cannot read the API Gateway service: {e}")),
    };
    let Some(g) = c.gateway else { return v.not_done(7, "no API gateway yet (Task 6)") };
    let mine: Vec<Value> = deployments.iter().filter(|d| text(d, "/gatewayId") == text(g, "/id")).cloned().collect();
    let Some(d) = pick(&mine, "/pathPrefix", EKM_PREFIX) else {
        return v.not_done(7, format!("gateway {} has no deployment", text(g, "/displayName")));
    };
    let name = text(d, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("deployment {name}"), d, "ACTIVE", &mut hints) {
        return v.not_done(7, m);
    }
    if state(d) == "FAILED" && text(d, "/lifecycleDetails").contains("cannot resolve") {
        hints.push(format!(
            "the gateway resolves {} through {SPOKE_VCN}'s resolver: finish Task 2, then update or recreate the deployment",
            s.ctm_host
        ));
    }
    if text(d, "/pathPrefix") != EKM_PREFIX {
        hints.push(format!("deployment {name} has pathPrefix {:?}; expected {EKM_PREFIX:?}", text(d, "/pathPrefix")));
    }
    let want_url = format!("https://{}{EKM_PREFIX}/${{request.path[path]}}", s.ctm_host);
    let routes: Vec<&Value> =
        d.pointer("/specification/routes").and_then(Value::as_array).map(|r| r.iter().collect()).unwrap_or_default();
    match routes.iter().find(|r| text(r, "/path") == ROUTE_PATH) {
        None => hints.push(format!(
            "deployment {name} has routes [{}]; expected a route {ROUTE_PATH}",
            routes.iter().map(|r| text(r, "/path")).collect::<Vec<_>>().join(", ")
        )),
        Some(r) => {
            let methods: Vec<&str> = r
                .get("methods")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let allows = |m: &str| methods.is_empty() || methods.iter().any(|x| *x == m || *x == "ANY");
            if !allows("GET") || !allows("POST") {
                hints.push(format!("route {ROUTE_PATH} has methods {methods:?}; expected GET and POST"));
            }
            let url = text(r, "/backend/url");
            if text(r, "/backend/type") != "HTTP_BACKEND" {
                hints.push(format!(
                    "route {ROUTE_PATH} has backend type {:?}; expected HTTP_BACKEND",
                    text(r, "/backend/type")
                ));
            } else if url != want_url {
                hints.push(format!("route {ROUTE_PATH} has backend url {url:?}; expected {want_url:?}"));
            }
        }
    }
    v.judge(7, hints, format!("deployment {name} is ACTIVE: {EKM_PREFIX}{ROUTE_PATH} → {want_url}"));
}

/// The address OCI calls: the private endpoint's `externalKeyManagerIp`, else the gateway's.
fn ekm_ip<'a>(c: &'a Chosen<'_>) -> Option<&'a str> {
    c.pe.map(|p| text(p, "/externalKeyManagerIp")).or(c.gateway_ip.as_deref())
}

fn task8(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if let Err(e) = &s.apps {
        return v.not_done(8, format!("cannot read the identity domain's apps: {e}"));
    }
    let (Some(r), Some(cl)) = (c.resource_app, c.client_app) else {
        let missing: Vec<&str> = [(c.resource_app.is_none(), RESOURCE_APP), (c.client_app.is_none(), CLIENT_APP)]
            .iter()
            .filter(|x| x.0)
            .map(|x| x.1)
            .collect();
        return v.not_done(8, format!("no {} in the identity domain", missing.join(" and no ")));
    };
    let mut hints = Vec::new();
    let audience = text(r, "/audience");
    if r.get("isOAuthResource").and_then(Value::as_bool) != Some(true) {
        hints.push(format!("{RESOURCE_APP} has isOAuthResource false; configure it as a resource server"));
    }
    match ekm_ip(c) {
        Some(ip) if audience != format!("https://{ip}/") => hints.push(format!(
            "{RESOURCE_APP} has primary audience {audience:?}; expected \"https://{ip}/\" (the private endpoint's externalKeyManagerIp)"
        )),
        _ => {}
    }
    let scopes: Vec<&str> = r
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| text(s, "/value")).collect())
        .unwrap_or_default();
    if !scopes.contains(&SCOPE) {
        hints.push(format!("{RESOURCE_APP} has scopes {scopes:?}; expected {SCOPE}"));
    }
    let fqs = format!("{audience}{SCOPE}");
    let allowed: Vec<&str> = cl
        .get("allowedScopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| text(s, "/fqs")).collect())
        .unwrap_or_default();
    if !allowed.contains(&fqs.as_str()) {
        hints.push(format!("{CLIENT_APP} has allowedScopes {allowed:?}; expected {fqs:?} ({RESOURCE_APP}'s scope)"));
    }
    let grants: Vec<&str> = cl
        .get("allowedGrants")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !grants.contains(&"client_credentials") {
        hints.push(format!("{CLIENT_APP} has allowedGrants {grants:?}; expected client_credentials"));
    }
    for (name, app) in [(RESOURCE_APP, r), (CLIENT_APP, cl)] {
        if app.get("active").and_then(Value::as_bool) != Some(true) {
            hints.push(format!("{name} has active false; activate it"));
        }
    }
    v.judge(
        8,
        hints,
        format!("{RESOURCE_APP} (audience {audience}, scope {SCOPE}) and {CLIENT_APP} (allowed {fqs}) are active"),
    );
}

/// The issuer that matters: the one the CTM vault uses, else the tutorial's name.
fn issuer<'a>(s: &'a Seen, c: &Chosen<'_>) -> Option<&'a Value> {
    let issuers = &s.ctm.as_ref().ok()?.issuers;
    c.ctm_vault
        .and_then(|vault| issuers.iter().find(|i| text(i, "/id") == text(vault, "/issuer_id")))
        .or_else(|| pick(issuers, "/name", ISSUER_NAME))
}

fn task9(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    let Some(i) = issuer(s, c) else {
        return v.not_done(
            9,
            "the identity domain URL is used by CTM's identity provider (Task 10), which does not exist yet",
        );
    };
    let url = text(i, "/openid_config_url");
    let domain = s.domain_url.trim_end_matches('/');
    let want = format!("{domain}/.well-known/openid-configuration");
    let want_443 = format!("{domain}:443/.well-known/openid-configuration");
    if url == want || url == want_443 {
        v.done(9, format!("identity provider {} reads the domain's configuration at {url}", text(i, "/name")))
    } else {
        v.push(
            9,
            Status::Wrong,
            vec![format!("identity provider {} has openid_config_url {url:?}; expected {want_443:?} (this lab's identity domain)", text(i, "/name"))],
        )
    }
}

/// Name an app by client id, for hints.
fn whose(c: &Chosen<'_>, client_id: &str) -> Option<&'static str> {
    if c.resource_app.is_some_and(|a| text(a, "/name") == client_id) {
        Some(RESOURCE_APP)
    } else if c.client_app.is_some_and(|a| text(a, "/name") == client_id) {
        Some(CLIENT_APP)
    } else {
        None
    }
}

fn task10(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if let Err(e) = &s.ctm {
        return v.not_done(10, format!("cannot read CipherTrust Manager: {e}"));
    }
    let Some(i) = issuer(s, c) else {
        return v.not_done(10, "CTM has no OCI identity provider (CCKM › OCI › Identity Providers)");
    };
    let name = text(i, "/name");
    let mut hints = Vec::new();
    if i.get("jwks_uri_protected").and_then(Value::as_bool) != Some(true) {
        hints.push(format!("identity provider {name} has jwks_uri_protected false; the domain's JWKS needs {RESOURCE_APP}'s credentials"));
    }
    let id = text(i, "/client_id");
    match (whose(c, id), c.resource_app) {
        (Some(RESOURCE_APP), _) => {}
        (Some(other), _) => hints.push(format!(
            "identity provider {name} uses client id of {other}; the JWKS must be read with {RESOURCE_APP}'s client id"
        )),
        (None, Some(r)) => hints.push(format!(
            "identity provider {name} has client_id {id:?}; expected {RESOURCE_APP}'s client id {}",
            text(r, "/name")
        )),
        (None, None) => {}
    }
    v.judge(10, hints, format!("identity provider {name} reads the protected JWKS with {RESOURCE_APP}'s client id"));
}

fn task11(s: &Seen, v: &mut Verdicts) {
    let ctm = match &s.ctm {
        Ok(x) => x,
        Err(e) => return v.not_done(11, format!("cannot read CipherTrust Manager: {e}")),
    };
    match ctm.tenancies.iter().find(|t| text(t, "/tenancy_ocid") == s.tenancy) {
        Some(t) => v.done(11, format!("tenancy {} ({}) is in CTM", text(t, "/tenancy"), s.tenancy)),
        None => match ctm.tenancies.first() {
            None => v.not_done(11, "CTM has no OCI tenancy (CCKM › OCI › Add Tenancy)"),
            Some(t) => v.push(
                11,
                Status::Wrong,
                vec![format!(
                    "tenancy {} has tenancy_ocid {:?}; expected the lab tenancy {}",
                    text(t, "/tenancy"),
                    text(t, "/tenancy_ocid"),
                    s.tenancy
                )],
            ),
        },
    }
}

fn task12(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if let Err(e) = &s.pes {
        return v.not_done(12, format!("cannot read the KMS service: {e}"));
    }
    let Some(p) = c.pe else { return v.not_done(12, "no EKMS private endpoint in the compartment") };
    let name = text(p, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("private endpoint {name}"), p, "ACTIVE", &mut hints) {
        return v.not_done(12, m);
    }
    if let Ok(Some(sub)) = &s.subnet
        && text(p, "/subnetId") != text(&sub.subnet, "/id")
    {
        hints.push(format!("private endpoint {name} is in subnet {}; expected {SPOKE_SUBNET}", text(p, "/subnetId")));
    }
    let ip = text(p, "/externalKeyManagerIp");
    match (c.setup, &c.gateway_ip) {
        (Setup::Direct, _) => {}
        (Setup::ApiGateway, Some(gw)) if ip != gw => hints.push(format!(
            "private endpoint {name} has externalKeyManagerIp {ip}; expected the API gateway's IP {gw} (or CTM's {} without a gateway)",
            s.ctm_ip
        )),
        (Setup::ApiGateway, None) => hints.push(format!(
            "private endpoint {name} has externalKeyManagerIp {ip}, which is neither an API gateway nor CTM ({})",
            s.ctm_ip
        )),
        (Setup::ApiGateway, Some(_)) => {}
    }
    let port = p.get("port").and_then(Value::as_u64).unwrap_or(443);
    if port != 443 {
        hints.push(format!("private endpoint {name} has port {port}; expected 443"));
    }
    if let Ok(ctm) = &s.ctm {
        let ders = pem_ders(text(p, "/caBundle"));
        if !ders.contains(&ctm.root_der) {
            let held: Vec<String> = ders.iter().filter_map(|d| cert_facts(d)).map(|f| f.subject).collect();
            hints.push(format!(
                "private endpoint {name} has a caBundle holding [{}]; expected CTM's root CA ({}), which signed the {} certificate",
                held.join("; "),
                ctm.root_subject,
                if c.setup == Setup::Direct { "CTM web" } else { "gateway's" }
            ));
        }
    }
    v.judge(12, hints, format!("private endpoint {name} is ACTIVE, calls {ip}:{port} and trusts CTM's root CA"));
}

fn task13(c: &Chosen<'_>, v: &mut Verdicts) {
    let Some(vault) = c.ctm_vault else {
        return v.not_done(13, "CTM has no external OCI vault (CCKM › OCI › Add External Vault)");
    };
    let name = text(vault, "/vault_name");
    let mut hints = Vec::new();
    let id = text(vault, "/client_application_id");
    match (whose(c, id), c.client_app) {
        (Some(CLIENT_APP), _) => {}
        (Some(other), _) => hints
            .push(format!("external vault `{name}` uses client id of {other}; OCI's tokens come from {CLIENT_APP}")),
        (None, Some(cl)) => hints.push(format!(
            "external vault `{name}` has client_application_id {id:?}; expected {CLIENT_APP}'s client id {}",
            text(cl, "/name")
        )),
        (None, None) => {}
    }
    let host = text(vault, "/endpoint_url_hostname");
    if let Some(p) = c.pe
        && host != text(p, "/externalKeyManagerIp")
    {
        hints.push(format!(
            "external vault `{name}` has endpoint_url_hostname {host}; expected the private endpoint's externalKeyManagerIp {}",
            text(p, "/externalKeyManagerIp")
        ));
    }
    let port = vault.get("endpoint_url_port").and_then(Value::as_u64).unwrap_or(443);
    if port != 443 {
        hints.push(format!("external vault `{name}` has endpoint_url_port {port}; expected 443"));
    }
    v.judge(13, hints, format!("external vault `{name}` at {} for {CLIENT_APP}", text(vault, "/endpoint_url")));
}

fn task14(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    if let Err(e) = &s.vaults {
        return v.not_done(14, format!("cannot read the KMS service: {e}"));
    }
    let Some(vault) = c.oci_vault else { return v.not_done(14, "no OCI vault in the compartment") };
    let name = text(vault, "/displayName");
    let mut hints = Vec::new();
    if text(vault, "/vaultType") != "EXTERNAL" {
        hints.push(format!("vault {name} has vaultType {}; expected EXTERNAL", text(vault, "/vaultType")));
    }
    if let Err(m) = settled(&format!("vault {name}"), vault, "ACTIVE", &mut hints) {
        return v.not_done(14, m);
    }
    let meta = "/externalKeyManagerMetadataSummary";
    let app = text(vault, &format!("{meta}/oauthMetadataSummary/clientAppId"));
    match (whose(c, app), c.client_app) {
        (Some(CLIENT_APP), _) => {}
        (Some(other), _) => {
            hints.push(format!("vault {name} has clientAppId of {other}; OCI's tokens come from {CLIENT_APP}"))
        }
        (None, Some(cl)) => hints.push(format!(
            "vault {name} has clientAppId {app:?}; expected {CLIENT_APP}'s client id {}",
            text(cl, "/name")
        )),
        (None, None) => {}
    }
    let url = text(vault, &format!("{meta}/externalVaultEndpointUrl"));
    if let Some(ctm_vault) = c.ctm_vault
        && url != text(ctm_vault, "/endpoint_url")
    {
        hints.push(format!(
            "vault {name} has externalVaultEndpointUrl {url:?}; expected CTM vault `{}`'s endpoint_url {:?}",
            text(ctm_vault, "/vault_name"),
            text(ctm_vault, "/endpoint_url")
        ));
    }
    if let Some(p) = c.pe
        && text(vault, &format!("{meta}/privateEndpointId")) != text(p, "/id")
    {
        hints.push(format!(
            "vault {name} has privateEndpointId {}; expected {}",
            text(vault, &format!("{meta}/privateEndpointId")),
            text(p, "/id")
        ));
    }
    let idcs = text(vault, &format!("{meta}/oauthMetadataSummary/idcsAccountNameUrl"));
    if !idcs.starts_with(s.domain_url.trim_end_matches('/')) {
        hints.push(format!(
            "vault {name} has idcsAccountNameUrl {idcs:?}; expected this lab's identity domain {}",
            s.domain_url
        ));
    }
    v.judge(14, hints, format!("vault {name} is ACTIVE, EXTERNAL, uses {CLIENT_APP} and CTM's vault URL"));
}

fn task15(c: &Chosen<'_>, v: &mut Verdicts) {
    let Some(vault) = c.ctm_vault else { return v.not_done(15, "no external vault in CTM yet (Task 13)") };
    match c.ctm_key {
        Some(k) => v.done(
            15,
            format!(
                "CTM key {} ({}) is in external vault `{}`",
                text(k, "/hyok_key_params/name"),
                text(k, "/id"),
                text(vault, "/vault_name")
            ),
        ),
        None => v.not_done(
            15,
            format!(
                "external vault `{}` has no key (CCKM › OCI › Keys › Add Key, External HYOK)",
                text(vault, "/vault_name")
            ),
        ),
    }
}

fn task16(c: &Chosen<'_>, v: &mut Verdicts) {
    let Some(vault) = c.oci_vault.filter(|x| state(x) == "ACTIVE") else {
        return v.not_done(16, "no ACTIVE OCI vault yet (Task 14)");
    };
    let Some(k) = c.oci_key else {
        return v.not_done(16, format!("vault {} has no key reference", text(vault, "/displayName")));
    };
    let name = text(k, "/displayName");
    let mut hints = Vec::new();
    if let Err(m) = settled(&format!("key {name}"), k, "ENABLED", &mut hints) {
        return v.not_done(16, m);
    }
    let details = text(k, "/lifecycleDetails");
    if state(k) == "FAILED" && details.contains("invalid_client") {
        hints.push(format!(
            "the vault's clientAppSecret is no longer {CLIENT_APP}'s secret (regenerated after Task 14?): OCI cannot get tokens for the vault"
        ));
    }
    // A key that failed to link may show no externalKeyReferenceDetails at all.
    let ext = text(k, "/externalKeyReferenceDetails/externalKeyId");
    match c.ctm_key {
        _ if ext.is_empty() && state(k) != "ENABLED" => {}
        Some(ck) if text(ck, "/id") != ext => hints.push(format!(
            "key {name} has externalKeyId {ext:?}; expected CTM key {}'s id {}",
            text(ck, "/hyok_key_params/name"),
            text(ck, "/id")
        )),
        None if state(k) == "ENABLED" => {
            hints.push(format!("key {name} has externalKeyId {ext:?}, which is no key of CTM's vault"))
        }
        _ => {}
    }
    v.judge(16, hints, format!("key reference {name} is ENABLED for CTM key {ext}"));
}

fn task17_18(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    let blocked_in_ctm = || {
        let vault_blocked = c.ctm_vault.and_then(|x| x.get("blocked")).and_then(Value::as_bool) == Some(true);
        let key_blocked =
            c.ctm_key.and_then(|k| k.pointer("/hyok_key_params/blocked")).and_then(Value::as_bool) == Some(true);
        (key_blocked, vault_blocked)
    };
    let what_blocks = || match blocked_in_ctm() {
        (_, true) => format!(
            "the external vault `{}` is blocked in CTM; unblock it (blocking the vault, not the key, is the misstep)",
            c.ctm_vault.map(|x| text(x, "/vault_name")).unwrap_or_default()
        ),
        _ => "the key is blocked; unblock it in CTM".to_string(),
    };
    let (bucket, objects, read) = match &s.storage {
        Ok(StorageSeen::Seen { bucket, objects, read }) => (bucket, objects, read),
        Ok(StorageSeen::NotRunning) => {
            v.not_done(17, "Object Storage is not running in this lab");
            return v.not_done(18, "Object Storage is not running in this lab");
        }
        Ok(StorageSeen::NoBucket) => {
            v.not_done(17, format!("no bucket {BUCKET}"));
            return v.not_done(18, format!("no bucket {BUCKET} yet (Task 17)"));
        }
        Ok(StorageSeen::Locked { code, message }) => {
            v.done(
                17,
                format!(
                    "bucket {BUCKET} is protected by a customer-managed key, which refuses right now (HTTP 409 {code})"
                ),
            );
            return v
                .not_done(18, format!("the bucket answered HTTP 409 {code}: {} ({})", what_blocks(), short(message)));
        }
        Err(e) => {
            v.not_done(17, format!("cannot read Object Storage: {e}"));
            return v.not_done(18, format!("cannot read Object Storage: {e}"));
        }
    };
    let kms = text(bucket, "/kmsKeyId");
    let mut hints = Vec::new();
    match c.oci_key {
        _ if kms.is_empty() => hints.push(format!(
            "bucket {BUCKET} has no kmsKeyId (Oracle-managed keys); expected the key reference OCI_Key_Reference"
        )),
        Some(k) if text(k, "/id") != kms => hints.push(format!(
            "bucket {BUCKET} has kmsKeyId {kms}; expected the key reference {} ({})",
            text(k, "/displayName"),
            text(k, "/id")
        )),
        _ => {}
    }
    v.judge(17, hints, format!("bucket {BUCKET} is encrypted with {kms}"));
    match read {
        None => {
            v.not_done(18, format!("bucket {BUCKET} is empty: upload a file, block the key in CTM, then unblock it"))
        }
        Some(ObjectRead::Readable { name, bytes }) => {
            let state = match blocked_in_ctm() {
                (false, false) => "the key is not blocked in CTM now".to_string(),
                (k, vb) => {
                    format!("CTM shows the key blocked={k}, vault blocked={vb}, yet the read succeeded (a cached key?)")
                }
            };
            v.done(
                18,
                format!(
                    "object {name:?} ({bytes} bytes, {} object(s) in the bucket) is readable; {state}",
                    objects.len()
                ),
            )
        }
        Some(ObjectRead::Blocked { name, code, message }) => {
            v.not_done(18, format!("reading {name:?} answered HTTP 409 {code}: {} ({})", what_blocks(), short(message)))
        }
        Some(ObjectRead::Failed { name, why }) => {
            v.push(18, Status::Wrong, vec![format!("reading object {name:?} failed: {why}")])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_timed_out_points_at_its_trace() {
        let timed_out = NoAnswer { error: ClientError::Timeout(Duration::from_secs(15)), request_id: "check-1".into() };
        let text = timed_out.to_string();
        assert!(text.ends_with("(where it was stuck: hyok-lab trace check-1)"), "{text}");
        let too_large = NoAnswer { error: ClientError::TooLarge(10), request_id: "check-2".into() };
        assert!(!too_large.to_string().contains("trace"), "only a request stuck somewhere has a place to show");
    }
}
