use crate::support::{Auth, ISSUER, Lab};

#[tokio::test]
async fn openid_and_idcs_configuration_name_the_real_endpoints() {
    let lab = Lab::start().await;
    let r = lab.get("/.well-known/openid-configuration", &Auth::None).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("opc-request-id").is_some(), "request id echoed");
    let oidc = r.json;
    let u = &lab.url;
    assert!(u.starts_with("https://idcs-") && u.ends_with(".identity.oraclecloud.com"), "{u}");
    assert_eq!(oidc["issuer"], ISSUER);
    assert_eq!(oidc["token_endpoint"], format!("{u}/oauth2/v1/token"));
    assert_eq!(oidc["jwks_uri"], format!("{u}/admin/v1/SigningCert/jwk"));
    assert_eq!(oidc["authorization_endpoint"], format!("{u}/oauth2/v1/authorize"));
    assert_eq!(oidc["introspection_endpoint"], format!("{u}/oauth2/v1/introspect"));
    assert_eq!(oidc["end_session_endpoint"], format!("{u}/oauth2/v1/userlogout"));
    assert!(oidc["grant_types_supported"].as_array().expect("grants").iter().any(|g| g == "client_credentials"));
    let methods = oidc["token_endpoint_auth_methods_supported"].as_array().expect("methods");
    assert!(methods.iter().any(|m| m == "client_secret_basic") && methods.iter().any(|m| m == "client_secret_post"));
    assert_eq!(oidc["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));

    let r = lab.get("/.well-known/idcs-configuration", &Auth::None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["openid-configuration"], oidc, "IDCS nests the OIDC metadata");
    assert_eq!(lab.domain.jwks_uri(), oidc["jwks_uri"].as_str().expect("jwks_uri"));
}

#[tokio::test]
async fn unknown_paths_get_a_scim_404() {
    let lab = Lab::start().await;
    let r = lab.get("/admin/v1/Nope", &Auth::None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(r.json["status"], "404");
}
