//! The SCIM admin API: Apps, AppStatusChanger, AppClientSecretRegenerator, Settings, and the
//! lab's signing-key rotation endpoints. Every call needs the administrator client.

use crate::{
    IdentityDomain, IdentityError,
    model::{APP_SCHEMA, AllowedScope, App, AppScope, CONFIDENTIAL_TEMPLATE, KNOWN_GRANTS, new_client_secret},
    oauth,
    reject::{ScimBody, ScimPath, ScimQuery},
};
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{collections::HashMap, sync::Arc};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const STATUS_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:AppStatusChanger";
const REGEN_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator";
const SETTINGS_SCHEMA: &str = "urn:ietf:params:scim:schemas:oracle:idcs:Settings";
/// Apps the lab keeps at most (bounded memory).
const MAX_APPS: usize = 500;
/// Scopes or allowed scopes per app at most.
const MAX_SCOPES: usize = 50;
const MAX_TEXT: usize = 255;
const MAX_AUDIENCE: usize = 1024;

/// A SCIM error `{"schemas":[…Error],"detail","status"}` (RFC 7644 §3.12; `status` is a string).
#[derive(Debug, Clone)]
pub(crate) struct ScimError {
    status: StatusCode,
    detail: String,
    scim_type: Option<&'static str>,
}

impl ScimError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), scim_type: None }
    }
    fn typed(status: StatusCode, scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), scim_type: Some(scim_type) }
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "You are not authorized to access this resource. Provide valid credentials or an access token.",
        )
    }
    fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("Resource {what} with ID {id} not found."))
    }
    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::typed(StatusCode::BAD_REQUEST, "invalidValue", detail)
    }
    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::typed(StatusCode::BAD_REQUEST, "invalidSyntax", detail)
    }
    fn uniqueness(detail: impl Into<String>) -> Self {
        Self::typed(StatusCode::CONFLICT, "uniqueness", detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "detail": self.detail,
            "status": self.status.as_u16().to_string(),
        });
        if let (Some(t), Some(o)) = (self.scim_type, body.as_object_mut()) {
            o.insert("scimType".into(), json!(t));
        }
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<IdentityError> for ScimError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Key(msg) => Self::invalid_value(msg),
            other => {
                tracing::error!(error = %other, "identity domain internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
            }
        }
    }
}

type ScimResult = Result<Response, ScimError>;

impl IdentityDomain {
    /// Only the administrator client may use the admin API: Basic with its credentials, or a
    /// bearer token it obtained for `urn:opc:idm:__myscopes__`.
    fn require_admin(&self, headers: &HeaderMap) -> Result<(), ScimError> {
        if let Some(basic) = oauth::basic_credentials(headers) {
            let (id, secret) = basic.map_err(|()| ScimError::unauthorized())?;
            let app = self.authenticate_client(&id, &secret).map_err(|_| ScimError::unauthorized())?;
            if app.builtin_admin {
                return Ok(());
            }
            return Err(ScimError::forbidden("The client does not have the Identity Domain Administrator role."));
        }
        let token = oauth::bearer_token(headers).ok_or_else(ScimError::unauthorized)?;
        let claims = self.verify_bearer(token).ok_or_else(ScimError::unauthorized)?;
        if claims.client_id == self.admin_client_id && claims.has_audience(&self.domain_url) {
            Ok(())
        } else {
            Err(ScimError::forbidden("The access token does not grant the Identity Domain Administrator role."))
        }
    }

    fn app_json(&self, app: &App) -> Value {
        app.to_scim(&self.domain_url, &self.domain_ocid)
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes, schema: &str) -> Result<T, ScimError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The request body is not valid JSON: {e}")))?;
    let has_schema =
        v.get("schemas").and_then(Value::as_array).is_some_and(|a| a.iter().any(|s| s.as_str() == Some(schema)));
    if !has_schema {
        return Err(ScimError::invalid_syntax(format!("The request must list the schema {schema} in \"schemas\".")));
    }
    serde_json::from_value(v).map_err(|e| ScimError::invalid_syntax(format!("The request body is not valid: {e}")))
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), ScimError> {
    if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!("{field} must be 1 to {max} printable characters.")));
    }
    Ok(())
}

