use crate::support::{AUDIENCE, Auth, FQS, Lab, client_app_body, enc, resource_app_body};
use serde_json::json;

#[tokio::test]
async fn admin_api_needs_the_administrator_client() {
    let lab = Lab::start().await;
    let r = lab.get("/admin/v1/Apps", &Auth::None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    let (id, _) = lab.domain.admin_credentials();
    assert_eq!(lab.get("/admin/v1/Apps", &Auth::Basic(id.clone(), "nope".into())).await.status, 401);

    // A domain app is authenticated but not an administrator.
    let (resource, client) = lab.tutorial_apps().await;
    let r = lab.get("/admin/v1/Apps", &resource.basic()).await;
    assert_eq!((r.status, r.json["status"].as_str()), (403, Some("403")));
    let app_token = lab.access_token(&client, FQS).await;
    assert_eq!(lab.get("/admin/v1/Apps", &Auth::Bearer(app_token)).await.status, 403);

    // The administrator's own bearer token (client_credentials + urn:opc:idm:__myscopes__).
    let r = lab
        .token(&lab.admin, &format!("grant_type=client_credentials&scope={}", enc("urn:opc:idm:__myscopes__")))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let admin_token = Auth::Bearer(r.json["access_token"].as_str().expect("token").to_string());
    let r = lab.get("/admin/v1/Apps", &admin_token).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], 3, "admin + Resource_App + Client_App");
}

#[tokio::test]
async fn apps_are_scim_resources_that_can_be_listed_and_filtered() {
    let lab = Lab::start().await;
    let (resource, client) = lab.tutorial_apps().await;

    let r = lab.get(&format!("/admin/v1/Apps/{}", resource.id), &lab.admin).await;
    assert_eq!(r.status, 200);
    let app = r.json;
    assert_eq!(app["schemas"], json!(["urn:ietf:params:scim:schemas:oracle:idcs:App"]));
    assert_eq!(app["displayName"], "Resource_App");
    assert_eq!(app["name"], resource.client_id.as_str());
    assert_eq!(app["active"], true);
    assert_eq!(app["isOAuthResource"], true);
    assert_eq!(app["audience"], AUDIENCE);
    assert_eq!(app["scopes"][0]["value"], "oci_ekms");
    assert_eq!(app["scopes"][0]["fqs"], FQS);
    assert_eq!(app["meta"]["resourceType"], "App");
    assert!(app.get("clientSecret").is_none());

    let r = lab.get(&format!("/admin/v1/Apps/{}", client.id), &lab.admin).await;
    assert_eq!(r.json["allowedScopes"], json!([{"fqs": FQS, "idOfDefiningApp": resource.id}]));
    assert_eq!(r.json["allowedGrants"], json!(["client_credentials"]));
    assert_eq!(r.json["clientType"], "confidential");

    let r = lab.get(&format!("/admin/v1/Apps?filter={}", enc("displayName eq \"Client_App\"")), &lab.admin).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["itemsPerPage"], 1);
    assert_eq!(r.json["startIndex"], 1);
    assert_eq!(r.json["Resources"][0]["id"], client.id.as_str());

    let r = lab.get("/admin/v1/Apps?startIndex=2&count=1", &lab.admin).await;
    assert_eq!((r.json["totalResults"].as_u64(), r.json["itemsPerPage"].as_u64()), (Some(3), Some(1)));
    let r = lab.get(&format!("/admin/v1/Apps?filter={}", enc("displayName sw \"C\"")), &lab.admin).await;
    assert_eq!((r.status, r.json["scimType"].as_str()), (400, Some("invalidFilter")));
    assert_eq!(lab.get("/admin/v1/Apps/ffff", &lab.admin).await.status, 404);

    // Names and audiences are unique; schemas are required.
    let r = lab.send_json("POST", "/admin/v1/Apps", &lab.admin, resource_app_body("resource_app", "https://x/")).await;
    assert_eq!((r.status, r.json["scimType"].as_str()), (409, Some("uniqueness")));
    let r = lab.send_json("POST", "/admin/v1/Apps", &lab.admin, resource_app_body("Other", AUDIENCE)).await;
    assert_eq!(r.status, 409);
    let r = lab.send_json("POST", "/admin/v1/Apps", &lab.admin, json!({"displayName": "NoSchema"})).await;
    assert_eq!((r.status, r.json["scimType"].as_str()), (400, Some("invalidSyntax")));
    let r = lab.request("POST", "/admin/v1/Apps", &lab.admin, Some("application/json"), "{not json".into()).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn the_secret_is_shown_once_and_regeneration_replaces_it() {
    let lab = Lab::start().await;
    let (_resource, client) = lab.tutorial_apps().await;
    let form = format!("grant_type=client_credentials&scope={}", enc(FQS));

    // Already shown by `tutorial_apps`; a second "Show secret" is refused.
    let r = lab.show_secret(&client.id).await;
    assert_eq!(r.status, 403, "{}", r.json);
    assert!(r.json.get("clientSecret").is_none());
    assert!(!r.json.to_string().contains(&client.secret));
    assert_eq!(lab.token(&client.basic(), &form).await.status, 200);

    let body =
        json!({"schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator"], "appId": client.id});
    let r = lab.send_json("POST", "/admin/v1/AppClientSecretRegenerator", &lab.admin, body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let new_secret = r.json["clientSecret"].as_str().expect("new secret").to_string();
    assert_ne!(new_secret, client.secret);

    let r = lab.token(&client.basic(), &form).await;
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")), "old secret is dead");
    let r = lab.token(&Auth::Basic(client.client_id.clone(), new_secret), &form).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(lab.show_secret(&client.id).await.status, 403, "not readable again through Show secret");

    // The administrator app is not reachable through SCIM writes.
    let admin_app = lab
        .get(&format!("/admin/v1/Apps?filter={}", enc("displayName eq \"HYOK Lab Domain Administrator\"")), &lab.admin)
        .await;
    let admin_id = admin_app.json["Resources"][0]["id"].as_str().expect("admin app").to_string();
    assert_eq!(lab.show_secret(&admin_id).await.status, 403);
    assert_eq!(lab.set_active(&admin_id, false).await.status, 403);
}

