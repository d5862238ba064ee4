//! An HTTP(S) client whose name resolution and connection policy are pluggable.
//!
//! Every lab hop and every host-side tool uses it. A [`Dial`] turns `host:port` into the real
//! loopback socket behind it (and may refuse, as the network model does); TLS is verified
//! against the CA bundle the caller gives, with the URL's host as the server name.

use crate::events::{EventLog, InFlight, Outcome};
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{Connected, Connection},
    },
    rt::{TokioExecutor, TokioIo},
};
use rustls::{ClientConfig, pki_types::ServerName};
use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, client::TlsStream};

/// Boxed error type used across hyper boundaries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A boxed future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a connection could not be made before any byte was sent.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The name did not resolve.
    #[error("{0}")]
    Dns(String),
    /// Routing or a security rule refused the connection.
    #[error("{0}")]
    Denied(String),
    /// Nothing listens at the destination.
    #[error("{0}")]
    NoListener(String),
}

/// Resolves and authorises a destination, returning the real socket to connect to and a label
/// for the destination (its virtual address).
pub trait Dial: Send + Sync + 'static {
    /// Resolve `host:port` to the real socket address of the listener behind it.
    fn dial(&self, host: &str, port: u16) -> BoxFuture<'_, Result<Dialed, DialError>>;

    /// A number that changes whenever routing, security rules or DNS change. Clients drop their
    /// pooled connections when it moves, so a rule change applies to live traffic at once.
    fn epoch(&self) -> u64 {
        0
    }
}

/// Where a dial leads.
#[derive(Clone, Debug)]
pub struct Dialed {
    /// The real socket to connect to.
    pub real: SocketAddr,
    /// The destination as the lab names it (e.g. `172.16.1.103:443`).
    pub label: String,
}

/// A fixed table of `host:port` → real socket; anything else is connected to as written.
/// Host-side tools use it to reach lab services through their host URLs with the real names.
#[derive(Clone, Debug, Default)]
pub struct StaticDial {
    map: HashMap<(String, u16), SocketAddr>,
}

impl StaticDial {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Pin `host:port` to `real`.
    pub fn pin(mut self, host: &str, port: u16, real: SocketAddr) -> Self {
        self.map.insert((host.to_ascii_lowercase(), port), real);
        self
    }
}

