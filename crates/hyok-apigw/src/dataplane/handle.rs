//! Serving a request: the deployment by path prefix, the route, the authentication and
//! authorization policies, then a stock response or the proxy.

use super::{
    access::{ACCESS_TARGET, Access, OPC_REQUEST_ID, Reason, gw_error},
    gateway::{CompiledBackend, CompiledRoute, Gateway, read},
    proxy::{classify, proxy},
};
use crate::{
    auth::{AuthFailure, Authenticator, Claims, JwksFetch, token_scopes},
    routing::{TemplateContext, strip_prefix},
    spec::{RouteAuthorizationPolicy, StockResponseBackend},
};
use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    response::Response,
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use hyok_core::Outcome;
use std::{net::SocketAddr, sync::Arc, time::Instant};

impl Gateway {
    /// The data plane router (TLS is terminated by the server that serves it).
    pub fn router(self: Arc<Gateway>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }
}

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let incoming = req
        .headers()
        .get(&OPC_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .and_then(|v| v.to_str().ok().map(|s| (s.to_string(), v.clone())));
    let (request_id, request_id_value) = match incoming {
        Some((id, value)) => (id, Some(value)),
        None => {
            let id = hyok_core::ids::opc_request_id();
            let value = HeaderValue::from_str(&id).ok();
            (id, value)
        }
    };
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    // What only the access log needs is kept only when the log is on (the lab's default filter
    // is `warn`, so usually it is not).
    let logged = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
        .then(|| (req.method().clone(), req.uri().path().to_string()));
    let mut access = Access { request_id, request_id_value, deployment: None, route: None, reason: Reason::None };
    let mut resp = dispatch(&gw, req, client, &mut access).await;
    if !resp.headers().contains_key(&OPC_REQUEST_ID)
        && let Some(v) = access.request_id_value.take()
    {
        resp.headers_mut().insert(OPC_REQUEST_ID, v);
    }
    if let Some((method, path)) = logged {
        let dep = access.deployment.as_deref();
        tracing::info!(
            target: ACCESS_TARGET,
            gateway = %gw.name,
            request_id = %access.request_id,
            client = %client.map(|c| c.ip().to_string()).unwrap_or_else(|| "-".into()),
            method = %method,
            path = %path,
            deployment = dep.map_or("-", |d| d.id.as_str()),
            route = dep.zip(access.route).and_then(|(d, i)| d.routes.get(i)).map_or("-", |r| r.path.as_str()),
            status = resp.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            reason = %access.reason,
            "access"
        );
    }
    resp
}

