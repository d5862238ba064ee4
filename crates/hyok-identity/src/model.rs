//! Integrated applications as the domain stores them, and their SCIM representation.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// SCIM schema of an App.
pub const APP_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:App";
/// Template every confidential application is based on.
pub const CONFIDENTIAL_TEMPLATE: &str = "CustomWebAppTemplateId";
/// Scope a client asks for to call the domain's own admin API.
pub const MYSCOPES: &str = "urn:opc:idm:__myscopes__";
/// Grants the domain knows (it issues tokens for `client_credentials` only).
pub const KNOWN_GRANTS: &[&str] = &[
    "client_credentials",
    "password",
    "refresh_token",
    "authorization_code",
    "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "tls_client_auth",
    "urn:ietf:params:oauth:grant-type:device_code",
];

/// A scope a resource app defines.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppScope {
    /// The scope literal, e.g. `oci_ekms`.
    pub value: String,
    /// Audience + value, computed by the domain.
    #[serde(default, skip_deserializing)]
    pub fqs: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a user must consent (irrelevant for client credentials; kept for shape).
    #[serde(default)]
    pub requires_consent: bool,
}

/// A scope a client app is allowed to request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AllowedScope {
    /// Fully qualified scope: the defining app's primary audience concatenated with the scope.
    pub fqs: String,
    /// Id of the resource app that defines the scope, filled in by the domain.
    #[serde(default, skip_deserializing)]
    pub id_of_defining_app: String,
}

/// An integrated (confidential) application. No `Debug`: it holds a secret until shown.
#[derive(Clone)]
pub struct App {
    pub id: String,
    pub ocid: String,
    pub display_name: String,
    pub description: Option<String>,
    /// `name` in SCIM: the OAuth client id.
    pub client_id: String,
    /// SHA-256 of the current secret; `None` when the app is not an OAuth client.
    pub secret_hash: Option<[u8; 32]>,
    /// The secret until it has been shown once ("Show secret" in the console).
    pub secret_unrevealed: Option<String>,
    pub active: bool,
    pub is_oauth_client: bool,
    pub client_type: Option<String>,
    pub allowed_grants: Vec<String>,
    pub allowed_scopes: Vec<AllowedScope>,
    pub is_oauth_resource: bool,
    pub audience: Option<String>,
    pub secondary_audiences: Vec<String>,
    pub scopes: Vec<AppScope>,
    pub access_token_expiry: Option<u64>,
    pub created: String,
    pub last_modified: String,
    pub version: u64,
    /// The lab's built-in administrator client (cannot be changed through SCIM).
    pub builtin_admin: bool,
}

impl App {
    /// True when `secret` is this app's current client secret.
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(h) => constant_time_eq(h, &hash_secret(secret)),
            None => false,
        }
    }

    /// Replace the secret; the new one is not "shown" through the read-once slot.
    pub fn set_secret(&mut self, secret: &str, revealable: bool) {
        self.secret_hash = Some(hash_secret(secret));
        self.secret_unrevealed = revealable.then(|| secret.to_string());
    }

    /// Mark a change for `meta`.
    pub fn touch(&mut self) {
        self.last_modified = hyok_core::rfc3339_now();
        self.version += 1;
    }

    /// The SCIM representation (never the secret).
    pub fn to_scim(&self, base_url: &str, domain_ocid: &str) -> Value {
        let mut v = json!({
            "schemas": [APP_SCHEMA],
            "id": self.id,
            "ocid": self.ocid,
            "displayName": self.display_name,
            "name": self.client_id,
            "active": self.active,
            "isOAuthClient": self.is_oauth_client,
            "isOAuthResource": self.is_oauth_resource,
            "basedOnTemplate": {
                "value": CONFIDENTIAL_TEMPLATE,
                "$ref": format!("{base_url}/admin/v1/AppTemplates/{CONFIDENTIAL_TEMPLATE}"),
            },
            "domainOcid": domain_ocid,
            "meta": {
                "resourceType": "App",
                "created": self.created,
                "lastModified": self.last_modified,
                "version": self.version.to_string(),
                "location": format!("{base_url}/admin/v1/Apps/{}", self.id),
            },
        });
        let obj = match v.as_object_mut() {
            Some(o) => o,
            None => return v,
        };
        if let Some(d) = &self.description {
            obj.insert("description".into(), json!(d));
        }
        if self.is_oauth_client {
            obj.insert("clientType".into(), json!(self.client_type));
            obj.insert("allowedGrants".into(), json!(self.allowed_grants));
            obj.insert("allowedScopes".into(), json!(self.allowed_scopes));
        }
        if self.is_oauth_resource {
            obj.insert("audience".into(), json!(self.audience));
            if !self.secondary_audiences.is_empty() {
                obj.insert("secondaryAudiences".into(), json!(self.secondary_audiences));
            }
            obj.insert("scopes".into(), json!(self.scopes));
        }
        if let Some(e) = self.access_token_expiry {
            obj.insert("accessTokenExpiry".into(), json!(e));
        }
        v
    }
}

/// SHA-256 of a secret; only hashes are kept after the one-time reveal.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new client secret in the shape newer identity domains use (`idcscs-<uuid>`).
pub fn new_client_secret() -> String {
    format!("idcscs-{}", hyok_core::ids::uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_compared_by_hash() {
        let h = hash_secret("a");
        assert!(constant_time_eq(&h, &hash_secret("a")));
        assert!(!constant_time_eq(&h, &hash_secret("b")));
        assert!(new_client_secret().starts_with("idcscs-"));
    }
}