impl Dial for StaticDial {
    fn dial(&self, host: &str, port: u16) -> BoxFuture<'_, Result<Dialed, DialError>> {
        let host = host.to_ascii_lowercase();
        Box::pin(async move {
            if let Some(real) = self.map.get(&(host.clone(), port)) {
                return Ok(Dialed { real: *real, label: format!("{host}:{port}") });
            }
            // Literal addresses need no resolver (a static binary has no NSS).
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                return Ok(Dialed { real: SocketAddr::new(ip, port), label: format!("{host}:{port}") });
            }
            let mut addrs = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| DialError::Dns(format!("cannot resolve {host}: {e}")))?;
            let real = addrs.next().ok_or_else(|| DialError::Dns(format!("{host} has no address")))?;
            Ok(Dialed { real, label: format!("{host}:{port}") })
        })
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not usable.
    #[error("bad URL {0}")]
    BadUrl(String),
    /// Resolution or policy refused the connection.
    #[error(transparent)]
    Dial(#[from] DialError),
    /// The TLS handshake failed (untrusted chain, wrong name, protocol).
    #[error("TLS handshake with {peer} failed: {reason}")]
    Tls {
        /// Destination label.
        peer: String,
        /// rustls's reason.
        reason: String,
    },
    /// TCP connect failed.
    #[error("connection to {peer} failed: {reason}")]
    Connect {
        /// Destination label.
        peer: String,
        /// OS reason.
        reason: String,
    },
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke or the peer spoke bad HTTP.
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    /// The response body was larger than allowed.
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConnectFailure(ClientError);

/// The name of a hop, put in a request's extensions so the recorded [`HopEvent`] says what the
/// hop is in the tutorial's words.
#[derive(Clone, Debug)]
pub struct HopName(pub String);

/// An HTTP/1.1 client with a pool, a [`Dial`] and a TLS config.
#[derive(Clone)]
pub struct HttpClient {
    pool: Arc<parking_lot::RwLock<(u64, Client<Connector, Body>)>>,
    connector: Connector,
    timeout: Duration,
    max_response: usize,
    events: Option<(EventLog, String)>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client that dials with `dial` and verifies TLS with `tls`.
    pub fn new(dial: Arc<dyn Dial>, tls: Arc<ClientConfig>) -> Self {
        let connector = Connector { dial, tls: TlsConnector::from(tls), connect_timeout: Duration::from_secs(5) };
        let epoch = connector.dial.epoch();
        let pool = Arc::new(parking_lot::RwLock::new((epoch, build_pool(connector.clone()))));
        Self { pool, connector, timeout: Duration::from_secs(30), max_response: 16 * 1024 * 1024, events: None }
    }

    /// Record a [`HopEvent`] for every request, with `source` as the hop's source label.
    pub fn with_events(mut self, events: EventLog, source: impl Into<String>) -> Self {
        self.events = Some((events, source.into()));
        self
    }

    /// Connect timeout (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connector.connect_timeout = timeout;
        let epoch = self.connector.dial.epoch();
        self.pool = Arc::new(parking_lot::RwLock::new((epoch, build_pool(self.connector.clone()))));
        self
    }

    fn client(&self) -> Client<Connector, Body> {
        let epoch = self.connector.dial.epoch();
        {
            let g = self.pool.read();
            if g.0 == epoch {
                return g.1.clone();
            }
        }
        // The network changed: start a fresh pool so every connection is dialled again.
        let mut g = self.pool.write();
        if g.0 != epoch {
            *g = (epoch, build_pool(self.connector.clone()));
        }
        g.1.clone()
    }

    /// Overall timeout per request (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest body [`HttpClient::send`] buffers (default 16 MiB).
    pub fn with_max_response(mut self, max: usize) -> Self {
        self.max_response = max;
        self
    }

    /// Send a request and return the response with a streaming body.
    pub async fn send_streaming(&self, req: Request<Body>) -> Result<Response<hyper::body::Incoming>, ClientError> {
        // What the hop event needs is taken from the request only when events are recorded.
        let hop = self.events.as_ref().map(|(log, source)| {
            let request_id =
                req.headers().get(crate::request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let dest = format!("{} {}", req.method(), req.uri());
            let name =
                req.extensions().get::<HopName>().map(|h| h.0.clone()).unwrap_or_else(|| format!("{source} → {dest}"));
            InFlight::start(log, request_id, name, source.clone(), dest)
        });
        let result = match tokio::time::timeout(self.timeout, self.client().request(req)).await {
            Err(_) => Err(ClientError::Timeout(self.timeout)),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(classify(e)),
        };
        if let Some(hop) = hop {
            let (outcome, status, reason, decided_by) = match &result {
                Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                    (Outcome::Ok, Some(r.status().as_u16()), r.status().to_string(), None)
                }
                Ok(r) => (Outcome::Error, Some(r.status().as_u16()), format!("peer answered {}", r.status()), None),
                Err(e) => {
                    let outcome = match e {
                        ClientError::Dial(DialError::Dns(_)) => Outcome::DnsFailed,
                        ClientError::Dial(DialError::Denied(_)) => Outcome::Denied,
                        ClientError::Tls { .. } => Outcome::TlsFailed,
                        _ => Outcome::Unreachable,
                    };
                    let decided = match e {
                        ClientError::Dial(d) => Some(d.to_string()),
                        _ => None,
                    };
                    (outcome, None, e.to_string(), decided)
                }
            };
            hop.finish(outcome, status, reason, decided_by);
        }
        result
    }

    /// Send a request and buffer the whole response body.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Bytes>, ClientError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let resp = self.send_streaming(req).await?;
        let (parts, body) = resp.into_parts();
        let limited = http_body_util::Limited::new(body, self.max_response);
        let bytes = match tokio::time::timeout_at(deadline, limited.collect()).await {
            Err(_) => return Err(ClientError::Timeout(self.timeout)),
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(ClientError::TooLarge(self.max_response));
            }
            Ok(Err(e)) => return Err(ClientError::Http(e.to_string())),
        };
        Ok(Response::from_parts(parts, bytes))
    }

    /// GET a URL and parse JSON, with extra headers.
    pub async fn get_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<(http::StatusCode, serde_json::Value), ClientError> {
        let mut b = Request::get(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Body::empty()).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        let resp = self.send(req).await?;
        let v = serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null);
        Ok((resp.status(), v))
    }
}

