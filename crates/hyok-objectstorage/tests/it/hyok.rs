//! Tutorial task 18: block and unblock the key, an unreachable key manager, tampered data.

use crate::support::{Lab, NS, obj_path, pattern};
use bytes::Bytes;
use http::{Method, StatusCode};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

#[tokio::test]
async fn blocked_key_stops_reads_and_writes_and_unblocking_restores_the_same_bytes() {
    let lab = Lab::start().await;
    let key = lab.kms.create_key();
    lab.bucket("OCI_EKMS_Test_Bucket", Some(&key)).await;
    let data = pattern(700_000, 9);
    let put = lab.put_object("OCI_EKMS_Test_Bucket", "report.pdf", data.clone(), &[]).await;
    assert_eq!(put.status, StatusCode::OK);

    assert!(lab.kms.set_blocked(&key, true));
    let r = lab.call(Method::GET, &obj_path("OCI_EKMS_Test_Bucket", "report.pdf"), None).await;
    r.assert_error(StatusCode::CONFLICT, "KmsKeyDisabled", "disabled or blocked");
    assert!(r.json["message"].as_str().expect("msg").contains("unavailable"));
    // A 2 MiB upload is refused before its body is stored, and the client still gets the answer.
    lab.put_object("OCI_EKMS_Test_Bucket", "new.bin", pattern(2 * 1024 * 1024, 1), &[]).await.assert_error(
        StatusCode::CONFLICT,
        "KmsKeyDisabled",
        &key,
    );
    // The bucket itself is inaccessible, as the tutorial's console shows.
    for (path, needle) in [
        (format!("/n/{NS}/b/OCI_EKMS_Test_Bucket"), "bucket 'OCI_EKMS_Test_Bucket'"),
        (format!("/n/{NS}/b/OCI_EKMS_Test_Bucket/o"), "OCI_EKMS_Test_Bucket"),
    ] {
        lab.call(Method::GET, &path, None).await.assert_error(StatusCode::CONFLICT, "KmsKeyDisabled", needle);
    }
    assert_eq!(
        lab.call(Method::HEAD, &obj_path("OCI_EKMS_Test_Bucket", "report.pdf"), None).await.status,
        StatusCode::CONFLICT
    );
    // Nothing was lost while blocked.
    assert_eq!(lab.data_files().len(), 1);

    assert!(lab.kms.set_blocked(&key, false));
    let get = lab.get_object("OCI_EKMS_Test_Bucket", "report.pdf").await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert!(get.body() == &data, "same bytes after unblock");
    let r = lab.call(Method::GET, &format!("/n/{NS}/b/OCI_EKMS_Test_Bucket"), None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unreachable_key_manager_is_a_5xx_that_says_so() {
    let lab = Lab::start().await;
    let key = lab.kms.create_key();
    lab.bucket("b", Some(&key)).await;
    let data = pattern(1000, 2);
    lab.put_object("b", "o", data.clone(), &[]).await;
    lab.kms.set_unreachable(true);
    let r = lab.call(Method::GET, &obj_path("b", "o"), None).await;
    r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "KmsUnavailable", "unreachable");
    lab.put_object("b", "o2", data.clone(), &[]).await.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "KmsUnavailable",
        "unreachable",
    );
    lab.kms.set_unreachable(false);
    assert!(lab.get_object("b", "o").await.expect("get").body() == &data);
}