async fn dispatch(gw: &Arc<Gateway>, req: Request, client: Option<SocketAddr>, access: &mut Access) -> Response {
    let started = Instant::now();
    let deployments = read(&gw.deployments);
    let path = req.uri().path();
    let Some((dep, rel)) = deployments.iter().find_map(|d| strip_prefix(&d.prefix, path).map(|rel| (d, rel))) else {
        access.reason = "no deployment has a path prefix matching the request path".into();
        return gw_error(StatusCode::NOT_FOUND);
    };
    access.deployment = Some(dep.clone());
    // Matching walks the path without allocating; most requests match on the first try.
    let matching = || dep.routes.iter().enumerate().filter(|(_, r)| r.pattern.is_match(rel));
    let Some((first_index, first)) = matching().next() else {
        let reason = format!("no route of deployment {} matches {rel}", dep.id);
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            format!("deployment {}", dep.id),
            Outcome::Error,
            Some(404),
            reason.clone(),
            Some(format!("routes of deployment {}", dep.id)),
            started,
        );
        access.reason = reason.into();
        return gw_error(StatusCode::NOT_FOUND);
    };
    let method = req.method();
    let allowed = |r: &CompiledRoute| r.methods.as_ref().is_none_or(|ms| ms.contains(method));
    let best = if allowed(first) && dep.routes.len() == 1 {
        Some((first_index, first))
    } else {
        matching().filter(|(_, r)| allowed(r)).max_by_key(|(_, r)| r.pattern.specificity())
    };
    let Some((route_index, route)) = best else {
        let mut allow: Vec<String> =
            matching().flat_map(|(_, r)| r.methods.clone().unwrap_or_default()).map(|m| m.to_string()).collect();
        allow.sort();
        allow.dedup();
        let reason = format!("route matches {rel} but allows only {}", allow.join(", "));
        gw.hop(
            &access.request_id,
            "API gateway (routing)",
            format!("deployment {}", dep.id),
            Outcome::Error,
            Some(405),
            reason.clone(),
            Some(format!("methods of route {}", first.path)),
            started,
        );
        access.reason = reason.into();
        let mut resp = gw_error(StatusCode::METHOD_NOT_ALLOWED);
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return resp;
    };
    access.route = Some(route_index);

    // Authentication and authorization.
    let mut claims: Option<Claims> = None;
    if let Some(auth) = &dep.auth {
        match authorize(gw, auth, route, req.headers(), req.uri().query(), &access.request_id).await {
            Ok(c) => claims = c,
            Err(f) => {
                let policy = if f.status == StatusCode::FORBIDDEN {
                    "route authorization (ANY_OF)"
                } else {
                    "authentication policy"
                };
                gw.hop(
                    &access.request_id,
                    "API gateway (policy)",
                    format!("deployment {}", dep.id),
                    Outcome::Error,
                    Some(f.status.as_u16()),
                    f.reason.clone(),
                    Some(format!("{policy} of deployment {}", dep.id)),
                    started,
                );
                access.reason = f.reason.into();
                let mut resp = gw_error(f.status);
                if f.status == StatusCode::UNAUTHORIZED {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                return resp;
            }
        }
    }

    match &route.backend {
        CompiledBackend::Stock(s) => {
            access.reason = "stock response".into();
            stock_response(s)
        }
        CompiledBackend::Http { template, spec } => {
            let params = route.pattern.params(rel).unwrap_or_default();
            let ctx = TemplateContext {
                path: &params,
                query: req.uri().query(),
                headers: Some(req.headers()),
                auth: claims.as_ref(),
            };
            let mut url = template.render(&ctx);
            if let Some(q) = req.uri().query() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(q);
            }
            proxy(gw, req, client, url, spec, route, access).await
        }
    }
}

async fn authorize(
    gw: &Gateway,
    auth: &Authenticator,
    route: &CompiledRoute,
    headers: &HeaderMap,
    query: Option<&str>,
    request_id: &str,
) -> Result<Option<Claims>, AuthFailure> {
    let unauthorized = |reason: String| AuthFailure { status: StatusCode::UNAUTHORIZED, reason };
    let anonymous_route = matches!(route.authz, Some(RouteAuthorizationPolicy::Anonymous));
    let Some(token) = auth.extract(headers, query) else {
        if anonymous_route && auth.anonymous_allowed {
            return Ok(None);
        }
        return Err(unauthorized(format!("no token in {}", auth.location_text())));
    };
    let clients = read(&gw.clients);
    let client = auth.jwks().map(|j| if j.verify_tls { &clients.verified } else { &clients.unverified });
    let mut fetches: Vec<JwksFetch> = Vec::new();
    let result = auth.verify(&token, client, &mut fetches).await;
    for f in fetches {
        let (outcome, status, reason, decided_by) = match &f.result {
            Ok(s) if f.status_ok => (Outcome::Ok, Some(*s), "JWKS fetched".to_string(), None),
            Ok(s) => {
                (Outcome::Error, Some(*s), format!("JWKS endpoint answered {s}"), Some("JWKS endpoint".to_string()))
            }
            Err(e) => {
                let (o, d) = classify(e);
                (o, None, e.to_string(), Some(d))
            }
        };
        gw.hop(request_id, "API gateway → JWKS", f.uri, outcome, status, reason, decided_by, f.started);
    }
    let claims = result?;
    if let Some(RouteAuthorizationPolicy::AnyOf { allowed_scope }) = &route.authz {
        let scopes = token_scopes(&claims);
        if !scopes.iter().any(|s| allowed_scope.contains(s)) {
            return Err(AuthFailure {
                status: StatusCode::FORBIDDEN,
                reason: format!("token scopes {scopes:?} include none of the route's allowedScope {allowed_scope:?}"),
            });
        }
    }
    Ok(Some(claims))
}

