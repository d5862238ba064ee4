//! Objects, read side: GetObject unwraps the object's data key through KMS and streams the
//! segments a reader thread checks and decrypts; HeadObject and DeleteObject.

use super::{
    errors::{integrity_error, kms_error, store_error},
    validation::{check_namespace, http_date_ms, hv},
};
use crate::{
    crypto::{self, Opener},
    service::ObjectStorage,
    store::ObjectRecord,
};
use axum::{
    body::Body,
    extract::State,
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use http::{HeaderName, HeaderValue, StatusCode, header};
use hyok_core::RequestId;
use hyok_oci_rest::{OciError, OciPath, OciResult};
use std::{io::Read as _, sync::Arc};

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
pub(crate) const GET_QUEUE: usize = 2;
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
pub(crate) fn open_worker(
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

pub(crate) async fn get_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket, object)): OciPath<(String, String, String)>,
) -> OciResult<Response> {
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

pub(crate) async fn head_object(
    State(os): State<Arc<ObjectStorage>>,
    rid: RequestId,
    OciPath((ns, bucket, object)): OciPath<(String, String, String)>,
) -> OciResult<Response> {
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

pub(crate) async fn delete_object(
    State(os): State<Arc<ObjectStorage>>,
    OciPath((ns, bucket, object)): OciPath<(String, String, String)>,
) -> OciResult<Response> {
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
