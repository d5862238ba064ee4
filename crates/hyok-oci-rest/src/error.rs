//! OCI's error envelope, as an axum response.
//!
//! Invariant: a response body never carries internal detail (panics, io errors, paths); those
//! go to the log and the caller sees the spec's code and a plain message.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde::Serialize;

/// An OCI REST error: `{"code","message"}` with the status OCI uses for that code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct OciError {
    /// HTTP status.
    pub status: StatusCode,
    /// OCI error code, e.g. `NotAuthenticated`, `InvalidParameter`.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

impl OciError {
    /// Any OCI error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    /// 400 InvalidParameter.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }
    /// 400 MissingParameter.
    pub fn missing_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MissingParameter", message)
    }
    /// 401 NotAuthenticated.
    pub fn not_authenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "NotAuthenticated", message)
    }
    /// 404 NotAuthorizedOrNotFound, OCI's answer for anything unknown or forbidden.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", message)
    }
    /// 409 Conflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }
    /// 409 IncorrectState.
    pub fn incorrect_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "IncorrectState", message)
    }
    /// 500 InternalServerError; the detail is logged, not returned.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal error")
    }
}

#[derive(Serialize)]
struct OciBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        // The request-id middleware adds `opc-request-id` to every response.
        (self.status, Json(OciBody { code: self.code, message: &self.message })).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util_shim::body_json;

    mod http_body_util_shim {
        pub async fn body_json(resp: axum::response::Response) -> serde_json::Value {
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
            serde_json::from_slice(&bytes).expect("json")
        }
    }

    #[tokio::test]
    async fn oci_error_shape() {
        let resp = OciError::not_authenticated("bad signature").into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let v = body_json(resp).await;
        assert_eq!(v, serde_json::json!({"code": "NotAuthenticated", "message": "bad signature"}));
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak() {
        let v = body_json(OciError::internal("/secret/path: io error").into_response()).await;
        assert!(!v.to_string().contains("/secret/path"));
    }
}
