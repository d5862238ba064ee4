//! Malformed input to Networking, DNS and Certificates over real TLS: every refusal is an OCI
//! error `{"code","message"}` with `opc-request-id` (body limit, JSON, query, route, method,
//! chunked bodies).

use crate::{network::World, support::Lab};
use http::Method;
use hyok_oci::{certificates, dns, network};
use hyok_test_support::{
    oci::{Malformed, check_malformed},
    raw::Target,
};

#[tokio::test]
async fn networking_refuses_in_oci_shape() {
    let w = World::start().await;
    let raw = Target::new(w.iaas.local_addr, network::HOST, w.ca.cert_pem());
    let c = &w.tenancy.compartment_id;
    check_malformed(&Malformed {
        client: &w.client,
        tenancy: &w.tenancy,
        raw: &raw,
        base: format!("https://{}{}", network::HOST, network::BASE_PATH),
        body_route: (Method::PUT, format!("/securityLists/{}", w.spoke_list)),
        oversize: hyok_core::MAX_BODY_BYTES,
        query_route: (format!("/vcns?compartmentId={c}"), "limit"),
        wrong_method: (Method::POST, "/vcns".into()),
    })
    .await;
}

#[tokio::test]
async fn dns_refuses_in_oci_shape() {
    let w = World::start().await;
    let raw = Target::new(w.dns_server.local_addr, dns::HOST, w.ca.cert_pem());
    let c = &w.tenancy.compartment_id;
    check_malformed(&Malformed {
        client: &w.client,
        tenancy: &w.tenancy,
        raw: &raw,
        base: format!("https://{}{}", dns::HOST, dns::BASE_PATH),
        body_route: (Method::POST, format!("/zones?compartmentId={c}")),
        oversize: hyok_core::MAX_BODY_BYTES,
        query_route: (format!("/zones?compartmentId={c}"), "limit"),
        wrong_method: (Method::POST, format!("/resolvers/{}", w.hub_resolver)),
    })
    .await;
}

#[tokio::test]
async fn certificates_refuses_in_oci_shape() {
    let lab = Lab::start().await;
    let raw = Target::new(lab.server.local_addr, certificates::HOST, lab.ca.cert_pem());
    let c = &lab.tenancy.compartment_id;
    check_malformed(&Malformed {
        client: &lab.client,
        tenancy: &lab.tenancy,
        raw: &raw,
        base: format!("https://{}{}", certificates::HOST, certificates::BASE_PATH),
        body_route: (Method::POST, "/certificates".into()),
        oversize: hyok_core::MAX_BODY_BYTES,
        query_route: (format!("/certificates?compartmentId={c}"), "limit"),
        wrong_method: (Method::PUT, "/certificates".into()),
    })
    .await;
}
