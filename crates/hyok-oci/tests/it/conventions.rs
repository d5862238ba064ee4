//! opc-retry-token and paging through the Certificates API.

use crate::support::Lab;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn retry_token_replays_same_body_and_rejects_a_different_one() {
    let lab = Lab::start().await;
    let c = lab.tenancy.compartment_id.clone();
    let send = |name: &str, token: &str| {
        let mut req = lab.request(
            Method::POST,
            "/caBundles",
            Some(&json!({"name": name, "compartmentId": c, "caBundlePem": lab.ca.cert_pem()})),
        );
        req.headers_mut().insert("opc-retry-token", HeaderValue::from_str(token).expect("token"));
        hyok_test_support::oci::sign(&mut req, &lab.tenancy);
        lab.send(req)
    };
    let first = send("retry-me", "tok-1").await;
    assert_eq!(first.status, StatusCode::OK);
    let again = send("retry-me", "tok-1").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["id"], first.json["id"], "the retry must return the first resource");
    assert_eq!(again.headers.get("etag"), first.headers.get("etag"));
    let list = lab.call(Method::GET, "/caBundles", None).await;
    assert_eq!(list.json["items"].as_array().expect("items").len(), 1, "nothing created twice");
    send("something-else", "tok-1").await.assert_error(
        StatusCode::CONFLICT,
        "InvalidatedRetryToken",
        "different request",
    );
    // A new token creates a new resource.
    let other = send("something-else", "tok-2").await;
    assert_eq!(other.status, StatusCode::OK);
    assert_ne!(other.json["id"], first.json["id"]);
    // A failed request does not burn its token.
    let failed = send("retry-me", "tok-3").await;
    failed.assert_error(StatusCode::CONFLICT, "Conflict", "already exists");
    let too_long = "x".repeat(65);
    send("whatever", &too_long).await.assert_error(StatusCode::BAD_REQUEST, "InvalidParameter", "opc-retry-token");
}

#[tokio::test]
async fn lists_page_with_limit_and_opc_next_page() {
    let lab = Lab::start().await;
    let c = lab.tenancy.compartment_id.clone();
    for i in 0..5 {
        let r = lab
            .call(
                Method::POST,
                "/caBundles",
                Some(&json!({"name": format!("b{i}"), "compartmentId": c, "caBundlePem": lab.ca.cert_pem()})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let mut names = vec![];
    let mut pages = 0;
    let mut path = format!("/caBundles?compartmentId={c}&limit=2&sortBy=NAME&sortOrder=ASC");
    loop {
        let r = lab.call(Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        pages += 1;
        let items = r.json["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|i| i["name"].as_str().expect("name").to_string()));
        match r.headers.get("opc-next-page") {
            Some(p) => {
                path = format!(
                    "/caBundles?compartmentId={c}&limit=2&sortBy=NAME&sortOrder=ASC&page={}",
                    p.to_str().expect("ascii")
                )
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, vec!["b0", "b1", "b2", "b3", "b4"]);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 5);
    // Default order is newest first.
    let r = lab.call(Method::GET, &format!("/caBundles?compartmentId={c}"), None).await;
    assert_eq!(r.json["items"][0]["name"], "b4");
    assert!(r.headers.get("opc-next-page").is_none());
    lab.call(Method::GET, "/caBundles?limit=0", None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "limit",
    );
    lab.call(Method::GET, "/caBundles?page=bogus", None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "page",
    );
    lab.call(Method::GET, "/caBundles?sortBy=SIZE", None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameter",
        "sortBy",
    );
}
