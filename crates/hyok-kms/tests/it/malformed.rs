//! Malformed input to the KMS regional API over real TLS: every refusal is an OCI error
//! `{"code","message"}` with `opc-request-id` (body limit, JSON, query, route, method, chunked
//! bodies).

use crate::support::World;
use http::Method;
use hyok_core::host::ServiceHost;
use hyok_test_support::{
    oci::{Malformed, check_malformed},
    raw::Target,
};

#[tokio::test]
async fn regional_api_refuses_in_oci_shape() {
    let w = World::start().await;
    let host = w.kms.host_name();
    let ca = w.host.public_ca();
    let raw = Target::new(w.regional_addr, &host, ca.cert_pem());
    let c = w.compartment();
    check_malformed(&Malformed {
        client: &w.http,
        tenancy: &w.tenancy,
        raw: &raw,
        base: format!("https://{host}/20180608"),
        body_route: (Method::POST, "/ekmsPrivateEndpoints".into()),
        oversize: hyok_core::MAX_BODY_BYTES,
        query_route: (format!("/vaults?compartmentId={c}"), "limit"),
        wrong_method: (Method::PATCH, "/vaults".into()),
    })
    .await;
}
