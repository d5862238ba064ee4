//! Serving an axum router over TLS (or plain TCP) on a listener, with limits and graceful stop.

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use rustls::ServerConfig;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address is already taken or cannot be bound.
    #[error("cannot listen on {addr}: {source} (is another lab or program using this port?)")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Bind a TCP listener with a clear error naming the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })
}

/// A running server; stop it with [`Server::shutdown`] or by cancelling its token.
#[derive(Debug)]
pub struct Server {
    /// Where it listens (real loopback socket).
    pub local_addr: SocketAddr,
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    /// Stop accepting, let open requests finish (up to 2 s), and wait.
    pub async fn shutdown(self) {
        self.token.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }

    /// The token that stops this server.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// Serve `router` on `listener`. With `tls` the server terminates TLS; without it, plain HTTP.
pub fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
    token: CancellationToken,
) -> Server {
    let local_addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let acceptor = tls.map(TlsAcceptor::from);
    let stop = token.clone();
    let task = tokio::spawn(async move {
        let conns = tokio_util::task::TaskTracker::new();
        loop {
            let (tcp, peer) = tokio::select! {
                _ = stop.cancelled() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let router = router.clone();
            let acceptor = acceptor.clone();
            let stop = stop.clone();
            conns.spawn(async move {
                let svc = TowerToHyperService::new(router.into_service::<hyper::body::Incoming>().map_request(
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                        req
                    },
                ));
                // A head hyper cannot parse (request line, header, Content-Length, a transfer
                // coding other than chunked) gets hyper's own empty 400 and a closed connection:
                // it never reaches the router, so no service shape can apply. Body errors (bad
                // chunks, a body cut short) do reach the services' extractors.
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .max_buf_size(crate::MAX_HEADER_BYTES.max(8192) * 4)
                    .header_read_timeout(Duration::from_secs(30))
                    .timer(hyper_util::rt::TokioTimer::new());
                match acceptor {
                    Some(acceptor) => {
                        let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let conn = builder.serve_connection(TokioIo::new(tls), svc);
                        drive(conn, stop).await;
                    }
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(tcp), svc);
                        drive(conn, stop).await;
                    }
                }
            });
        }
        conns.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), conns.wait()).await;
    });
    Server { local_addr, token, task }
}

async fn drive<C>(conn: C, stop: CancellationToken)
where
    C: std::future::Future + GracefulConnection,
{
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.cancelled() => {
            conn.as_mut().graceful();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}

/// A connection future that can be told to finish gracefully.
trait GracefulConnection {
    fn graceful(self: std::pin::Pin<&mut Self>);
}

impl<I, S, E> GracefulConnection for auto::UpgradeableConnection<'_, I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: http_body::Body + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn graceful(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E> GracefulConnection for auto::Connection<'_, I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: http_body::Body + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn graceful(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}
