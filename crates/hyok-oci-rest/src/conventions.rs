//! REST conventions every OCI service of the lab shares: error helpers,
//! `limit`/`page` paging with `opc-next-page`, lifecycle transitions, `etag`/`if-match`, and
//! OCI's time format.

use crate::OciError;
use axum::{
    Json,
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_core::Clock;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};
use std::{collections::HashMap, sync::Arc, time::Duration};
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

/// Result type of OCI handlers.
pub type OciResult<T> = Result<T, OciError>;

/// Header carrying the next page token of a list.
pub const NEXT_PAGE: &str = "opc-next-page";
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

/// Parse a JSON body into `T`; syntax errors are 400 `CannotParseRequest`, type errors
/// 400 `InvalidParameter` naming the field's path (`details.name`), with serde's message
/// (which names the field, not internals).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> OciResult<T> {
    if body.is_empty() {
        return Err(cannot_parse("request body is empty; a JSON object is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                OciError::invalid_parameter(format!("invalid request body: {path}: {inner}"))
            }
            serde_json::error::Category::Data => OciError::invalid_parameter(format!("invalid request body: {inner}")),
            _ => cannot_parse(format!("request body is not valid JSON: {inner}")),
        }
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
pub fn paginate<T, B>(items: &[T], q: &PageQuery, view: impl Fn(&T) -> B) -> OciResult<(Vec<B>, Option<String>)> {
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
    Ok((items[start..end].iter().map(view).collect(), next))
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

    /// The `lifecycleState` filter of a list: absent, or a state spelled as on the wire
    /// (`ACTIVE`); anything else is OCI's 400 `InvalidParameter`.
    pub fn filter(value: Option<&str>) -> OciResult<Option<Self>> {
        value
            .map(|s| {
                serde_json::from_value::<Self>(serde_json::Value::String(s.to_string()))
                    .map_err(|_| OciError::invalid_parameter(format!("lifecycleState {s:?} is not valid")))
            })
            .transpose()
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

/// After `delay` on `clock`, move resource `id` of `table` from CREATING to ACTIVE (`outcome`
/// Ok) or FAILED with `lifecycleDetails` (`outcome` Err). A resource no longer CREATING is left
/// alone. Real OCI creates are asynchronous; clients poll (`--wait-for-state ACTIVE`).
pub fn settle_after<T: HasLifecycle + Send + Sync + 'static>(
    clock: &Clock,
    table: Table<T>,
    id: String,
    delay: Duration,
    outcome: Result<(), String>,
) -> tokio::task::JoinHandle<()> {
    let clock = clock.clone();
    tokio::spawn(async move {
        clock.sleep(delay).await;
        let mut map = table.write();
        if let Some(r) = map.get_mut(&id)
            && r.lifecycle_state() == LifecycleState::Creating
        {
            match outcome {
                Ok(()) => r.set_lifecycle(LifecycleState::Active, None),
                Err(details) => r.set_lifecycle(LifecycleState::Failed, Some(details)),
            }
        }
    })
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
            let (page, next) = paginate(&items, &q, |i| *i).expect("page");
            seen.extend(page);
            match next {
                Some(n) => q.page = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(paginate(&items, &PageQuery { limit: Some("0".into()), page: None }, |i| *i).is_err());
        assert!(paginate(&items, &PageQuery { limit: None, page: Some("garbage!".into()) }, |i| *i).is_err());
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
        let clock = Clock::manual();
        let table: Table<Res> = Arc::new(RwLock::new(HashMap::new()));
        for id in ["ok", "bad", "gone"] {
            table.write().insert(id.into(), Res(LifecycleState::Creating, None));
        }
        table.write().get_mut("gone").expect("gone").0 = LifecycleState::Deleted;
        let delay = Duration::from_secs(5);
        let a = settle_after(&clock, table.clone(), "ok".into(), delay, Ok(()));
        let b = settle_after(&clock, table.clone(), "bad".into(), delay, Err("backend refused".into()));
        let c = settle_after(&clock, table.clone(), "gone".into(), delay, Ok(()));
        tokio::task::yield_now().await;
        assert_eq!(table.read()["ok"].0, LifecycleState::Creating, "asynchronous");
        clock.advance(delay);
        for h in [a, b, c] {
            h.await.expect("task");
        }
        let t = table.read();
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
        let e = parse_json::<B>(br#"{"n":"x"}"#).expect_err("type");
        assert_eq!(e.code, "InvalidParameter");
        assert!(e.message.contains("n: invalid type"), "names the field: {}", e.message);
        assert_eq!(parse_json::<B>(b"").expect_err("empty").code, "CannotParseRequest");
    }
}