fn tamper(path: &std::path::Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[tokio::test]
async fn tampered_ciphertext_fails_cleanly() {
    let lab = Lab::start().await;
    lab.bucket("t", Some(&lab.kms.create_key())).await;
    let data = pattern(3 * 64 * 1024 + 100, 4);

    // Damage in the first segment: a clean 500 before any byte is sent.
    lab.put_object("t", "first", data.clone(), &[]).await;
    tamper(&lab.data_files()[0], 20 + 10);
    let r = lab.call(Method::GET, &obj_path("t", "first"), None).await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "integrity");
    lab.call(Method::DELETE, &obj_path("t", "first"), None).await;

    // Damage in the last segment: the body is aborted, the client sees a broken transfer.
    lab.put_object("t", "last", data.clone(), &[]).await;
    let file = lab.data_files()[0].clone();
    let len = std::fs::metadata(&file).expect("meta").len();
    tamper(&file, len - 30);
    let got = lab.get_object("t", "last").await;
    assert!(got.is_err(), "a damaged object must not read as a success: {:?}", got.map(|r| r.status()));

    // Truncation (a whole segment dropped) is caught before answering.
    lab.put_object("t", "trunc", data.clone(), &[]).await;
    let file = lab.data_files().into_iter().find(|f| f != &file).expect("file");
    let f = std::fs::OpenOptions::new().write(true).open(&file).expect("open");
    f.set_len(20 + 2 * (64 * 1024 + 16)).expect("truncate");
    let r = lab.call(Method::GET, &obj_path("t", "trunc"), None).await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "integrity");

    // The service still works.
    lab.put_object("t", "fine", data.clone(), &[]).await;
    assert!(lab.get_object("t", "fine").await.expect("get").body() == &data);
}

#[tokio::test]
async fn no_read_succeeds_after_the_block_returned() {
    let lab = Arc::new(Lab::start().await);
    let key = lab.kms.create_key();
    lab.bucket("c", Some(&key)).await;
    let data = pattern(100 * 1024, 5);
    lab.put_object("c", "o", data.clone(), &[]).await;
    let blocked = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let ok_before = Arc::new(AtomicUsize::new(0));
    let refused_after = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..32 {
        let (lab, data, blocked, stop) = (lab.clone(), data.clone(), blocked.clone(), stop.clone());
        let (ok_before, refused_after, violations) = (ok_before.clone(), refused_after.clone(), violations.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let after_block = blocked.load(Ordering::SeqCst);
                let r = lab.get_object("c", "o").await;
                match r {
                    Ok(resp) if resp.status() == StatusCode::OK => {
                        assert!(resp.body() == &data, "a successful read returns the exact bytes");
                        if after_block {
                            violations.fetch_add(1, Ordering::SeqCst);
                        } else {
                            ok_before.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(resp) => {
                        assert_eq!(resp.status(), StatusCode::CONFLICT);
                        if after_block {
                            refused_after.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Err(e) => panic!("transport error: {e}"),
                }
            }
        }));
    }
    hyok_test_support::eventually("reads before the block", || {
        let n = ok_before.load(Ordering::SeqCst);
        async move { if n >= 16 { Ok(()) } else { Err(format!("{n} reads so far")) } }
    })
    .await;
    lab.kms.set_blocked(&key, true);
    blocked.store(true, Ordering::SeqCst);
    hyok_test_support::eventually("refused reads after the block", || {
        let n = refused_after.load(Ordering::SeqCst);
        async move { if n >= 32 { Ok(()) } else { Err(format!("{n} refusals so far")) } }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("reader");
    }
    assert_eq!(violations.load(Ordering::SeqCst), 0, "a read started after the block succeeded");
}

#[tokio::test]
async fn opt_in_dek_cache_keeps_cached_objects_readable_until_expiry() {
    let host = hyok_test_support::LoopbackHost::new();
    let kms = Arc::new(hyok_objectstorage::InProcessKms::new());
    let clock = hyok_core::Clock::manual();
    let lab = Lab::start_on(host, kms.clone(), kms.clone(), crate::support::temp_dir(), |os| {
        os.with_clock(clock.clone()).with_dek_cache(Duration::from_secs(60))
    })
    .await;
    let key = kms.create_key();
    lab.bucket("cache", Some(&key)).await;
    lab.put_object("cache", "o", Bytes::from_static(b"cached"), &[]).await;
    assert_eq!(lab.get_object("cache", "o").await.expect("get").status(), StatusCode::OK);
    let calls = kms.decrypt_calls();
    kms.set_blocked(&key, true);
    assert_eq!(lab.get_object("cache", "o").await.expect("get").status(), StatusCode::OK, "served from the cache");
    assert_eq!(kms.decrypt_calls(), calls);
    clock.advance(Duration::from_secs(59));
    assert_eq!(lab.get_object("cache", "o").await.expect("get").status(), StatusCode::OK, "not expired yet");
    clock.advance(Duration::from_secs(1));
    assert_eq!(lab.get_object("cache", "o").await.expect("get").status(), StatusCode::CONFLICT, "expired");
}
