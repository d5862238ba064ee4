//! SCIM bodies for identity-domain apps, as the tutorial's console steps create them.

use serde_json::{Value, json};

/// A confidential app that is an OAuth resource with the `oci_ekms` scope for `audience`.
pub fn resource_app_body(name: &str, audience: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:App"],
        "displayName": name,
        "basedOnTemplate": {"value": "CustomWebAppTemplateId"},
        "isOAuthResource": true,
        "audience": audience,
        "scopes": [{"value": "oci_ekms", "description": "all operations"}],
        "isOAuthClient": true,
        "clientType": "confidential",
        "allowedGrants": ["client_credentials"],
    })
}

/// A confidential client-credentials app allowed the fully qualified scope `fqs`.
pub fn client_app_body(name: &str, fqs: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:oracle:idcs:App"],
        "displayName": name,
        "basedOnTemplate": {"value": "CustomWebAppTemplateId"},
        "isOAuthClient": true,
        "clientType": "confidential",
        "allowedGrants": ["client_credentials"],
        "allowedScopes": [{"fqs": fqs}],
    })
}
