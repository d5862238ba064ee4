//! Signed OCI REST calls as the SDKs make them, and the replies tests assert on.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use hyok_core::client::HttpClient;
use hyok_oci_rest::Tenancy;
use serde_json::Value;

/// A reply from an OCI service: status, headers, the raw body and the body as JSON
/// (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub json: Value,
}

impl Reply {
    /// Assert an OCI error with `status`, `code` and a message containing `needle`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str, needle: &str) {
        assert_eq!(self.status, status, "{:?}", self.json);
        assert_eq!(self.json["code"], code, "{:?}", self.json);
        let msg = self.json["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "message {msg:?} should contain {needle:?}");
        assert!(self.headers.contains_key("opc-request-id"), "opc-request-id missing");
    }

    /// The `id` of the resource in the body.
    pub fn id(&self) -> String {
        self.json["id"].as_str().expect("id").to_string()
    }

    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// A request to `url` with `body` serialised as JSON (empty without one).
pub fn json_request(method: Method, url: &str, body: Option<&Value>) -> Request<Bytes> {
    let bytes = body.map(|b| Bytes::from(serde_json::to_vec(b).expect("json"))).unwrap_or_default();
    Request::builder().method(method).uri(url).body(bytes).expect("request")
}

/// Sign `req` with the lab user's API key.
pub fn sign(req: &mut Request<Bytes>, tenancy: &Tenancy) {
    hyok_oci_rest::sign_request(req, tenancy.api_key.private_key(), &tenancy.key_id()).expect("sign");
}

/// Send `req` and collect the [`Reply`].
pub async fn send(client: &HttpClient, req: Request<Body>) -> Reply {
    let resp = client.send(req).await.expect("send");
    let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    Reply { status: resp.status(), headers: resp.headers().clone(), body: resp.body().clone(), json }
}

/// Sign `req` as the lab user and send it.
pub async fn send_signed(client: &HttpClient, tenancy: &Tenancy, mut req: Request<Bytes>) -> Reply {
    sign(&mut req, tenancy);
    send(client, req.map(Body::from)).await
}

impl Reply {
    /// Assert an OCI error with `status` in OCI's shape: a JSON object with string `code` and
    /// `message`, and an `opc-request-id` header. Returns the code.
    #[track_caller]
    pub fn assert_oci_shape(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{:?} {:?}", self.json, String::from_utf8_lossy(&self.body));
        assert!(self.json["code"].as_str().is_some_and(|c| !c.is_empty()), "code: {:?}", self.json);
        assert!(self.json["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {:?}", self.json);
        assert!(self.headers.contains_key("opc-request-id"), "opc-request-id missing");
        self.json["code"].as_str().unwrap_or_default().to_string()
    }
}

/// A request to `url` with `body` as given, labelled JSON.
pub fn bytes_request(method: Method, url: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request")
}

/// One OCI service's routes for [`check_malformed`].
pub struct Malformed<'a> {
    pub client: &'a HttpClient,
    pub tenancy: &'a Tenancy,
    /// The same server for hand-written requests.
    pub raw: &'a crate::raw::Target,
    /// `https://host/base` of the API.
    pub base: String,
    /// A route that takes a JSON object body, e.g. `(POST, "/zones")`.
    pub body_route: (Method, String),
    /// Body size that is over the route's limit.
    pub oversize: usize,
    /// A GET route with a typed query parameter, and that parameter (e.g. `limit`).
    pub query_route: (String, &'static str),
    /// A known path and a method it does not have.
    pub wrong_method: (Method, String),
}

/// Every refusal of an OCI service is `{"code","message"}` with `opc-request-id`: an oversize
/// body (413), broken JSON and the wrong JSON type (400), a bad or repeated query parameter
/// (400), an unknown route (404), a wrong method (405), and a chunked body — which cannot carry
/// the signed `content-length` OCI requires, so it is refused as unauthenticated (401).
pub async fn check_malformed(m: &Malformed<'_>) {
    let (method, path) = &m.body_route;
    let url = format!("{}{path}", m.base);
    let signed = |body: Vec<u8>| {
        let mut req = bytes_request(method.clone(), &url, body);
        sign(&mut req, m.tenancy);
        req
    };
    let send_body = |body: Vec<u8>| send(m.client, signed(body).map(Body::from));
    let mut big = br#"{"pad":""#.to_vec();
    big.resize(m.oversize + 16, b'x');
    big.extend_from_slice(b"\"}");
    let code = send_body(big).await.assert_oci_shape(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code, "RequestEntityTooLarge");
    send_body(b"{".to_vec()).await.assert_oci_shape(StatusCode::BAD_REQUEST);
    send_body(b"[1, 2]".to_vec()).await.assert_oci_shape(StatusCode::BAD_REQUEST);

    let (qpath, param) = &m.query_route;
    let sep = if qpath.contains('?') { '&' } else { '?' };
    for query in [format!("{param}=%%%"), format!("{param}=1&{param}=2"), format!("{param}=notanumber")] {
        let req = json_request(Method::GET, &format!("{}{qpath}{sep}{query}", m.base), None);
        let r = send_signed(m.client, m.tenancy, req).await;
        assert_eq!(r.assert_oci_shape(StatusCode::BAD_REQUEST), "InvalidParameter", "{query}");
    }

    let req = json_request(Method::GET, &format!("{}/noSuchResource/x", m.base), None);
    send_signed(m.client, m.tenancy, req).await.assert_oci_shape(StatusCode::NOT_FOUND);
    let (wm, wpath) = &m.wrong_method;
    let req = json_request(wm.clone(), &format!("{}{wpath}", m.base), Some(&serde_json::json!({})));
    let r = send_signed(m.client, m.tenancy, req).await;
    r.assert_oci_shape(StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.contains_key("allow"), "405 names the allowed methods");

    for (chunks, close) in [(crate::raw::BAD_CHUNK_SIZE, false), (crate::raw::SHORT_CHUNK, true)] {
        let r = m.raw.send_chunked(&signed(b"{}".to_vec()), chunks, close).await;
        assert_eq!(r.status, 401, "{:?}", r.json);
        assert_eq!(r.json["code"], "NotAuthenticated", "{:?}", r.json);
        assert!(r.header("opc-request-id").is_some(), "opc-request-id missing");
    }
}
