//! The Object Storage REST API: namespace, buckets and objects (`/n/...`).
//!
//! Every route is behind OCI request signing; object PUT bodies are exempt from body hashing
//! and are streamed (as the `oci` CLI and SDKs send them). Errors are OCI `{code, message}`
//! envelopes with `opc-request-id`.

use crate::{
    ObjectStorage,
    crypto::{self, Opener, Sealer},
    kms::KmsFailure,
    store::{BucketRecord, Encryption, ObjectRecord, StoreError},
};
use axum::{
    Extension, Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::PathRejection, rejection::QueryRejection},
    response::{IntoResponse, Response},
    routing::{get, put},
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use hyok_core::RequestId;
use hyok_oci_rest::OciError;
use hyok_oci_rest::{
    SignatureVerifier,
    conventions::{self, OciResult, PageQuery},
    tenancy::Principal,
};

use md5::{Digest as _, Md5};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    io::{Read as _, Write as _},
    path::PathBuf,
    sync::Arc,
};
use time::OffsetDateTime;

/// Largest JSON body (CreateBucket).
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest total size of an object's `opc-meta-*` headers (names and values).
pub const MAX_METADATA_BYTES: usize = 2048;
/// Longest object name in bytes.
pub const MAX_OBJECT_NAME: usize = 1024;
/// Longest bucket name.
pub const MAX_BUCKET_NAME: usize = 256;

const OPC_META: &str = "opc-meta-";
/// Standard headers stored with an object and returned on GET/HEAD.
const STORED_HEADERS: [&str; 4] = ["content-language", "content-encoding", "content-disposition", "cache-control"];

/// The router for host [`crate::HOST`]: signature verification (object PUT bodies exempt from
/// hashing, so they stream), `opc-request-id`, and body limits.
pub fn router(os: Arc<ObjectStorage>, verifier: Arc<SignatureVerifier>) -> Router {
    let verifier = Arc::new(
        (*verifier).clone().with_body_exempt(Arc::new(|m: &Method, p: &str| m == Method::PUT && is_object_path(p))),
    );
    let api = Router::new()
        .route("/n", get(get_namespace))
        .route("/n/{ns}", get(namespace_metadata))
        .route("/n/{ns}/b", get(list_buckets).post(create_bucket))
        .route("/n/{ns}/b/{bucket}", get(get_bucket).head(head_bucket).delete(delete_bucket))
        .route("/n/{ns}/b/{bucket}/o", get(list_objects))
        .route(
            "/n/{ns}/b/{bucket}/o/{*object}",
            put(put_object).get(get_object).head(head_object).delete(delete_object),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .with_state(os);
    hyok_oci_rest::signing::protect(api, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

/// `/n/{ns}/b/{bucket}/o/{object...}`.
fn is_object_path(path: &str) -> bool {
    let mut it = path.splitn(7, '/');
    matches!(
        (it.next(), it.next(), it.next(), it.next(), it.next(), it.next(), it.next()),
        (Some(""), Some("n"), Some(ns), Some("b"), Some(b), Some("o"), Some(o)) if !ns.is_empty() && !b.is_empty() && !o.is_empty()
    )
}

async fn not_found() -> OciError {
    OciError::not_found("The requested resource was not found")
}

async fn method_not_allowed() -> OciError {
    OciError::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "This method is not allowed on this resource")
}

// ---- errors ------------------------------------------------------------------------------

fn bucket_not_found(ns: &str, bucket: &str) -> OciError {
    OciError::new(
        StatusCode::NOT_FOUND,
        "BucketNotFound",
        format!(
            "Either the bucket named '{bucket}' does not exist in the namespace '{ns}' or you are not authorized to access it"
        ),
    )
}

fn object_not_found(bucket: &str, object: &str) -> OciError {
    OciError::new(
        StatusCode::NOT_FOUND,
        "ObjectNotFound",
        format!("The object '{object}' was not found in the bucket '{bucket}'"),
    )
}

fn store_error(e: StoreError, ns: &str, bucket: &str, object: &str) -> OciError {
    match e {
        StoreError::BucketNotFound => bucket_not_found(ns, bucket),
        StoreError::ObjectNotFound => object_not_found(bucket, object),
        StoreError::BucketExists => OciError::new(
            StatusCode::CONFLICT,
            "BucketAlreadyExists",
            format!(
                "Either the bucket '{bucket}' in namespace '{ns}' already exists or you are not authorized to create it"
            ),
        ),
        StoreError::BucketNotEmpty => OciError::new(
            StatusCode::CONFLICT,
            "BucketNotEmpty",
            format!("Bucket named '{bucket}' is not empty. Delete all objects first."),
        ),
        StoreError::Io(..) => OciError::internal(e),
    }
}

/// The answer for a KMS failure while serving `what` (e.g. "bucket 'b'").
pub fn kms_error(f: KmsFailure, what: &str) -> OciError {
    match f {
        KmsFailure::KeyDisabled { key_id, detail } => OciError::new(
            StatusCode::CONFLICT,
            "KmsKeyDisabled",
            format!(
                "The KMS key {key_id} that protects {what} is disabled or blocked in its key manager, so {what} \
                 is unavailable. No data was deleted: enable or unblock the key to restore access. ({detail})"
            ),
        ),
        KmsFailure::KeyNotFound { key_id, detail } => OciError::new(
            StatusCode::NOT_FOUND,
            "NotAuthorizedOrFoundKmsKey",
            format!(
                "The KMS key {key_id} for {what} does not exist or Object Storage is not authorized to use it \
                 (check the key OCID and the policy 'allow service objectstorage-eu-frankfurt-1 to use keys ...'). ({detail})"
            ),
        ),
        KmsFailure::Unreachable { detail } => OciError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "KmsUnavailable",
            format!(
                "The key manager for the KMS key of {what} is unreachable, so {what} is unavailable right now; no data was lost. ({detail})"
            ),
        ),
        KmsFailure::BadCiphertext { detail } => {
            tracing::error!(%what, %detail, "KMS refused a stored wrapped data key");
            OciError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                format!("The data encryption key of {what} could not be unwrapped by KMS ({detail})"),
            )
        }
    }
}

