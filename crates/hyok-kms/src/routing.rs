//! What every KMS router shares: the checks around it (signature, tenancy, body limit, request
//! ids, retry tokens, OCI-shaped fallbacks) and the query of its lists.

use axum::{Router, extract::DefaultBodyLimit, middleware};
use hyok_oci_rest::{
    ListParams, ListShape, OciError, OciResponse, OciResult, RetryTokens, SignatureVerifier, Sort,
    extract::{not_modelled, unknown_path},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `compartmentId`, an optional lifecycle filter, sort and paging: the query of every list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    #[serde(flatten)]
    pub(crate) list: ListParams,
}

impl ListQuery {
    /// The compartment listed (required, as in OCI).
    pub(crate) fn compartment(&self) -> OciResult<&str> {
        self.list.compartment()
    }

    /// Whether a resource in `state` passes the `lifecycleState` filter.
    pub(crate) fn wants_state(&self, state: &str) -> bool {
        self.list.wants_state(state)
    }

    /// Sort by `key` (display name, time created) as OCI does — newest first unless `sortBy`
    /// (`TIMECREATED`, `DISPLAYNAME`) or `sortOrder` say otherwise, rows equal in the key in
    /// the order given — then page and answer `{"items": [...]}`.
    pub(crate) fn respond<T: Clone + Serialize>(
        &self,
        rows: Vec<T>,
        key: impl Fn(&T) -> (&str, &str),
    ) -> OciResult<OciResponse> {
        self.list.respond(rows, Sort::UPPER_DISPLAY_NAME, key, ListShape::Items, Clone::clone)
    }
}

/// Replay the first answer to a POST retried with the same `opc-retry-token` (inside the
/// signature check that [`wrap`] adds, so only an authenticated caller gets a replay).
pub(crate) fn with_retry_tokens(router: Router, tokens: &RetryTokens) -> Router {
    router.layer(middleware::from_fn_with_state(tokens.clone(), hyok_oci_rest::retry::layer))
}

/// Signature check, tenancy check, body limit and request ids around a KMS router.
pub(crate) fn wrap(router: Router, verifier: Arc<SignatureVerifier>, tenancy_id: Arc<str>) -> Router {
    let guarded = router
        .method_not_allowed_fallback(not_modelled)
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(tenancy_id, tenancy_guard))
        .layer(DefaultBodyLimit::max(hyok_core::MAX_BODY_BYTES));
    hyok_oci_rest::signing::protect(guarded, verifier).layer(middleware::from_fn(hyok_core::request_id::layer))
}

/// Requests signed by a user of another tenancy see nothing (OCI's 404 for unauthorised).
async fn tenancy_guard(
    axum::extract::State(tenancy): axum::extract::State<Arc<str>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match req.extensions().get::<hyok_oci_rest::Principal>() {
        Some(p) if p.tenancy_id == *tenancy => next.run(req).await,
        _ => OciError::not_found("Authorization failed or requested resource not found").into_response(),
    }
}
