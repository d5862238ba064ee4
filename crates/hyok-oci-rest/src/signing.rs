//! OCI request signing (draft-cavage-http-signatures-08, version 1, rsa-sha256).
//!
//! Server side: [`SignatureVerifier`] and the axum middleware [`verify`] (apply with
//! [`protect`]). Client side: [`sign_request`] / [`sign_parts`], which produce exactly what the
//! Python SDK (and so the `oci` CLI) sends.
//!
//! Invariant: a request reaches a handler only if its signature verified against a registered
//! key, its date is within the allowed skew, and — when `x-content-sha256` is signed — the body it
//! carries hashes to that value. Every failure is a 401 `NotAuthenticated` naming the problem.

use crate::OciError;
use crate::{Error, tenancy::KeyStore, tenancy::Principal};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, request::Parts};
use http_body_util::BodyExt;
use sha2::{Digest as _, Sha256};
use std::{sync::Arc, time::Duration};
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

/// The only algorithm OCI API keys use.
pub const ALGORITHM: &str = "rsa-sha256";
/// Headers every request signs.
pub const BASE_HEADERS: [&str; 3] = ["date", "(request-target)", "host"];
/// Headers POST/PUT/PATCH requests additionally sign.
pub const BODY_HEADERS: [&str; 3] = ["content-length", "content-type", "x-content-sha256"];
/// Default largest clock difference accepted.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

const HTTP_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// Format a time as an HTTP date (`Mon, 05 Jan 2026 10:00:00 GMT`), as `email.utils.formatdate`.
pub fn http_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(HTTP_DATE).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s.trim(), HTTP_DATE).ok().map(|p| p.assume_utc())
}

/// Decides which requests may skip the body headers (OCI: object PutObject/UploadPart, whose
/// bodies are streamed and signed only with `date (request-target) host`).
pub type BodyExempt = Arc<dyn Fn(&Method, &str) -> bool + Send + Sync>;

/// Verifies OCI signatures against a [`KeyStore`].
#[derive(Clone)]
pub struct SignatureVerifier {
    keys: KeyStore,
    max_body: usize,
    max_skew: Duration,
    body_exempt: Option<BodyExempt>,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("max_body", &self.max_body)
            .field("max_skew", &self.max_skew)
            .field("body_exempt", &self.body_exempt.is_some())
            .finish_non_exhaustive()
    }
}

/// A parsed `Authorization: Signature …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `version` (OCI: "1").
    pub version: Option<String>,
    /// `keyId`.
    pub key_id: String,
    /// `algorithm`.
    pub algorithm: String,
    /// Signed header names in order, lower-case.
    pub headers: Vec<String>,
    /// Base64 signature.
    pub signature: String,
}

impl SignatureHeader {
    /// Parse the value of an `Authorization` header.
    pub fn parse(value: &str) -> Result<Self, String> {
        let rest = value
            .trim()
            .strip_prefix("Signature ")
            .or_else(|| value.trim().strip_prefix("signature "))
            .ok_or("Authorization header is not a 'Signature' header")?;
        let (mut version, mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None, None);
        let mut s = rest.trim_start();
        while !s.is_empty() {
            let eq = s.find('=').ok_or("malformed Signature parameters")?;
            let name = s[..eq].trim();
            let after = s[eq + 1..].strip_prefix('"').ok_or("Signature parameter values must be quoted")?;
            let end = after.find('"').ok_or("unterminated Signature parameter value")?;
            let val = after[..end].to_string();
            match name {
                "version" => version = Some(val),
                "keyId" => key_id = Some(val),
                "algorithm" => algorithm = Some(val),
                "headers" => headers = Some(val),
                "signature" => signature = Some(val),
                _ => {}
            }
            s = after[end + 1..].trim_start();
            s = s.strip_prefix(',').unwrap_or(s).trim_start();
        }
        Ok(Self {
            version,
            key_id: key_id.ok_or("Signature has no keyId")?,
            algorithm: algorithm.ok_or("Signature has no algorithm")?,
            // Absent `headers` means just `date` (draft-cavage); OCI then rejects it as incomplete.
            headers: headers
                .unwrap_or_else(|| "date".into())
                .split_ascii_whitespace()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            signature: signature.ok_or("Signature has no signature")?,
        })
    }
}

