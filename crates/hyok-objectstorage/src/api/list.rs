//! ListObjects: names in order from `start`, with `prefix`, `delimiter` and the fields asked for.

use super::{buckets::accessible_bucket, errors::store_error, validation::oci_time_ms};
use crate::service::ObjectStorage;
use axum::{Json, extract::State};
use hyok_core::RequestId;
use hyok_oci_rest::{OciError, OciPath, OciQuery, OciResult};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{collections::BTreeSet, sync::Arc};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListObjectsQuery {
    prefix: Option<String>,
    start: Option<String>,
    start_after: Option<String>,
    end: Option<String>,
    limit: Option<String>,
    delimiter: Option<String>,
    fields: Option<String>,
}

const LIST_FIELDS: [&str; 8] =
    ["name", "size", "etag", "md5", "timeCreated", "timeModified", "storageTier", "archivalState"];

pub(crate) async fn list_objects(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket)): OciPath<(String, String)>,
    OciQuery(q): OciQuery<ListObjectsQuery>,
) -> OciResult<Json<Value>> {
    let limit = match q.limit.as_deref() {
        None => 1000,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => return Err(OciError::invalid_parameter("limit must be an integer from 1 to 1000")),
        },
    };
    if let Some(d) = q.delimiter.as_deref()
        && d != "/"
    {
        return Err(OciError::invalid_parameter("Only '/' is a supported delimiter"));
    }
    let mut fields = BTreeSet::from(["name"]);
    for f in q.fields.as_deref().unwrap_or("name").split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let known = LIST_FIELDS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(f))
            .ok_or_else(|| OciError::invalid_parameter(format!("fields: unknown field {f:?}")))?;
        fields.insert(known);
    }
    accessible_bucket(&os, &ns, &bucket, &rid).await?;
    let prefix = q.prefix.unwrap_or_default();
    let start = [q.start.as_deref(), Some(prefix.as_str())].into_iter().flatten().max().unwrap_or("").to_string();
    let end = q.end;
    let start_after = q.start_after;
    let delimited = q.delimiter.is_some();
    let mut objects = vec![];
    let mut prefixes = BTreeSet::new();
    let mut next = None;
    os.store
        .visit_objects(&bucket, &start, |o| {
            if end.as_deref().is_some_and(|e| o.name.as_str() >= e) || !o.name.starts_with(&prefix) {
                return false;
            }
            if start_after.as_deref().is_some_and(|s| o.name.as_str() <= s) {
                return true;
            }
            if delimited && let Some(i) = o.name[prefix.len()..].find('/') {
                prefixes.insert(o.name[..prefix.len() + i + 1].to_string());
                return true;
            }
            if objects.len() == limit {
                next = Some(o.name.clone());
                return false;
            }
            let mut v = json!({ "name": o.name });
            if fields.contains("size") {
                v["size"] = json!(o.size);
            }
            if fields.contains("etag") {
                v["etag"] = json!(o.etag);
            }
            if fields.contains("md5") {
                v["md5"] = json!(o.md5);
            }
            if fields.contains("timeCreated") {
                v["timeCreated"] = json!(o.time_created);
            }
            if fields.contains("timeModified") {
                v["timeModified"] = json!(oci_time_ms(o.modified_ms));
            }
            if fields.contains("storageTier") {
                v["storageTier"] = json!("Standard");
            }
            objects.push(v);
            true
        })
        .map_err(|e| store_error(e, &ns, &bucket, ""))?;
    let mut body = json!({ "objects": objects });
    if delimited {
        body["prefixes"] = json!(prefixes);
    }
    if let Some(n) = next {
        body["nextStartWith"] = json!(n);
    }
    Ok(Json(body))
}
