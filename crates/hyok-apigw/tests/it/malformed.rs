//! Malformed input to the API Gateway control API over real TLS: every refusal is an OCI error
//! `{"code","message"}` with `opc-request-id` (body limit, JSON, query, route, method, chunked
//! bodies).

use crate::control::Lab;
use http::Method;
use hyok_apigw::control;
use hyok_test_support::{
    oci::{Malformed, check_malformed},
    raw::Target,
};

#[tokio::test]
async fn control_api_refuses_in_oci_shape() {
    let lab = Lab::start().await;
    let raw = Target::new(lab.server.local_addr, control::HOST, lab.web_ca.cert_pem());
    let c = lab.compartment();
    check_malformed(&Malformed {
        client: &lab.client,
        tenancy: &lab.tenancy,
        raw: &raw,
        base: format!("https://{}{}", control::HOST, control::BASE_PATH),
        body_route: (Method::POST, "/gateways".into()),
        oversize: control::MAX_CONTROL_BODY_BYTES,
        query_route: (format!("/gateways?compartmentId={c}"), "limit"),
        wrong_method: (Method::POST, "/workRequests".into()),
    })
    .await;
}
