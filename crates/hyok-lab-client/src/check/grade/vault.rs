//! Tasks 12–16: the private endpoint, the external vault on both sides, the key and its
//! reference.

use super::{
    chosen::{Chosen, whose},
    verdicts::{Verdicts, settled},
};
use crate::check::{
    cert::{cert_facts, pem_ders},
    json::{state, text},
    names::{CLIENT_APP, SPOKE_SUBNET},
    report::Setup,
    seen::Seen,
};
use serde_json::Value;

pub(super) fn task12(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
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
        if !ders.contains(&ctm.root_der()) {
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

pub(super) fn task13(c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task14(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task15(c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task16(c: &Chosen<'_>, v: &mut Verdicts) {
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
