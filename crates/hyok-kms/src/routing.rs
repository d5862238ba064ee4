//! What every KMS router shares: the checks around it (signature, tenancy, body limit, request
//! ids, retry tokens, OCI-shaped fallbacks), the SDK operations it refuses as not modelled, and
//! the query of its lists.

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{MethodFilter, on},
};
use http::{Method, StatusCode, Uri};
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
    /// Sort by `key` (display name, time created) as OCI does — newest first unless `sortBy`
    /// (`TIMECREATED`, `DISPLAYNAME`) or `sortOrder` say otherwise, rows equal in the key in
    /// the order given — then page and answer a bare array of `view(row)`, as the SDK's
    /// `list[VaultSummary]` (and the other KMS lists) read it.
    pub(crate) fn respond<T, B: Serialize>(
        &self,
        rows: Vec<T>,
        key: impl Fn(&T) -> (&str, &str),
        view: impl Fn(&T) -> B,
    ) -> OciResult<OciResponse> {
        self.list.respond(rows, Sort::UPPER_DISPLAY_NAME, key, ListShape::Array, view)
    }
}

/// An operation of the SDK's KMS clients that the lab does not model, by method and path.
pub(crate) type Unmodelled = (MethodFilter, &'static str, &'static str);

/// Each of `ops` answers 405 `MethodNotAllowed` naming the operation, so an SDK or CLI user sees
/// why, never a 404 "does not exist" for a resource that does.
pub(crate) fn refuse<S: Clone + Send + Sync + 'static>(mut router: Router<S>, ops: &[Unmodelled]) -> Router<S> {
    for &(method, path, op) in ops {
        router =
            router.route(path, on(method, move |m: Method, uri: Uri| async move { not_modelled_op(op, &m, &uri) }));
    }
    router
}

/// The error of an operation the lab does not model.
pub(crate) fn not_modelled_op(op: &str, method: &Method, uri: &Uri) -> OciError {
    OciError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "{op} ({method} {}) is not modelled by the lab: it models EKMS private endpoints, external vaults, \
             key references and their crypto operations (create, get, list, enable, disable, rotate)",
            uri.path()
        ),
    )
}

/// Replay the first answer to a POST retried with the same `opc-retry-token` (inside the
/// signature check that [`wrap`] adds, so only an authenticated caller gets a replay). The
/// method fallback goes on first: a layered route no longer takes one.
pub(crate) fn with_retry_tokens(router: Router, tokens: &RetryTokens) -> Router {
    router
        .method_not_allowed_fallback(not_modelled)
        .layer(middleware::from_fn_with_state(tokens.clone(), hyok_oci_rest::retry::layer))
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