fn check_token_like(field: &str, v: &str, max: usize) -> Result<(), ScimError> {
    check_text(field, v, max)?;
    if v.chars().any(char::is_whitespace) {
        return Err(ScimError::invalid_value(format!("{field} {v:?} must not contain spaces.")));
    }
    Ok(())
}

#[derive(Deserialize)]
struct AppCreate {
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
    #[serde(rename = "basedOnTemplate")]
    based_on_template: Option<Value>,
    #[serde(rename = "isOAuthClient", default)]
    is_oauth_client: bool,
    #[serde(rename = "clientType")]
    client_type: Option<String>,
    #[serde(rename = "allowedGrants", default)]
    allowed_grants: Vec<String>,
    #[serde(rename = "allowedScopes", default)]
    allowed_scopes: Vec<AllowedScope>,
    #[serde(rename = "isOAuthResource", default)]
    is_oauth_resource: bool,
    audience: Option<String>,
    #[serde(rename = "secondaryAudiences", default)]
    secondary_audiences: Vec<String>,
    #[serde(default)]
    scopes: Vec<AppScope>,
    #[serde(rename = "accessTokenExpiry")]
    access_token_expiry: Option<u64>,
}

/// Fill `idOfDefiningApp` of each allowed scope from the resource apps (and the app's own
/// scopes, `self_id`/`own`), or refuse an FQS nobody defines.
fn resolve_allowed(
    apps: &[App],
    self_id: &str,
    own: &[AppScope],
    allowed: &mut [AllowedScope],
) -> Result<(), ScimError> {
    if allowed.len() > MAX_SCOPES {
        return Err(ScimError::invalid_value(format!("At most {MAX_SCOPES} allowedScopes are supported.")));
    }
    for a in allowed.iter_mut() {
        if own.iter().any(|s| s.fqs == a.fqs) {
            a.id_of_defining_app = self_id.to_string();
            continue;
        }
        let owner = apps
            .iter()
            .filter(|x| x.is_oauth_resource && x.id != self_id)
            .find(|x| x.scopes.iter().any(|s| s.fqs == a.fqs));
        match owner {
            Some(o) => a.id_of_defining_app = o.id.clone(),
            None => {
                return Err(ScimError::invalid_value(format!(
                    "allowedScopes: {:?} is not a scope of any resource application (a fully qualified scope is the primary audience followed by the scope).",
                    a.fqs
                )));
            }
        }
    }
    let mut seen = Vec::new();
    for a in allowed.iter() {
        if seen.contains(&&a.fqs) {
            return Err(ScimError::invalid_value(format!("allowedScopes lists {:?} twice.", a.fqs)));
        }
        seen.push(&a.fqs);
    }
    Ok(())
}

