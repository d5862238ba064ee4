//! Parsing a `specification` with errors that name the field, and OCI's validation rules.

use super::model::{
    ApiSpecification, ApiSpecificationRouteBackend, AuthenticationPolicy, CONNECT_TIMEOUT, HttpBackend,
    JsonWebTokenClaim, JwtAuthenticationPolicy, METHODS, PublicKeySet, READ_TIMEOUT, RouteAuthorizationPolicy,
    SEND_TIMEOUT, StaticPublicKey, StockResponseBackend, TokenAuthenticationPolicy, TokenValidationPolicy,
};
use crate::routing;
use serde::Serialize;
use std::fmt;

/// One validation problem, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpecError {
    /// Field path, e.g. `specification.routes[0].backend.url`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Join several errors into one OCI-style message (`a: x; b: y`).
pub fn join_errors(errors: &[SpecError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// Parse a `specification` JSON value, reporting the failing field by path.
pub fn parse_specification(value: &serde_json::Value) -> Result<ApiSpecification, SpecError> {
    deserialize_at::<ApiSpecification>(value, "specification")
}

/// Deserialize `value`, naming the failing field below `at`. Serde buffers `type`-tagged objects,
/// which hides the inner path; for those the variant's own type is parsed again to find it.
fn deserialize_at<T: serde::de::DeserializeOwned>(value: &serde_json::Value, at: &str) -> Result<T, SpecError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut field = at.to_string();
        let mut node = Some(value);
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    field.push_str(&format!("[{index}]"));
                    node = node.and_then(|n| n.get(*index));
                }
                serde_path_to_error::Segment::Map { key } => {
                    field.push('.');
                    field.push_str(key);
                    node = node.and_then(|n| n.get(key));
                }
                _ => node = None,
            }
        }
        let message = e.into_inner().to_string();
        node.and_then(|n| refine_tagged(n, &field)).unwrap_or(SpecError { field, message })
    })
}

fn refine_tagged(node: &serde_json::Value, at: &str) -> Option<SpecError> {
    let obj = node.as_object()?;
    let tag = obj.get("type").or_else(|| obj.get("format"))?.as_str()?;
    let mut inner = serde_json::Value::Object(obj.clone());
    if let Some(o) = inner.as_object_mut() {
        o.remove("type");
        o.remove("format");
    }
    let err = match tag {
        "HTTP_BACKEND" => deserialize_at::<HttpBackend>(&inner, at).err(),
        "STOCK_RESPONSE_BACKEND" => deserialize_at::<StockResponseBackend>(&inner, at).err(),
        "JWT_AUTHENTICATION" => deserialize_at::<JwtAuthenticationPolicy>(&inner, at).err(),
        "TOKEN_AUTHENTICATION" => deserialize_at::<TokenAuthenticationPolicy>(&inner, at).err(),
        _ => None,
    }?;
    // Only a deeper path is an improvement; otherwise keep the outer message.
    (err.field != at).then_some(err)
}

