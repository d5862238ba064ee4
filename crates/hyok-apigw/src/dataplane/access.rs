//! What a request through the gateway leaves behind: the gateway's own error answers and the
//! access log record.

use super::gateway::Deployment;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use std::sync::Arc;

/// A gateway-generated error: `{"code": <status>, "message": <reason phrase>}`.
pub(super) fn gw_error(status: StatusCode) -> Response {
    let body = serde_json::json!({
        "code": status.as_u16(),
        "message": status.canonical_reason().unwrap_or("Error"),
    });
    (status, axum::Json(body)).into_response()
}

/// The request id header, as the gateway reads and forwards it.
pub(super) const OPC_REQUEST_ID: HeaderName = HeaderName::from_static(hyok_core::request_id::HEADER);

/// Why a request ended as it did, for the access log.
#[derive(Default)]
pub(super) enum Reason {
    #[default]
    None,
    Text(String),
    /// The common case, kept as a number so a proxied request formats no text for the log.
    BackendAnswered(StatusCode),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::None => Ok(()),
            Reason::Text(t) => f.write_str(t),
            Reason::BackendAnswered(s) => write!(f, "backend answered {}", s.as_u16()),
        }
    }
}

impl From<String> for Reason {
    fn from(s: String) -> Self {
        Reason::Text(s)
    }
}

impl From<&'static str> for Reason {
    fn from(s: &'static str) -> Self {
        Reason::Text(s.to_string())
    }
}

/// Everything the access log line needs. Names are looked up from the deployment when the line
/// is written (only when the log is enabled), not copied per request.
pub(super) struct Access {
    pub(super) request_id: String,
    /// `request_id` as a header value, built once for the backend request and the response.
    pub(super) request_id_value: Option<HeaderValue>,
    pub(super) deployment: Option<Arc<Deployment>>,
    pub(super) route: Option<usize>,
    pub(super) reason: Reason,
}

/// The `tracing` target of the access log.
pub(super) const ACCESS_TARGET: &str = "hyok_apigw::access";