fn integrity_error(what: &str) -> OciError {
    OciError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        format!("The stored data of {what} failed its integrity check and cannot be returned"),
    )
}

fn path_error(e: PathRejection) -> OciError {
    OciError::invalid_parameter(format!("invalid path: {}", e.body_text()))
}

fn query_error(e: QueryRejection) -> OciError {
    OciError::invalid_parameter(format!("invalid query: {}", e.body_text()))
}

// ---- validation --------------------------------------------------------------------------

fn check_namespace(os: &ObjectStorage, ns: &str) -> OciResult<()> {
    if ns == os.namespace() {
        return Ok(());
    }
    Err(OciError::new(
        StatusCode::NOT_FOUND,
        "NamespaceNotFound",
        format!("You do not have authorization to perform this request, or the namespace '{ns}' could not be found"),
    ))
}

fn valid_bucket_name(name: &str) -> bool {
    (1..=MAX_BUCKET_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn check_bucket_name(name: &str) -> OciResult<()> {
    if valid_bucket_name(name) {
        Ok(())
    } else {
        Err(OciError::invalid_parameter(format!(
            "Invalid bucket name {name:?}: 1 to {MAX_BUCKET_NAME} characters from letters, numbers, '-', '_' and '.'"
        )))
    }
}

fn check_object_name(name: &str) -> OciResult<()> {
    if name.is_empty() || name.len() > MAX_OBJECT_NAME || name.contains('\0') {
        return Err(OciError::invalid_parameter(format!(
            "Invalid object name: 1 to {MAX_OBJECT_NAME} bytes of UTF-8 without NUL"
        )));
    }
    Ok(())
}

fn hv(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

fn http_date_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    hyok_oci_rest::signing::http_date(t)
}

fn oci_time_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    conventions::oci_time(t)
}

// ---- namespace ---------------------------------------------------------------------------

async fn get_namespace(State(os): State<Arc<ObjectStorage>>) -> Json<String> {
    Json(os.namespace().to_string())
}

async fn namespace_metadata(
    State(os): State<Arc<ObjectStorage>>,
    path: Result<Path<String>, PathRejection>,
) -> OciResult<Json<Value>> {
    let Path(ns) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    Ok(Json(json!({
        "namespace": ns,
        "defaultS3CompartmentId": os.config().tenancy_id,
        "defaultSwiftCompartmentId": os.config().tenancy_id,
    })))
}

// ---- buckets -----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBucketDetails {
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

async fn create_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    principal: Option<Extension<Principal>>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> OciResult<Response> {
    let Path(ns) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    let d: CreateBucketDetails = conventions::parse_json(&body)?;
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
struct FieldsQuery {
    fields: Option<String>,
}

/// Look up a bucket and, when it has a KMS key, check that the key is usable: with the key
/// blocked the bucket itself is inaccessible (tutorial task 18).
async fn accessible_bucket(
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

async fn get_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<FieldsQuery>, QueryRejection>,
) -> OciResult<Response> {
    let Path((ns, bucket)) = path.map_err(path_error)?;
    let Query(q) = query.map_err(query_error)?;
    let (b, count, size) = accessible_bucket(&os, &ns, &bucket, &rid).await?;
    let want: BTreeSet<String> =
        q.fields.unwrap_or_default().split(',').map(|f| f.trim().to_ascii_lowercase()).collect();
    let counts = (want.contains("approximatecount") || want.contains("approximatesize")).then_some((count, size));
    Ok(bucket_response(StatusCode::OK, &b, counts))
}

async fn head_bucket(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String)>, PathRejection>,
) -> OciResult<Response> {
    let Path((ns, bucket)) = path.map_err(path_error)?;
    let (b, _, _) = accessible_bucket(&os, &ns, &bucket, &rid).await?;
    let mut resp = StatusCode::OK.into_response();
    if let Some(e) = hv(&b.etag) {
        resp.headers_mut().insert(header::ETAG, e);
    }
    Ok(resp)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBucketsQuery {
    compartment_id: Option<String>,
    limit: Option<String>,
    page: Option<String>,
    fields: Option<String>,
}

async fn list_buckets(
    State(os): State<Arc<ObjectStorage>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListBucketsQuery>, QueryRejection>,
) -> OciResult<Response> {
    let Path(ns) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    let Query(q) = query.map_err(query_error)?;
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

async fn delete_bucket(
    State(os): State<Arc<ObjectStorage>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> OciResult<StatusCode> {
    let Path((ns, bucket)) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    os.store.delete_bucket(&bucket).map_err(|e| store_error(e, &ns, &bucket, ""))?;
    tracing::info!(%bucket, "bucket deleted");
    Ok(StatusCode::NO_CONTENT)
}

// ---- objects: write ----------------------------------------------------------------------

/// Removes an upload's temporary file unless it was committed.
struct TmpFile(Option<PathBuf>);

impl Drop for TmpFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Plaintext bytes an upload hands from stage to stage at once: large enough that threads
/// rarely wait on each other (64 KiB batches measured ~20% slower), small enough that an
/// upload holds at most five batches (one filling, one queued and one worked on per thread):
/// 5 MiB with the default segments, 20 MiB with the largest (4 MiB, one per batch).
const PUT_BATCH_BYTES: usize = 1024 * 1024;
/// Most segments in one batch (bounds the `writev` list when segments are tiny).
const PUT_BATCH_SEGMENTS: usize = 64;

/// Whole plaintext segments back to back (the final one may be short); `last` when the object
/// ends in this batch.
struct Batch {
    buf: Vec<u8>,
    last: bool,
}

/// First stage after receiving: MD5 of the plaintext, then the batch goes on to sealing. Runs
/// on its own blocking thread, so a PUT takes about as long as its MD5 (the slowest stage)
/// rather than MD5 plus AES plus disk.
fn md5_stage(mut rx: tokio::sync::mpsc::Receiver<Batch>, tx: tokio::sync::mpsc::Sender<Batch>) -> [u8; 16] {
    let mut md5 = Md5::new();
    while let Some(batch) = rx.blocking_recv() {
        md5.update(&batch.buf);
        if tx.blocking_send(batch).is_err() {
            break; // sealing stopped; the upload fails with its error
        }
    }
    md5.finalize().into()
}

/// Last stage: encrypt each segment of a batch in place and append `segment ‖ tag` pairs to
/// `path` with one `writev`; returns the plaintext size. Emptied buffers go back through `back`.
fn seal_stage(
    path: PathBuf,
    mut sealer: Sealer,
    seg: usize,
    mut rx: tokio::sync::mpsc::Receiver<Batch>,
    back: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
) -> Result<u64, String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(sealer.header()).map_err(|e| format!("write failed: {e}"))?;
    let mut size = 0u64;
    let mut tags: Vec<[u8; crypto::TAG_LEN]> = Vec::with_capacity(PUT_BATCH_SEGMENTS);
    while let Some(Batch { mut buf, last }) = rx.blocking_recv() {
        size += buf.len() as u64;
        tags.clear();
        if buf.is_empty() {
            // Only an empty object ends in an empty batch: it is one tag-only segment.
            if last {
                tags.push(sealer.seal_detached(&mut [], true).map_err(|e| e.to_string())?);
            }
        } else {
            let n = buf.len().div_ceil(seg);
            for (i, segment) in buf.chunks_mut(seg).enumerate() {
                tags.push(sealer.seal_detached(segment, last && i + 1 == n).map_err(|e| e.to_string())?);
            }
        }
        let mut slices: Vec<std::io::IoSlice<'_>> = Vec::with_capacity(2 * tags.len());
        let mut segments = buf.chunks(seg);
        for tag in &tags {
            if let Some(s) = segments.next() {
                slices.push(std::io::IoSlice::new(s));
            }
            slices.push(std::io::IoSlice::new(tag));
        }
        write_all_vectored(&mut file, &mut slices).map_err(|e| format!("write failed: {e}"))?;
        drop(slices);
        buf.clear();
        let _ = back.send(buf);
        if last {
            file.flush().map_err(|e| format!("write failed: {e}"))?;
            return Ok(size);
        }
    }
    Err("upload ended before its last segment".into())
}

/// `Write::write_all_vectored` (not yet stable).
fn write_all_vectored(file: &mut std::fs::File, mut slices: &mut [std::io::IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Stream an upload body into `path` as ciphertext; returns its plaintext size and MD5.
///
/// receive (here) → MD5 (thread) → seal and write (thread), in batches of whole segments.
/// Buffers come back for reuse, so an upload holds a handful of batches whatever its size.
async fn store_body(
    body: Body,
    sealer: Sealer,
    seg: usize,
    path: PathBuf,
    max_bytes: u64,
) -> OciResult<(u64, [u8; 16])> {
    let batch = seg * (PUT_BATCH_BYTES / seg).clamp(1, PUT_BATCH_SEGMENTS);
    let (tx, md5_rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let (seal_tx, seal_rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let (back_tx, mut back_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let seal_worker = tokio::task::spawn_blocking(move || seal_stage(path, sealer, seg, seal_rx, back_tx));
    let md5_worker = tokio::task::spawn_blocking(move || md5_stage(md5_rx, seal_tx));
    let new_buf = |back: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>| {
        back.try_recv().unwrap_or_else(|_| Vec::with_capacity(batch))
    };
    let mut stream = body.into_data_stream();
    let mut cur = new_buf(&mut back_rx);
    let mut received = 0u64;
    let mut failure: Option<OciError> = None;
    'recv: while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, "object upload body failed");
                failure = Some(conventions::cannot_parse("The request body could not be read completely"));
                break;
            }
        };
        received += chunk.len() as u64;
        if received > max_bytes {
            failure = Some(too_large(max_bytes));
            break;
        }
        let mut data = &chunk[..];
        while !data.is_empty() {
            if cur.len() == batch {
                // More data follows, so this full batch does not end the object.
                let next = new_buf(&mut back_rx);
                if tx.send(Batch { buf: std::mem::replace(&mut cur, next), last: false }).await.is_err() {
                    break 'recv;
                }
            }
            let n = (batch - cur.len()).min(data.len());
            cur.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
    }
    if failure.is_none() {
        let _ = tx.send(Batch { buf: cur, last: true }).await;
    }
    drop(tx);
    let md5 = md5_worker.await.map_err(OciError::internal)?;
    let sealed = seal_worker.await.map_err(OciError::internal)?;
    if let Some(f) = failure {
        return Err(f);
    }
    let size = sealed.map_err(OciError::internal)?;
    if size != received {
        return Err(OciError::internal(format!("sealed {size} of {received} received bytes")));
    }
    Ok((size, md5))
}

fn parse_content_md5(headers: &HeaderMap) -> OciResult<Option<[u8; 16]>> {
    let Some(v) = headers.get("content-md5") else { return Ok(None) };
    let bad = || {
        OciError::new(
            StatusCode::BAD_REQUEST,
            "InvalidContentMD5",
            "The Content-MD5 header must be the base64 encoding of a 16-byte MD5 digest",
        )
    };
    let s = v.to_str().map_err(|_| bad())?;
    let raw = B64.decode(s.trim().as_bytes()).map_err(|_| bad())?;
    raw.as_slice().try_into().map(Some).map_err(|_| bad())
}

fn object_metadata(headers: &HeaderMap) -> OciResult<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let mut meta = BTreeMap::new();
    let mut total = 0usize;
    for (name, value) in headers {
        if let Some(rest) = name.as_str().strip_prefix(OPC_META) {
            if rest.is_empty() {
                return Err(OciError::invalid_parameter("opc-meta- header names need a suffix"));
            }
            let v =
                value.to_str().map_err(|_| OciError::invalid_parameter(format!("{name} must be printable ASCII")))?;
            total += name.as_str().len() + v.len();
            meta.insert(name.as_str().to_string(), v.to_string());
        }
    }
    if total > MAX_METADATA_BYTES {
        return Err(OciError::invalid_parameter(format!(
            "opc-meta-* headers total {total} bytes; at most {MAX_METADATA_BYTES} are allowed"
        )));
    }
    let mut stored = BTreeMap::new();
    for h in STORED_HEADERS {
        if let Some(v) = headers.get(h).and_then(|v| v.to_str().ok()) {
            stored.insert(h.to_string(), v.to_string());
        }
    }
    Ok((meta, stored))
}

/// Read and discard a small unread request body before answering `err`, so clients that send
/// the whole body before reading the answer see the error rather than a reset connection.
async fn drain(body: Body, err: OciError) -> OciError {
    const DRAIN_MAX: usize = 16 * 1024 * 1024;
    let discard = async {
        let mut stream = body.into_data_stream();
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > DRAIN_MAX {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), discard).await;
    err
}

fn too_large(max: u64) -> OciError {
    OciError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        format!("The object is larger than the {max} bytes this Object Storage accepts"),
    )
}

async fn put_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> OciResult<Response> {
    let Path((ns, bucket, object)) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    check_object_name(&object)?;
    let expected_md5 = parse_content_md5(&headers)?;
    let (metadata, stored_headers) = object_metadata(&headers)?;
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > os.max_object_bytes
    {
        return Err(too_large(os.max_object_bytes));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let b = match os.store.bucket(&bucket) {
        Ok((b, _, _)) => b,
        Err(e) => return Err(drain(body, store_error(e, &ns, &bucket, &object)).await),
    };
    let what = format!("object '{object}' in bucket '{bucket}'");
    // A fresh data key for this object, from KMS (and so from the external key manager).
    let dk = match os.new_data_key(b.kms_key_id.as_deref(), rid.as_str()).await {
        Ok(dk) => dk,
        Err(f) => return Err(drain(body, kms_error(f, &what)).await),
    };
    let sealer = Sealer::new(&dk.plaintext, os.segment_size).map_err(OciError::internal)?;
    let tmp_path = os.store.tmp_path();
    let mut tmp = TmpFile(Some(tmp_path.clone()));
    let (size, md5) = store_body(body, sealer, os.segment_size, tmp_path, os.max_object_bytes).await?;
    if let Some(expected) = expected_md5
        && expected != md5
    {
        return Err(OciError::new(
            StatusCode::BAD_REQUEST,
            "UnmatchedContentMD5",
            format!(
                "The computed MD5 of the request body ({}) does not match the Content-MD5 header ({})",
                B64.encode(md5),
                B64.encode(expected)
            ),
        ));
    }
    let now_ms = hyok_core::events::now_ms();
    let record = ObjectRecord {
        name: object.clone(),
        data_file: String::new(),
        size,
        md5: B64.encode(md5),
        etag: uuid::Uuid::new_v4().to_string(),
        time_created: oci_time_ms(now_ms),
        modified_ms: now_ms,
        content_type,
        headers: stored_headers,
        metadata,
        encryption: Encryption {
            scheme: crypto::SCHEME.to_string(),
            kms_key_id: b.kms_key_id.clone(),
            key_version_id: dk.key_version_id.clone(),
            wrapped_dek: dk.wrapped.clone(),
        },
    };
    let committed = {
        let os = os.clone();
        let record = record.clone();
        let bucket = bucket.clone();
        let tmp_path = tmp.0.clone().unwrap_or_default();
        tokio::task::spawn_blocking(move || os.store.commit_object(&bucket, record, &tmp_path))
            .await
            .map_err(OciError::internal)?
    };
    committed.map_err(|e| store_error(e, &ns, &bucket, &object))?;
    tmp.0 = None;
    tracing::debug!(%bucket, %object, size = record.size, "object stored");
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    for (name, value) in [
        (header::ETAG, &record.etag),
        (HeaderName::from_static("opc-content-md5"), &record.md5),
        (header::LAST_MODIFIED, &http_date_ms(record.modified_ms)),
    ] {
        if let Some(v) = hv(value) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}

// ---- objects: read -----------------------------------------------------------------------

fn object_headers(resp: &mut Response, o: &ObjectRecord) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(o.size));
    for (name, value) in [
        (header::CONTENT_TYPE, &o.content_type),
        (header::ETAG, &o.etag),
        (HeaderName::from_static("content-md5"), &o.md5),
        (HeaderName::from_static("opc-content-md5"), &o.md5),
        (header::LAST_MODIFIED, &http_date_ms(o.modified_ms)),
    ] {
        if let Some(v) = hv(value) {
            h.insert(name, v);
        }
    }
    h.insert("storage-tier", HeaderValue::from_static("Standard"));
    for (k, v) in o.metadata.iter().chain(o.headers.iter()) {
        if let (Ok(name), Some(value)) = (HeaderName::try_from(k.as_str()), hv(v)) {
            h.insert(name, value);
        }
    }
}

/// Segments an object read reads with one `read` (after the first segment, which is alone).
const GET_BATCH_SEGMENTS: u64 = 16;
/// Decrypted batches queued ahead of the client: with 64 KiB segments about 2 MiB per read,
/// and whole batches, so the reader thread wakes once per batch rather than per segment.
const GET_QUEUE: usize = 2;
/// Read buffers an object read keeps for reuse (each is reused once the client is done with
/// the segments sliced from it), sparing a fresh zeroed allocation per batch.
const GET_POOL: usize = GET_QUEUE + 3;

/// A buffer of `len` zero bytes, from `pool` when one there is free again.
fn read_buffer(pool: &mut Vec<BytesMut>, len: usize) -> BytesMut {
    let free = pool.iter_mut().position(|b| {
        b.clear();
        b.try_reclaim(len)
    });
    let mut buf = match free {
        Some(i) => pool.swap_remove(i),
        None => {
            if pool.len() >= GET_POOL {
                pool.remove(0); // the oldest is still out with the client; let it go
            }
            BytesMut::with_capacity(len)
        }
    };
    buf.resize(len, 0);
    buf
}

/// Read, check and decrypt an object file into `tx`, a batch of segments per message. The
/// first message is the first segment alone (or the error that stops the read); a later error
/// aborts the body.
fn open_worker(
    mut file: std::fs::File,
    dek: [u8; 32],
    expected_size: u64,
    tx: tokio::sync::mpsc::Sender<Result<Vec<Bytes>, std::io::Error>>,
    what: String,
) {
    let fail = |msg: String| {
        tracing::error!(object = %what, reason = %msg, "object read failed its integrity check");
        let _ = tx.blocking_send(Err(std::io::Error::other(msg)));
    };
    let total = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return fail(format!("cannot stat the object file: {e}")),
    };
    let mut header = [0u8; crypto::HEADER_LEN];
    if total < crypto::HEADER_LEN as u64 || file.read_exact(&mut header).is_err() {
        return fail("object file is shorter than its header".into());
    }
    let mut opener = match Opener::new(&dek, &header) {
        Ok(o) => o,
        Err(e) => return fail(e.to_string()),
    };
    let seg = opener.segment_size();
    let Some((segments, plain)) = crypto::layout(total - crypto::HEADER_LEN as u64, seg) else {
        return fail("object file length does not match any segment layout".into());
    };
    if plain != expected_size {
        return fail(format!("object file holds {plain} bytes but its metadata says {expected_size}"));
    }
    // Each decrypted segment is sent as a zero-copy slice of its batch's buffer.
    let full = (seg + crypto::TAG_LEN) as u64;
    let mut remaining = total - crypto::HEADER_LEN as u64;
    let mut pool: Vec<BytesMut> = Vec::with_capacity(GET_POOL);
    let mut i = 0u64;
    while i < segments {
        // The first segment alone: the response status waits only for it.
        let n = if i == 0 { 1 } else { GET_BATCH_SEGMENTS.min(segments - i) };
        let len = if i + n == segments { remaining } else { n * full };
        remaining -= len;
        let mut batch = read_buffer(&mut pool, len as usize);
        if let Err(e) = file.read_exact(&mut batch) {
            return fail(format!("cannot read segments {i}..{}: {e}", i + n));
        }
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let last = i + 1 == segments;
            let take = if last { batch.len() } else { full as usize };
            let mut one = batch.split_to(take);
            match opener.open(&mut one, last) {
                Ok(plain) => one.truncate(plain),
                Err(e) => return fail(e.to_string()),
            }
            out.push(one.freeze());
            i += 1;
        }
        // `batch` is now empty but still holds the allocation, to reclaim when it is free.
        pool.push(batch);
        if tx.blocking_send(Ok(out)).is_err() {
            return; // the client went away
        }
    }
}

async fn get_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> OciResult<Response> {
    let Path((ns, bucket, object)) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    let (record, file) = os.store.open_object(&bucket, &object).map_err(|e| store_error(e, &ns, &bucket, &object))?;
    let what = format!("object '{object}' in bucket '{bucket}'");
    // No cache by default: every read unwraps its key through KMS, so a block applies at once.
    let dek = os.unwrap_data_key(&record.encryption, rid.as_str()).await.map_err(|f| kms_error(f, &what))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<Bytes>, std::io::Error>>(GET_QUEUE);
    let size = record.size;
    let w = what.clone();
    tokio::task::spawn_blocking(move || open_worker(file, dek, size, tx, w));
    // Check the first segment before answering, so a damaged object is a clean error status.
    let first = match rx.recv().await {
        Some(Ok(b)) => b,
        Some(Err(_)) | None => return Err(integrity_error(&what)),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let stream = futures_util::stream::once(async move { Ok(first) }).chain(rest).flat_map(|batch| {
        futures_util::stream::iter(match batch {
            Ok(segments) => segments.into_iter().map(Ok).collect::<Vec<Result<Bytes, std::io::Error>>>(),
            Err(e) => vec![Err(e)],
        })
    });
    let mut resp = Body::from_stream(stream).into_response();
    object_headers(&mut resp, &record);
    Ok(resp)
}

async fn head_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> OciResult<Response> {
    let Path((ns, bucket, object)) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    let record = os.store.object(&bucket, &object).map_err(|e| store_error(e, &ns, &bucket, &object))?;
    if let Some(key) = &record.encryption.kms_key_id {
        os.kms
            .check_key(key, rid.as_str())
            .await
            .map_err(|f| kms_error(f, &format!("object '{object}' in bucket '{bucket}'")))?;
    }
    let mut resp = StatusCode::OK.into_response();
    object_headers(&mut resp, &record);
    Ok(resp)
}

async fn delete_object(
    State(os): State<Arc<ObjectStorage>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> OciResult<Response> {
    let Path((ns, bucket, object)) = path.map_err(path_error)?;
    check_namespace(&os, &ns)?;
    let store_os = os.clone();
    let (b, o) = (bucket.clone(), object.clone());
    tokio::task::spawn_blocking(move || store_os.store.delete_object(&b, &o))
        .await
        .map_err(OciError::internal)?
        .map_err(|e| store_error(e, &ns, &bucket, &object))?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = hv(&http_date_ms(hyok_core::events::now_ms())) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

// ---- objects: list -----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListObjectsQuery {
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

async fn list_objects(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<ListObjectsQuery>, QueryRejection>,
) -> OciResult<Json<Value>> {
    let Path((ns, bucket)) = path.map_err(path_error)?;
    let Query(q) = query.map_err(query_error)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Stream `data` through the upload pipeline in `chunk`-byte pieces, then read it back
    /// through the GET reader; returns the plaintext read and the stored file's length.
    async fn put_then_get(dir: &std::path::Path, data: &[u8], chunk: usize, seg: usize) -> (Vec<u8>, u64) {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            data.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let dek = crypto::random_key();
        let path = dir.join(format!("{}.data", uuid::Uuid::new_v4()));
        let sealer = Sealer::new(&dek, seg).expect("sealer");
        let (size, md5) = store_body(body, sealer, seg, path.clone(), u64::MAX).await.expect("store");
        assert_eq!(size, data.len() as u64);
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(data)));
        let stored = std::fs::metadata(&path).expect("stored").len();
        let file = std::fs::File::open(&path).expect("open");
        let (tx, mut rx) = tokio::sync::mpsc::channel(GET_QUEUE);
        let len = data.len() as u64;
        tokio::task::spawn_blocking(move || open_worker(file, dek, len, tx, "test".into()));
        let mut got = vec![];
        while let Some(batch) = rx.recv().await {
            for s in batch.expect("segment opens") {
                got.extend_from_slice(&s);
            }
        }
        (got, stored)
    }

    #[tokio::test]
    async fn upload_pipeline_round_trips_at_segment_and_batch_edges() {
        let dir = std::env::temp_dir().join(format!("hyok-os-unit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        // 64-byte segments: a batch is PUT_BATCH_SEGMENTS of them.
        let (seg, batch) = (64, 64 * PUT_BATCH_SEGMENTS);
        for len in [0, 1, seg - 1, seg, seg + 1, batch - 1, batch, batch + 1, 3 * batch, 3 * batch + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for chunk in [1000, 17] {
                let (got, stored) = put_then_get(&dir, &data, chunk, seg).await;
                assert!(got == data, "len {len}, chunks of {chunk}: bytes differ");
                let segments = len.div_ceil(seg).max(1);
                assert_eq!(stored, (crypto::HEADER_LEN + len + crypto::TAG_LEN * segments) as u64, "len {len}");
            }
        }
        // Default segments, several GET batches and a short final segment.
        let data: Vec<u8> = (0..3 * 1024 * 1024 + 5).map(|i| (i % 253) as u8).collect();
        let (got, _) = put_then_get(&dir, &data, 100_000, crypto::SEGMENT_SIZE).await;
        assert!(got == data, "bytes differ");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn upload_pipeline_stops_cleanly_when_writing_fails() {
        // The seal stage cannot create its file: the upload must fail, not hang.
        let path = std::env::temp_dir().join(format!("hyok-os-missing-{}", uuid::Uuid::new_v4())).join("x.data");
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..64).map(|_| Ok(Bytes::from(vec![1u8; 100_000]))).collect();
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let sealer = Sealer::new(&crypto::random_key(), crypto::SEGMENT_SIZE).expect("sealer");
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            store_body(body, sealer, crypto::SEGMENT_SIZE, path, u64::MAX),
        )
        .await
        .expect("no hang");
        assert!(r.is_err());
        // Too large: refused once the limit is passed.
        let body = Body::from(vec![0u8; 10_000]);
        let dir = std::env::temp_dir().join(format!("hyok-os-unit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let sealer = Sealer::new(&crypto::random_key(), crypto::SEGMENT_SIZE).expect("sealer");
        let r = store_body(body, sealer, crypto::SEGMENT_SIZE, dir.join("t.data"), 9_999).await;
        assert!(r.is_err_and(|e| e.to_string().contains("larger")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn object_paths_are_recognised() {
        assert!(is_object_path("/n/ns/b/bucket/o/a/b/c.txt"));
        assert!(is_object_path("/n/ns/b/bucket/o/x"));
        assert!(!is_object_path("/n/ns/b/bucket/o"));
        assert!(!is_object_path("/n/ns/b/bucket/o/"));
        assert!(!is_object_path("/n/ns/b/bucket"));
        assert!(!is_object_path("/x/ns/b/bucket/o/y"));
    }

    #[test]
    fn names_are_validated() {
        assert!(valid_bucket_name("OCI_EKMS_Test_Bucket"));
        assert!(!valid_bucket_name(""));
        assert!(!valid_bucket_name("a b"));
        assert!(!valid_bucket_name(&"a".repeat(257)));
        assert!(check_object_name("dir/file.txt").is_ok());
        assert!(check_object_name("").is_err());
        assert!(check_object_name(&"a".repeat(1025)).is_err());
    }
}