/// Validate a path prefix and a specification as OCI does at CreateDeployment/UpdateDeployment.
pub fn validate(spec: &ApiSpecification, path_prefix: &str) -> Result<(), Vec<SpecError>> {
    let mut errs = Vec::new();
    validate_prefix(path_prefix, &mut errs);
    let auth = spec.request_policies.as_ref().and_then(|p| p.authentication.as_ref());
    if let Some(auth) = auth {
        validate_auth(auth, "specification.requestPolicies.authentication", &mut errs);
    }
    let anonymous_allowed = match auth {
        Some(AuthenticationPolicy::Jwt(j)) => j.is_anonymous_access_allowed.unwrap_or(false),
        Some(AuthenticationPolicy::Token(t)) => t.is_anonymous_access_allowed.unwrap_or(false),
        None => false,
    };
    if spec.routes.is_empty() {
        errs.push(SpecError::new("specification.routes", "at least one route is required"));
    }
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for (i, route) in spec.routes.iter().enumerate() {
        let at = format!("specification.routes[{i}]");
        let params = validate_route_path(&route.path, &format!("{at}.path"), &mut errs);
        let methods = validate_methods(route.methods.as_deref(), &format!("{at}.methods"), &mut errs);
        let shape = routing::path_shape(&route.path);
        for (other_shape, other_methods) in &seen {
            if *other_shape == shape
                && let Some(m) = methods
                    .iter()
                    .find(|m| other_methods.contains(m) || *m == "ANY" || other_methods.iter().any(|o| o == "ANY"))
            {
                errs.push(SpecError::new(
                    format!("{at}.path"),
                    format!("route {} with method {m} is already defined by an earlier route", route.path),
                ));
            }
        }
        seen.push((shape, methods));
        match &route.backend {
            ApiSpecificationRouteBackend::Http(b) => {
                validate_http_backend(b, &params, &format!("{at}.backend"), &mut errs)
            }
            ApiSpecificationRouteBackend::StockResponse(s) => {
                if !(100..=599).contains(&s.status) {
                    errs.push(SpecError::new(
                        format!("{at}.backend.status"),
                        "must be an HTTP status between 100 and 599",
                    ));
                }
                for (j, h) in s.headers.iter().flatten().enumerate() {
                    if http::HeaderName::from_bytes(h.name.as_bytes()).is_err()
                        || http::HeaderValue::from_str(&h.value).is_err()
                    {
                        errs.push(SpecError::new(format!("{at}.backend.headers[{j}]"), "not a valid HTTP header"));
                    }
                }
            }
        }
        if let Some(authz) = route.request_policies.as_ref().and_then(|p| p.authorization.as_ref()) {
            let field = format!("{at}.requestPolicies.authorization");
            match authz {
                RouteAuthorizationPolicy::AnyOf { allowed_scope } => {
                    if auth.is_none() {
                        errs.push(SpecError::new(
                            &field,
                            "ANY_OF authorization requires requestPolicies.authentication",
                        ));
                    }
                    if allowed_scope.is_empty() || allowed_scope.iter().any(|s| s.trim().is_empty()) {
                        errs.push(SpecError::new(
                            format!("{field}.allowedScope"),
                            "must list at least one non-empty scope",
                        ));
                    }
                }
                RouteAuthorizationPolicy::AuthenticationOnly => {
                    if auth.is_none() {
                        errs.push(SpecError::new(
                            &field,
                            "AUTHENTICATION_ONLY authorization requires requestPolicies.authentication",
                        ));
                    }
                }
                RouteAuthorizationPolicy::Anonymous => {
                    if auth.is_some() && !anonymous_allowed {
                        errs.push(SpecError::new(
                            &field,
                            "ANONYMOUS authorization requires isAnonymousAccessAllowed=true in the authentication policy",
                        ));
                    }
                }
            }
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

const PREFIX_SPECIALS: &str = "$-_.+!*'(),%;:@&=";

fn validate_prefix(prefix: &str, errs: &mut Vec<SpecError>) {
    let field = "pathPrefix";
    if !prefix.starts_with('/') {
        errs.push(SpecError::new(field, format!("{prefix:?} must start with '/'")));
        return;
    }
    if prefix.len() > 1 && prefix.ends_with('/') {
        errs.push(SpecError::new(field, format!("{prefix:?} must not end with '/' (only the prefix \"/\" may)")));
    }
    if prefix.contains("//") {
        errs.push(SpecError::new(field, format!("{prefix:?} must not contain adjacent '/'")));
    }
    if prefix.contains('{') || prefix.contains('}') {
        errs.push(SpecError::new(field, format!("{prefix:?} must not contain path parameters or wildcards")));
    } else if let Some(c) =
        prefix.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '/' || PREFIX_SPECIALS.contains(*c)))
    {
        errs.push(SpecError::new(field, format!("{prefix:?} contains the character {c:?}, which is not allowed")));
    }
}

fn is_param_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Returns the parameter names of a route path, pushing errors.
fn validate_route_path(path: &str, field: &str, errs: &mut Vec<SpecError>) -> Vec<String> {
    let mut names = Vec::new();
    if !path.starts_with('/') {
        errs.push(SpecError::new(field, format!("{path:?} must start with '/'")));
        return names;
    }
    let segs: Vec<&str> = path[1..].split('/').collect();
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        if seg.is_empty() && i != last {
            errs.push(SpecError::new(field, format!("{path:?} must not contain adjacent '/'")));
            continue;
        }
        let is_param = seg.starts_with('{') && seg.ends_with('}') && seg.len() >= 2;
        if is_param {
            let inner = &seg[1..seg.len() - 1];
            let (name, wildcard) = match inner.strip_suffix('*') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            if !is_param_name(name) {
                errs.push(SpecError::new(
                    field,
                    format!("path parameter {seg:?}: names may contain only letters, digits and '_'"),
                ));
            } else if names.iter().any(|n| n == name) {
                errs.push(SpecError::new(field, format!("path parameter {name:?} is used twice")));
            } else {
                names.push(name.to_string());
            }
            if wildcard && i != last {
                errs.push(SpecError::new(
                    field,
                    format!("wildcard parameter {seg:?} must be the last segment of the path"),
                ));
            }
        } else if seg.contains('{') || seg.contains('}') {
            errs.push(SpecError::new(
                field,
                format!("segment {seg:?}: a path parameter must be a whole segment like {{name}} or {{name*}}"),
            ));
        } else if seg.contains('*') {
            errs.push(SpecError::new(field, format!("segment {seg:?}: '*' is only allowed as {{name*}}")));
        }
    }
    names
}

