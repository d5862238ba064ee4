//! CipherTrust Manager's error envelope, as an axum response.
//!
//! Invariant: a response body never carries internal detail; that goes to the log.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde::Serialize;

/// A CipherTrust Manager REST error: `{"code","codeDesc","message","requestID"}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code_desc}: {message}")]
pub struct CtmError {
    /// HTTP status.
    pub status: StatusCode,
    /// CTM's numeric code.
    pub code: u32,
    /// CTM's `NCERR…` code description.
    pub code_desc: &'static str,
    /// Human message.
    pub message: String,
    /// Request id echoed in the body, when known.
    pub request_id: Option<String>,
}

impl CtmError {
    /// Any CTM error.
    pub fn new(status: StatusCode, code: u32, code_desc: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, code_desc, message: message.into(), request_id: None }
    }
    /// 400 NCERRBadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 1, "NCERRBadRequest", message)
    }
    /// 400 NCERRInvalidParamValue.
    pub fn invalid_param(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 15, "NCERRInvalidParamValue", message)
    }
    /// 401 NCERRUnauthorizedAccess.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 5, "NCERRUnauthorizedAccess", message)
    }
    /// 403 NCERRForbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, 7, "NCERRForbidden", message)
    }
    /// 404 NCERRResourceNotFound.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 16, "NCERRResourceNotFound", message)
    }
    /// 409 NCERRConflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, 10, "NCERRConflict", message)
    }
    /// 500 NCERRInternalServerError; the detail is logged, not returned.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, 2, "NCERRInternalServerError", "Internal server error")
    }
    /// The same error carrying the request id in its body.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

#[derive(Serialize)]
struct CtmBody<'a> {
    code: u32,
    #[serde(rename = "codeDesc")]
    code_desc: &'a str,
    message: &'a str,
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl IntoResponse for CtmError {
    fn into_response(self) -> Response {
        let body = CtmBody {
            code: self.code,
            code_desc: self.code_desc,
            message: &self.message,
            request_id: self.request_id.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ctm_error_shape() {
        let resp = CtmError::not_found("Resource not found").with_request_id("r1").into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!((v["codeDesc"].as_str(), v["code"].as_u64()), (Some("NCERRResourceNotFound"), Some(16)));
        assert_eq!(v["requestID"], "r1");
    }
}