/// The result of verifying a request's headers: who signed and, if the body is signed, the hash
/// the body must have.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The signer.
    pub principal: Principal,
    /// base64 SHA-256 the body must hash to, when `x-content-sha256` was signed.
    pub body_sha256: Option<String>,
}

impl SignatureVerifier {
    /// A verifier trusting the keys in `keys`, with a 1 MiB body limit and 5 min skew.
    pub fn new(keys: KeyStore) -> Self {
        Self { keys, max_body: hyok_core::MAX_BODY_BYTES, max_skew: MAX_CLOCK_SKEW, body_exempt: None }
    }

    /// Largest body buffered to check `x-content-sha256`.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Largest accepted difference between the signed date and the server clock.
    pub fn with_max_skew(mut self, skew: Duration) -> Self {
        self.max_skew = skew;
        self
    }

    /// Requests for which `exempt(method, path)` is true may sign only the base headers; their
    /// bodies are streamed to the handler unbuffered unless `x-content-sha256` is signed anyway.
    pub fn with_body_exempt(mut self, exempt: BodyExempt) -> Self {
        self.body_exempt = Some(exempt);
        self
    }

    /// The body limit this verifier enforces.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Check everything that does not need the body.
    pub fn verify_parts(&self, parts: &Parts) -> Result<Verified, OciError> {
        self.verify_parts_at(parts, OffsetDateTime::now_utc())
    }

    fn verify_parts_at(&self, parts: &Parts, now: OffsetDateTime) -> Result<Verified, OciError> {
        let deny = |m: String| OciError::not_authenticated(m);
        let raw = parts.headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
            deny(
                "The required information to complete authentication was not provided: missing Authorization header"
                    .into(),
            )
        })?;
        if raw.len() > MAX_AUTHORIZATION_BYTES {
            return Err(deny("Authorization header is too long".into()));
        }
        let raw = raw.to_str().map_err(|_| deny("Authorization header is not ASCII".into()))?;
        let sig = SignatureHeader::parse(raw).map_err(|e| deny(e.to_string()))?;
        if let Some(v) = &sig.version
            && v != "1"
        {
            return Err(deny(format!("unsupported signature version {v:?} (expected \"1\")")));
        }
        if sig.algorithm != ALGORITHM {
            return Err(deny(format!(
                "unsupported signature algorithm {:?} (expected \"{ALGORITHM}\")",
                sig.algorithm
            )));
        }
        let signed = |h: &str| sig.headers.iter().any(|x| x == h);
        let date_header = if signed("x-date") { "x-date" } else { "date" };
        let mut required: Vec<&str> = vec![date_header, "(request-target)", "host"];
        let body_method = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
        let exempt = self.body_exempt.as_ref().is_some_and(|f| f(&parts.method, parts.uri.path()));
        if body_method && !exempt {
            required.extend(BODY_HEADERS);
        }
        if let Some(missing) = required.iter().find(|h| !signed(h)) {
            return Err(deny(format!(
                "missing required signed header {missing:?}: {} requests must sign \"{}\"",
                parts.method,
                required.join(" ")
            )));
        }
        let mut lines = Vec::with_capacity(sig.headers.len());
        for h in &sig.headers {
            lines.push(signing_line(h, &parts.method, &parts.uri, &parts.headers).map_err(deny)?);
        }
        let date =
            header_str(&parts.headers, date_header).ok_or_else(|| deny(format!("{date_header} header is missing")))?;
        let when =
            parse_http_date(date).ok_or_else(|| deny(format!("{date_header} header {date:?} is not an HTTP date")))?;
        let skew = (now - when).abs();
        if skew > self.max_skew {
            return Err(deny(format!(
                "clock skew: {date_header} {date:?} is {} s from the server time; at most {} s is allowed",
                skew.whole_seconds(),
                self.max_skew.as_secs()
            )));
        }
        let principal = Principal::parse(&sig.key_id)
            .ok_or_else(|| deny(format!("keyId {:?} is not <tenancy>/<user>/<fingerprint>", sig.key_id)))?;
        let key = self
            .keys
            .get(&sig.key_id)
            .ok_or_else(|| deny(format!("unknown keyId {:?}: no such API key is registered", sig.key_id)))?;
        let signature =
            B64.decode(sig.signature.as_bytes()).map_err(|_| deny("signature is not valid base64".into()))?;
        key.pkcs1v15_verify::<Sha256>(lines.join("\n").as_bytes(), &signature)
            .map_err(|_| deny(format!("bad signature: the signature does not verify with the key {:?}", sig.key_id)))?;
        let body_sha256 = if signed("x-content-sha256") {
            Some(header_str(&parts.headers, "x-content-sha256").unwrap_or_default().to_string())
        } else {
            None
        };
        Ok(Verified { principal, body_sha256 })
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// One line of the signing string.
fn signing_line(name: &str, method: &Method, uri: &http::Uri, headers: &HeaderMap) -> Result<String, String> {
    if name == "(request-target)" {
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Ok(format!("(request-target): {} {}", method.as_str().to_ascii_lowercase(), target));
    }
    if name == "host" && headers.get("host").is_none() {
        // HTTP/2 carries the host in :authority.
        if let Some(a) = uri.authority() {
            return Ok(format!("host: {a}"));
        }
    }
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().map_err(|_| format!("signed header {name:?} is not ASCII")))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Err(format!("signed header {name:?} is missing from the request"));
    }
    Ok(format!("{name}: {}", values.join(", ")))
}