/// `POST /admin/v1/Apps`: create a confidential application (inactive unless `active: true`).
pub(crate) async fn create_app(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    let req: AppCreate = parse_body(&body, APP_SCHEMA)?;
    let display_name = req.display_name.ok_or_else(|| ScimError::invalid_value("displayName is required."))?;
    check_text("displayName", &display_name, MAX_TEXT)?;
    if let Some(desc) = &req.description {
        check_text("description", desc, 4 * MAX_TEXT)?;
    }
    if let Some(t) = &req.based_on_template {
        let v = t.get("value").and_then(Value::as_str).unwrap_or("");
        if v != CONFIDENTIAL_TEMPLATE {
            return Err(ScimError::invalid_value(format!(
                "basedOnTemplate {v:?} is not supported; the lab creates confidential applications ({CONFIDENTIAL_TEMPLATE})."
            )));
        }
    }
    if req.is_oauth_client {
        match req.client_type.as_deref() {
            Some("confidential") => {}
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "clientType {other:?} is not supported; use \"confidential\"."
                )));
            }
            None => return Err(ScimError::invalid_value("clientType is required for an OAuth client.")),
        }
        if req.allowed_grants.is_empty() {
            return Err(ScimError::invalid_value("allowedGrants must list at least one grant for an OAuth client."));
        }
        if let Some(g) = req.allowed_grants.iter().find(|g| !KNOWN_GRANTS.contains(&g.as_str())) {
            return Err(ScimError::invalid_value(format!("allowedGrants: unknown grant {g:?}.")));
        }
    } else if !req.allowed_scopes.is_empty() || !req.allowed_grants.is_empty() {
        return Err(ScimError::invalid_value("allowedGrants and allowedScopes need isOAuthClient true."));
    }
    let mut scopes = req.scopes;
    let mut audience = None;
    if req.is_oauth_resource {
        let aud =
            req.audience.ok_or_else(|| ScimError::invalid_value("audience is required for a resource server."))?;
        check_token_like("audience", &aud, MAX_AUDIENCE)?;
        for s in &req.secondary_audiences {
            check_token_like("secondaryAudiences", s, MAX_AUDIENCE)?;
        }
        if scopes.len() > MAX_SCOPES {
            return Err(ScimError::invalid_value(format!("At most {MAX_SCOPES} scopes are supported.")));
        }
        for s in scopes.iter_mut() {
            check_token_like("scopes.value", &s.value, MAX_TEXT)?;
            // IDCS builds the fully qualified scope by plain concatenation.
            s.fqs = format!("{aud}{}", s.value);
        }
        for (i, s) in scopes.iter().enumerate() {
            if scopes[..i].iter().any(|o| o.value == s.value) {
                return Err(ScimError::invalid_value(format!("scopes lists {:?} twice.", s.value)));
            }
        }
        audience = Some(aud);
    } else if !scopes.is_empty() || req.audience.is_some() {
        return Err(ScimError::invalid_value("audience and scopes need isOAuthResource true."));
    }
    if let Some(e) = req.access_token_expiry
        && !(1..=7 * 24 * 3600).contains(&e)
    {
        return Err(ScimError::invalid_value("accessTokenExpiry must be between 1 and 604800 seconds."));
    }

    let now = hyok_core::rfc3339_now();
    let mut app = App {
        id: hyok_core::ids::hex32(),
        ocid: hyok_core::ids::regional_ocid("domainapp"),
        display_name,
        description: req.description,
        client_id: hyok_core::ids::hex32(),
        secret_hash: None,
        secret_unrevealed: None,
        active: req.active.unwrap_or(false),
        is_oauth_client: req.is_oauth_client,
        client_type: req.client_type,
        allowed_grants: req.allowed_grants,
        allowed_scopes: req.allowed_scopes,
        is_oauth_resource: req.is_oauth_resource,
        audience,
        secondary_audiences: req.secondary_audiences,
        scopes,
        access_token_expiry: req.access_token_expiry,
        created: now.clone(),
        last_modified: now,
        version: 1,
        builtin_admin: false,
    };
    if app.is_oauth_client {
        app.set_secret(&new_client_secret(), true);
    }
    let json = {
        let mut st = d.lock();
        if st.apps.len() >= MAX_APPS {
            return Err(ScimError::forbidden(format!("The lab domain holds at most {MAX_APPS} applications.")));
        }
        if st.apps.iter().any(|a| a.display_name.eq_ignore_ascii_case(&app.display_name)) {
            return Err(ScimError::uniqueness(format!("An application named {:?} already exists.", app.display_name)));
        }
        if let Some(aud) = &app.audience
            && st.apps.iter().any(|a| a.audience.as_deref() == Some(aud.as_str()))
        {
            return Err(ScimError::uniqueness(format!(
                "Another resource application already uses the audience {aud:?}."
            )));
        }
        let (id, own) = (app.id.clone(), app.scopes.clone());
        resolve_allowed(&st.apps, &id, &own, &mut app.allowed_scopes)?;
        let json = d.app_json(&app);
        tracing::info!(app = %app.display_name, id = %app.id, "application created");
        st.apps.push(app);
        json
    };
    let location = json["meta"]["location"].as_str().unwrap_or_default().to_string();
    let mut resp = (StatusCode::CREATED, Json(json)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A parsed `filter=<attr> eq <value>`.
struct Filter {
    attr: String,
    value: Value,
}

fn parse_filter(s: &str) -> Result<Filter, ScimError> {
    let bad = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidFilter",
            format!("Unsupported filter {s:?}; the lab supports <attribute> eq <value>."),
        )
    };
    let s = s.trim();
    let (attr, rest) = s.split_once(char::is_whitespace).ok_or_else(bad)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace).ok_or_else(bad)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let value: Value = serde_json::from_str(value.trim()).map_err(|_| bad())?;
    const ATTRS: &[&str] = &["displayName", "name", "id", "active", "isOAuthClient", "isOAuthResource", "audience"];
    let attr = ATTRS.iter().find(|a| a.eq_ignore_ascii_case(attr)).ok_or_else(bad)?;
    Ok(Filter { attr: (*attr).to_string(), value })
}

