//! What a service in its own container leaves in the lab dir for the region's lab.json.

use super::role::Role;
use crate::{
    error::{LabError, io_err, svc_err},
    host::publish_internet_name,
};
use hyok_dns::DnsModel;
use hyok_lab_client::info::{LabInfo, ServiceInfo};
use serde::{Deserialize, Serialize};
use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
    time::Duration,
};

/// What a service in its own container tells the region for lab.json.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fragment {
    /// Its lab.json entries.
    pub services: Vec<ServiceInfo>,
    /// Its generated credentials (`identity`, `ctm`).
    pub credentials: serde_json::Map<String, serde_json::Value>,
    /// Public names to publish in Internet DNS.
    pub internet_names: Vec<(String, Ipv4Addr)>,
    /// A CA file (relative to the lab dir) host clients must trust too.
    pub extra_ca: Option<String>,
}

impl Fragment {
    fn path(lab_dir: &Path, role: Role) -> PathBuf {
        lab_dir.join("compose").join(format!("{}.json", role.name()))
    }

    pub(crate) fn save(&self, lab_dir: &Path, role: Role) -> Result<(), LabError> {
        let path = Self::path(lab_dir, role);
        let dir = lab_dir.join("compose");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let tmp = dir.join(format!(".{}.tmp", role.name()));
        let text = serde_json::to_vec_pretty(self).map_err(|e| svc_err(role.name(), e))?;
        std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Wait (up to `patience`) for the fragment of `role` and read it.
    pub async fn wait(lab_dir: &Path, role: Role, patience: Duration) -> Result<Self, LabError> {
        let path = Self::path(lab_dir, role);
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text)
                    .map_err(|e| svc_err(role.name(), format!("{}: {e}", path.display())));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(svc_err(
                    role.name(),
                    format!(
                        "{} did not appear within {patience:?}: is the {} container up?",
                        path.display(),
                        role.name()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Merge it into the region's lab: lab.json entries, credentials, Internet DNS names.
    pub fn adopt(self, info: &mut LabInfo, dns: &DnsModel) {
        for (name, ip) in &self.internet_names {
            publish_internet_name(dns, name, *ip);
        }
        info.services.extend(self.services);
        info.credentials.extend(self.credentials);
        if self.extra_ca.is_some() {
            info.ca.ctm_root = self.extra_ca;
        }
    }
}
