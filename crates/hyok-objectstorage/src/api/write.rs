//! Objects, write side: PutObject streams the body through MD5 and sealing stages into a
//! temporary file, then commits it with the object's wrapped data key.

use super::{
    errors::{kms_error, store_error},
    validation::{check_namespace, check_object_name, http_date_ms, hv, oci_time_ms},
};
use crate::{
    crypto::{self, Sealer},
    service::ObjectStorage,
    store::{Encryption, ObjectRecord},
};
use axum::{
    body::Body,
    extract::State,
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderName, StatusCode, header};
use hyok_core::RequestId;
use hyok_oci_rest::{OciError, OciPath, OciResult, conventions};
use md5::{Digest as _, Md5};
use std::{collections::BTreeMap, io::Write as _, path::PathBuf, sync::Arc};

/// Largest total size of an object's `opc-meta-*` headers (names and values).
pub const MAX_METADATA_BYTES: usize = 2048;

const OPC_META: &str = "opc-meta-";
/// Standard headers stored with an object and returned on GET/HEAD.
pub(crate) const STORED_HEADERS: [&str; 4] =
    ["content-language", "content-encoding", "content-disposition", "cache-control"];

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

pub(crate) async fn put_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket, object)): OciPath<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> OciResult<Response> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::read::{GET_QUEUE, open_worker};
    use bytes::Bytes;

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
        let tmp = tempfile::TempDir::new().expect("dir");
        let dir = tmp.path();
        // 64-byte segments: a batch is PUT_BATCH_SEGMENTS of them.
        let (seg, batch) = (64, 64 * PUT_BATCH_SEGMENTS);
        for len in [0, 1, seg - 1, seg, seg + 1, batch - 1, batch, batch + 1, 3 * batch, 3 * batch + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for chunk in [1000, 17] {
                let (got, stored) = put_then_get(dir, &data, chunk, seg).await;
                assert!(got == data, "len {len}, chunks of {chunk}: bytes differ");
                let segments = len.div_ceil(seg).max(1);
                assert_eq!(stored, (crypto::HEADER_LEN + len + crypto::TAG_LEN * segments) as u64, "len {len}");
            }
        }
        // Default segments, several GET batches and a short final segment.
        let data: Vec<u8> = (0..3 * 1024 * 1024 + 5).map(|i| (i % 253) as u8).collect();
        let (got, _) = put_then_get(dir, &data, 100_000, crypto::SEGMENT_SIZE).await;
        assert!(got == data, "bytes differ");
    }

    #[tokio::test]
    async fn upload_pipeline_stops_cleanly_when_writing_fails() {
        // The seal stage cannot create its file: the upload must fail, not hang.
        let tmp = tempfile::TempDir::new().expect("dir");
        let path = tmp.path().join("missing").join("x.data");
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
        let sealer = Sealer::new(&crypto::random_key(), crypto::SEGMENT_SIZE).expect("sealer");
        let r = store_body(body, sealer, crypto::SEGMENT_SIZE, tmp.path().join("t.data"), 9_999).await;
        assert!(r.is_err_and(|e| e.to_string().contains("larger")));
    }
}
