use crate::support::{AUDIENCE, Auth, FQS, ISSUER, Lab, enc, verify};
use serde_json::json;

#[tokio::test]
async fn tutorial_flow_issues_a_token_the_ekm_can_verify() {
    let lab = Lab::start().await;
    let (resource, client) = lab.tutorial_apps().await;

    let r = lab.token(&client.basic(), &format!("grant_type=client_credentials&scope={}", enc(FQS))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 3600);
    assert_eq!(r.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let token = r.json["access_token"].as_str().expect("token");

    // The EKM's view: JWKS fetched with the Resource_App credentials, RS256 by kid.
    let jwks = lab.jwks(&resource.basic()).await;
    let claims = verify(&jwks, token, AUDIENCE).expect("token verifies");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["scope"], "oci_ekms", "bare scope, no audience prefix");
    assert_eq!(claims["sub"], client.client_id.as_str());
    assert_eq!(claims["client_id"], client.client_id.as_str());
    assert_eq!(claims["sub_type"], "client");
    assert_eq!(claims["tok_type"], "AT");
    assert_eq!(claims["client_name"], "Client_App");
    assert_eq!(claims["resource_app_id"], resource.id.as_str());
    let tenant = lab.url.trim_start_matches("https://").trim_end_matches(".identity.oraclecloud.com");
    assert_eq!(claims["tenant"], tenant);
    let (iat, exp) = (claims["iat"].as_i64().expect("iat"), claims["exp"].as_i64().expect("exp"));
    assert_eq!(exp - iat, 3600);
    assert!((iat - hyok_core::unix_now()).abs() < 30);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(verify(&jwks, token, "https://10.0.0.5/").is_err(), "audience is enforced");

    // client_secret_post works as well as client_secret_basic.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        enc(&client.client_id),
        enc(&client.secret),
        enc(FQS)
    );
    let r = lab.token(&Auth::None, &form).await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[tokio::test]
async fn bad_client_credentials_get_invalid_client() {
    let lab = Lab::start().await;
    let (_resource, client) = lab.tutorial_apps().await;
    let form = format!("grant_type=client_credentials&scope={}", enc(FQS));

    let wrong = Auth::Basic(client.client_id.clone(), format!("{}x", client.secret));
    let r = lab.token(&wrong, &form).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["error"], "invalid_client");
    assert!(r.json["error_description"].is_string());
    assert!(r.headers.get("www-authenticate").is_some());

    let unknown = Auth::Basic("0123456789abcdef0123456789abcdef".into(), client.secret.clone());
    assert_eq!(lab.token(&unknown, &form).await.json["error"], "invalid_client");
    assert_eq!(lab.token(&Auth::None, &form).await.json["error"], "invalid_client", "no client auth");

    // Deactivated (Actions → Deactivate) → invalid_client; reactivated → works again.
    assert_eq!(lab.set_active(&client.id, false).await.json["active"], false);
    let r = lab.token(&client.basic(), &form).await;
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(lab.set_active(&client.id, true).await.status, 200);
    assert_eq!(lab.token(&client.basic(), &form).await.status, 200);
}

#[tokio::test]
async fn new_apps_are_inactive_until_activated() {
    let lab = Lab::start().await;
    lab.app(crate::support::resource_app_body("Resource_App", AUDIENCE)).await;
    let created = lab.create_app(crate::support::client_app_body("Client_App", FQS)).await;
    assert_eq!(created["active"], false);
    assert!(created.get("clientSecret").is_none(), "create response has no secret");
    let id = created["id"].as_str().expect("id");
    let secret = lab.show_secret(id).await.json["clientSecret"].as_str().expect("secret").to_string();
    let creds = Auth::Basic(created["name"].as_str().expect("name").into(), secret);
    let form = format!("grant_type=client_credentials&scope={}", enc(FQS));
    let r = lab.token(&creds, &form).await;
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")));
    lab.set_active(id, true).await;
    assert_eq!(lab.token(&creds, &form).await.status, 200);
}

#[tokio::test]
async fn scopes_must_be_fully_qualified_and_granted() {
    let lab = Lab::start().await;
    let (resource, client) = lab.tutorial_apps().await;
    let ask = |scope: &str| format!("grant_type=client_credentials&scope={}", enc(scope));

    // Resource_App is a client too, but its own scope is not in its allowed scopes.
    let r = lab.token(&resource.basic(), &ask(FQS)).await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("invalid_scope")), "{}", r.json);

    for bad in [
        "oci_ekms",
        "https://172.16.1.103oci_ekms",
        "https://172.16.1.104/oci_ekms",
        "https://172.16.1.103/oci_other",
        "",
    ] {
        let r = lab.token(&client.basic(), &ask(bad)).await;
        assert_eq!((r.status, r.json["error"].as_str()), (400, Some("invalid_scope")), "scope {bad:?}: {}", r.json);
    }

    // An audience without trailing slash: the FQS is the plain concatenation.
    let other = lab.app(crate::support::resource_app_body("Resource_NoSlash", "https://ekm.example")).await;
    let _ = other;
    let c2 = lab.app(crate::support::client_app_body("Client_NoSlash", "https://ekm.exampleoci_ekms")).await;
    let r = lab.token(&c2.basic(), &ask("https://ekm.exampleoci_ekms")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = lab.token(&c2.basic(), &ask("https://ekm.example/oci_ekms")).await;
    assert_eq!(r.json["error"], "invalid_scope");

    // Granting a scope nobody defines is refused at creation.
    let r = lab
        .send_json("POST", "/admin/v1/Apps", &lab.admin, crate::support::client_app_body("Bad", "https://nowhere/x"))
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["scimType"], "invalidValue");

    // A deactivated resource app's scopes cannot be requested.
    lab.set_active(&resource.id, false).await;
    assert_eq!(lab.token(&client.basic(), &ask(FQS)).await.json["error"], "invalid_scope");
}

#[tokio::test]
async fn grant_types_and_request_format_are_checked() {
    let lab = Lab::start().await;
    let (_resource, client) = lab.tutorial_apps().await;

    let r = lab.token(&client.basic(), "grant_type=password&username=a&password=b").await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("unsupported_grant_type")));
    let r = lab.token(&client.basic(), &format!("scope={}", enc(FQS))).await;
    assert_eq!(r.json["error"], "invalid_request");
    let r = lab.token(&client.basic(), "grant_type=client_credentials&grant_type=client_credentials").await;
    assert_eq!(r.json["error"], "invalid_request", "repeated parameter");
    let r = lab
        .request(
            "POST",
            "/oauth2/v1/token",
            &client.basic(),
            Some("application/json"),
            json!({"grant_type": "client_credentials"}).to_string(),
        )
        .await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("invalid_request")));
    let huge = format!("grant_type=client_credentials&scope={}", "a".repeat(200 * 1024));
    assert_eq!(lab.token(&client.basic(), &huge).await.status, 413);

    // An app whose grants do not include client_credentials is not authorized for it.
    let mut body = crate::support::client_app_body("Jwt_Client", FQS);
    body["allowedGrants"] = json!(["urn:ietf:params:oauth:grant-type:jwt-bearer"]);
    let jwt_client = lab.app(body).await;
    let r = lab.token(&jwt_client.basic(), &format!("grant_type=client_credentials&scope={}", enc(FQS))).await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("unauthorized_client")));
}
