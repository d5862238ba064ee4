//! Namespace and bucket operations (tutorial task 17), over TLS with signed requests.

use crate::support::{Lab, NS};
use http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn namespace_is_a_json_string_and_requests_must_be_signed() {
    let lab = Lab::start().await;
    let r = lab.call(Method::GET, "/n", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, json!(NS));
    assert!(!r.header("opc-request-id").is_empty());
    let r = lab.call(Method::GET, &format!("/n/{NS}"), None).await;
    assert_eq!(r.json["namespace"], NS);
    lab.call(Method::GET, "/n/otherns/b?compartmentId=x", None).await.assert_error(
        StatusCode::NOT_FOUND,
        "NamespaceNotFound",
        "otherns",
    );
    // Unsigned: 401 in the OCI envelope, with the request id echoed.
    let req = http::Request::get(Lab::url("/n"))
        .header("opc-request-id", "unsigned-1")
        .body(axum::body::Body::empty())
        .expect("req");
    let r = lab.send(req).await;
    r.assert_error(StatusCode::UNAUTHORIZED, "NotAuthenticated", "Authorization");
    assert_eq!(r.header("opc-request-id"), "unsigned-1");
}

#[tokio::test]
async fn bucket_lifecycle_with_a_customer_managed_key() {
    let lab = Lab::start().await;
    let key = lab.kms.create_key();
    let created = lab.bucket("OCI_EKMS_Test_Bucket", Some(&key)).await;
    assert_eq!(created["name"], "OCI_EKMS_Test_Bucket");
    assert_eq!(created["namespace"], NS);
    assert_eq!(created["kmsKeyId"], key.as_str());
    assert_eq!(created["compartmentId"], lab.tenancy.compartment_id.as_str());
    assert_eq!(created["createdBy"], lab.tenancy.user_id.as_str());
    assert!(created["id"].as_str().expect("id").starts_with("ocid1.bucket.oc1.eu-frankfurt-1."));
    assert_eq!(lab.kms.generate_calls(), 1, "the key was checked through KMS at create");

    let path = format!("/n/{NS}/b/OCI_EKMS_Test_Bucket");
    let r = lab.call(Method::GET, &format!("{path}?fields=approximateCount,approximateSize"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["kmsKeyId"], key.as_str());
    assert_eq!(r.json["approximateCount"], 0);
    assert_eq!(r.header("etag"), created["etag"].as_str().expect("etag"));
    assert_eq!(lab.call(Method::HEAD, &path, None).await.status, StatusCode::OK);

    lab.bucket("plain-bucket", None).await;
    let r = lab.call(Method::GET, &format!("/n/{NS}/b?compartmentId={}", lab.tenancy.compartment_id), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r.json.as_array().expect("array").iter().map(|b| b["name"].as_str().expect("n")).collect();
    assert_eq!(names, vec!["OCI_EKMS_Test_Bucket", "plain-bucket"]);
    let r =
        lab.call(Method::GET, &format!("/n/{NS}/b?compartmentId={}&limit=1", lab.tenancy.compartment_id), None).await;
    assert_eq!(r.json.as_array().expect("array").len(), 1);
    let next = r.header("opc-next-page").to_string();
    assert!(!next.is_empty());
    let r = lab
        .call(Method::GET, &format!("/n/{NS}/b?compartmentId={}&limit=1&page={next}", lab.tenancy.compartment_id), None)
        .await;
    assert_eq!(r.json[0]["name"], "plain-bucket");
    let r = lab.call(Method::GET, &format!("/n/{NS}/b?compartmentId={}", lab.tenancy.tenancy_id), None).await;
    assert_eq!(r.json, json!([]));
    lab.call(Method::GET, &format!("/n/{NS}/b"), None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        "compartmentId",
    );

    // Same name again.
    let body = json!({"name": "plain-bucket", "compartmentId": lab.tenancy.compartment_id});
    lab.call(Method::POST, &format!("/n/{NS}/b"), Some(&body)).await.assert_error(
        StatusCode::CONFLICT,
        "BucketAlreadyExists",
        "plain-bucket",
    );

    // Not empty, then empty.
    let put = lab.put_object("plain-bucket", "x", bytes::Bytes::from_static(b"x"), &[]).await;
    assert_eq!(put.status, StatusCode::OK);
    lab.call(Method::DELETE, &format!("/n/{NS}/b/plain-bucket"), None).await.assert_error(
        StatusCode::CONFLICT,
        "BucketNotEmpty",
        "plain-bucket",
    );
    assert_eq!(
        lab.call(Method::DELETE, &format!("/n/{NS}/b/plain-bucket/o/x"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(lab.call(Method::DELETE, &format!("/n/{NS}/b/plain-bucket"), None).await.status, StatusCode::NO_CONTENT);
    for method in [Method::GET, Method::DELETE] {
        let r = lab.call(method, &format!("/n/{NS}/b/plain-bucket"), None).await;
        r.assert_error(StatusCode::NOT_FOUND, "BucketNotFound", "plain-bucket");
    }
}

#[tokio::test]
async fn unusable_kms_keys_and_bad_bodies_are_refused() {
    let lab = Lab::start().await;
    let post = |body: serde_json::Value| {
        let lab = &lab;
        async move { lab.call(Method::POST, &format!("/n/{NS}/b"), Some(&body)).await }
    };
    let c = lab.tenancy.compartment_id.clone();
    // A well-formed key OCID that KMS does not know.
    let unknown = hyok_objectstorage::kms::new_key_ocid("bunknownvault");
    post(json!({"name": "b1", "compartmentId": c, "kmsKeyId": unknown})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrFoundKmsKey",
        &unknown,
    );
    post(json!({"name": "b1", "compartmentId": c, "kmsKeyId": "not-a-key"})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrFoundKmsKey",
        "not-a-key",
    );
    // A blocked key cannot protect a new bucket either.
    let key = lab.kms.create_key();
    lab.kms.set_blocked(&key, true);
    post(json!({"name": "b1", "compartmentId": c, "kmsKeyId": key})).await.assert_error(
        StatusCode::CONFLICT,
        "KmsKeyDisabled",
        "disabled or blocked",
    );
    // Nothing was created by the failures.
    lab.call(Method::GET, &format!("/n/{NS}/b/b1"), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "BucketNotFound",
        "b1",
    );

    post(json!({"compartmentId": c})).await.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "name");
    post(json!({"name": "has space", "compartmentId": c})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "Invalid bucket name",
    );
    post(json!({"name": "b2"})).await.assert_error(StatusCode::BAD_REQUEST, "MissingParameter", "compartmentId");
    post(json!({"name": "b2", "compartmentId": "ocid1.compartment.oc1..aaaaaaaaother0000"})).await.assert_error(
        StatusCode::NOT_FOUND,
        "NotAuthorizedOrNotFound",
        "Compartment",
    );
    post(json!({"name": "b2", "compartmentId": c, "storageTier": "Archive"})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "storageTier",
    );
    post(json!({"name": "b2", "compartmentId": c, "colour": "blue"})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "colour",
    );
    let r = lab.call(Method::GET, &format!("/n/{NS}/b/{}", "x".repeat(300)), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A root-compartment bucket is fine.
    let r = post(json!({"name": "b2", "compartmentId": lab.tenancy.tenancy_id})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.header("location"), format!("/n/{NS}/b/b2"));
}