fn matches(app_json: &Value, f: &Filter) -> bool {
    match (app_json.get(&f.attr), &f.value) {
        // displayName is case-insensitive (caseExact false), as in IDCS.
        (Some(Value::String(a)), Value::String(b)) if f.attr == "displayName" => a.eq_ignore_ascii_case(b),
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

fn parse_index(q: &HashMap<String, String>, name: &str, default: usize) -> Result<usize, ScimError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be a non-negative integer."))),
    }
}

/// `GET /admin/v1/Apps` with `filter`, `startIndex`, `count`.
pub(crate) async fn list_apps(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimQuery(q): ScimQuery,
) -> ScimResult {
    d.require_admin(&headers)?;
    let filter = q.get("filter").map(|f| parse_filter(f)).transpose()?;
    let start = parse_index(&q, "startIndex", 1)?.max(1);
    let count = parse_index(&q, "count", 50)?.min(1000);
    let all: Vec<Value> = {
        let st = d.lock();
        st.apps.iter().map(|a| d.app_json(a)).collect()
    };
    let hits: Vec<Value> = all.into_iter().filter(|a| filter.as_ref().is_none_or(|f| matches(a, f))).collect();
    let total = hits.len();
    let page: Vec<Value> = hits.into_iter().skip(start - 1).take(count).collect();
    Ok(Json(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "Resources": page,
        "startIndex": start,
        "itemsPerPage": page.len(),
    }))
    .into_response())
}

/// `GET /admin/v1/Apps/{id}`; with `attributes=clientSecret` the secret is returned the first
/// time only (the console's "Show secret"), later 403.
pub(crate) async fn get_app(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
    ScimQuery(q): ScimQuery,
) -> ScimResult {
    d.require_admin(&headers)?;
    let wants_secret =
        q.get("attributes").is_some_and(|a| a.split(',').any(|x| x.trim().eq_ignore_ascii_case("clientSecret")));
    let mut st = d.lock();
    let app = st.apps.iter_mut().find(|a| a.id == id).ok_or_else(|| ScimError::not_found("App", &id))?;
    let mut json = d.app_json(app);
    if wants_secret {
        if !app.is_oauth_client {
            return Err(ScimError::invalid_value("The application is not an OAuth client and has no client secret."));
        }
        let Some(secret) = app.secret_unrevealed.take() else {
            return Err(ScimError::forbidden(
                "The client secret was already shown once. Regenerate it (AppClientSecretRegenerator) to get a new one.",
            ));
        };
        if let Some(o) = json.as_object_mut() {
            o.insert("clientSecret".into(), json!(secret));
        }
        tracing::info!(app = %app.display_name, "client secret shown");
    }
    Ok(Json(json).into_response())
}

