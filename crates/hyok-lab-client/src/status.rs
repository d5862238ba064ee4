//! `hyok-lab status`: is the lab in a lab dir up and healthy?

use crate::info::LabInfo;
use serde::Serialize;
use std::time::Duration;

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Details (address, error).
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// True when every check passed.
    pub healthy: bool,
    /// Lab dir.
    pub lab_dir: String,
    /// The checks.
    pub checks: Vec<Check>,
}

/// Check the lab described by `info`: the admin endpoint, every service over verified TLS,
/// and the host DNS resolver.
pub async fn check(info: &LabInfo) -> StatusReport {
    let mut checks = Vec::new();
    let admin = format!("{}/health", info.admin.url);
    // One client reaches the plain-HTTP admin endpoint and every service by its real name.
    let client = match info.host_client() {
        Ok(c) => c.with_timeout(Duration::from_secs(3)),
        Err(e) => {
            return StatusReport {
                healthy: false,
                lab_dir: info.lab_dir.display().to_string(),
                checks: vec![Check { name: "ca bundle".into(), ok: false, detail: e }],
            };
        }
    };
    checks.push(match client.get_json(&admin, &[]).await {
        Ok((s, v)) if s.is_success() && v["pid"] == info.pid => {
            Check { name: "admin".into(), ok: true, detail: info.admin.url.clone() }
        }
        Ok((s, _)) => Check {
            name: "admin".into(),
            ok: false,
            detail: format!("{} answered {s} (another process?)", info.admin.url),
        },
        Err(e) => Check { name: "admin".into(), ok: false, detail: format!("{}: {e}", info.admin.url) },
    });
    for s in &info.services {
        let url = format!("{}/", s.lab_url);
        checks.push(match client.get_json(&url, &[]).await {
            Ok((status, _)) => Check {
                name: s.name.clone(),
                ok: true,
                detail: format!("{} → {} (HTTP {})", s.lab_url, s.host_address, status.as_u16()),
            },
            Err(e) => Check { name: s.name.clone(), ok: false, detail: format!("{}: {e}", s.lab_url) },
        });
    }
    let probe = "ctm1.oci-thales.lab";
    checks.push(match hyok_core::dns::query_a(info.dns.host_resolver, probe).await {
        Ok(Ok(ips)) if !ips.is_empty() => Check {
            name: "dns".into(),
            ok: true,
            detail: format!("{} answers {probe} = {}", info.dns.host_resolver, ips[0]),
        },
        Ok(other) => Check {
            name: "dns".into(),
            ok: false,
            detail: format!("{} answered {other:?} for {probe}", info.dns.host_resolver),
        },
        Err(e) => Check { name: "dns".into(), ok: false, detail: format!("{}: {e}", info.dns.host_resolver) },
    });
    StatusReport { healthy: checks.iter().all(|c| c.ok), lab_dir: info.lab_dir.display().to_string(), checks }
}
