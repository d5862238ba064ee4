//! Extractors and fallbacks that refuse in CTM's shapes instead of axum's plain text: the
//! management API's [`CtmError`] envelope, and under the vendor prefix the vendor API's
//! `{"code":"<status>","message"}` that OCI KMS reads (see `docs/fidelity/hyok-ctm.md`).

use crate::error::CtmError;
use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::BytesRejection},
    http::{Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};
use hyok_core::RequestId;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Paths of the vendor API (External KMS) OCI calls.
const VENDOR_PREFIX: &str = "/api/v1/cckm/oci/ekm/";

/// Why a body could not be read; hyper's own text goes to the log only.
fn body_failure(e: &BytesRejection) -> (StatusCode, &'static str) {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large");
    }
    tracing::debug!(error = %e.body_text(), "request body unreadable");
    (StatusCode::BAD_REQUEST, "Request body could not be read completely")
}

/// A management request body under the route's limit; failures are [`CtmError`]s.
pub(crate) struct CtmBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CtmBody {
    type Rejection = CtmError;

    async fn from_request(req: Request, state: &S) -> Result<Self, CtmError> {
        Bytes::from_request(req, state).await.map(Self).map_err(|e| {
            let (status, message) = body_failure(&e);
            CtmError::new(status, 1, "NCERRBadRequest", message)
        })
    }
}

/// Query parameters, each at most once.
pub(crate) struct CtmQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for CtmQuery {
    type Rejection = CtmError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, CtmError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| CtmError::invalid_param("Invalid query string"))?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if map.contains_key(&k) {
                return Err(CtmError::invalid_param(format!("Query parameter {k} is repeated")));
            }
            map.insert(k, v);
        }
        Ok(Self(map))
    }
}

/// Management path parameters; one that is not UTF-8 is a 400.
pub(crate) struct CtmPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for CtmPath<T> {
    type Rejection = CtmError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, CtmError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|_| CtmError::bad_request("Invalid resource path"))
    }
}

/// The vendor API's error body.
pub(crate) fn vendor_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "code": status.as_u16().to_string(), "message": message });
    (status, Json(body)).into_response()
}

/// A vendor-API rejection (the vendor shape, not CTM's envelope).
pub(crate) struct VendorRejection(StatusCode, &'static str);

impl IntoResponse for VendorRejection {
    fn into_response(self) -> Response {
        vendor_error(self.0, self.1)
    }
}

/// A vendor-API request body.
pub(crate) struct VendorBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for VendorBody {
    type Rejection = VendorRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, VendorRejection> {
        Bytes::from_request(req, state).await.map(Self).map_err(|e| {
            let (status, message) = body_failure(&e);
            VendorRejection(
                status,
                if status == StatusCode::BAD_REQUEST { "Bad Request: body unreadable" } else { message },
            )
        })
    }
}

/// Vendor-API path parameters.
pub(crate) struct VendorPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for VendorPath<T> {
    type Rejection = VendorRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, VendorRejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|_| VendorRejection(StatusCode::BAD_REQUEST, "Bad Request: invalid resource path"))
    }
}

/// Fallback for unknown paths.
pub(crate) async fn not_found(id: RequestId, uri: Uri) -> Response {
    if uri.path().starts_with(VENDOR_PREFIX) {
        return vendor_error(StatusCode::NOT_FOUND, "Not Found: no such vendor API operation");
    }
    CtmError::not_found("Resource not found").with_request_id(id.0).into_response()
}

/// Fallback for a known path called with a method it does not have (axum adds `Allow`).
pub(crate) async fn method_not_allowed(id: RequestId, method: Method, uri: Uri) -> Response {
    let message = format!("Method {method} is not allowed on {}", uri.path());
    if uri.path().starts_with(VENDOR_PREFIX) {
        return vendor_error(StatusCode::METHOD_NOT_ALLOWED, &format!("Method Not Allowed: {message}"));
    }
    CtmError::new(StatusCode::METHOD_NOT_ALLOWED, 1, "NCERRMethodNotAllowed", message)
        .with_request_id(id.0)
        .into_response()
}
