//! `opc-retry-token`, as one layer for a whole router: the first successful response to a
//! (method, path and query, token) is kept and replayed for a retry with the same body, so a retried
//! create creates nothing; the same token with another body is 409 `InvalidatedRetryToken`.
//!
//! Apply it inside the signature check ([`crate::signing::protect`] wraps the router that
//! carries this layer), so only an authenticated caller can have a response replayed.

use crate::OciError;
use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use hyok_core::Clock;
use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

/// Header carrying the idempotency token.
pub const RETRY_TOKEN: &str = "opc-retry-token";
/// Longest retry token OCI accepts.
pub const MAX_RETRY_TOKEN_LEN: usize = 64;
/// How long a retry token is remembered.
pub const RETRY_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest response body kept for replay; a larger one is answered but not remembered.
const MAX_KEPT_BODY: usize = 1024 * 1024;

struct Kept {
    body_hash: [u8; 32],
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

/// The retry-token memory of one service; `Clone` shares it.
#[derive(Clone)]
pub struct RetryTokens {
    map: Arc<Mutex<HashMap<(String, String), Kept>>>,
    // Requests carrying a token are serialised so two concurrent retries cannot both create.
    gate: Arc<tokio::sync::Mutex<()>>,
    clock: Clock,
    max_body: usize,
}

impl Default for RetryTokens {
    fn default() -> Self {
        Self::new(Clock::system())
    }
}

impl std::fmt::Debug for RetryTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryTokens").finish_non_exhaustive()
    }
}

impl RetryTokens {
    /// An empty store whose tokens expire after [`RETRY_TOKEN_TTL`] on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self { map: Arc::default(), gate: Arc::default(), clock, max_body: hyok_core::MAX_BODY_BYTES }
    }

    /// Largest request body the layer reads (default [`hyok_core::MAX_BODY_BYTES`]).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

/// The middleware: `router.layer(axum::middleware::from_fn_with_state(tokens, retry::layer))`.
/// Only POST requests that carry a token are touched.
pub async fn layer(State(tokens): State<RetryTokens>, req: Request, next: Next) -> Response {
    match run(tokens, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(tokens: RetryTokens, req: Request, next: Next) -> Result<Response, OciError> {
    let token = match req.headers().get(RETRY_TOKEN) {
        Some(v) if req.method() == Method::POST => {
            v.to_str().map_err(|_| OciError::invalid_parameter("opc-retry-token is not ASCII"))?.to_string()
        }
        _ => return Ok(next.run(req).await),
    };
    if token.is_empty() || token.len() > MAX_RETRY_TOKEN_LEN {
        return Err(OciError::invalid_parameter(format!(
            "opc-retry-token must be 1 to {MAX_RETRY_TOKEN_LEN} characters"
        )));
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, tokens.max_body).await.map_err(crate::extract::body_error)?;
    let hash: [u8; 32] = Sha256::digest(&body).into();
    // The query is part of the operation (e.g. DNS CreateZone `?scope=&viewId=`).
    let scope = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let key = (format!("{} {scope}", parts.method), token);
    let _serial = tokens.gate.lock().await;
    {
        let mut map = tokens.map.lock();
        let now = tokens.clock.now();
        map.retain(|_, k| now.saturating_duration_since(k.at) < RETRY_TOKEN_TTL);
        if let Some(k) = map.get(&key) {
            if k.body_hash != hash {
                return Err(OciError::new(
                    StatusCode::CONFLICT,
                    "InvalidatedRetryToken",
                    "the opc-retry-token was already used for a different request; use a new token",
                ));
            }
            let mut resp = Response::new(Body::from(k.body.clone()));
            *resp.status_mut() = k.status;
            *resp.headers_mut() = k.headers.clone();
            return Ok(resp);
        }
    }
    let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
    if !resp.status().is_success() {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_KEPT_BODY).await.map_err(OciError::internal)?;
    // The request id is the new request's own; the length is recomputed by the server.
    let mut headers = parts.headers.clone();
    headers.remove(hyok_core::request_id::HEADER);
    headers.remove(header::CONTENT_LENGTH);
    tokens.map.lock().insert(
        key,
        Kept { body_hash: hash, status: parts.status, headers, body: bytes.clone(), at: tokens.clock.now() },
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, routing::post};
    use std::sync::atomic::{AtomicU32, Ordering};
    use tower::ServiceExt as _;

    fn app(tokens: RetryTokens, created: Arc<AtomicU32>) -> Router {
        Router::new()
            .route(
                "/things",
                post(move |body: Bytes| async move {
                    let n = created.fetch_add(1, Ordering::SeqCst) + 1;
                    (StatusCode::OK, [("etag", format!("e{n}"))], format!("{{\"n\":{n},\"len\":{}}}", body.len()))
                }),
            )
            .layer(axum::middleware::from_fn_with_state(tokens, layer))
    }

    async fn post_with(app: &Router, token: Option<&str>, body: &str) -> (StatusCode, String, Option<String>) {
        let mut req = http::Request::post("/things");
        if let Some(t) = token {
            req = req.header(RETRY_TOKEN, t);
        }
        let resp = app.clone().oneshot(req.body(Body::from(body.to_string())).expect("req")).await.expect("ok");
        let status = resp.status();
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned(), etag)
    }

    #[tokio::test]
    async fn a_retry_replays_the_first_response_and_creates_nothing() {
        let (clock, created) = (Clock::manual(), Arc::new(AtomicU32::new(0)));
        let app = app(RetryTokens::new(clock.clone()), created.clone());
        let first = post_with(&app, Some("t1"), "a").await;
        assert_eq!(first, (StatusCode::OK, r#"{"n":1,"len":1}"#.into(), Some("e1".into())));
        assert_eq!(post_with(&app, Some("t1"), "a").await, first, "replayed with its headers");
        assert_eq!(created.load(Ordering::SeqCst), 1);
        let (status, body, _) = post_with(&app, Some("t1"), "b").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body.contains("InvalidatedRetryToken"), "{body}");
        post_with(&app, None, "a").await;
        assert_eq!(created.load(Ordering::SeqCst), 2, "no token, no memory");
        clock.advance(RETRY_TOKEN_TTL);
        assert_eq!(post_with(&app, Some("t1"), "b").await.0, StatusCode::OK, "forgotten after the TTL");
        let long = "x".repeat(MAX_RETRY_TOKEN_LEN + 1);
        assert_eq!(post_with(&app, Some(&long), "a").await.0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn unreadable_and_oversize_bodies_are_told_apart() {
        let tokens = RetryTokens::new(Clock::manual());
        let app = app(tokens.clone(), Arc::new(AtomicU32::new(0)));
        let (status, body, _) = post_with(&app, Some("t2"), &"x".repeat(tokens.max_body + 1)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("RequestEntityTooLarge"), "{body}");
        let broken = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"{")),
            Err(std::io::Error::other("invalid chunk size line")),
        ]);
        let req = http::Request::post("/things").header(RETRY_TOKEN, "t3").body(Body::from_stream(broken));
        let resp = app.oneshot(req.expect("req")).await.expect("ok");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("CannotParseRequest") && !text.contains("chunk"), "{text}");
    }
}
