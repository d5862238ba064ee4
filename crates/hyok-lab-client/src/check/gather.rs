//! Reading the lab like a student: every call the grader makes, concurrently, through the
//! public APIs and lab.json (OCI with the lab's API key, SCIM, CTM's REST API, DNS).

use super::{
    cert::first_cert_der,
    json::{is_live, pick, short, state, text},
    names::{BUCKET, CLIENT_APP, HUB_VIEW, RESOURCE_APP, SPOKE_SUBNET, SPOKE_VCN},
    seen::{AppsSeen, CtmSeen, DnsSeen, Fetched, ObjectRead, Seen, StorageSeen, SubnetSeen},
};
use crate::{
    info::LabInfo,
    scenario::{Auth, authorize, lab_signer},
};
use axum::body::Body;
use bytes::Bytes;
use hyok_core::client::{ClientError, HttpClient};
use serde_json::Value;
use std::{net::Ipv4Addr, path::Path, time::Duration};

/// Pages followed per OCI list at most (100 items each).
const MAX_PAGES: usize = 20;

/// A student's view of the lab: lab.json, a host client, the OCI API key.
pub(super) struct Api {
    pub(super) info: LabInfo,
    http: HttpClient,
    signer: Option<(rsa::PrivateKey, String)>,
}

impl Api {
    pub(super) fn open(lab_dir: &Path) -> Result<Self, String> {
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

    /// The resources of a list of summaries in `compartment`, each read whole from
    /// `{collection}/{id}` (one that went away in between is left out).
    async fn oci_full_list(&self, base: &str, collection: &str, compartment: &str) -> Fetched<Vec<Value>> {
        let rows = self.oci_list(base, format!("{collection}?compartmentId={compartment}")).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(full) = self.get_opt(&format!("{base}{collection}/{}", text(&row, "/id")), &Auth::Oci).await? {
                out.push(full);
            }
        }
        Ok(out.into_iter().filter(is_live).collect())
    }
}

/// "GET url answered HTTP 500: body…"
fn refused(method: &str, url: &str, resp: &http::Response<Bytes>) -> String {
    format!("{method} {url} answered HTTP {}: {}", resp.status().as_u16(), short(&String::from_utf8_lossy(resp.body())))
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

impl Seen {
    /// Make every call (concurrently) and keep the answers.
    pub(super) async fn gather(api: &Api) -> Self {
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
    let root_pem = text(ca, "/cert").to_string();
    first_cert_der(&root_pem).ok_or("CTM's local CA certificate is not PEM")?;
    let issued = api
        .get(&format!("{base}/api/v1/ca/local-cas/{}/certs?skip=0&limit=1000", text(ca, "/id")), &auth)
        .await?
        .get("resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(CtmSeen {
        root_pem,
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
    // KMS lists answer summaries (no caBundle, externalKeyManagerIp or lifecycleDetails), so each
    // private endpoint and vault listed is read whole.
    let (pes, vaults) = tokio::join!(
        api.oci_full_list(&base, "/20180608/ekmsPrivateEndpoints", compartment),
        api.oci_full_list(&base, "/20180608/vaults", compartment),
    );
    // Key references live on the vault's own management endpoint; likewise each key is read for
    // its lifecycleDetails and externalKeyReferenceDetails.
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
