//! Task 18 under load, through the whole chain: 32 clients read the bucket's object while the
//! key is blocked in CipherTrust Manager; no read that starts after the block call returned
//! succeeds (nothing on the way caches an unwrapped key), and after unblock they succeed again.

use crate::support::TestLab;
use axum::body::Body;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Instant,
};

/// Clients reading at once.
const READERS: usize = 32;

#[tokio::test]
async fn no_read_succeeds_after_the_block_returned() {
    let t = TestLab::start().await;
    let scenario = hyok_lab_client::scenario::load("oci-hyok-api-gateway").expect("scenario");
    let mut runner = hyok_lab_client::scenario::Runner::new(&t.dir).expect("runner");
    let report = runner.run(&scenario, Some(17), &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    let var = |k: &str| runner.vars.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let (ns, ctm_key, jwt) = (var("namespace"), var("ctm_key"), var("ctm_jwt"));
    let (key, key_id) = runner.signer().expect("OCI signer");
    let (key, key_id) = (key.clone(), key_id.to_string());
    let info = hyok_lab_client::LabInfo::load(&t.dir).expect("lab.json");
    let client = info.host_client().expect("client");
    let url =
        format!("https://objectstorage.eu-frankfurt-1.oraclecloud.com/n/{ns}/b/OCI_EKMS_Test_Bucket/o/hyok-test.txt");

    let blocked_at = Arc::new(parking_lot::Mutex::new(None::<Instant>));
    let stop = Arc::new(AtomicBool::new(false));
    let ok_before = Arc::new(AtomicU64::new(0));
    let ok_after_block = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (client, url, key, key_id) = (client.clone(), url.clone(), key.clone(), key_id.clone());
        let (blocked_at, stop, ok_before, ok_after_block, refused) =
            (blocked_at.clone(), stop.clone(), ok_before.clone(), ok_after_block.clone(), refused.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut req = http::Request::get(&url).body(bytes::Bytes::new()).expect("request");
                hyok_oci_rest::sign_request(&mut req, &key, &key_id).expect("sign");
                let started = Instant::now();
                let (parts, body) = req.into_parts();
                let resp = client.send(http::Request::from_parts(parts, Body::from(body))).await;
                let after_block = blocked_at.lock().is_some_and(|b| started > b);
                match resp {
                    Ok(r) if r.status().is_success() => {
                        if after_block { &ok_after_block } else { &ok_before }.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status().as_u16() == 409 => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(e) => panic!("read failed on the wire: {e}"),
                }
            }
        }));
    }
    // Block the key in CTM once every reader has had a chance to read.
    let reads_before = ok_before.clone();
    hyok_test_support::eventually("reads before the block", || {
        let n = reads_before.load(Ordering::Relaxed);
        async move { if n >= READERS as u64 { Ok(()) } else { Err(format!("{n} reads so far")) } }
    })
    .await;
    let ctm = info.service("ctm-ams").expect("ctm").lab_url.clone();
    let block = |action: &str| {
        http::Request::post(format!("{ctm}/api/v1/cckm/oci/keys/{ctm_key}/{action}"))
            .header("authorization", format!("Bearer {jwt}"))
            .body(Body::empty())
            .expect("request")
    };
    let r = client.send(block("block")).await.expect("block");
    assert!(r.status().is_success(), "block: {}", r.status());
    *blocked_at.lock() = Some(Instant::now());
    // Keep reading until each reader could have been refused a few times: the reads that
    // started after the block, however fast or slow the machine.
    let refusals = refused.clone();
    hyok_test_support::eventually("refusals after the block", || {
        let n = refusals.load(Ordering::Relaxed);
        async move { if n >= 3 * READERS as u64 { Ok(()) } else { Err(format!("{n} refusals so far")) } }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }
    assert!(ok_before.load(Ordering::Relaxed) > 0, "readers read before the block");
    assert!(refused.load(Ordering::Relaxed) > 0, "readers were refused after the block");
    assert_eq!(ok_after_block.load(Ordering::Relaxed), 0, "a read that started after the block succeeded");

    // Unblock: the same bytes come back.
    let r = client.send(block("unblock")).await.expect("unblock");
    assert!(r.status().is_success());
    let mut req = http::Request::get(&url).body(bytes::Bytes::new()).expect("request");
    hyok_oci_rest::sign_request(&mut req, &key, &key_id).expect("sign");
    let (parts, body) = req.into_parts();
    let resp = client.send(http::Request::from_parts(parts, Body::from(body))).await.expect("read");
    assert!(resp.status().is_success());
    assert_eq!(resp.body().as_ref(), var("object_text").as_bytes());
    t.stop().await;
}
