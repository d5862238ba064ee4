//! The host's HTTPS proxy: real names from the host. `HTTPS_PROXY=http://127.0.0.1:<base+51>`
//! makes a client (the `oci` CLI and SDK through `requests`, curl) send `CONNECT name:443`
//! (RFC 9110 §9.3.6); for a name the lab serves the proxy opens a raw TCP tunnel to that
//! name's loopback socket, so TLS stays end to end and the client verifies the certificate
//! under the real name. Every other destination is refused before any connection is opened:
//! the proxy connects only to the lab's own sockets.
//!
//! Bounded: a request head over [`MAX_HEAD`] or one that does not arrive within
//! [`HEAD_TIMEOUT`] is refused, at most [`MAX_TUNNELS`] tunnels run at once, and a tunnel is
//! closed when either side closes.

use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

/// Largest request head (request line and headers) the proxy reads.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its whole `CONNECT` head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting to a lab socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// After one side closed, how long bytes still in flight the other way may take.
const LINGER: Duration = Duration::from_secs(5);
/// Tunnels open at once; more wait for the client to retry (503).
pub const MAX_TUNNELS: usize = 1024;

/// Where the names the lab serves are: `name:port` → the loopback socket behind it, or `None`
/// for a destination the lab does not serve.
pub trait Routes: Send + Sync + 'static {
    /// The lab socket of `host:port` (`host` in lower case, no trailing dot).
    fn route(&self, host: &str, port: u16) -> Option<SocketAddr>;
}

/// What the proxy does with one request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Tunnel to this lab socket.
    Tunnel {
        /// The name asked for (`host:port`).
        authority: String,
        /// The lab socket.
        to: SocketAddr,
    },
    /// Answer with this status and text, and connect nowhere.
    Refuse(Refusal),
}

/// A refusal: status and a text body that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// One line for the person who asked.
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// The whole HTTP/1.1 response.
    pub fn response(&self) -> String {
        let reason = match self.status {
            400 => "Bad Request",
            403 => "Forbidden",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let body = format!("{}\n", self.message);
        let allow = if self.status == 405 { "allow: CONNECT\r\n" } else { "" };
        format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{allow}connection: close\r\n\r\n{body}",
            self.status,
            body.len()
        )
    }
}

/// `host`, `port` of a `CONNECT` request head (everything up to and including the blank line).
///
/// Hand-written rather than httparse: only the request line matters (the headers are skipped),
/// the grammar is one line of authority-form, and the proxy then stays free of hyper's
/// buffering, so the bytes after the head pass into the tunnel untouched.
pub fn parse_connect(head: &[u8]) -> Result<(String, u16), Refusal> {
    let bad = |why: &str| Refusal::new(400, format!("hyok-lab proxy: malformed request: {why}"));
    let text = std::str::from_utf8(head).map_err(|_| bad("the head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD target HTTP/1.1`"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x is spoken here"));
    }
    for header in lines.take_while(|l| !l.is_empty()) {
        if !header.contains(':') {
            return Err(bad("a header line has no colon"));
        }
    }
    if method != "CONNECT" {
        return Err(Refusal::new(
            405,
            format!(
                "hyok-lab proxy: only CONNECT is served (got {method}); use https:// URLs with HTTPS_PROXY set, TLS stays end to end"
            ),
        ));
    }
    let (host, port) = target.rsplit_once(':').ok_or_else(|| bad("CONNECT needs host:port"))?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port is not a number in 1..65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'));
    if !valid {
        return Err(bad("the host is not a DNS name or an IP address"));
    }
    Ok((host, port))
}

/// The routing decision for one request head: a tunnel to a lab socket, or a refusal.
pub fn decide(head: &[u8], routes: &dyn Routes) -> Decision {
    let (host, port) = match parse_connect(head) {
        Ok(hp) => hp,
        Err(r) => return Decision::Refuse(r),
    };
    let authority = format!("{host}:{port}");
    match routes.route(&host, port) {
        Some(to) => Decision::Tunnel { authority, to },
        None => Decision::Refuse(Refusal::new(
            403,
            format!(
                "hyok-lab proxy: {authority} is not a name this lab serves; the lab serves only its own names \
                 (lab.json services[].host) and opens no connection anywhere else"
            ),
        )),
    }
}

/// A running proxy; [`Proxy::shutdown`] stops it and every tunnel.
pub struct Proxy {
    /// Where it listens.
    pub local_addr: SocketAddr,
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl Proxy {
    /// Serve the proxy on `listener` until `token` is cancelled.
    pub fn serve(listener: TcpListener, routes: Arc<dyn Routes>, token: CancellationToken) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TUNNELS));
        let stop = token.clone();
        let task = tokio::spawn(async move {
            loop {
                let (client, peer) = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            tracing::warn!(error = %e, "proxy accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let (routes, stop, slot) = (routes.clone(), stop.clone(), slots.clone().try_acquire_owned());
                tokio::spawn(async move {
                    let Ok(_slot) = slot else {
                        let busy = Refusal::new(503, "hyok-lab proxy: too many tunnels open; retry");
                        let mut client = client;
                        let _ = client.write_all(busy.response().as_bytes()).await;
                        return;
                    };
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = handle(client, routes.as_ref()) => {}
                    }
                    tracing::trace!(%peer, "proxy connection done");
                });
            }
        });
        Ok(Self { local_addr, token, task })
    }

    /// Stop accepting and close every tunnel.
    pub async fn shutdown(self) {
        self.token.cancel();
        let _ = self.task.await;
    }
}

