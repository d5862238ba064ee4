//! `opc-request-id`: read from the request or minted, echoed on the response, carried to
//! every downstream hop so one id ties the whole chain together.

use axum::{extract::Request, middleware::Next, response::Response};
use http::HeaderValue;

/// Header name OCI and the External KMS vendor API use for request ids.
pub const HEADER: &str = "opc-request-id";

/// The request id of the request being handled; handlers extract it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestId>().cloned().unwrap_or_else(|| from_headers(&parts.headers)))
    }
}

fn from_headers(headers: &http::HeaderMap) -> RequestId {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(|v| RequestId(v.to_string()))
        .unwrap_or_else(|| RequestId(crate::ids::opc_request_id()))
}

/// Middleware: make sure every request has a request id and every response echoes it.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = from_headers(req.headers());
    req.extensions_mut().insert(id.clone());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}