#[derive(Deserialize)]
struct PatchOp {
    #[serde(rename = "Operations")]
    operations: Vec<PatchOperation>,
}

#[derive(Deserialize)]
struct PatchOperation {
    op: String,
    path: Option<String>,
    value: Option<Value>,
}

/// The (path, value) pairs of a PatchOp: `path` + `value`, or a value object without path.
fn patch_pairs(op: &PatchOperation) -> Result<Vec<(String, Option<Value>)>, ScimError> {
    match (&op.path, &op.value) {
        (Some(p), v) => Ok(vec![(p.clone(), v.clone())]),
        (None, Some(Value::Object(m))) => Ok(m.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect()),
        _ => Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "noTarget",
            "A patch operation needs a path or a value object.",
        )),
    }
}

fn bool_value(path: &str, v: Option<Value>) -> Result<bool, ScimError> {
    match v {
        Some(Value::Bool(b)) => Ok(b),
        _ => Err(ScimError::invalid_value(format!("{path} takes a boolean value."))),
    }
}

fn string_value(path: &str, v: Option<Value>) -> Result<String, ScimError> {
    match v {
        Some(Value::String(s)) => Ok(s),
        _ => Err(ScimError::invalid_value(format!("{path} takes a string value."))),
    }
}

/// `PATCH /admin/v1/Apps/{id}`: `active`, `displayName`, `description`, `allowedScopes`.
pub(crate) async fn patch_app(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    let patch: PatchOp = parse_body(&body, PATCH_SCHEMA)?;
    let mut st = d.lock();
    let idx = st.apps.iter().position(|a| a.id == id).ok_or_else(|| ScimError::not_found("App", &id))?;
    if st.apps[idx].builtin_admin {
        return Err(ScimError::forbidden("The lab's built-in administrator application cannot be changed."));
    }
    // Work on a copy so a failing operation leaves the app unchanged.
    let mut app = st.apps[idx].clone();
    for op in &patch.operations {
        let kind = op.op.to_ascii_lowercase();
        for (path, value) in patch_pairs(op)? {
            match (kind.as_str(), path.as_str()) {
                ("replace" | "add", "active") => app.active = bool_value(&path, value)?,
                ("replace" | "add", "displayName") => {
                    let v = string_value(&path, value)?;
                    check_text("displayName", &v, MAX_TEXT)?;
                    if st.apps.iter().any(|a| a.id != app.id && a.display_name.eq_ignore_ascii_case(&v)) {
                        return Err(ScimError::uniqueness(format!("An application named {v:?} already exists.")));
                    }
                    app.display_name = v;
                }
                ("replace" | "add", "description") => {
                    let v = string_value(&path, value)?;
                    check_text("description", &v, 4 * MAX_TEXT)?;
                    app.description = Some(v);
                }
                ("remove", "description") => app.description = None,
                ("replace" | "add", "allowedScopes") if app.is_oauth_client => {
                    let mut list: Vec<AllowedScope> = match value {
                        Some(Value::Array(_)) | Some(Value::Object(_)) => {
                            let v = value.unwrap_or(Value::Null);
                            let v = if v.is_object() { Value::Array(vec![v]) } else { v };
                            serde_json::from_value(v)
                                .map_err(|e| ScimError::invalid_value(format!("allowedScopes: {e}")))?
                        }
                        _ => return Err(ScimError::invalid_value("allowedScopes takes a list of {\"fqs\"} objects.")),
                    };
                    if kind == "add" {
                        let mut merged = app.allowed_scopes.clone();
                        merged.retain(|a| !list.iter().any(|n| n.fqs == a.fqs));
                        merged.append(&mut list);
                        list = merged;
                    }
                    resolve_allowed(&st.apps, &app.id, &app.scopes, &mut list)?;
                    app.allowed_scopes = list;
                }
                ("remove", "allowedScopes") => app.allowed_scopes.clear(),
                _ => {
                    return Err(ScimError::typed(
                        StatusCode::BAD_REQUEST,
                        "invalidPath",
                        format!("The lab does not support {} of {path:?} on App.", op.op),
                    ));
                }
            }
        }
    }
    app.touch();
    let json = d.app_json(&app);
    st.apps[idx] = app;
    Ok(Json(json).into_response())
}

