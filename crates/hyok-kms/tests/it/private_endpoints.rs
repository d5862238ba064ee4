//! Task 12: EKMS private endpoints.

use crate::support::{GW_IP, World};
use http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn private_endpoint_gets_an_address_and_refuses_changes_to_ip_and_ca() {
    let w = World::start().await;
    let pe = w.private_endpoint(GW_IP, &w.ctm.ca_cert_pem()).await;
    assert_eq!(pe["privateEndpointIp"], "172.16.1.104", "first address after the gateway's .103");
    assert_eq!(pe["externalKeyManagerIp"], GW_IP);
    assert_eq!(pe["subnetId"], w.subnet_id.as_str());
    assert!(pe["id"].as_str().expect("id").starts_with("ocid1.ekmsprivateendpoint.oc1.eu-frankfurt-1."));
    assert_eq!(
        w.net.owner_of("172.16.1.104".parse().expect("ip")).as_deref(),
        Some("EKMS private endpoint OCI_EKMS_PE")
    );
    let id = pe["id"].as_str().expect("id");
    let url = w.regional(&format!("/ekmsPrivateEndpoints/{id}"));

    // IP and CA bundle cannot change; the name can.
    let r = w.oci(Method::PUT, &url, Some(json!({"caBundle": w.ctm.ca_cert_pem()}))).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidParameter")), "{}", r.text);
    assert!(r.json["message"].as_str().expect("msg").contains("cannot be changed"));
    let r = w.oci(Method::PUT, &url, Some(json!({"externalKeyManagerIp": "172.16.1.50"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = w.oci(Method::PUT, &url, Some(json!({"displayName": "renamed"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "renamed");
    assert_eq!(r.json["externalKeyManagerIp"], GW_IP);

    // List by compartment.
    let r = w
        .oci(Method::GET, &w.regional(&format!("/ekmsPrivateEndpoints?compartmentId={}", w.compartment())), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json.as_array().expect("a bare array").len(), 1);
    let r = w.oci(Method::GET, &w.regional("/ekmsPrivateEndpoints"), None).await;
    assert_eq!(r.json["code"], "MissingParameter");

    // A second endpoint takes the next address; deleting gives it back.
    let pe2 = w.private_endpoint(GW_IP, &w.ctm.ca_cert_pem()).await;
    assert_eq!(pe2["privateEndpointIp"], "172.16.1.105");
    // Newest first by default; by name on request ("renamed" after "OCI_EKMS_PE").
    let names = |query: &str| {
        let w = &w;
        let url = w.regional(&format!("/ekmsPrivateEndpoints?compartmentId={}{query}", w.compartment()));
        async move {
            let r = w.oci(Method::GET, &url, None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let items = r.json.as_array().expect("a bare array").clone();
            items.iter().map(|p| p["id"].as_str().expect("id").to_string()).collect::<Vec<_>>()
        }
    };
    let (id1, id2) = (id.to_string(), pe2["id"].as_str().expect("id").to_string());
    assert_eq!(names("").await, [id2.as_str(), id1.as_str()]);
    assert_eq!(names("&sortBy=DISPLAYNAME").await, [id2.as_str(), id1.as_str()]);
    assert_eq!(names("&sortBy=displayName&sortOrder=DESC").await, [id1.as_str(), id2.as_str()]);
    assert_eq!(names("&limit=1").await, [id2.as_str()]);
    let url2 = w.regional(&format!("/ekmsPrivateEndpoints/{}", pe2["id"].as_str().expect("id")));
    let r = w.oci(Method::DELETE, &url2, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(w.oci(Method::GET, &url2, None).await.json["lifecycleState"], "DELETED");
    assert_eq!(w.net.owner_of("172.16.1.105".parse().expect("ip")), None);
}

#[tokio::test]
async fn bad_private_endpoint_requests_are_refused() {
    let w = World::start().await;
    let base = json!({
        "subnetId": w.subnet_id,
        "compartmentId": w.compartment(),
        "displayName": "pe",
        "externalKeyManagerIp": GW_IP,
        "caBundle": w.ctm.ca_cert_pem(),
    });
    let url = w.regional("/ekmsPrivateEndpoints");
    for (field, value, code) in [
        ("caBundle", json!("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), "InvalidParameter"),
        ("caBundle", json!("hello"), "InvalidParameter"),
        ("externalKeyManagerIp", json!("gw.example"), "InvalidParameter"),
        ("port", json!(70000), "InvalidParameter"),
        ("displayName", json!(""), "MissingParameter"),
        ("subnetId", json!("ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaanotthere"), "NotAuthorizedOrNotFound"),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let r = w.oci(Method::POST, &url, Some(body)).await;
        assert_eq!(r.json["code"], code, "{field}={value}: {}", r.text);
        assert!(r.status.is_client_error());
    }

    // Unsigned → 401 NotAuthenticated with a request id.
    let r = w.send(Method::GET, &url, &[("opc-request-id", "my-unsigned-call")], None, false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["code"], "NotAuthenticated");
    assert_eq!(r.headers.get("opc-request-id").and_then(|v| v.to_str().ok()), Some("my-unsigned-call"));
}
