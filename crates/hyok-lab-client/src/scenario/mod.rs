//! Scenarios: the tutorial (and its misconfigurations) as data. Format: docs/scenarios.md.
//!
//! Invariant: a scenario only calls the lab's public APIs (OCI, identity domain, CTM), never
//! internal shortcuts, so what passes here passes for a student with `oci` and `curl`.

mod format;
mod run;
mod template;

pub use format::{Auth, Check, Expect, Scenario, ScenarioError, Step, Task, Wait};
pub use run::{Outcome, Report, Runner, TaskResult};
pub(crate) use run::{authorize, lab_signer};

/// The scenarios shipped with the lab, compiled in (name, file text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("oci-hyok-api-gateway", include_str!("../../../../scenarios/oci-hyok-api-gateway.toml")),
    ("oci-hyok-direct", include_str!("../../../../scenarios/oci-hyok-direct.toml")),
    (
        "misconfig-ecdsa-gateway-certificate",
        include_str!("../../../../scenarios/misconfig/ecdsa-gateway-certificate.toml"),
    ),
    (
        "misconfig-gateway-ca-missing-from-private-endpoint",
        include_str!("../../../../scenarios/misconfig/gateway-ca-missing-from-private-endpoint.toml"),
    ),
    ("misconfig-hub-view-not-attached", include_str!("../../../../scenarios/misconfig/hub-view-not-attached.toml")),
    ("misconfig-missing-ingress-rule", include_str!("../../../../scenarios/misconfig/missing-ingress-rule.toml")),
    (
        "misconfig-secret-rotated-after-vault",
        include_str!("../../../../scenarios/misconfig/secret-rotated-after-vault.toml"),
    ),
    ("misconfig-swapped-app-credentials", include_str!("../../../../scenarios/misconfig/swapped-app-credentials.toml")),
    (
        "misconfig-vault-blocked-instead-of-key",
        include_str!("../../../../scenarios/misconfig/vault-blocked-instead-of-key.toml"),
    ),
    ("misconfig-wrong-backend-path", include_str!("../../../../scenarios/misconfig/wrong-backend-path.toml")),
    ("misconfig-wrong-primary-audience", include_str!("../../../../scenarios/misconfig/wrong-primary-audience.toml")),
];

/// Load a shipped scenario by name, or a file by path, resolving `base`.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let text = match SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
        Some((_, t)) => t.to_string(),
        None => std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError::NotFound {
            name: name_or_path.to_string(),
            reason: e.to_string(),
            known: SHIPPED.iter().map(|(n, _)| n.to_string()).collect(),
        })?,
    };
    let mut s = Scenario::parse(name_or_path, &text)?;
    if let Some(base) = s.base.clone() {
        let b = load(&base)?;
        s = s.on_top_of(b);
    }
    Ok(s)
}