/// axum middleware: verify the signature, buffer and hash the body when it is signed, and put
/// the [`Principal`] into the request extensions.
pub async fn verify(State(verifier): State<Arc<SignatureVerifier>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let verified = match verifier.verify_parts(&parts) {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(method = %parts.method, path = %parts.uri.path(), reason = %e.message, "signature refused");
            return e.into_response();
        }
    };
    parts.extensions.insert(verified.principal.clone());
    let body = match verified.body_sha256 {
        None => body,
        Some(expected) => {
            let bytes = match http_body_util::Limited::new(body, verifier.max_body).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return OciError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        format!("request body is larger than {} bytes", verifier.max_body),
                    )
                    .into_response();
                }
                Err(_) => {
                    return OciError::new(
                        StatusCode::BAD_REQUEST,
                        "CannotParseRequest",
                        "request body could not be read",
                    )
                    .into_response();
                }
            };
            let actual = B64.encode(Sha256::digest(&bytes));
            if actual != expected {
                tracing::info!(path = %parts.uri.path(), "body hash mismatch");
                return OciError::not_authenticated(format!(
                    "body hash mismatch: x-content-sha256 is {expected:?} but the body hashes to {actual:?}"
                ))
                .into_response();
            }
            if let Some(cl) = header_str(&parts.headers, "content-length")
                && cl.trim().parse::<usize>().ok() != Some(bytes.len())
            {
                return OciError::not_authenticated(format!(
                    "content-length {cl} does not match the body length {}",
                    bytes.len()
                ))
                .into_response();
            }
            Body::from(bytes)
        }
    };
    next.run(Request::from_parts(parts, body)).await
}

/// Put `router` behind signature verification.
pub fn protect(router: Router, verifier: Arc<SignatureVerifier>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(verifier, verify))
}

/// Sign a buffered request as the SDK does: base headers for GET/HEAD/DELETE; for POST, PUT and
/// PATCH also `content-length content-type x-content-sha256` (adding them if absent).
pub fn sign_request(req: &mut http::Request<Bytes>, key: &rsa::PrivateKey, key_id: &str) -> Result<(), Error> {
    let (mut parts, body) = std::mem::take(req).into_parts();
    let r = sign_parts(&mut parts, Some(&body), key, key_id, None);
    *req = http::Request::from_parts(parts, body);
    r
}

