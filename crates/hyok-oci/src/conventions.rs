//! REST conventions every OCI service of the lab shares: error helpers, `opc-retry-token`,
//! `limit`/`page` paging with `opc-next-page`, lifecycle transitions, `etag`/`if-match`, and
//! OCI's time format.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_core::OciError;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

/// Result type of OCI handlers.
pub type OciResult<T> = Result<T, OciError>;

/// Header carrying the next page token of a list.
pub const NEXT_PAGE: &str = "opc-next-page";
/// Header carrying the idempotency token of a create.
pub const RETRY_TOKEN: &str = "opc-retry-token";
/// Longest retry token OCI accepts.
pub const MAX_RETRY_TOKEN_LEN: usize = 64;
/// How long a retry token is remembered.
pub const RETRY_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default and largest page size of lab lists.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;

const TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// OCI's timestamp form: RFC 3339, UTC, milliseconds (`2026-01-05T09:03:07.123Z`).
pub fn oci_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(TIME_FORMAT).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// [`oci_time`] of now.
pub fn oci_now() -> String {
    oci_time(OffsetDateTime::now_utc())
}

/// 400 `CannotParseRequest`.
pub fn cannot_parse(message: impl Into<String>) -> OciError {
    OciError::new(StatusCode::BAD_REQUEST, "CannotParseRequest", message)
}

/// 412 `NoEtagMatch`.
pub fn no_etag_match(message: impl Into<String>) -> OciError {
    OciError::new(StatusCode::PRECONDITION_FAILED, "NoEtagMatch", message)
}

/// 409 `InvalidatedRetryToken`.
pub fn invalidated_retry_token(message: impl Into<String>) -> OciError {
    OciError::new(StatusCode::CONFLICT, "InvalidatedRetryToken", message)
}

/// Parse a JSON body into `T`; syntax errors are 400 `CannotParseRequest`, type errors
/// 400 `InvalidParameter`, with serde's message (which names the field, not internals).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> OciResult<T> {
    if body.is_empty() {
        return Err(cannot_parse("request body is empty; a JSON object is required"));
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => OciError::invalid_parameter(format!("invalid request body: {e}")),
        _ => cannot_parse(format!("request body is not valid JSON: {e}")),
    })
}

/// A required string field, returned as given: absent or blank is 400 `MissingParameter`.
pub fn required<'a>(value: &'a Option<String>, field: &str) -> OciResult<&'a str> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(OciError::missing_parameter(format!("{field} is required"))),
    }
}

/// A required OCID field of a given type (`compartment` accepts tenancy OCIDs too, since the
/// root compartment is the tenancy).
pub fn required_ocid<'a>(value: &'a Option<String>, field: &str, kind: &str) -> OciResult<&'a str> {
    let v = required(value, field)?;
    let ok = match hyok_core::ids::ocid_type(v) {
        Some(t) => t == kind || (kind == "compartment" && t == "tenancy"),
        None => false,
    };
    if !ok {
        return Err(OciError::invalid_parameter(format!("{field} {v:?} is not a valid {kind} OCID")));
    }
    Ok(v)
}

/// A strong etag over a resource's JSON representation (canonical: via `Value`, whose maps
/// are sorted, so a struct and its `Value` give the same etag).
pub fn etag_of<T: Serialize>(resource: &T) -> String {
    let bytes = serde_json::to_value(resource).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// Check `if-match` against the current etag: absent or `*` passes, otherwise it must match.
pub fn check_if_match(headers: &HeaderMap, current: &str) -> OciResult<()> {
    match headers.get(http::header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        Some(v) if v.trim() == "*" || v.trim().trim_matches('"') == current => Ok(()),
        Some(v) => Err(no_etag_match(format!("if-match {v:?} does not match the current etag"))),
    }
}

/// A successful OCI response: status, JSON body, optional `etag` and `opc-next-page`.
#[derive(Clone, Debug)]
pub struct OciResponse {
    /// HTTP status (200 for OCI creates).
    pub status: StatusCode,
    /// JSON body.
    pub body: serde_json::Value,
    /// `etag` header.
    pub etag: Option<String>,
    /// `opc-next-page` header.
    pub next_page: Option<String>,
}

impl OciResponse {
    /// 200 with `body` and its etag.
    pub fn resource<T: Serialize>(resource: &T) -> OciResult<Self> {
        let body = serde_json::to_value(resource).map_err(OciError::internal)?;
        let etag = etag_of(&body);
        Ok(Self { status: StatusCode::OK, body, etag: Some(etag), next_page: None })
    }

    /// 200 with a list body (`{"items": [...]}`) and the next page token.
    pub fn collection<T: Serialize>(items: &[T], next_page: Option<String>) -> OciResult<Self> {
        let body = serde_json::json!({ "items": items });
        Ok(Self { status: StatusCode::OK, body, etag: None, next_page })
    }
}

impl IntoResponse for OciResponse {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        if let Some(e) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            resp.headers_mut().insert(http::header::ETAG, e);
        }
        if let Some(p) = self.next_page.and_then(|p| HeaderValue::from_str(&p).ok()) {
            resp.headers_mut().insert(NEXT_PAGE, p);
        }
        resp
    }
}

