//! Extractors and fallbacks that refuse in the domain's own shapes instead of axum's plain
//! text: OAuth's `{"error","error_description"}` under `/oauth2/`, SCIM's Error message
//! everywhere else (see `docs/fidelity/hyok-identity.md`).

use crate::{oauth::OAuthError, scim::ScimError};
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::BytesRejection},
    http::{Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A request body read under the route's limit; failures are SCIM errors.
pub(crate) struct ScimBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScimError> {
        Bytes::from_request(req, state).await.map(Self).map_err(|e| match body_failure(&e) {
            BodyFailure::TooLarge => ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
            BodyFailure::Unreadable => ScimError::invalid_syntax("The request body could not be read completely."),
        })
    }
}

/// Why a body could not be read; the cause (hyper's text) goes to the log only.
pub(crate) enum BodyFailure {
    TooLarge,
    Unreadable,
}

pub(crate) fn body_failure(e: &BytesRejection) -> BodyFailure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return BodyFailure::TooLarge;
    }
    tracing::debug!(error = %e.body_text(), "request body unreadable");
    BodyFailure::Unreadable
}

/// Query parameters, each at most once (a repeated one is ambiguous and refused).
pub(crate) struct ScimQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ScimQuery {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ScimError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| ScimError::invalid_syntax("The query string is not valid."))?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if map.contains_key(&k) {
                return Err(ScimError::invalid_value(format!("The query parameter {k} is repeated.")));
            }
            map.insert(k, v);
        }
        Ok(Self(map))
    }
}

/// Path parameters; one that is not UTF-8 is a SCIM 400.
pub(crate) struct ScimPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ScimPath<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|_| ScimError::invalid_syntax("The resource path is not valid."))
    }
}

fn is_oauth(uri: &Uri) -> bool {
    uri.path().starts_with("/oauth2/")
}

/// Fallback for unknown paths.
pub(crate) async fn not_found(uri: Uri) -> Response {
    if is_oauth(&uri) {
        return OAuthError::new(StatusCode::NOT_FOUND, "invalid_request", "The requested endpoint does not exist.")
            .into_response();
    }
    ScimError::new(StatusCode::NOT_FOUND, "The requested resource was not found.").into_response()
}

/// Fallback for a known path called with a method it does not have (axum adds `Allow`).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let text = format!("The method {method} is not allowed on this endpoint.");
    if is_oauth(&uri) {
        return OAuthError::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", text).into_response();
    }
    ScimError::new(StatusCode::METHOD_NOT_ALLOWED, text).into_response()
}
