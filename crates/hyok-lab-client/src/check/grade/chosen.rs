//! What the grader settles on before judging: the resources the student most likely means.

use crate::check::{
    json::{pick, text},
    names::{CLIENT_APP, CTM_VAULT_NAME, GATEWAY_NAME, ISSUER_NAME, RESOURCE_APP},
    report::Setup,
    seen::{Fetched, Seen},
};
use serde_json::Value;

/// What the grader settled on, shared by the task checks.
pub(super) struct Chosen<'a> {
    pub(super) setup: Setup,
    pub(super) gateway: Option<&'a Value>,
    pub(super) gateway_ip: Option<String>,
    pub(super) pe: Option<&'a Value>,
    pub(super) resource_app: Option<&'a Value>,
    pub(super) client_app: Option<&'a Value>,
    pub(super) ctm_vault: Option<&'a Value>,
    pub(super) ctm_key: Option<&'a Value>,
    pub(super) oci_vault: Option<&'a Value>,
    pub(super) oci_key: Option<&'a Value>,
}

/// The items of a list that was read, none of one that was not.
pub(super) fn ok<T>(f: &Fetched<Vec<T>>) -> &[T] {
    f.as_deref().unwrap_or(&[])
}

/// Which gateway, private endpoint, apps, vaults and keys the student means.
pub(super) fn choose(s: &Seen) -> Chosen<'_> {
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

/// A gateway's private IP address.
pub(super) fn gateway_ip(g: &Value) -> &str {
    text(g, "/ipAddresses/0/ipAddress")
}

/// The address OCI calls: the private endpoint's `externalKeyManagerIp`, else the gateway's.
pub(super) fn ekm_ip<'a>(c: &'a Chosen<'_>) -> Option<&'a str> {
    c.pe.map(|p| text(p, "/externalKeyManagerIp")).or(c.gateway_ip.as_deref())
}

/// The issuer that matters: the one the CTM vault uses, else the tutorial's name.
pub(super) fn issuer<'a>(s: &'a Seen, c: &Chosen<'_>) -> Option<&'a Value> {
    let issuers = &s.ctm.as_ref().ok()?.issuers;
    c.ctm_vault
        .and_then(|vault| issuers.iter().find(|i| text(i, "/id") == text(vault, "/issuer_id")))
        .or_else(|| pick(issuers, "/name", ISSUER_NAME))
}

/// Name an app by client id, for hints.
pub(super) fn whose(c: &Chosen<'_>, client_id: &str) -> Option<&'static str> {
    if c.resource_app.is_some_and(|a| text(a, "/name") == client_id) {
        Some(RESOURCE_APP)
    } else if c.client_app.is_some_and(|a| text(a, "/name") == client_id) {
        Some(CLIENT_APP)
    } else {
        None
    }
}
