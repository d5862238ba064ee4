//! Small helpers shared by the API modules: JSON bodies, the list envelope, request ids,
//! base64 with the vendor's error text, and an RNG adapter for the `rsa` crate.

use crate::error::CtmError;
use axum::{
    Json,
    body::Body,
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use hyok_core::RequestId;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The account every resource belongs to in a single-domain CTM.
pub(crate) const ACCOUNT: &str = "kylo:kylo:admin:accounts:kylo";

/// The fields every CTM resource view starts with: `id`, `uri`, `account`, `createdAt`,
/// `updatedAt` (flattened into the view, so the JSON keeps that order).
#[derive(Clone, Serialize)]
pub(crate) struct Meta {
    pub id: String,
    pub uri: String,
    pub account: &'static str,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

impl Meta {
    /// The header of a resource created now.
    pub(crate) fn new(id: String, uri: String) -> Self {
        let ts = now();
        Self { id, uri, account: ACCOUNT, created_at: ts.clone(), updated_at: ts }
    }
}

/// Parse a JSON request body into `T`, answering CTM's 400 on failure.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, CtmError> {
    if body.is_empty() {
        return Err(CtmError::bad_request("Request body is empty"));
    }
    serde_json::from_slice(body).map_err(|e| CtmError::bad_request(format!("Invalid JSON body: {e}")))
}

/// `skip`/`limit` paging parameters of CTM lists.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Paging {
    pub skip: Option<usize>,
    pub limit: Option<usize>,
}

/// Default page size of CTM lists.
const DEFAULT_LIMIT: usize = 10;

/// The CTM list envelope `{skip, limit, total, resources}`.
pub(crate) fn page<T: Serialize>(items: Vec<T>, paging: &Paging) -> Json<Value> {
    let skip = paging.skip.unwrap_or(0);
    let limit = paging.limit.unwrap_or(DEFAULT_LIMIT);
    let total = items.len();
    let resources: Vec<T> = items.into_iter().skip(skip).take(limit).collect();
    Json(serde_json::json!({ "skip": skip, "limit": limit, "total": total, "resources": resources }))
}

/// Parse `skip`/`limit` from a raw query map (lists also take free-form filters).
pub(crate) fn paging_of(q: &std::collections::HashMap<String, String>) -> Result<Paging, CtmError> {
    let num = |k: &str| -> Result<Option<usize>, CtmError> {
        q.get(k)
            .map(|v| {
                v.parse::<usize>().map_err(|_| CtmError::invalid_param(format!("{k} must be a non-negative integer")))
            })
            .transpose()
    };
    Ok(Paging { skip: num("skip")?, limit: num("limit")? })
}

/// Current time as CTM prints it.
pub(crate) fn now() -> String {
    hyok_core::rfc3339_now()
}

/// Middleware for the management API: CTM error bodies carry the request id as `requestID`.
pub(crate) async fn ctm_request_id(req: Request, next: Next) -> Response {
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let resp = next.run(req).await;
    let status = resp.status();
    let Some(id) = id else { return resp };
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) if map.contains_key("codeDesc") && map.get("requestID").is_none() => {
            map.insert("requestID".into(), Value::String(id));
            let mut resp = (parts.status, Json(Value::Object(map))).into_response();
            for (k, v) in parts.headers.iter() {
                if k != http::header::CONTENT_LENGTH && k != http::header::CONTENT_TYPE {
                    resp.headers_mut().insert(k.clone(), v.clone());
                }
            }
            resp
        }
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Standard base64 decode with Go's error text (`illegal base64 data at input byte N`), which
/// the vendor API returns for bad input.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    use base64::DecodeError;
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| {
        let at = match e {
            DecodeError::InvalidByte(i, _) | DecodeError::InvalidLastSymbol(i, _) => i,
            DecodeError::InvalidLength(n) => n,
            DecodeError::InvalidPadding => s.len(),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

/// Standard base64 encode.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A new RSA private key of `bits`, as PKCS#8 PEM.
pub(crate) fn rsa_pkcs8_pem(bits: usize) -> Result<String, String> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = hyok_core::rsa_key::generate(bits).map_err(|e| e.to_string())?;
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| e.to_string())?;
    Ok(pem.to_string())
}
