//! One way to answer an OCI list: the service filters its rows, then [`ListParams::respond`]
//! sorts them as OCI does, cuts one page and answers in the list's shape with `opc-next-page`.
//!
//! OCI's defaults, the same in every service: `sortBy` time created (newest first) or the
//! display name (A→Z); `sortOrder` ASC or DESC overrides the direction.

use crate::{
    OciError, OciResult,
    conventions::{OciResponse, PageQuery, paginate},
};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// What every OCI list takes — the compartment, the common filters, sort and page; a
/// service's list query embeds them with `#[serde(flatten)]` beside its own filters.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// Required by OCI on every list.
    pub compartment_id: Option<String>,
    /// Exact display name (where the list offers it).
    pub display_name: Option<String>,
    /// Lifecycle state filter (`ACTIVE`, ...).
    pub lifecycle_state: Option<String>,
    /// The list's time key or name key (see [`Sort`]).
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    pub sort_order: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Opaque token from a previous `opc-next-page`.
    pub page: Option<String>,
}

/// The two sort keys a list offers, as its API spells them; matched without regard to case.
#[derive(Clone, Copy, Debug)]
pub struct Sort {
    /// The time-created key (`TIMECREATED`, `timeCreated`).
    pub time: &'static str,
    /// The name key (`DISPLAYNAME`, `displayName`, `NAME`).
    pub name: &'static str,
}

impl Sort {
    /// Networking's and KMS's spelling.
    pub const UPPER_DISPLAY_NAME: Sort = Sort { time: "TIMECREATED", name: "DISPLAYNAME" };
    /// API Gateway's and DNS's spelling.
    pub const CAMEL_DISPLAY_NAME: Sort = Sort { time: "timeCreated", name: "displayName" };
    /// Certificates' spelling.
    pub const UPPER_NAME: Sort = Sort { time: "TIMECREATED", name: "NAME" };
}

/// How a list's body looks to the SDK: `list[Vcn]` (a bare array) or `VcnCollection`
/// (`{"items": [...]}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListShape {
    /// A bare JSON array.
    Array,
    /// `{"items": [...]}`.
    Items,
}

impl ListParams {
    /// The compartment listed: required, and an OCID of a compartment (or the tenancy, the
    /// root compartment).
    pub fn compartment(&self) -> OciResult<&str> {
        crate::conventions::required_ocid(&self.compartment_id, "compartmentId", "compartment")
    }

    /// Whether a row named `name` passes the `displayName` filter.
    pub fn wants_name(&self, name: &str) -> bool {
        self.display_name.as_deref().is_none_or(|n| n == name)
    }

    /// Whether a row in `state` passes the `lifecycleState` filter.
    pub fn wants_state(&self, state: &str) -> bool {
        self.lifecycle_state.as_deref().is_none_or(|s| s == state)
    }

    /// The paging part.
    pub fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit.clone(), page: self.page.clone() }
    }

    /// Sort `rows` in place by `key` (name, time created). Rows equal under the key keep their
    /// relative order, reversed with the direction, so a service may pre-order ties (e.g. by
    /// creation sequence).
    pub fn sort<T>(&self, rows: &mut [T], sort: Sort, key: impl Fn(&T) -> (&str, &str)) -> OciResult<()> {
        let by_name = match self.sort_by.as_deref() {
            None => false,
            Some(s) if s.eq_ignore_ascii_case(sort.time) => false,
            Some(s) if s.eq_ignore_ascii_case(sort.name) => true,
            Some(o) => {
                return Err(OciError::invalid_parameter(format!(
                    "sortBy {o:?} must be {} or {}",
                    sort.time, sort.name
                )));
            }
        };
        let desc = match self.sort_order.as_deref() {
            None => !by_name,
            Some(s) if s.eq_ignore_ascii_case("ASC") => false,
            Some(s) if s.eq_ignore_ascii_case("DESC") => true,
            Some(o) => return Err(OciError::invalid_parameter(format!("sortOrder {o:?} must be ASC or DESC"))),
        };
        rows.sort_by(|a, b| {
            let ((an, at), (bn, bt)) = (key(a), key(b));
            if by_name { an.cmp(bn).then(at.cmp(bt)) } else { at.cmp(bt).then(an.cmp(bn)) }
        });
        if desc {
            rows.reverse();
        }
        Ok(())
    }

    /// Sort, page and answer: `rows` are already filtered; `view` turns a row into what the
    /// list shows (often a summary).
    pub fn respond<T, B: Serialize>(
        &self,
        mut rows: Vec<T>,
        sort: Sort,
        key: impl Fn(&T) -> (&str, &str),
        shape: ListShape,
        view: impl Fn(&T) -> B,
    ) -> OciResult<OciResponse> {
        self.sort(&mut rows, sort, key)?;
        let (page, next_page) = paginate(&rows, &self.page(), view)?;
        let body = match shape {
            ListShape::Array => serde_json::to_value(&page),
            ListShape::Items => serde_json::to_value(&page).map(|items| serde_json::json!({ "items": items })),
        }
        .map_err(OciError::internal)?;
        Ok(OciResponse { status: StatusCode::OK, body, etag: None, next_page })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &OciResponse) -> Vec<String> {
        let items = r.body.get("items").unwrap_or(&r.body);
        items.as_array().expect("array").iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()
    }

    fn params(sort_by: Option<&str>, order: Option<&str>, limit: Option<&str>) -> ListParams {
        ListParams {
            sort_by: sort_by.map(str::to_string),
            sort_order: order.map(str::to_string),
            limit: limit.map(str::to_string),
            ..ListParams::default()
        }
    }

    const ROWS: [(&str, &str); 3] =
        [("b", "2026-01-01T00:00:02.000Z"), ("a", "2026-01-01T00:00:03.000Z"), ("c", "2026-01-01T00:00:01.000Z")];

    fn run(p: &ListParams, shape: ListShape) -> OciResult<OciResponse> {
        p.respond(ROWS.to_vec(), Sort::CAMEL_DISPLAY_NAME, |r| (r.0, r.1), shape, |r| r.0)
    }

    #[test]
    fn newest_first_by_default_names_ascending() {
        assert_eq!(names(&run(&params(None, None, None), ListShape::Array).expect("ok")), ["a", "b", "c"]);
        let by_name = run(&params(Some("DISPLAYNAME"), None, None), ListShape::Items).expect("ok");
        assert!(by_name.body.get("items").is_some(), "Items shape");
        assert_eq!(names(&by_name), ["a", "b", "c"]);
        let oldest = run(&params(Some("timeCreated"), Some("ASC"), None), ListShape::Array).expect("ok");
        assert_eq!(names(&oldest), ["c", "b", "a"]);
        let z_a = run(&params(Some("displayName"), Some("desc"), None), ListShape::Array).expect("ok");
        assert_eq!(names(&z_a), ["c", "b", "a"]);
    }

    #[test]
    fn pages_carry_the_next_token_and_bad_keys_are_refused() {
        let first = run(&params(Some("displayName"), None, Some("2")), ListShape::Array).expect("ok");
        assert_eq!(names(&first), ["a", "b"]);
        let mut p = params(Some("displayName"), None, Some("2"));
        p.page = first.next_page.clone();
        let second = run(&p, ListShape::Array).expect("ok");
        assert_eq!((names(&second), second.next_page), (vec!["c".to_string()], None));
        let e = run(&params(Some("size"), None, None), ListShape::Array).expect_err("bad sortBy");
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "InvalidParameter"));
        assert!(run(&params(None, Some("UP"), None), ListShape::Array).is_err());
    }
}
