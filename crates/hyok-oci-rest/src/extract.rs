//! Extractors that reject in OCI's error shape (axum's own answer in plain text), and the
//! fallbacks for unknown routes and methods.

use crate::{OciError, conventions::parse_json};
use axum::{
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::BytesRejection},
    http::{Method, StatusCode, Uri, request::Parts},
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A query string; a bad one is 400 `InvalidParameter` naming the problem.
#[derive(Debug, Clone, Default)]
pub struct OciQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for OciQuery<T> {
    type Rejection = OciError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, OciError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e| OciError::invalid_parameter(format!("invalid query string: {}", serde_detail(&e.body_text()))))
    }
}

/// Path parameters; a bad one is 400 `InvalidParameter`.
#[derive(Debug, Clone)]
pub struct OciPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for OciPath<T> {
    type Rejection = OciError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, OciError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|e| OciError::invalid_parameter(format!("invalid path: {}", e.body_text())))
    }
}

/// A JSON body, parsed as [`parse_json`] does; a body over the route's limit is 413
/// `RequestEntityTooLarge`, a broken one 400 `CannotParseRequest`.
#[derive(Debug, Clone)]
pub struct OciJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OciJson<T> {
    type Rejection = OciError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OciError> {
        let body = body_bytes(req, state).await?;
        parse_json(&body).map(Self)
    }
}

/// The body's bytes, with the route's body limit, every failure as an [`OciError`].
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, OciError> {
    Bytes::from_request(req, state).await.map_err(bytes_rejection)
}

/// An axum body rejection in OCI's shape.
pub fn bytes_rejection(e: BytesRejection) -> OciError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    tracing::debug!(error = %e.body_text(), "request body unreadable");
    unreadable()
}

/// A failure of `axum::body::to_bytes` (over the limit, or a broken body such as a bad chunk)
/// in OCI's shape; hyper's text goes to the log only.
pub fn body_error(e: axum::Error) -> OciError {
    if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
        return too_large();
    }
    tracing::debug!(error = %e, "request body unreadable");
    unreadable()
}

fn too_large() -> OciError {
    OciError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "request body is too large")
}

fn unreadable() -> OciError {
    OciError::new(StatusCode::BAD_REQUEST, "CannotParseRequest", "the request body could not be read completely")
}

/// serde's part of an axum query rejection (axum prefixes its own sentence).
fn serde_detail(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, detail)| detail)
}

/// Fallback: 404 for a path no operation of the lab has. OCI may serve it (the lab models only
/// what the tutorial and its tools use), so the message says so rather than "does not exist".
pub async fn unknown_path(method: Method, uri: Uri) -> OciError {
    OciError::not_found(format!(
        "Unknown resource path {}: {method} {} is not modelled by the lab",
        uri.path(),
        uri.path()
    ))
}

/// Method fallback: 405 for an operation the lab does not model on a known path.
pub async fn not_modelled(method: Method, uri: Uri) -> OciError {
    OciError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{method} {} is not modelled by the lab", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, body::Body, routing::post};
    use tower::ServiceExt as _;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Q {
        n: u32,
    }

    async fn call(app: Router, req: http::Request<Body>) -> (StatusCode, serde_json::Value) {
        let resp = app.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("an OCI error body is JSON"))
    }

    fn app() -> Router {
        Router::new()
            .route("/q", post(|OciQuery(_q): OciQuery<Q>, OciJson(_b): OciJson<Q>| async { "ok" }))
            .layer(axum::extract::DefaultBodyLimit::max(16))
            .fallback(unknown_path)
    }

    #[tokio::test]
    async fn every_rejection_is_an_oci_error() {
        let req = |uri: &str, body: &str| http::Request::post(uri).body(Body::from(body.to_string())).expect("req");
        let (s, v) = call(app(), req("/q?n=x", r#"{"n":1}"#)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")));
        let (s, v) = call(app(), req("/q?n=1", "{")).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("CannotParseRequest")));
        let (s, v) = call(app(), req("/q?n=1", r#"{"n":1,"pad":"xxxxxxxxxxxxxxxxxx"}"#)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("RequestEntityTooLarge")));
        let (s, v) = call(app(), req("/nowhere", "")).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotAuthorizedOrNotFound")));
    }
}
