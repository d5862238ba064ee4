//! Tasks 8–11: the identity domain's apps and URL, CTM's identity provider and the tenancy.

use super::{
    chosen::{Chosen, ekm_ip, issuer, whose},
    verdicts::Verdicts,
};
use crate::check::{
    json::text,
    names::{CLIENT_APP, RESOURCE_APP, SCOPE},
    report::Status,
    seen::Seen,
};
use serde_json::Value;

pub(super) fn task8(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task9(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task10(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
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

pub(super) fn task11(s: &Seen, v: &mut Verdicts) {
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
