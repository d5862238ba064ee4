//! The streaming proxy to an HTTP backend: hop-by-hop headers, `x-forwarded-*`, the route's
//! deadlines and body limits, and the hop event of every backend call.

use super::{
    access::{Access, OPC_REQUEST_ID, Reason, gw_error},
    gateway::{CompiledRoute, Gateway, MAX_PROXY_BODY_BYTES, read},
};
use crate::spec::HttpBackend;
use axum::{body::Body, extract::Request, response::Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyok_core::{
    InFlight, Outcome,
    client::{ClientError, DialError},
};
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in listed {
        headers.remove(n);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Outcome and deciding party for a client error.
pub(super) fn classify(e: &ClientError) -> (Outcome, String) {
    match e {
        ClientError::Dial(DialError::Dns(_)) => (Outcome::DnsFailed, "DNS as seen from the gateway's subnet".into()),
        ClientError::Dial(DialError::Denied(_)) => (Outcome::Denied, "route table / security list".into()),
        ClientError::Dial(_) => (Outcome::Unreachable, "backend listener".into()),
        ClientError::Tls { .. } => (Outcome::TlsFailed, "gateway CA bundles vs backend certificate".into()),
        ClientError::Timeout(_) => (Outcome::Unreachable, "backend timeout".into()),
        _ => (Outcome::Unreachable, "backend connection".into()),
    }
}

pub(super) async fn proxy(
    gw: &Arc<Gateway>,
    req: Request,
    client_addr: Option<SocketAddr>,
    url: String,
    backend: &HttpBackend,
    route: &CompiledRoute,
    access: &mut Access,
) -> Response {
    let started = Instant::now();
    let destination = url.split('?').next().unwrap_or(&url).to_string();
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            let reason = format!("rendered backend URL {url:?} is invalid: {e}");
            gw.hop(
                &access.request_id,
                "API gateway → backend",
                destination,
                Outcome::Error,
                None,
                reason.clone(),
                Some(format!("backend URL template of route {}", route.path)),
                started,
            );
            access.reason = reason.into();
            return gw_error(StatusCode::BAD_GATEWAY);
        }
    };
    let (parts, body) = req.into_parts();
    let content_length =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if content_length.is_some_and(|n| n > MAX_PROXY_BODY_BYTES as u64) {
        access.reason = format!("request body larger than {MAX_PROXY_BODY_BYTES} bytes").into();
        return gw_error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let has_body = content_length.is_some_and(|n| n > 0) || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    if let Some(addr) = client_addr {
        let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {}", addr.ip()),
            _ => addr.ip().to_string(),
        };
        if let Ok(v) = HeaderValue::try_from(xff) {
            headers.insert(X_FORWARDED_FOR, v);
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
    if let Some(v) = &access.request_id_value {
        headers.insert(OPC_REQUEST_ID, v.clone());
    }
    // A request without a body (most of them: GETs) needs no limit wrapper.
    let body = if body.is_end_stream() {
        Body::empty()
    } else {
        Body::new(http_body_util::Limited::new(body, MAX_PROXY_BODY_BYTES))
    };
    let mut out = http::Request::new(body);
    *out.method_mut() = parts.method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;

    let clients = read(&gw.clients);
    let client = if backend.verify_tls() { &clients.verified } else { &clients.unverified };
    // readTimeout covers waiting for the response head; sendTimeout is added when a body is sent.
    let deadline = backend.read_timeout() + if has_body { backend.send_timeout() } else { Duration::ZERO };
    let hop = InFlight::start(
        &gw.events,
        access.request_id.to_string(),
        "API gateway → backend".into(),
        gw.source.clone(),
        destination,
    );
    // A clone shares the connection pool; its timeout is this route's deadline.
    let result = client.clone().with_timeout(deadline).send_streaming(out).await;
    match result {
        Ok(resp) => {
            let status = resp.status();
            let outcome =
                if status.is_client_error() || status.is_server_error() { Outcome::Error } else { Outcome::Ok };
            hop.finish(
                outcome,
                Some(status.as_u16()),
                format!("backend answered {}", status.as_u16()),
                Some(route.decided_by.clone()),
            );
            access.reason = Reason::BackendAnswered(status);
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let body =
                IdleTimeout::new(http_body_util::Limited::new(body, MAX_PROXY_BODY_BYTES), backend.read_timeout());
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            let (outcome, decided_by) = classify(&e);
            let status = match &e {
                ClientError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                ClientError::Connect { reason, .. } if reason.contains("timed out") => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            let reason = match &e {
                ClientError::Timeout(d) => {
                    format!("backend did not answer within {:.1}s (readTimeoutInSeconds)", d.as_secs_f32())
                }
                other => other.to_string(),
            };
            hop.finish(outcome, None, reason.clone(), Some(decided_by));
            access.reason = reason.into();
            gw_error(status)
        }
    }
}

/// A body that fails when no frame arrives for `timeout` (the backend read timeout).
struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    /// Armed only once the body has to wait, so small responses never touch the timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleTimeout<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self { inner, timeout, sleep: None }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("backend sent no data for {0:?}")]
struct BodyTimeout(Duration);

impl<B> HttpBody for IdleTimeout<B>
where
    // Unpin (hyper's `Incoming` under `Limited` is), so the body needs no box of its own.
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                this.sleep = None;
                Poll::Ready(r.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
