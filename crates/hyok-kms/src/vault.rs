//! What a vault's two endpoint routers (management and crypto) share with the regional API
//! that starts them.

use crate::{
    service::KmsService,
    vendor::{VaultRuntime, VendorError},
};
use std::sync::Arc;

/// What a vault's endpoint routers carry: the vault they serve, found from the listener that
/// took the request, never from the `Host` header.
#[derive(Clone)]
pub(crate) struct VaultCtx {
    pub(crate) svc: Arc<KmsService>,
    pub(crate) vault_id: Arc<str>,
    pub(crate) rt: Arc<VaultRuntime>,
}

/// `lifecycleDetails` for a failed vendor step: the hop and reason, plus the operation.
pub(crate) fn failure_text(e: &VendorError, op: &str) -> String {
    format!("{e} ({op})")
}