fn validate_methods(methods: Option<&[String]>, field: &str, errs: &mut Vec<SpecError>) -> Vec<String> {
    let Some(methods) = methods else { return vec!["ANY".to_string()] };
    if methods.is_empty() {
        errs.push(SpecError::new(field, "must list at least one method (or be omitted for ANY)"));
    }
    let mut out = Vec::new();
    for (i, m) in methods.iter().enumerate() {
        if !METHODS.contains(&m.as_str()) {
            errs.push(SpecError::new(format!("{field}[{i}]"), format!("{m:?} is not one of {}", METHODS.join(", "))));
        } else if out.contains(m) {
            errs.push(SpecError::new(format!("{field}[{i}]"), format!("{m} is listed twice")));
        } else {
            out.push(m.clone());
        }
    }
    out
}

fn validate_http_backend(b: &HttpBackend, params: &[String], field: &str, errs: &mut Vec<SpecError>) {
    let url_field = format!("{field}.url");
    match routing::UrlTemplate::parse(&b.url) {
        Err(e) => errs.push(SpecError::new(&url_field, e)),
        Ok(t) => {
            for name in t.path_params() {
                if !params.iter().any(|p| p == name) {
                    errs.push(SpecError::new(
                        &url_field,
                        format!(
                            "${{request.path[{name}]}} names no path parameter of this route (route parameters: {})",
                            if params.is_empty() { "none".to_string() } else { params.join(", ") }
                        ),
                    ));
                }
            }
        }
    }
    for (name, v, (_, lo, hi)) in [
        ("connectTimeoutInSeconds", b.connect_timeout_in_seconds, CONNECT_TIMEOUT),
        ("readTimeoutInSeconds", b.read_timeout_in_seconds, READ_TIMEOUT),
        ("sendTimeoutInSeconds", b.send_timeout_in_seconds, SEND_TIMEOUT),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v >= lo && v <= hi)
        {
            errs.push(SpecError::new(
                format!("{field}.{name}"),
                format!("{v} is out of range: must be between {lo} and {hi} seconds"),
            ));
        }
    }
}