fn build_pool(connector: Connector) -> Client<Connector, Body> {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build(connector)
}

fn classify(e: hyper_util::client::legacy::Error) -> ClientError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(ConnectFailure(inner)) = s.downcast_ref::<ConnectFailure>() {
            return match inner {
                ClientError::Dial(d) => ClientError::Dial(d.clone()),
                ClientError::Tls { peer, reason } => ClientError::Tls { peer: peer.clone(), reason: reason.clone() },
                ClientError::Connect { peer, reason } => {
                    ClientError::Connect { peer: peer.clone(), reason: reason.clone() }
                }
                other => ClientError::Http(other.to_string()),
            };
        }
        src = s.source();
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ClientError::Http(msg)
}

#[derive(Clone)]
struct Connector {
    dial: Arc<dyn Dial>,
    tls: TlsConnector,
    connect_timeout: Duration,
}

impl tower::Service<Uri> for Connector {
    type Response = LabIo;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<LabIo, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(uri).await.map_err(|e| Box::new(ConnectFailure(e)) as BoxError) })
    }
}

impl Connector {
    async fn connect(&self, uri: Uri) -> Result<LabIo, ClientError> {
        let host = uri.host().ok_or_else(|| ClientError::BadUrl(uri.to_string()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let dialed = self.dial.dial(&host, port).await?;
        let tcp = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(dialed.real)).await {
            Err(_) => return Err(ClientError::Connect { peer: dialed.label, reason: "connect timed out".into() }),
            Ok(Err(e)) => return Err(ClientError::Connect { peer: dialed.label, reason: e.to_string() }),
            Ok(Ok(s)) => s,
        };
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(LabIo(TokioIo::new(Stream::Plain(tcp))));
        }
        let name = ServerName::try_from(host.clone())
            .map_err(|_| ClientError::BadUrl(format!("{host} is not a valid TLS server name")))?;
        match self.tls.connect(name, tcp).await {
            Ok(s) => Ok(LabIo(TokioIo::new(Stream::Tls(Box::new(s))))),
            Err(e) => {
                let reason = e.get_ref().map(|r| r.to_string()).unwrap_or_else(|| e.to_string());
                Err(ClientError::Tls { peer: format!("{host}:{port} ({})", dialed.label), reason })
            }
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The connection type the pool holds.
pub struct LabIo(TokioIo<Stream>);

impl Connection for LabIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for LabIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for LabIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that accepts and never answers, and a client whose caller gives up first.
    #[tokio::test]
    async fn a_request_whose_caller_gives_up_leaves_an_abandoned_hop() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        let log = EventLog::new();
        let ca = crate::pki::LabCa::generate("test").expect("ca");
        let client = HttpClient::new(
            Arc::new(StaticDial::new().pin("stuck.lab", 80, addr)),
            crate::tls::client_config(ca.cert_pem()).expect("tls"),
        )
        .with_events(log.clone(), "caller@10.0.0.1");
        let req = Request::get("http://stuck.lab/slow")
            .header(crate::request_id::HEADER, "rid-abandoned")
            .body(Body::empty())
            .expect("request");
        let gave_up = tokio::time::timeout(Duration::from_millis(200), client.send(req)).await;
        assert!(gave_up.is_err(), "the caller's own timeout fired first");
        let hops = log.by_request("rid-abandoned");
        assert_eq!(hops.len(), 1, "{hops:?}");
        assert_eq!(hops[0].outcome, Outcome::Unreachable);
        assert_eq!(hops[0].destination, "GET http://stuck.lab/slow");
        assert!(hops[0].reason.starts_with("abandoned after 0."), "{}", hops[0].reason);
        assert!(hops[0].duration_us >= 200_000, "{}", hops[0].duration_us);
        silent.abort();
    }
}
