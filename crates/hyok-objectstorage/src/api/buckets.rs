//! Buckets: create (checking the bucket's KMS key), get, head, list and delete.

use super::{
    errors::{kms_error, store_error},
    validation::{check_bucket_name, check_namespace, hv},
};
use crate::{
    service::ObjectStorage,
    store::{BucketRecord, StoreError},
};
use axum::{
    Extension, Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use hyok_core::RequestId;
use hyok_oci_rest::{
    OciError, OciJson, OciPath, OciQuery, OciResult,
    conventions::{self, PageQuery},
    tenancy::Principal,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateBucketDetails {
    name: Option<String>,
    compartment_id: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    public_access_type: Option<String>,
    storage_tier: Option<String>,
    object_events_enabled: Option<bool>,
    freeform_tags: Option<BTreeMap<String, String>>,
    defined_tags: Option<serde_json::Map<String, Value>>,
    kms_key_id: Option<String>,
    versioning: Option<String>,
    auto_tiering: Option<String>,
}

fn one_of(value: Option<String>, field: &str, allowed: &[&str], default: &str) -> OciResult<String> {
    match value {
        None => Ok(default.to_string()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(OciError::invalid_parameter(format!(
            "{field} {v:?} is not supported here; use one of {}",
            allowed.join(", ")
        ))),
    }
}

fn bucket_json(b: &BucketRecord, counts: Option<(u64, u64)>) -> Value {
    let mut v = json!({
        "namespace": b.namespace,
        "name": b.name,
        "id": b.id,
        "compartmentId": b.compartment_id,
        "createdBy": b.created_by,
        "timeCreated": b.time_created,
        "etag": b.etag,
        "metadata": b.metadata,
        "publicAccessType": b.public_access_type,
        "storageTier": b.storage_tier,
        "objectEventsEnabled": b.object_events_enabled,
        "freeformTags": b.freeform_tags,
        "definedTags": b.defined_tags,
        "kmsKeyId": b.kms_key_id,
        "versioning": b.versioning,
        "autoTiering": b.auto_tiering,
        "isReadOnly": false,
        "replicationEnabled": false,
        "objectLifecyclePolicyEtag": null,
        "approximateCount": null,
        "approximateSize": null,
    });
    if let Some((count, size)) = counts {
        v["approximateCount"] = json!(count);
        v["approximateSize"] = json!(size);
    }
    v
}

fn bucket_response(status: StatusCode, b: &BucketRecord, counts: Option<(u64, u64)>) -> Response {
    let mut resp = (status, Json(bucket_json(b, counts))).into_response();
    if let Some(e) = hv(&b.etag) {
        resp.headers_mut().insert(header::ETAG, e);
    }
    resp
}

pub(crate) async fn create_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    principal: Option<Extension<Principal>>,
    OciPath(ns): OciPath<String>,
    OciJson(d): OciJson<CreateBucketDetails>,
) -> OciResult<Response> {
    check_namespace(&os, &ns)?;
    let name = conventions::required(&d.name, "name")?.to_string();
    check_bucket_name(&name)?;
    let compartment = conventions::required_ocid(&d.compartment_id, "compartmentId", "compartment")?.to_string();
    if compartment != os.config().compartment_id && compartment != os.config().tenancy_id {
        return Err(OciError::not_found(format!("Compartment {compartment} was not found or you are not authorized")));
    }
    let public_access_type = one_of(
        d.public_access_type,
        "publicAccessType",
        &["NoPublicAccess", "ObjectRead", "ObjectReadWithoutList"],
        "NoPublicAccess",
    )?;
    let storage_tier = one_of(d.storage_tier, "storageTier", &["Standard"], "Standard")?;
    let versioning = one_of(d.versioning, "versioning", &["Disabled"], "Disabled")?;
    let auto_tiering = one_of(d.auto_tiering, "autoTiering", &["Disabled", "InfrequentAccess"], "Disabled")?;
    if os.store.has_bucket(&name) {
        return Err(store_error(StoreError::BucketExists, &ns, &name, ""));
    }
    let kms_key_id = d.kms_key_id.filter(|k| !k.trim().is_empty());
    if let Some(key) = &kms_key_id {
        // The key must be usable now, through its key manager (tutorial task 17).
        os.kms.check_key(key, rid.as_str()).await.map_err(|f| kms_error(f, &format!("bucket '{name}'")))?;
    }
    let record = BucketRecord {
        id: hyok_core::ids::regional_ocid("bucket"),
        name: name.clone(),
        namespace: ns.clone(),
        compartment_id: compartment,
        created_by: principal.map(|Extension(p)| p.user_id).unwrap_or_default(),
        time_created: conventions::oci_now(),
        etag: uuid::Uuid::new_v4().to_string(),
        kms_key_id,
        metadata: d.metadata.unwrap_or_default(),
        public_access_type,
        storage_tier,
        object_events_enabled: d.object_events_enabled.unwrap_or(false),
        freeform_tags: d.freeform_tags.unwrap_or_default(),
        defined_tags: d.defined_tags.unwrap_or_default(),
        versioning,
        auto_tiering,
    };
    os.store.create_bucket(record.clone()).map_err(|e| store_error(e, &ns, &name, ""))?;
    tracing::info!(bucket = %name, kms_key = ?record.kms_key_id, "bucket created");
    let mut resp = bucket_response(StatusCode::OK, &record, None);
    if let Some(l) = hv(&format!("/n/{ns}/b/{name}")) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldsQuery {
    fields: Option<String>,
}

/// Look up a bucket and, when it has a KMS key, check that the key is usable: with the key
/// blocked the bucket itself is inaccessible (tutorial task 18).
pub(crate) async fn accessible_bucket(
    os: &ObjectStorage,
    ns: &str,
    bucket: &str,
    rid: &RequestId,
) -> OciResult<(BucketRecord, u64, u64)> {
    check_namespace(os, ns)?;
    let (b, count, size) = os.store.bucket(bucket).map_err(|e| store_error(e, ns, bucket, ""))?;
    if let Some(key) = &b.kms_key_id {
        os.kms.check_key(key, rid.as_str()).await.map_err(|f| kms_error(f, &format!("bucket '{bucket}'")))?;
    }
    Ok((b, count, size))
}

pub(crate) async fn get_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket)): OciPath<(String, String)>,
    OciQuery(q): OciQuery<FieldsQuery>,
) -> OciResult<Response> {
    let (b, count, size) = accessible_bucket(&os, &ns, &bucket, &rid).await?;
    let want: BTreeSet<String> =
        q.fields.unwrap_or_default().split(',').map(|f| f.trim().to_ascii_lowercase()).collect();
    let counts = (want.contains("approximatecount") || want.contains("approximatesize")).then_some((count, size));
    Ok(bucket_response(StatusCode::OK, &b, counts))
}