/// Sign a buffered request with an explicit header list (tests use it to leave headers out).
pub fn sign_request_with(
    req: &mut http::Request<Bytes>,
    key: &rsa::PrivateKey,
    key_id: &str,
    headers: &[&str],
) -> Result<(), Error> {
    let (mut parts, body) = std::mem::take(req).into_parts();
    let r = sign_parts(&mut parts, Some(&body), key, key_id, Some(headers));
    *req = http::Request::from_parts(parts, body);
    r
}

/// Sign request head `parts`. With `body: None` the body is not signed (object PUT); with a body
/// on POST/PUT/PATCH the body headers are added and signed. `date` and `host` are added when
/// missing. `headers` overrides the list of signed headers.
pub fn sign_parts(
    parts: &mut Parts,
    body: Option<&[u8]>,
    key: &rsa::PrivateKey,
    key_id: &str,
    headers: Option<&[&str]>,
) -> Result<(), Error> {
    let hv = |s: &str| HeaderValue::from_str(s).map_err(|e| Error::Sign(e.to_string()));
    if !parts.headers.contains_key("date") && !parts.headers.contains_key("x-date") {
        parts.headers.insert("date", hv(&http_date(OffsetDateTime::now_utc()))?);
    }
    if !parts.headers.contains_key("host") {
        let authority = parts.uri.authority().ok_or_else(|| Error::Sign("request URI has no host".into()))?;
        parts.headers.insert("host", hv(authority.as_str())?);
    }
    let body_method = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    let mut list: Vec<String> = BASE_HEADERS.iter().map(|s| s.to_string()).collect();
    if let Some(b) = body.filter(|_| body_method) {
        if !parts.headers.contains_key("content-type") {
            parts.headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        parts.headers.insert("content-length", hv(&b.len().to_string())?);
        parts.headers.insert("x-content-sha256", hv(&B64.encode(Sha256::digest(b)))?);
        list.extend(BODY_HEADERS.iter().map(|s| s.to_string()));
    }
    if let Some(h) = headers {
        list = h.iter().map(|s| s.to_ascii_lowercase()).collect();
    }
    let mut lines = Vec::with_capacity(list.len());
    for h in &list {
        lines.push(signing_line(h, &parts.method, &parts.uri, &parts.headers).map_err(Error::Sign)?);
    }
    let sig = key.pkcs1v15_sign::<Sha256>(lines.join("\n").as_bytes()).map_err(|e| Error::Sign(e.to_string()))?;
    let value = format!(
        "Signature algorithm=\"{ALGORITHM}\",headers=\"{}\",keyId=\"{key_id}\",signature=\"{}\",version=\"1\"",
        list.join(" "),
        B64.encode(sig)
    );
    parts.headers.insert(http::header::AUTHORIZATION, hv(&value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        let t = time::macros::datetime!(2026-01-05 09:03:07 UTC);
        let s = http_date(t);
        assert_eq!(s, "Mon, 05 Jan 2026 09:03:07 GMT");
        assert_eq!(parse_http_date(&s), Some(t));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn cli_authorization_header_parses() {
        let h = SignatureHeader::parse(
            r#"Signature algorithm="rsa-sha256",headers="date (request-target) host",keyId="t/u/aa:bb",signature="c2ln",version="1""#,
        )
        .expect("parse");
        assert_eq!(h.headers, vec!["date", "(request-target)", "host"]);
        assert_eq!(h.key_id, "t/u/aa:bb");
        assert_eq!(h.version.as_deref(), Some("1"));
        assert!(SignatureHeader::parse("Bearer abc").is_err());
        assert!(SignatureHeader::parse(r#"Signature keyId="x",algorithm=rsa-sha256"#).is_err());
        assert!(SignatureHeader::parse(r#"Signature keyId="x"#).is_err());
    }
}
