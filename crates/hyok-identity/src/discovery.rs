//! Discovery documents and the (by default protected) JWKS.

use crate::{IdentityDomain, oauth, scim::ScimError};
use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use std::sync::Arc;

impl IdentityDomain {
    /// The OpenID Provider metadata, with the field names and values an identity domain
    /// publishes (the regional `secure_*` variants are left out: the lab serves one host).
    pub fn openid_configuration(&self) -> Value {
        let u = &self.domain_url;
        json!({
            "issuer": self.cfg.issuer,
            "authorization_endpoint": format!("{u}/oauth2/v1/authorize"),
            "token_endpoint": format!("{u}/oauth2/v1/token"),
            "userinfo_endpoint": format!("{u}/oauth2/v1/userinfo"),
            "revocation_endpoint": format!("{u}/oauth2/v1/revoke"),
            "introspection_endpoint": format!("{u}/oauth2/v1/introspect"),
            "end_session_endpoint": format!("{u}/oauth2/v1/userlogout"),
            "check_session_iframe": format!("{u}/sso/v1/user/sessioniframe"),
            "jwks_uri": format!("{u}/admin/v1/SigningCert/jwk"),
            "scopes_supported": ["openid", "profile", "offline_access", "email", "address", "phone", "groups", "get_groups", "approles", "get_approles"],
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["aud", "exp", "iat", "iss", "jti", "sub"],
            "grant_types_supported": [
                "client_credentials", "password", "refresh_token", "authorization_code",
                "urn:ietf:params:oauth:grant-type:jwt-bearer", "tls_client_auth"
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "ui_locales_supported": ["en"],
            "claims_parameter_supported": false,
            "http_logout_supported": true,
            "logout_session_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "require_request_uri_registration": false,
        })
    }

    /// `/.well-known/idcs-configuration`: the OIDC metadata nested under `openid-configuration`.
    pub fn idcs_configuration(&self) -> Value {
        json!({ "openid-configuration": self.openid_configuration() })
    }

    /// May this request read the JWKS? Public access, a domain app's client credentials
    /// (Basic) or a bearer token this domain issued.
    fn may_read_jwks(&self, headers: &HeaderMap) -> bool {
        if self.signing_cert_public_access() {
            return true;
        }
        if let Some(Ok((id, secret))) = oauth::basic_credentials(headers) {
            return self.authenticate_client(&id, &secret).is_ok();
        }
        match oauth::bearer_token(headers) {
            Some(t) => self.verify_bearer(t).is_some(),
            None => false,
        }
    }
}

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(domain): State<Arc<IdentityDomain>>) -> Json<Value> {
    Json(domain.openid_configuration())
}

/// `GET /.well-known/idcs-configuration`.
pub(crate) async fn idcs_configuration(State(domain): State<Arc<IdentityDomain>>) -> Json<Value> {
    Json(domain.idcs_configuration())
}

/// `GET /admin/v1/SigningCert/jwk`.
pub(crate) async fn jwks(State(domain): State<Arc<IdentityDomain>>, headers: HeaderMap) -> Response {
    if !domain.may_read_jwks(&headers) {
        return ScimError::unauthorized().into_response();
    }
    Json(domain.jwks()).into_response()
}