pub(crate) async fn head_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket)): OciPath<(String, String)>,
) -> OciResult<Response> {
    let (b, _, _) = accessible_bucket(&os, &ns, &bucket, &rid).await?;
    let mut resp = StatusCode::OK.into_response();
    if let Some(e) = hv(&b.etag) {
        resp.headers_mut().insert(header::ETAG, e);
    }
    Ok(resp)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListBucketsQuery {
    compartment_id: Option<String>,
    limit: Option<String>,
    page: Option<String>,
    fields: Option<String>,
}

pub(crate) async fn list_buckets(
    State(os): State<Arc<ObjectStorage>>,
    OciPath(ns): OciPath<String>,
    OciQuery(q): OciQuery<ListBucketsQuery>,
) -> OciResult<Response> {
    check_namespace(&os, &ns)?;
    let compartment = conventions::required(&q.compartment_id, "compartmentId")?;
    let with_tags = q.fields.as_deref().is_some_and(|f| f.split(',').any(|x| x.trim() == "tags"));
    let all: Vec<Value> = os
        .store
        .list_buckets(compartment)
        .iter()
        .map(|b| {
            let mut v = json!({
                "namespace": b.namespace,
                "name": b.name,
                "compartmentId": b.compartment_id,
                "createdBy": b.created_by,
                "timeCreated": b.time_created,
                "etag": b.etag,
            });
            if with_tags {
                v["freeformTags"] = json!(b.freeform_tags);
                v["definedTags"] = json!(b.defined_tags);
            }
            v
        })
        .collect();
    let (page, next) = conventions::paginate(&all, &PageQuery { limit: q.limit, page: q.page }, Clone::clone)?;
    let mut resp = Json(page).into_response();
    if let Some(n) = next.as_deref().and_then(hv) {
        resp.headers_mut().insert(conventions::NEXT_PAGE, n);
    }
    Ok(resp)
}

pub(crate) async fn delete_bucket(
    State(os): State<Arc<ObjectStorage>>,
    OciPath((ns, bucket)): OciPath<(String, String)>,
) -> OciResult<StatusCode> {
    check_namespace(&os, &ns)?;
    os.store.delete_bucket(&bucket).map_err(|e| store_error(e, &ns, &bucket, ""))?;
    tracing::info!(%bucket, "bucket deleted");
    Ok(StatusCode::NO_CONTENT)
}