fn stock_response(s: &StockResponseBackend) -> Response {
    let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
    let mut resp = Response::new(Body::from(s.body.clone().unwrap_or_default()));
    *resp.status_mut() = status;
    for h in s.headers.iter().flatten() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_str(&h.value)) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::GatewayConfig;
    use hyok_core::{
        EventLog,
        client::{HttpClient, StaticDial},
        pki::LabCa,
        server::{bind, serve},
    };
    use parking_lot::Mutex;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    /// A tracing writer that keeps what is written.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn access_log_line_is_written_when_enabled() {
        hyok_core::tls::install_crypto_provider();
        let ca = LabCa::generate("test CA").expect("ca");
        let rsa_pem = <rsa::PrivateKey as rsa::Generate>::generate().to_pkcs8_pem(LineEnding::LF).expect("pem");
        let cert = ca
            .issue_with_key(
                &["gw.test"],
                rcgen::KeyPair::from_pem(&rsa_pem).expect("key"),
                &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            )
            .expect("cert");
        let gw = Gateway::new(GatewayConfig {
            name: "API-GW".into(),
            ip: "172.16.1.103".into(),
            tls: (cert.chain_pem(), cert.key_pem.clone()),
            backend_ca_bundles: vec![ca.cert_pem().to_string()],
            dial: Arc::new(StaticDial::new()),
            events: EventLog::new(),
            clock: hyok_core::Clock::system(),
        })
        .expect("gateway");
        let spec = crate::spec::parse_specification(&serde_json::json!({"routes": [{
            "path": "/x", "methods": ["GET"],
            "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": 200, "body": "pong"}
        }]}))
        .expect("spec");
        gw.set_deployment("dep1", "/p", &spec).expect("deployment");

        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
                let server = serve(listener, gw.clone().router(), None, tokio_util::sync::CancellationToken::new());
                let client = HttpClient::new(
                    Arc::new(StaticDial::new()),
                    hyok_core::tls::client_config(ca.cert_pem()).expect("tls"),
                );
                let get = |path: &str, id: Option<&str>| {
                    let mut b = http::Request::get(format!("http://{}{path}", server.local_addr));
                    if let Some(id) = id {
                        b = b.header(hyok_core::request_id::HEADER, id);
                    }
                    client.send(b.body(Body::empty()).expect("request"))
                };
                let ok = get("/p/x", Some("REQ-1")).await.expect("stock");
                assert_eq!(ok.status(), StatusCode::OK);
                assert_eq!(ok.headers()[hyok_core::request_id::HEADER], "REQ-1");
                let missing = get("/p/nope", None).await.expect("404");
                assert_eq!(missing.status(), StatusCode::NOT_FOUND);
                assert!(!missing.headers()[hyok_core::request_id::HEADER].is_empty(), "minted id returned");
                server.shutdown().await;
            });
        });
        let text = String::from_utf8(out.0.lock().clone()).expect("utf8");
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("hyok_apigw::access")).collect();
        assert_eq!(lines.len(), 2, "{text}");
        for want in [
            "request_id=REQ-1",
            "client=127.0.0.1",
            "method=GET",
            "path=/p/x",
            "dep1",
            "/x",
            "status=200",
            "stock response",
        ] {
            assert!(lines[0].contains(want), "{want} missing in {}", lines[0]);
        }
        for want in ["path=/p/nope", "dep1", "route=\"-\"", "status=404", "no route of deployment dep1 matches /nope"] {
            assert!(lines[1].contains(want), "{want} missing in {}", lines[1]);
        }
    }
}
