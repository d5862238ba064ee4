//! The Object Storage REST API: namespace, buckets and objects (`/n/...`).
//!
//! Every route is behind OCI request signing; object PUT bodies are exempt from body hashing
//! and are streamed (as the `oci` CLI and SDKs send them). Errors are OCI `{code, message}`
//! envelopes with `opc-request-id`.
//!
//! This module only routes; each section lives in its own module, and they import one way:
//! `list` → `buckets` (a listed bucket must be accessible); every handler module → `validation`,
//! `errors`.

mod buckets;
mod errors;
mod list;
mod namespace;
mod read;
mod validation;
mod write;

pub use errors::kms_error;
pub use validation::{MAX_BUCKET_NAME, MAX_OBJECT_NAME};
pub use write::MAX_METADATA_BYTES;

use crate::service::ObjectStorage;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, put},
};
use http::Method;
use hyok_oci_rest::{
    SignatureVerifier,
    extract::{not_modelled, unknown_path},
};
use std::sync::Arc;

/// Largest JSON body (CreateBucket).
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The router for host [`crate::HOST`]: signature verification (object PUT bodies exempt from
/// hashing, so they stream), `opc-request-id`, and body limits.
pub fn router(os: Arc<ObjectStorage>, verifier: Arc<SignatureVerifier>) -> Router {
    let verifier = Arc::new(
        (*verifier).clone().with_body_exempt(Arc::new(|m: &Method, p: &str| m == Method::PUT && is_object_path(p))),
    );
    let api = Router::new()
        .route("/n", get(namespace::get_namespace))
        .route("/n/{ns}", get(namespace::namespace_metadata))
        .route("/n/{ns}/b", get(buckets::list_buckets).post(buckets::create_bucket))
        .route("/n/{ns}/b/{bucket}", get(buckets::get_bucket).head(buckets::head_bucket).delete(buckets::delete_bucket))
        .route("/n/{ns}/b/{bucket}/o", get(list::list_objects))
        .route(
            "/n/{ns}/b/{bucket}/o/{*object}",
            put(write::put_object).get(read::get_object).head(read::head_object).delete(read::delete_object),
        )
        .fallback(unknown_path)
        .method_not_allowed_fallback(not_modelled)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .with_state(os);
    hyok_oci_rest::signing::protect(api, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

/// `/n/{ns}/b/{bucket}/o/{object...}`.
fn is_object_path(path: &str) -> bool {
    let mut it = path.splitn(7, '/');
    matches!(
        (it.next(), it.next(), it.next(), it.next(), it.next(), it.next(), it.next()),
        // `o`: PutObject; `u`: UploadPart, whose body the SDK does not sign either.
        (Some(""), Some("n"), Some(ns), Some("b"), Some(b), Some("o" | "u"), Some(o)) if !ns.is_empty() && !b.is_empty() && !o.is_empty()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths_are_recognised() {
        assert!(is_object_path("/n/ns/b/bucket/o/a/b/c.txt"));
        assert!(is_object_path("/n/ns/b/bucket/o/x"));
        assert!(is_object_path("/n/ns/b/bucket/u/x"), "an upload part, body unsigned as PutObject's");
        assert!(!is_object_path("/n/ns/b/bucket/o"));
        assert!(!is_object_path("/n/ns/b/bucket/o/"));
        assert!(!is_object_path("/n/ns/b/bucket"));
        assert!(!is_object_path("/x/ns/b/bucket/o/y"));
    }
}