#[tokio::test]
async fn patch_and_delete_follow_scim_rules() {
    let lab = Lab::start().await;
    let resource = lab.app(resource_app_body("Resource_App", AUDIENCE)).await;
    let created = lab.create_app(client_app_body("Client_App", FQS)).await;
    let id = created["id"].as_str().expect("id");
    lab.show_secret(id).await;

    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": true}],
    });
    let r = lab.send_json("PATCH", &format!("/admin/v1/Apps/{id}"), &lab.admin, patch).await;
    assert_eq!((r.status, r.json["active"].as_bool()), (200, Some(true)), "{}", r.json);
    assert_eq!(r.json["meta"]["version"], "2");

    let bad = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "allowedScopes", "value": [{"fqs": "https://nowhere/x"}]}],
    });
    let r = lab.send_json("PATCH", &format!("/admin/v1/Apps/{id}"), &lab.admin, bad).await;
    assert_eq!(r.status, 400, "{}", r.json);

    let r = lab.request("DELETE", &format!("/admin/v1/Apps/{}", resource.id), &lab.admin, None, String::new()).await;
    assert_eq!(r.status, 400, "an active app must be deactivated first: {}", r.json);
    lab.set_active(&resource.id, false).await;
    let r = lab.request("DELETE", &format!("/admin/v1/Apps/{}", resource.id), &lab.admin, None, String::new()).await;
    assert_eq!(r.status, 204);
    assert_eq!(lab.get(&format!("/admin/v1/Apps/{}", resource.id), &lab.admin).await.status, 404);
}
