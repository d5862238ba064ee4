//! Audit trail of the vendor API: one record per call (caller client id, vault, key, version,
//! operation, result), read through `GET /api/v1/audit/records` (newest first, paged).

use crate::error::CtmError;
use crate::reject::CtmQuery;
use crate::{Ctm, util};
use axum::{Json, extract::State};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

/// Records kept in memory; the oldest are dropped beyond this.
const CAPACITY: usize = 100_000;

/// One vendor-API call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Sequence number (monotonic per node).
    pub id: u64,
    /// When the call finished (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// The `opc-request-id` of the call.
    pub request_id: String,
    /// Where the call came from (socket peer).
    pub source: String,
    /// `client_id` (or `sub`) of the access token, when it could be read.
    pub client_id: Option<String>,
    /// Vault id from the path.
    pub vault_id: String,
    /// Key id from the path, if any.
    pub key_id: Option<String>,
    /// Key version used, if any.
    pub key_version_id: Option<String>,
    /// Vendor operation (`GetVaultMetadata`, `Encrypt`, `Decrypt`, ...).
    pub operation: String,
    /// `success` or `failure`.
    pub result: String,
    /// HTTP status answered.
    pub status: u16,
    /// Error message answered, empty on success.
    pub message: String,
}

#[derive(Default)]
pub(crate) struct AuditLog {
    ring: Mutex<VecDeque<AuditRecord>>,
    seq: AtomicU64,
}

impl AuditLog {
    pub(crate) fn next_id(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn push(&self, rec: AuditRecord) {
        let mut g = self.ring.lock();
        if g.len() == CAPACITY {
            g.pop_front();
        }
        g.push_back(rec);
    }

    pub(crate) fn all(&self) -> Vec<AuditRecord> {
        self.ring.lock().iter().cloned().collect()
    }
}

/// `GET /api/v1/audit/records` with filters `vault_id`, `key_id`, `operation`, `result`,
/// `client_id`, `request_id` and `skip`/`limit`.
pub(crate) async fn list(
    State(ctm): State<Arc<Ctm>>,
    CtmQuery(q): CtmQuery,
) -> Result<Json<serde_json::Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let want = |k: &str, v: Option<&str>| q.get(k).is_none_or(|w| Some(w.as_str()) == v);
    let items: Vec<AuditRecord> = {
        let g = ctm.audit.ring.lock();
        g.iter()
            .rev()
            .filter(|r| {
                want("vault_id", Some(&r.vault_id))
                    && want("key_id", r.key_id.as_deref())
                    && want("operation", Some(&r.operation))
                    && want("result", Some(&r.result))
                    && want("client_id", r.client_id.as_deref())
                    && want("request_id", Some(&r.request_id))
            })
            .cloned()
            .collect()
    };
    Ok(util::page(items, &paging))
}