/// Query parameters for paging.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    /// Page size.
    pub limit: Option<String>,
    /// Opaque token from a previous `opc-next-page`.
    pub page: Option<String>,
}

/// Cut `items` (already filtered and sorted) into one page. Returns the page and the token of
/// the next page when more items follow. Tokens are opaque to clients.
pub fn paginate<T: Clone>(items: &[T], q: &PageQuery) -> OciResult<(Vec<T>, Option<String>)> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(OciError::invalid_parameter(format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
        },
    };
    let start = match q.page.as_deref() {
        None => 0,
        Some(token) => decode_page(token).ok_or_else(|| OciError::invalid_parameter("page token is not valid"))?,
    };
    if start > items.len() {
        return Err(OciError::invalid_parameter("page token is not valid"));
    }
    let end = start.saturating_add(limit).min(items.len());
    let next = (end < items.len()).then(|| encode_page(end));
    Ok((items[start..end].to_vec(), next))
}

fn encode_page(offset: usize) -> String {
    B64URL.encode(format!("o:{offset}"))
}

fn decode_page(token: &str) -> Option<usize> {
    let raw = B64URL.decode(token.as_bytes()).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("o:")?.parse().ok()
}

/// OCI lifecycle states shared by the lab's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum LifecycleState {
    /// Being created.
    Creating,
    /// Usable.
    Active,
    /// Being updated.
    Updating,
    /// Being deleted.
    Deleting,
    /// Deleted.
    Deleted,
    /// Creation or an update failed; see `lifecycleDetails`.
    Failed,
}

impl LifecycleState {
    /// The wire name (`ACTIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Active => "ACTIVE",
            Self::Updating => "UPDATING",
            Self::Deleting => "DELETING",
            Self::Deleted => "DELETED",
            Self::Failed => "FAILED",
        }
    }
}

/// A resource with a lifecycle.
pub trait HasLifecycle {
    /// Current state.
    fn lifecycle_state(&self) -> LifecycleState;
    /// Set state and details.
    fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>);
}

/// A table of resources by OCID.
pub type Table<T> = Arc<RwLock<HashMap<String, T>>>;

/// After `delay`, move resource `id` of `table` from CREATING to ACTIVE (`outcome` Ok) or
/// FAILED with `lifecycleDetails` (`outcome` Err). A resource no longer CREATING is left alone.
/// Real OCI creates are asynchronous; clients poll (`--wait-for-state ACTIVE`).
pub fn settle_after<T: HasLifecycle + Send + Sync + 'static>(
    table: Table<T>,
    id: String,
    delay: Duration,
    outcome: Result<(), String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        if let Ok(mut map) = table.write()
            && let Some(r) = map.get_mut(&id)
            && r.lifecycle_state() == LifecycleState::Creating
        {
            match outcome {
                Ok(()) => r.set_lifecycle(LifecycleState::Active, None),
                Err(details) => r.set_lifecycle(LifecycleState::Failed, Some(details)),
            }
        }
    })
}

struct Remembered {
    body_hash: [u8; 32],
    response: OciResponse,
    at: Instant,
}

/// `opc-retry-token` memory for one service.
///
/// Same token + same body (and same operation scope) → the first response is replayed and
/// nothing is created again. Same token + a different body → 409 `InvalidatedRetryToken`.
/// Only successful responses are remembered, so a failed create may be retried with its token.
/// Requests carrying a token are serialised per store so two concurrent retries cannot both
/// create.
#[derive(Clone, Default)]
pub struct RetryTokens {
    map: Arc<Mutex<HashMap<(String, String), Remembered>>>,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for RetryTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryTokens").finish_non_exhaustive()
    }
}

