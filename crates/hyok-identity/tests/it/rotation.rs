use crate::support::{AUDIENCE, FQS, Lab, kid_of, verify};

#[tokio::test]
async fn rotation_keeps_old_tokens_verifiable_until_the_old_key_is_removed() {
    let lab = Lab::start().await;
    let (resource, client) = lab.tutorial_apps().await;
    let old_token = lab.access_token(&client, FQS).await;
    assert_eq!(kid_of(&old_token), "SIGNING_KEY");

    let r = lab.request("POST", "/admin/v1/SigningCert/lab/rotate", &lab.admin, None, String::new()).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let new_kid = r.json["kid"].as_str().expect("kid").to_string();
    assert_ne!(new_kid, "SIGNING_KEY");
    assert_eq!(lab.domain.active_kid(), new_kid);

    let jwks = lab.jwks(&resource.basic()).await;
    assert_eq!(jwks.keys.len(), 2, "old and new key published");
    let new_token = lab.access_token(&client, FQS).await;
    assert_eq!(kid_of(&new_token), new_kid);
    verify(&jwks, &old_token, AUDIENCE).expect("old token still verifies");
    verify(&jwks, &new_token, AUDIENCE).expect("new token verifies");

    // The active key cannot be removed; the old one can, and its tokens stop verifying.
    let r = lab
        .request("DELETE", &format!("/admin/v1/SigningCert/lab/keys/{new_kid}"), &lab.admin, None, String::new())
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = lab.request("DELETE", "/admin/v1/SigningCert/lab/keys/SIGNING_KEY", &lab.admin, None, String::new()).await;
    assert_eq!(r.status, 204, "{}", r.json);
    let jwks = lab.jwks(&resource.basic()).await;
    assert_eq!(jwks.keys.len(), 1);
    assert!(verify(&jwks, &old_token, AUDIENCE).is_err(), "old key gone");
    verify(&jwks, &new_token, AUDIENCE).expect("new token still verifies");

    // Rotation is an administrator operation.
    let r = lab.request("POST", "/admin/v1/SigningCert/lab/rotate", &resource.basic(), None, String::new()).await;
    assert_eq!(r.status, 403);
    lab.server.shutdown().await;
}