/// `DELETE /admin/v1/Apps/{id}`: only inactive apps can be deleted.
pub(crate) async fn delete_app(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
) -> ScimResult {
    d.require_admin(&headers)?;
    let mut st = d.lock();
    let idx = st.apps.iter().position(|a| a.id == id).ok_or_else(|| ScimError::not_found("App", &id))?;
    let app = &st.apps[idx];
    if app.builtin_admin {
        return Err(ScimError::forbidden("The lab's built-in administrator application cannot be deleted."));
    }
    if app.active {
        return Err(ScimError::invalid_value(format!(
            "Deactivate the application {:?} before deleting it.",
            app.display_name
        )));
    }
    st.apps.remove(idx);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct StatusChange {
    active: Option<bool>,
}

/// `PUT /admin/v1/AppStatusChanger/{id}` with `{"active": true|false}`.
pub(crate) async fn change_status(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    let req: StatusChange = parse_body(&body, STATUS_SCHEMA)?;
    let active = req.active.ok_or_else(|| ScimError::invalid_value("active is required."))?;
    let mut st = d.lock();
    let app = st.apps.iter_mut().find(|a| a.id == id).ok_or_else(|| ScimError::not_found("App", &id))?;
    if app.builtin_admin {
        return Err(ScimError::forbidden("The lab's built-in administrator application cannot be changed."));
    }
    app.active = active;
    app.touch();
    tracing::info!(app = %app.display_name, active, "application status changed");
    Ok(Json(json!({
        "schemas": [STATUS_SCHEMA],
        "id": app.id,
        "active": app.active,
        "meta": {
            "resourceType": "AppStatusChanger",
            "lastModified": app.last_modified,
            "location": format!("{}/admin/v1/AppStatusChanger/{}", d.domain_url, app.id),
        },
    }))
    .into_response())
}

#[derive(Deserialize)]
struct Regenerate {
    #[serde(rename = "appId")]
    app_id: Option<String>,
}

/// `POST /admin/v1/AppClientSecretRegenerator` with `{"appId"}`: a new secret, returned in this
/// response only; the old one stops working at once.
pub(crate) async fn regenerate_secret(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    let req: Regenerate = parse_body(&body, REGEN_SCHEMA)?;
    let app_id = req.app_id.ok_or_else(|| ScimError::invalid_value("appId is required."))?;
    let mut st = d.lock();
    let app = st.apps.iter_mut().find(|a| a.id == app_id).ok_or_else(|| ScimError::not_found("App", &app_id))?;
    if app.builtin_admin {
        return Err(ScimError::forbidden("The lab's built-in administrator application cannot be changed."));
    }
    if !app.is_oauth_client {
        return Err(ScimError::invalid_value("The application is not an OAuth client and has no client secret."));
    }
    let secret = new_client_secret();
    app.set_secret(&secret, false);
    app.touch();
    tracing::info!(app = %app.display_name, "client secret regenerated");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "schemas": [REGEN_SCHEMA],
            "id": app.id,
            "appId": app.id,
            "clientSecret": secret,
            "meta": { "resourceType": "AppClientSecretRegenerator", "lastModified": app.last_modified },
        })),
    )
        .into_response())
}

