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