impl RetryTokens {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `create` at most once per (`scope`, token). `scope` names the operation (e.g.
    /// `POST /caBundles`) so one token may be used on different operations.
    pub async fn run<F, Fut>(&self, scope: &str, headers: &HeaderMap, body: &Bytes, create: F) -> OciResult<OciResponse>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = OciResult<OciResponse>>,
    {
        let token = match headers.get(RETRY_TOKEN) {
            None => return create().await,
            Some(v) => v.to_str().map_err(|_| OciError::invalid_parameter("opc-retry-token is not ASCII"))?.to_string(),
        };
        if token.is_empty() || token.len() > MAX_RETRY_TOKEN_LEN {
            return Err(OciError::invalid_parameter(format!(
                "opc-retry-token must be 1 to {MAX_RETRY_TOKEN_LEN} characters"
            )));
        }
        let hash: [u8; 32] = Sha256::digest(body).into();
        let key = (scope.to_string(), token);
        let _serial = self.gate.lock().await;
        {
            let mut map = self.map.lock().map_err(|_| OciError::internal("retry token store poisoned"))?;
            map.retain(|_, r| r.at.elapsed() < RETRY_TOKEN_TTL);
            if let Some(r) = map.get(&key) {
                if r.body_hash == hash {
                    return Ok(r.response.clone());
                }
                return Err(invalidated_retry_token(
                    "the opc-retry-token was already used for a different request; use a new token",
                ));
            }
        }
        let response = create().await?;
        if let Ok(mut map) = self.map.lock() {
            map.insert(key, Remembered { body_hash: hash, response: response.clone(), at: Instant::now() });
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_millis_and_z() {
        let t = time::macros::datetime!(2026-01-05 09:03:07.123456 UTC);
        assert_eq!(oci_time(t), "2026-01-05T09:03:07.123Z");
    }

    #[test]
    fn pages_walk_the_whole_list() {
        let items: Vec<u32> = (0..7).collect();
        let mut q = PageQuery { limit: Some("3".into()), page: None };
        let mut seen = vec![];
        loop {
            let (page, next) = paginate(&items, &q).expect("page");
            seen.extend(page);
            match next {
                Some(n) => q.page = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(paginate(&items, &PageQuery { limit: Some("0".into()), page: None }).is_err());
        assert!(paginate(&items, &PageQuery { limit: None, page: Some("garbage!".into()) }).is_err());
    }

    struct Res(LifecycleState, Option<String>);
    impl HasLifecycle for Res {
        fn lifecycle_state(&self) -> LifecycleState {
            self.0
        }
        fn set_lifecycle(&mut self, state: LifecycleState, details: Option<String>) {
            self.0 = state;
            self.1 = details;
        }
    }

    #[tokio::test]
    async fn lifecycle_settles_to_active_or_failed_with_details() {
        let table: Table<Res> = Arc::new(RwLock::new(HashMap::new()));
        for id in ["ok", "bad", "gone"] {
            table.write().expect("lock").insert(id.into(), Res(LifecycleState::Creating, None));
        }
        table.write().expect("lock").get_mut("gone").expect("gone").0 = LifecycleState::Deleted;
        let a = settle_after(table.clone(), "ok".into(), Duration::from_millis(5), Ok(()));
        let b = settle_after(table.clone(), "bad".into(), Duration::from_millis(5), Err("backend refused".into()));
        let c = settle_after(table.clone(), "gone".into(), Duration::from_millis(5), Ok(()));
        assert_eq!(table.read().expect("lock")["ok"].0, LifecycleState::Creating, "asynchronous");
        for h in [a, b, c] {
            h.await.expect("task");
        }
        let t = table.read().expect("lock");
        assert_eq!(t["ok"].0, LifecycleState::Active);
        assert_eq!(t["bad"].0, LifecycleState::Failed);
        assert_eq!(t["bad"].1.as_deref(), Some("backend refused"));
        assert_eq!(t["gone"].0, LifecycleState::Deleted, "only CREATING resources move");
    }

    #[test]
    fn if_match_compares_etags() {
        let mut h = HeaderMap::new();
        assert!(check_if_match(&h, "abc").is_ok());
        h.insert(http::header::IF_MATCH, HeaderValue::from_static("abc"));
        assert!(check_if_match(&h, "abc").is_ok());
        let e = check_if_match(&h, "def").expect_err("mismatch");
        assert_eq!(e.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(e.code, "NoEtagMatch");
    }

    #[test]
    fn json_errors_are_classified() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct B {
            n: u32,
        }
        assert_eq!(parse_json::<B>(b"{").expect_err("syntax").code, "CannotParseRequest");
        assert_eq!(parse_json::<B>(br#"{"n":"x"}"#).expect_err("type").code, "InvalidParameter");
        assert_eq!(parse_json::<B>(b"").expect_err("empty").code, "CannotParseRequest");
    }
}
