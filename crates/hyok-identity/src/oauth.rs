//! `POST /oauth2/v1/token` (client credentials), client authentication and bearer checks.

use crate::{
    IdentityDomain,
    model::MYSCOPES,
    reject::{BodyFailure, body_failure},
};
use axum::{
    Json,
    extract::{Form, State, rejection::FormRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// An OAuth 2.0 error response `{"error","error_description"}` (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    pub(crate) fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }
    fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    fn invalid_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.")
    }
    fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut resp = (self.status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"oauth2\""));
        }
        resp
    }
}

/// Client credentials presented in an `Authorization: Basic` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let value = match value.to_str() {
        Ok(v) => v.trim(),
        Err(_) => return Some(Err(())),
    };
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = match STANDARD.decode(rest.trim()) {
        Ok(d) => d,
        Err(_) => return Some(Err(())),
    };
    let text = match String::from_utf8(decoded) {
        Ok(t) => t,
        Err(_) => return Some(Err(())),
    };
    match text.split_once(':') {
        Some((id, secret)) => Some(Ok((id.to_string(), secret.to_string()))),
        None => Some(Err(())),
    }
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Claims of an access token as the domain checks them on its own APIs.
#[derive(Debug, Deserialize)]
pub(crate) struct VerifiedToken {
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) aud: Value,
}

impl VerifiedToken {
    pub(crate) fn has_audience(&self, aud: &str) -> bool {
        match &self.aud {
            Value::String(s) => s == aud,
            Value::Array(a) => a.iter().any(|v| v.as_str() == Some(aud)),
            _ => false,
        }
    }
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// What a token is being issued for, resolved from the requested scopes.
struct Grant {
    aud: Value,
    scope: String,
    ttl: u64,
    resource_app_id: Option<String>,
}

impl IdentityDomain {
    /// The active OAuth client with this id and secret, or `invalid_client`.
    pub(crate) fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<crate::model::App, OAuthError> {
        let st = self.lock();
        let app = st
            .apps
            .iter()
            .find(|a| a.client_id == client_id && a.is_oauth_client)
            .ok_or_else(OAuthError::invalid_client)?;
        // Check the secret before the state so an unauthenticated caller learns nothing.
        if !app.secret_matches(secret) || !app.active {
            return Err(OAuthError::invalid_client());
        }
        Ok(app.clone())
    }

    /// Check a bearer token issued by this domain: known `kid`, RS256 signature, `iss`, `exp`.
    pub(crate) fn verify_bearer(&self, token: &str) -> Option<VerifiedToken> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = self.key_by_kid(header.kid.as_deref()?)?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[self.cfg.issuer.as_str()]);
        v.validate_aud = false;
        v.set_required_spec_claims(&["exp", "iss"]);
        jsonwebtoken::decode::<VerifiedToken>(token, &key.decoding, &v).ok().map(|d| d.claims)
    }

    fn resolve_scopes(&self, client: &crate::model::App, scope: &str) -> Result<Grant, OAuthError> {
        let requested: Vec<&str> = scope.split_whitespace().collect();
        if requested.is_empty() {
            return Err(OAuthError::invalid_scope("The requested scope is invalid, unknown, or malformed."));
        }
        if requested.contains(&MYSCOPES) {
            if requested.len() > 1 {
                return Err(OAuthError::invalid_scope(format!(
                    "{MYSCOPES} cannot be combined with the scopes of a resource application."
                )));
            }
            return Ok(Grant {
                aud: json!([self.domain_url, format!("urn:opc:lbaas:logicalguid={}", self.tenant)]),
                scope: MYSCOPES.to_string(),
                ttl: self.cfg.token_ttl_secs,
                resource_app_id: None,
            });
        }
        let st = self.lock();
        let mut resource: Option<&crate::model::App> = None;
        let mut literals = Vec::new();
        for fqs in requested {
            let found = st
                .apps
                .iter()
                .filter(|a| a.is_oauth_resource)
                .find_map(|a| a.scopes.iter().find(|s| s.fqs == fqs).map(|s| (a, s)));
            let Some((app, s)) = found else {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scope {fqs} is invalid, unknown, or malformed."
                )));
            };
            if !app.active {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scope {fqs} belongs to an inactive resource application."
                )));
            }
            if !client.allowed_scopes.iter().any(|a| a.fqs == fqs) {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scope {fqs} is not granted to the client."
                )));
            }
            if resource.is_some_and(|r| r.id != app.id) {
                return Err(OAuthError::invalid_scope(
                    "The requested scopes belong to more than one resource application.",
                ));
            }
            resource = Some(app);
            if !literals.contains(&s.value) {
                literals.push(s.value.clone());
            }
        }
        let Some(app) = resource else {
            return Err(OAuthError::invalid_scope("The requested scope is invalid, unknown, or malformed."));
        };
        let primary = app.audience.clone().unwrap_or_default();
        let aud = if app.secondary_audiences.is_empty() {
            json!(primary)
        } else {
            let mut all = vec![primary];
            all.extend(app.secondary_audiences.iter().cloned());
            json!(all)
        };
        Ok(Grant {
            aud,
            scope: literals.join(" "),
            ttl: app.access_token_expiry.unwrap_or(self.cfg.token_ttl_secs),
            resource_app_id: Some(app.id.clone()),
        })
    }

    fn sign(&self, client: &crate::model::App, grant: &Grant) -> Result<String, OAuthError> {
        let key = self.active_key().ok_or_else(|| {
            tracing::error!("identity domain has no signing key");
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal error.")
        })?;
        let now = hyok_core::unix_now();
        let mut claims = json!({
            "iss": self.cfg.issuer,
            "aud": grant.aud,
            "scope": grant.scope,
            "sub": client.client_id,
            "client_id": client.client_id,
            "sub_type": "client",
            "tok_type": "AT",
            "sub_mappingattr": "userName",
            "exp": now + grant.ttl as i64,
            "iat": now,
            "jti": hyok_core::ids::hex32(),
            "client_name": client.display_name,
            "client_guid": client.id,
            "client_ocid": client.ocid,
            "client_tenantname": self.tenant,
            "tenant": self.tenant,
            "user.tenant.name": self.tenant,
            "tenant_iss": format!("{}:443", self.domain_url),
            "domain": "Default",
            "domain_home": hyok_core::ids::REGION,
            "gtp": "cc",
            "primTenant": true,
        });
        if let (Some(id), Some(obj)) = (&grant.resource_app_id, claims.as_object_mut()) {
            obj.insert("resource_app_id".into(), json!(id));
        }
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = Some(key.kid.clone());
        header.x5t_s256 = Some(key.x5t_s256.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal error.")
        })
    }
}

