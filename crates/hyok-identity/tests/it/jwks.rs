use crate::support::{Auth, FQS, Lab};
use serde_json::json;

const JWK: &str = "/admin/v1/SigningCert/jwk";

#[tokio::test]
async fn protected_jwks_needs_app_credentials_or_a_domain_token() {
    let lab = Lab::start().await;
    let r = lab.get(JWK, &Auth::None).await;
    assert_eq!(r.status, 401, "protected by default: {}", r.json);
    assert_eq!(r.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(r.json["status"], "401");
    assert!(r.json["detail"].as_str().is_some_and(|d| !d.is_empty()));

    let (resource, client) = lab.tutorial_apps().await;
    let r = lab.get(JWK, &Auth::Basic(resource.client_id.clone(), "wrong".into())).await;
    assert_eq!(r.status, 401, "wrong secret");

    // Thales registers the IdP with the Resource_App credentials.
    let set = lab.jwks(&resource.basic()).await;
    assert_eq!(set.keys.len(), 1);
    let r = lab.get(JWK, &resource.basic()).await;
    let key = &r.json["keys"][0];
    assert_eq!(key["kid"], "SIGNING_KEY");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["x5c"][0].as_str().is_some_and(|c| c.len() > 500), "certificate chain published");

    // A bearer token issued by this domain opens it too; a forged one does not.
    let token = lab.access_token(&client, FQS).await;
    assert_eq!(lab.get(JWK, &Auth::Bearer(token.clone())).await.status, 200);
    let mut forged = token.clone();
    forged.truncate(token.len() - 4);
    forged.push_str("AAAA");
    assert_eq!(lab.get(JWK, &Auth::Bearer(forged)).await.status, 401);

    // Resource_App's own token for the domain scope works as a bearer as well.
    let own = lab.access_token(&resource, "urn:opc:idm:__myscopes__").await;
    assert_eq!(lab.get(JWK, &Auth::Bearer(own)).await.status, 200);

    // A deactivated app's credentials no longer open it.
    assert_eq!(lab.set_active(&resource.id, false).await.status, 200);
    assert_eq!(lab.get(JWK, &resource.basic()).await.status, 401);
}

#[tokio::test]
async fn signing_cert_public_access_setting_opens_the_jwks() {
    let lab = Lab::start().await;
    let settings = "/admin/v1/Settings/Settings";
    let r = lab.get(settings, &lab.admin).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["signingCertPublicAccess"], false);

    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "signingCertPublicAccess", "value": true}],
    });
    let r = lab.send_json("PATCH", settings, &lab.admin, patch.clone()).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["signingCertPublicAccess"], true);
    assert_eq!(lab.get(JWK, &Auth::None).await.status, 200, "public now");
    assert!(lab.domain.signing_cert_public_access());

    let put =
        json!({"schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:Settings"], "signingCertPublicAccess": false});
    let r = lab.send_json("PUT", settings, &lab.admin, put).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(lab.get(JWK, &Auth::None).await.status, 401, "protected again");

    // Only the administrator may change it.
    assert_eq!(lab.send_json("PATCH", settings, &Auth::None, patch).await.status, 401);
    assert_eq!(lab.get("/admin/v1/Settings/Other", &lab.admin).await.status, 404);
}