fn validate_auth(auth: &AuthenticationPolicy, field: &str, errs: &mut Vec<SpecError>) {
    let (header, query, scheme, skew) = match auth {
        AuthenticationPolicy::Jwt(j) => {
            (&j.token_header, &j.token_query_param, &j.token_auth_scheme, j.max_clock_skew_in_seconds)
        }
        AuthenticationPolicy::Token(t) => {
            (&t.token_header, &t.token_query_param, &t.token_auth_scheme, t.max_clock_skew_in_seconds)
        }
    };
    match (header, query) {
        (Some(_), Some(_)) => errs.push(SpecError::new(field, "set either tokenHeader or tokenQueryParam, not both")),
        (None, None) => errs.push(SpecError::new(field, "one of tokenHeader or tokenQueryParam is required")),
        (Some(h), None) => {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                errs.push(SpecError::new(format!("{field}.tokenHeader"), format!("{h:?} is not a valid header name")));
            }
            if scheme.as_deref().is_none_or(|s| s.trim().is_empty()) {
                errs.push(SpecError::new(
                    format!("{field}.tokenAuthScheme"),
                    "is required when tokenHeader is set (e.g. Bearer)",
                ));
            }
        }
        (None, Some(q)) => {
            if q.is_empty() {
                errs.push(SpecError::new(format!("{field}.tokenQueryParam"), "must not be empty"));
            }
        }
    }
    if let Some(s) = skew
        && !(s.is_finite() && (0.0..=3600.0).contains(&s))
    {
        errs.push(SpecError::new(
            format!("{field}.maxClockSkewInSeconds"),
            format!("{s} is out of range: must be between 0 and 3600"),
        ));
    }
    match auth {
        AuthenticationPolicy::Jwt(j) => {
            if j.issuers.is_empty() {
                errs.push(SpecError::new(format!("{field}.issuers"), "at least one issuer is required"));
            }
            if j.audiences.is_empty() {
                errs.push(SpecError::new(format!("{field}.audiences"), "at least one audience is required"));
            }
            validate_claims(j.verify_claims.as_deref(), &format!("{field}.verifyClaims"), errs);
            match &j.public_keys {
                PublicKeySet::RemoteJwks { uri, max_cache_duration_in_hours, .. } => {
                    validate_jwks(uri, *max_cache_duration_in_hours, &format!("{field}.publicKeys"), errs)
                }
                PublicKeySet::StaticKeys { keys } => {
                    validate_static_keys(keys, &format!("{field}.publicKeys.keys"), errs)
                }
            }
        }
        AuthenticationPolicy::Token(t) => {
            let vp = format!("{field}.validationPolicy");
            let add = match &t.validation_policy {
                TokenValidationPolicy::RemoteJwks {
                    uri,
                    max_cache_duration_in_hours,
                    additional_validation_policy,
                    ..
                } => {
                    validate_jwks(uri, *max_cache_duration_in_hours, &vp, errs);
                    additional_validation_policy
                }
                TokenValidationPolicy::StaticKeys { keys, additional_validation_policy } => {
                    validate_static_keys(keys, &format!("{vp}.keys"), errs);
                    additional_validation_policy
                }
            };
            if let Some(add) = add {
                validate_claims(
                    add.verify_claims.as_deref(),
                    &format!("{vp}.additionalValidationPolicy.verifyClaims"),
                    errs,
                );
            }
        }
    }
}

fn validate_claims(claims: Option<&[JsonWebTokenClaim]>, field: &str, errs: &mut Vec<SpecError>) {
    for (i, c) in claims.unwrap_or_default().iter().enumerate() {
        if c.key.trim().is_empty() {
            errs.push(SpecError::new(format!("{field}[{i}].key"), "must not be empty"));
        }
    }
}

fn validate_jwks(uri: &str, hours: Option<i64>, field: &str, errs: &mut Vec<SpecError>) {
    match uri.parse::<http::Uri>() {
        Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => {}
        _ => errs.push(SpecError::new(format!("{field}.uri"), format!("{uri:?} must be an https:// URL"))),
    }
    if let Some(h) = hours
        && !(1..=24).contains(&h)
    {
        errs.push(SpecError::new(
            format!("{field}.maxCacheDurationInHours"),
            format!("{h} is out of range: must be between 1 and 24"),
        ));
    }
}

fn validate_static_keys(keys: &[StaticPublicKey], field: &str, errs: &mut Vec<SpecError>) {
    if keys.is_empty() {
        errs.push(SpecError::new(field, "at least one key is required"));
    }
    for (i, k) in keys.iter().enumerate() {
        if let Err(e) = k.verification_key() {
            errs.push(SpecError::new(format!("{field}[{i}]"), e));
        }
        if keys[..i].iter().any(|o| o.kid() == k.kid()) {
            errs.push(SpecError::new(format!("{field}[{i}].kid"), format!("{:?} is used by an earlier key", k.kid())));
        }
    }
}
