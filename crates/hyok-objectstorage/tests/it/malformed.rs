//! Malformed input to Object Storage over real TLS: every refusal is an OCI error
//! `{"code","message"}` with `opc-request-id`, including streamed object bodies that break.

use crate::support::{Lab, NS, obj_path};
use bytes::Bytes;
use http::{Method, Request};
use hyok_objectstorage::{HOST, api::MAX_JSON_BYTES};
use hyok_test_support::{
    oci::{Malformed, check_malformed},
    raw::{BAD_CHUNK_SIZE, SHORT_CHUNK},
};

#[tokio::test]
async fn api_refusals_are_oci_errors() {
    let lab = Lab::start().await;
    let c = &lab.tenancy.compartment_id;
    check_malformed(&Malformed {
        client: &lab.client,
        tenancy: &lab.tenancy,
        raw: &lab.raw,
        base: format!("https://{HOST}"),
        body_route: (Method::POST, format!("/n/{NS}/b")),
        oversize: MAX_JSON_BYTES,
        query_route: (format!("/n/{NS}/b?compartmentId={c}"), "limit"),
        wrong_method: (Method::POST, format!("/n/{NS}/b/some-bucket")),
    })
    .await;
}

/// PutObject signs only `date (request-target) host`, so its body streams: a broken chunked
/// body reaches the handler and is refused as 400 `CannotParseRequest`.
#[tokio::test]
async fn broken_object_bodies_are_oci_400s() {
    let lab = Lab::start().await;
    lab.bucket("b1", None).await;
    for (chunks, close) in [(BAD_CHUNK_SIZE, false), (SHORT_CHUNK, true)] {
        let req = Request::put(Lab::url(&obj_path("b1", "broken.bin")))
            .header("content-type", "application/octet-stream")
            .body(Bytes::new())
            .expect("request");
        let (mut parts, body) = req.into_parts();
        hyok_oci_rest::sign_parts(&mut parts, None, lab.tenancy.api_key.private_key(), &lab.tenancy.key_id(), None)
            .expect("sign");
        let r = lab.raw.send_chunked(&Request::from_parts(parts, body), chunks, close).await;
        assert_eq!((r.status, r.json["code"].as_str()), (400, Some("CannotParseRequest")), "{:?}", r.json);
        assert!(r.header("opc-request-id").is_some(), "opc-request-id missing");
    }
    let r = lab.call(Method::GET, &format!("/n/{NS}/b/b1/o"), None).await;
    assert_eq!(r.json["objects"].as_array().map(Vec::len), Some(0), "nothing was stored: {:?}", r.json);
}
