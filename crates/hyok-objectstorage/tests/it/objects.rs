//! Object put/get/head/list/delete, Content-MD5, metadata, large objects and persistence.

use crate::support::{Lab, NS, md5_b64, obj_path, pattern, temp_dir};
use bytes::Bytes;
use http::{Method, StatusCode};
use std::sync::Arc;

#[tokio::test]
async fn put_get_head_delete_with_metadata_and_md5() {
    let lab = Lab::start().await;
    let key = lab.kms.create_key();
    lab.bucket("b", Some(&key)).await;
    let data = Bytes::from_static(b"hold your own key\n");
    let md5 = md5_b64(&data);
    let put = lab
        .put_object(
            "b",
            "docs/readme.txt",
            data.clone(),
            &[("content-md5", &md5), ("opc-meta-owner", "ops team"), ("content-type", "text/plain")],
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    assert_eq!(put.header("opc-content-md5"), md5);
    let etag = put.header("etag").to_string();
    assert!(!etag.is_empty());
    assert!(!put.header("last-modified").is_empty());
    assert!(!put.header("opc-request-id").is_empty());

    let generated = lab.kms.generate_calls();
    let before = lab.kms.decrypt_calls();
    let get = lab.get_object("b", "docs/readme.txt").await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.body(), &data);
    let h = get.headers();
    assert_eq!(h["content-length"], data.len().to_string().as_str());
    assert_eq!(h["etag"], etag.as_str());
    assert_eq!(h["opc-meta-owner"], "ops team");
    assert_eq!(h["content-type"], "text/plain");
    assert_eq!(h["content-md5"], md5.as_str());
    assert!(h.contains_key("last-modified"));
    assert_eq!(lab.kms.decrypt_calls(), before + 1, "each GET unwraps its data key through KMS");
    assert_eq!(generated, 2, "one check at bucket create, one data key for the object");

    let head = lab.call(Method::HEAD, &obj_path("b", "docs/readme.txt"), None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), data.len().to_string());
    assert_eq!(head.header("etag"), etag);
    assert_eq!(head.header("opc-meta-owner"), "ops team");
    assert!(head.body.is_empty());

    // Overwrite: new etag, new content.
    let put2 = lab.put_object("b", "docs/readme.txt", Bytes::from_static(b"v2"), &[]).await;
    assert_ne!(put2.header("etag"), etag);
    assert_eq!(lab.get_object("b", "docs/readme.txt").await.expect("get").body(), "v2");
    assert_eq!(lab.data_files().len(), 1, "the replaced ciphertext file is removed");

    let del = lab.call(Method::DELETE, &obj_path("b", "docs/readme.txt"), None).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    lab.call(Method::GET, &obj_path("b", "docs/readme.txt"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "ObjectNotFound",
        "docs/readme.txt",
    );
    lab.call(Method::DELETE, &obj_path("b", "docs/readme.txt"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "ObjectNotFound",
        "docs/readme.txt",
    );
    let r = lab.call(Method::HEAD, &obj_path("b", "docs/readme.txt"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(lab.data_files().is_empty());
    lab.put_object("nope", "x", Bytes::from_static(b"x"), &[]).await.assert_error(
        StatusCode::NOT_FOUND,
        "BucketNotFound",
        "nope",
    );
}

#[tokio::test]
async fn content_md5_is_verified_and_bad_uploads_leave_nothing() {
    let lab = Lab::start().await;
    lab.bucket("b", Some(&lab.kms.create_key())).await;
    let data = pattern(200_000, 1);
    let wrong = md5_b64(b"something else");
    for (md5, code, needle) in
        [(wrong.as_str(), "UnmatchedContentMD5", wrong.as_str()), ("bm90LWEtZGlnZXN0", "InvalidContentMD5", "16-byte")]
    {
        let r = lab.put_object("b", "o", data.clone(), &[("content-md5", md5)]).await;
        r.assert_error(StatusCode::BAD_REQUEST, code, needle);
    }
    lab.call(Method::GET, &obj_path("b", "o"), None).await.assert_error(StatusCode::NOT_FOUND, "ObjectNotFound", "o");
    assert!(lab.data_files().is_empty());
    let tmp: Vec<_> = std::fs::read_dir(lab.dir.path().join("objectstorage/tmp")).expect("tmp").collect();
    assert!(tmp.is_empty(), "failed uploads leave no temp files");
    let big_meta = "v".repeat(3000);
    lab.put_object("b", "o", data.clone(), &[("opc-meta-big", &big_meta)]).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "opc-meta",
    );
}

#[tokio::test]
async fn multi_segment_objects_round_trip_and_plaintext_never_reaches_disk() {
    let lab = Lab::start().await;
    lab.bucket("big", Some(&lab.kms.create_key())).await;
    let data = pattern(5 * 1024 * 1024 + 12_345, 7);
    let put = lab.put_object("big", "blob.bin", data.clone(), &[("content-md5", &md5_b64(&data))]).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    let get = lab.get_object("big", "blob.bin").await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.body().len(), data.len());
    assert!(get.body() == &data, "bytes differ");
    // The stored file is ciphertext: no 64-byte window of the plaintext appears in it.
    let files = lab.data_files();
    assert_eq!(files.len(), 1);
    let stored = std::fs::read(&files[0]).expect("read");
    let segments = data.len().div_ceil(64 * 1024);
    assert_eq!(stored.len(), 20 + data.len() + 16 * segments);
    let probe = &data[1_000_000..1_000_064];
    assert!(!stored.windows(64).any(|w| w == probe), "plaintext found on disk");
    // Empty objects work too.
    assert_eq!(lab.put_object("big", "empty", Bytes::new(), &[]).await.status, StatusCode::OK);
    let get = lab.get_object("big", "empty").await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert!(get.body().is_empty());
}

#[tokio::test]
async fn list_objects_with_prefix_limit_start_and_delimiter() {
    let lab = Lab::start().await;
    lab.bucket("l", None).await;
    for name in ["a/1", "a/2", "a/3", "b/1", "c"] {
        let r = lab.put_object("l", name, Bytes::from(name.to_string()), &[]).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let list = |q: &str| {
        let lab = &lab;
        let q = q.to_string();
        async move { lab.call(Method::GET, &format!("/n/{NS}/b/l/o{q}"), None).await }
    };
    let r = list("").await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> =
        r.json["objects"].as_array().expect("objects").iter().map(|o| o["name"].as_str().expect("n")).collect();
    assert_eq!(names, vec!["a/1", "a/2", "a/3", "b/1", "c"]);
    assert!(r.json["objects"][0].get("size").is_none(), "only names by default");
    assert!(r.json.get("nextStartWith").is_none());

    let r = list("?prefix=a/&limit=2&fields=name,size,md5,etag,timeCreated").await;
    let objs = r.json["objects"].as_array().expect("objects");
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["name"], "a/1");
    assert_eq!(objs[0]["size"], 3);
    assert_eq!(objs[0]["md5"], md5_b64(b"a/1"));
    assert!(objs[0]["etag"].is_string() && objs[0]["timeCreated"].is_string());
    assert_eq!(r.json["nextStartWith"], "a/3");
    let r = list("?prefix=a/&limit=2&start=a/3").await;
    assert_eq!(r.json["objects"][0]["name"], "a/3");
    assert!(r.json.get("nextStartWith").is_none());

    let r = list("?delimiter=/").await;
    assert_eq!(r.json["objects"].as_array().expect("objects").len(), 1);
    assert_eq!(r.json["objects"][0]["name"], "c");
    assert_eq!(r.json["prefixes"], serde_json::json!(["a/", "b/"]));
    let r = list("?end=b").await;
    assert_eq!(r.json["objects"].as_array().expect("objects").len(), 3);
    list("?limit=0").await.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "limit");
    list("?fields=colour").await.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "colour");
    lab.call(Method::GET, &format!("/n/{NS}/b/none/o"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "BucketNotFound",
        "none",
    );
}

