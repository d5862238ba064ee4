//! Hand-written HTTP/1.1 requests over verified TLS, for input no client library sends: broken
//! chunked bodies, bodies cut short, raw query strings.

use bytes::Bytes;
use serde_json::Value;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A chunked body whose first chunk size is not hex (`zz`).
pub const BAD_CHUNK_SIZE: &[u8] = b"zz\r\n{\"a\":1}\r\n0\r\n\r\n";
/// A chunked body announcing 64 bytes and ending after 5 (the client then closes its side).
pub const SHORT_CHUNK: &[u8] = b"40\r\n{\"a\":";

/// What the server answered, parsed by hand.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl RawReply {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Where to send: the real socket, the name its certificate is checked for, the CA bundle.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub server_name: String,
    pub ca_pem: String,
}

impl Target {
    pub fn new(addr: SocketAddr, server_name: &str, ca_pem: &str) -> Self {
        Self { addr, server_name: server_name.into(), ca_pem: ca_pem.into() }
    }

    /// `method path` with `headers`, `host` and `connection: close`, then `body` as given
    /// (the caller frames it). With `close_write` the client closes its side after writing
    /// (TLS close_notify), as a client that gives up mid-body does.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        close_write: bool,
    ) -> RawReply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n", self.server_name);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.exchange(&bytes, close_write).await
    }

    /// Send a prepared request (e.g. a signed one) with its body replaced by `body` framed as
    /// chunked: `content-length` is dropped and `transfer-encoding: chunked` added.
    pub async fn send_chunked(&self, req: &http::Request<Bytes>, body: &[u8], close_write: bool) -> RawReply {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut head = format!("{} {target} HTTP/1.1\r\n", req.method());
        if !req.headers().contains_key(http::header::HOST) {
            head.push_str(&format!("host: {}\r\n", self.server_name));
        }
        for (k, v) in req.headers() {
            if k == http::header::CONTENT_LENGTH || k == http::header::CONNECTION {
                continue;
            }
            head.push_str(&format!("{k}: {}\r\n", v.to_str().expect("ASCII header")));
        }
        head.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.exchange(&bytes, close_write).await
    }

    /// Write `request`, read until the server closes, parse the reply.
    pub async fn exchange(&self, request: &[u8], close_write: bool) -> RawReply {
        let cfg = hyok_core::tls::client_config(&self.ca_pem).expect("client TLS config");
        let connector = tokio_rustls::TlsConnector::from(Arc::<rustls::ClientConfig>::clone(&cfg));
        let name = rustls::pki_types::ServerName::try_from(self.server_name.clone()).expect("server name");
        let tcp = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        tls.write_all(request).await.expect("write request");
        tls.flush().await.expect("flush");
        if close_write {
            tls.shutdown().await.expect("close write side");
        }
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut chunk = [0u8; 8192];
            loop {
                match tls.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    // A server that drops the connection without close_notify still answered.
                    Err(e) if !buf.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) if !buf.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => break,
                    Err(e) => panic!("reading the reply failed: {e}"),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "no complete reply within 10 s; got {:?}", String::from_utf8_lossy(&buf));
        parse(&buf)
    }
}

fn parse(raw: &[u8]) -> RawReply {
    let text_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| {
        panic!("reply has no header block: {:?}", String::from_utf8_lossy(raw));
    });
    let head = String::from_utf8_lossy(&raw[..text_end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[text_end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok());
        rest[..len.unwrap_or(rest.len()).min(rest.len())].to_vec()
    };
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    RawReply { status, headers, body, json }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        out.extend_from_slice(&rest[start..end]);
        rest = &rest[(end + 2).min(rest.len())..];
    }
    out
}