fn settings_json(d: &IdentityDomain) -> Value {
    let st = d.lock();
    json!({
        "schemas": [SETTINGS_SCHEMA],
        "id": "Settings",
        "signingCertPublicAccess": st.signing_cert_public_access,
        "meta": {
            "resourceType": "Settings",
            "lastModified": st.settings_modified,
            "version": st.settings_version.to_string(),
            "location": format!("{}/admin/v1/Settings/Settings", d.domain_url),
        },
    })
}

fn check_settings_id(id: &str) -> Result<(), ScimError> {
    if id == "Settings" { Ok(()) } else { Err(ScimError::not_found("Settings", id)) }
}

/// `GET /admin/v1/Settings/Settings`.
pub(crate) async fn get_settings(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
) -> ScimResult {
    d.require_admin(&headers)?;
    check_settings_id(&id)?;
    Ok(Json(settings_json(&d)).into_response())
}

#[derive(Deserialize)]
struct SettingsPut {
    #[serde(rename = "signingCertPublicAccess")]
    signing_cert_public_access: Option<bool>,
}

/// `PUT /admin/v1/Settings/Settings`: only `signingCertPublicAccess` is modelled.
pub(crate) async fn put_settings(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    check_settings_id(&id)?;
    let req: SettingsPut = parse_body(&body, SETTINGS_SCHEMA)?;
    if let Some(p) = req.signing_cert_public_access {
        d.set_signing_cert_public_access(p);
    }
    Ok(Json(settings_json(&d)).into_response())
}

/// `PATCH /admin/v1/Settings/Settings`: `replace` of `signingCertPublicAccess`.
pub(crate) async fn patch_settings(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(id): ScimPath<String>,
    ScimBody(body): ScimBody,
) -> ScimResult {
    d.require_admin(&headers)?;
    check_settings_id(&id)?;
    let patch: PatchOp = parse_body(&body, PATCH_SCHEMA)?;
    let mut value = None;
    for op in &patch.operations {
        let kind = op.op.to_ascii_lowercase();
        for (path, v) in patch_pairs(op)? {
            if (kind == "replace" || kind == "add") && path == "signingCertPublicAccess" {
                value = Some(bool_value(&path, v)?);
            } else {
                return Err(ScimError::typed(
                    StatusCode::BAD_REQUEST,
                    "invalidPath",
                    format!("The lab does not support {} of {path:?} on Settings.", op.op),
                ));
            }
        }
    }
    if let Some(p) = value {
        d.set_signing_cert_public_access(p);
    }
    Ok(Json(settings_json(&d)).into_response())
}

/// `POST /admin/v1/SigningCert/lab/rotate` (lab endpoint): add a signing key.
pub(crate) async fn rotate_key(State(d): State<Arc<IdentityDomain>>, headers: HeaderMap) -> ScimResult {
    d.require_admin(&headers)?;
    let kid = d.rotate_signing_key().await?;
    Ok((StatusCode::CREATED, Json(json!({ "kid": kid, "kids": d.kids() }))).into_response())
}

/// `DELETE /admin/v1/SigningCert/lab/keys/{kid}` (lab endpoint): drop a non-active key.
pub(crate) async fn remove_key(
    State(d): State<Arc<IdentityDomain>>,
    headers: HeaderMap,
    ScimPath(kid): ScimPath<String>,
) -> ScimResult {
    d.require_admin(&headers)?;
    d.remove_signing_key(&kid)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f = parse_filter(r#"displayName eq "Resource_App""#).expect("filter");
        assert_eq!(f.attr, "displayName");
        assert!(matches(&json!({"displayName": "resource_app"}), &f));
        assert!(!matches(&json!({"displayName": "Client_App"}), &f));
        let f = parse_filter("active eq true").expect("bool filter");
        assert!(matches(&json!({"active": true}), &f));
        assert!(parse_filter("displayName co \"x\"").is_err());
        assert!(parse_filter("password eq \"x\"").is_err());
        assert!(parse_filter("displayName eq").is_err());
    }
}