/// The request head and whatever the client sent after it (its TLS hello, say).
async fn read_head<S: AsyncRead + Unpin>(client: &mut S) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = client.read(&mut chunk).await.map_err(|e| Refusal::new(400, format!("hyok-lab proxy: {e}")))?;
        if n == 0 {
            return Err(Refusal::new(400, "hyok-lab proxy: the connection closed before the request head ended"));
        }
        // The blank line may straddle two reads.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + i + 4;
            if end > MAX_HEAD {
                break;
            }
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            break;
        }
    }
    Err(Refusal::new(431, format!("hyok-lab proxy: the request head is over {MAX_HEAD} bytes")))
}

async fn refuse<S: AsyncWrite + Unpin>(client: &mut S, r: &Refusal) {
    tracing::debug!(status = r.status, message = %r.message, "proxy refused");
    let _ = client.write_all(r.response().as_bytes()).await;
    let _ = client.shutdown().await;
}

async fn handle(mut client: TcpStream, routes: &dyn Routes) {
    let _ = client.set_nodelay(true);
    let (head, early) = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(h)) => h,
        Ok(Err(r)) => return refuse(&mut client, &r).await,
        Err(_) => {
            let r = Refusal::new(
                408,
                format!("hyok-lab proxy: no complete CONNECT request within {} s", HEAD_TIMEOUT.as_secs()),
            );
            return refuse(&mut client, &r).await;
        }
    };
    let (authority, to) = match decide(&head, routes) {
        Decision::Tunnel { authority, to } => (authority, to),
        Decision::Refuse(r) => return refuse(&mut client, &r).await,
    };
    let mut upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let r = Refusal::new(502, format!("hyok-lab proxy: {authority} is the lab's, but {to} refused: {e}"));
            return refuse(&mut client, &r).await;
        }
        Err(_) => {
            let r = Refusal::new(502, format!("hyok-lab proxy: {authority} is the lab's, but {to} did not answer"));
            return refuse(&mut client, &r).await;
        }
    };
    let _ = upstream.set_nodelay(true);
    if client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_err() {
        return;
    }
    if !early.is_empty() && upstream.write_all(&early).await.is_err() {
        return;
    }
    tunnel(client, upstream).await;
}

/// Copy both ways until either side closes. Not `copy_bidirectional`: it waits for both sides to
/// close, so a client that keeps an idle pooled connection open would hold a tunnel whose
/// server already left; here the first close ends the tunnel (after a short linger for bytes
/// still in flight the other way).
async fn tunnel(mut client: TcpStream, mut upstream: TcpStream) {
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = upstream.split();
    let up = async {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
        let _ = uw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::pin!(up, down);
    tokio::select! {
        _ = &mut up => { let _ = tokio::time::timeout(LINGER, down).await; }
        _ = &mut down => { let _ = tokio::time::timeout(LINGER, up).await; }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Table(HashMap<(String, u16), SocketAddr>);

    impl Routes for Table {
        fn route(&self, host: &str, port: u16) -> Option<SocketAddr> {
            self.0.get(&(host.to_string(), port)).copied()
        }
    }

    fn table() -> Table {
        let kms: SocketAddr = "127.0.0.1:17414".parse().expect("addr");
        Table([(("kms.eu-frankfurt-1.oraclecloud.com".to_string(), 443), kms)].into_iter().collect())
    }

    #[test]
    fn a_lab_name_tunnels_to_its_socket_whatever_its_case() {
        let head = b"CONNECT KMS.eu-frankfurt-1.oraclecloud.com.:443 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            decide(head, &table()),
            Decision::Tunnel {
                authority: "kms.eu-frankfurt-1.oraclecloud.com:443".into(),
                to: "127.0.0.1:17414".parse().expect("addr")
            }
        );
    }

    #[test]
    fn other_names_ports_and_addresses_are_refused_with_their_name() {
        for (target, shown) in [
            ("example.com:443", "example.com:443"),
            ("kms.eu-frankfurt-1.oraclecloud.com:8443", "kms.eu-frankfurt-1.oraclecloud.com:8443"),
            ("127.0.0.1:17414", "127.0.0.1:17414"),
            ("[::1]:443", "::1:443"),
        ] {
            let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
            let Decision::Refuse(r) = decide(head.as_bytes(), &table()) else { panic!("{target} tunnelled") };
            assert_eq!(r.status, 403, "{target}");
            assert!(r.message.contains(shown) && r.message.contains("serves only its own names"), "{r:?}");
        }
    }

    #[test]
    fn malformed_heads_and_other_methods_are_refused() {
        let cases: [(&[u8], u16); 7] = [
            (b"GET http://example.com/ HTTP/1.1\r\n\r\n", 405),
            (b"CONNECT example.com HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT example.com:0 HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT ex ample.com:443 HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT a/b:443 HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT example.com:443 HTTP/2\r\n\r\n", 400),
            (b"CONNECT example.com:443 HTTP/1.1\r\nno-colon\r\n\r\n", 400),
        ];
        for (head, status) in cases {
            let Decision::Refuse(r) = decide(head, &table()) else { panic!("{head:?} tunnelled") };
            assert_eq!(r.status, status, "{}: {r:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_refusal_is_a_complete_text_response() {
        let r = Refusal::new(405, "only CONNECT");
        let text = r.response();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{text}");
        assert!(text.contains("allow: CONNECT\r\n") && text.contains("content-length: 13\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nonly CONNECT\n"), "{text}");
    }
}
