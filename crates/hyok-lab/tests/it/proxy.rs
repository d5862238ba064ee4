//! The host's HTTPS proxy over real sockets: a lab name tunnels to its service with TLS
//! verified under the real name; anything else is refused with a text body and no connection.

use hyok_lab::{
    Lab, LabOptions,
    proxy::{HEAD_TIMEOUT, MAX_HEAD, Proxy, Routes},
};
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

/// Send `head`, return what the proxy answered until it closed (or the first 4 KiB).
async fn ask(proxy: SocketAddr, head: &[u8]) -> String {
    let mut s = TcpStream::connect(proxy).await.expect("connect to the proxy");
    s.write_all(head).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// CONNECT to `target` and return the proxy's answer head, leaving any tunnel to drop.
async fn connect_head(proxy: SocketAddr, target: &str) -> String {
    let mut s = TcpStream::connect(proxy).await.expect("connect to the proxy");
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), s.read_u8()).await {
            Ok(Ok(b)) => head.push(b),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A listener that counts the connections it accepts.
async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            // Answer once, then close: the far side of a tunnel going away.
            let _ = s.write_all(b"far side\n").await;
        }
    });
    (addr, n)
}

struct One(String, SocketAddr);

impl Routes for One {
    fn route(&self, host: &str, port: u16) -> Option<SocketAddr> {
        (host == self.0 && port == 443).then_some(self.1)
    }
}

#[tokio::test]
async fn the_labs_names_tunnel_with_tls_under_the_real_name_and_nothing_else_connects() {
    hyok_test_support::init();
    let tmp = tempfile::tempdir().expect("temp dir");
    let lab = Lab::start(LabOptions::ephemeral(tmp.path().to_path_buf()), &|_| {}).await.expect("lab starts");
    let info = lab.write_lab_json().expect("lab.json");
    let proxy = info.proxy.as_ref().expect("lab.json names the proxy").address;
    assert_eq!(info.proxy.as_ref().map(|p| p.url.clone()), Some(format!("http://{proxy}")));
    let env = std::fs::read_to_string(tmp.path().join("oci/env")).expect("oci/env");
    assert!(env.contains(&format!("export HTTPS_PROXY='http://{proxy}'")), "{env}");
    assert!(env.contains("export NO_PROXY=127.0.0.1,localhost"), "{env}");
    assert!(env.contains("export REQUESTS_CA_BUNDLE="), "{env}");

    // KMS by its regional name: TLS verified against the lab's bundle under that name.
    let host = "kms.eu-frankfurt-1.oraclecloud.com";
    let mut s = TcpStream::connect(proxy).await.expect("connect");
    s.write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n").as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await.expect("proxy answers"));
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    let tls = hyok_core::tls::client_config(&info.ca_bundle_pem().expect("bundle")).expect("tls");
    let name = rustls::pki_types::ServerName::try_from(host).expect("name");
    let mut t = tokio_rustls::TlsConnector::from(tls).connect(name, s).await.expect("TLS verified as KMS");
    t.write_all(
        format!("GET /20180608/vaults?compartmentId=x HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("request");
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out).await;
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 401"), "KMS refuses the unsigned call in its own words: {out}");
    assert!(out.contains("opc-request-id"), "{out}");

    // A name only the lab's DNS knows tunnels when it points at a lab socket (here KMS's
    // address), and is refused when it points anywhere else.
    let kms_ip = info.service("oci-kms").expect("KMS in lab.json").virtual_ip;
    let dns = lab.host.dns();
    dns.add_internet_record("hyok-lab.test", "alias.hyok-lab.test", kms_ip).expect("record");
    dns.add_internet_record("hyok-lab.test", "stray.hyok-lab.test", "192.0.2.1".parse().expect("ip")).expect("record");
    let answer = connect_head(proxy, "alias.hyok-lab.test:443").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "a lab DNS name of a lab socket tunnels: {answer}");
    let answer = connect_head(proxy, "stray.hyok-lab.test:443").await;
    assert!(answer.starts_with("HTTP/1.1 403"), "a lab DNS name of no lab socket is refused: {answer}");

    // A public name, another port of a lab name, a loopback socket that does listen: refused,
    // named, and never connected to.
    let (bystander, accepted) = counting_listener().await;
    for target in [
        "example.com:443".to_string(),
        format!("{host}:8443"),
        bystander.to_string(),
        format!("localhost:{}", bystander.port()),
    ] {
        let answer = ask(proxy, format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{target}: {answer}");
        assert!(answer.contains(&format!("{target} is not a name this lab serves")), "{answer}");
        assert!(answer.contains("the lab serves only its own names"), "{answer}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the proxy connected to a socket the lab does not serve");

    // Plain HTTP through the proxy is not served.
    let answer = ask(proxy, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 405") && answer.contains("allow: CONNECT"), "{answer}");
    lab.shutdown().await;
    assert!(TcpStream::connect(proxy).await.is_err(), "the proxy stops with the lab");
}

#[tokio::test]
async fn heads_that_are_too_big_or_too_slow_are_refused() {
    let (far, accepted) = counting_listener().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let token = CancellationToken::new();
    let proxy = Proxy::serve(listener, Arc::new(One("ctm1.oci-thales.lab".into(), far)), token).expect("proxy");

    let mut big = b"CONNECT ctm1.oci-thales.lab:443 HTTP/1.1\r\n".to_vec();
    while big.len() <= MAX_HEAD {
        big.extend_from_slice(b"x-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    big.extend_from_slice(b"\r\n");
    let answer = ask(proxy.local_addr, &big).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // Half a head, then silence.
    let started = Instant::now();
    let answer = ask(proxy.local_addr, b"CONNECT ctm1.oci-thales.lab:443 HTTP/1.1\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("no complete CONNECT request"), "{answer}");
    let waited = started.elapsed();
    assert!(waited >= HEAD_TIMEOUT && waited < HEAD_TIMEOUT + Duration::from_secs(3), "{waited:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_tunnel_carries_early_bytes_and_closes_when_either_side_closes() {
    // An echo server that closes after one line.
    let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let echo_addr = echo.local_addr().expect("addr");
    let closed_by_client = Arc::new(AtomicUsize::new(0));
    let closed = closed_by_client.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let _ = s.write_all(&buf[..n]).await;
                if &buf[..n] == b"stay\n" {
                    // Wait for the client's close to come through the tunnel.
                    if s.read(&mut buf).await.unwrap_or(0) == 0 {
                        closed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy =
        Proxy::serve(listener, Arc::new(One("echo.lab".into(), echo_addr)), CancellationToken::new()).expect("proxy");

    // The server closes: the client sees the end at once, with the bytes sent with the head.
    let mut s = TcpStream::connect(proxy.local_addr).await.expect("connect");
    s.write_all(b"CONNECT echo.lab:443 HTTP/1.1\r\n\r\nbye\n").await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await.expect("closed").expect("read");
    assert_eq!(String::from_utf8_lossy(&out), "HTTP/1.1 200 Connection Established\r\n\r\nbye\n");

    // The client closes: the server sees the end.
    let mut s = TcpStream::connect(proxy.local_addr).await.expect("connect");
    s.write_all(b"CONNECT echo.lab:443 HTTP/1.1\r\n\r\nstay\n").await.expect("write");
    let mut buf = vec![0u8; 64];
    let mut got = Vec::new();
    while !got.ends_with(b"stay\n") {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(3);
    while closed_by_client.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the server never saw the client's close");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.shutdown().await;
}