/// `POST /oauth2/v1/token`.
pub(crate) async fn token(
    State(domain): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    match issue(&domain, &headers, form) {
        Ok(t) => {
            let mut resp = Json(t).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => {
            tracing::debug!(error = e.error, description = %e.description, "token request refused");
            e.into_response()
        }
    }
}

/// A refused form body; hyper's and serde's text stays in the log.
fn form_rejection(e: FormRejection) -> OAuthError {
    match e {
        FormRejection::BytesRejection(b) => match body_failure(&b) {
            BodyFailure::TooLarge => {
                OAuthError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "The request body is too large.")
            }
            BodyFailure::Unreadable => OAuthError::invalid_request("The request body could not be read completely."),
        },
        FormRejection::InvalidFormContentType(_) => {
            OAuthError::invalid_request("The request must be application/x-www-form-urlencoded.")
        }
        other => {
            tracing::debug!(error = %other.body_text(), "token form refused");
            OAuthError::invalid_request("The request body is not a valid form.")
        }
    }
}

fn issue(
    domain: &IdentityDomain,
    headers: &HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<TokenResponse, OAuthError> {
    let Form(params) = form.map_err(form_rejection)?;
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in &params {
        if seen.contains(&k.as_str()) {
            return Err(OAuthError::invalid_request(format!("The parameter {k} is repeated.")));
        }
        seen.push(k);
    }
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());

    let (client_id, secret) = match basic_credentials(headers) {
        Some(Ok(c)) => c,
        Some(Err(())) => return Err(OAuthError::invalid_client()),
        None => match (param("client_id"), param("client_secret")) {
            (Some(id), Some(s)) => (id.to_string(), s.to_string()),
            _ => return Err(OAuthError::invalid_client()),
        },
    };
    let client = domain.authenticate_client(&client_id, &secret)?;

    match param("grant_type") {
        None => return Err(OAuthError::invalid_request("The grant_type parameter is required.")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("The grant type {other} is not supported by this lab identity domain."),
            ));
        }
    }
    if !client.allowed_grants.iter().any(|g| g == "client_credentials") {
        return Err(OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", "Client authorization failed."));
    }
    let grant = domain.resolve_scopes(&client, param("scope").unwrap_or(""))?;
    let access_token = domain.sign(&client, &grant)?;
    tracing::debug!(client_id = %client.client_id, scope = %grant.scope, "access token issued");
    Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: grant.ttl })
}