#[tokio::test]
async fn objects_survive_a_restart_and_are_read_through_kms_again() {
    let host = hyok_test_support::LoopbackHost::new();
    let kms = Arc::new(hyok_objectstorage::InProcessKms::new());
    let dir = temp_dir();
    let lab = Lab::start_on(host, kms.clone(), kms.clone(), dir.clone(), |os| os).await;
    let key = kms.create_key();
    lab.bucket("keep", Some(&key)).await;
    let data = pattern(300_000, 3);
    assert_eq!(lab.put_object("keep", "k/o", data.clone(), &[("opc-meta-a", "1")]).await.status, StatusCode::OK);
    // A second service over the same data dir (as after a lab restart).
    let lab2 = Lab::start_on(hyok_test_support::LoopbackHost::new(), kms.clone(), kms.clone(), dir, |os| os).await;
    let get = lab2.get_object("keep", "k/o").await.expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert!(get.body() == &data);
    assert_eq!(get.headers()["opc-meta-a"], "1");
    let r = lab2.call(Method::GET, &format!("/n/{NS}/b/keep"), None).await;
    assert_eq!(r.json["kmsKeyId"], key.as_str());
}

#[tokio::test]
async fn objects_over_the_size_limit_are_refused_and_not_stored() {
    let host = hyok_test_support::LoopbackHost::new();
    let kms = Arc::new(hyok_objectstorage::InProcessKms::new());
    let lab = Lab::start_on(host, kms.clone(), kms, temp_dir(), |os| os.with_max_object_bytes(100_000)).await;
    lab.bucket("small", None).await;
    lab.put_object("small", "big", pattern(100_001, 1), &[]).await.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        "100000",
    );
    assert!(lab.data_files().is_empty());
    assert_eq!(lab.put_object("small", "fits", pattern(100_000, 1), &[]).await.status, StatusCode::OK);
}
