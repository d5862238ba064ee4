//! JWT validation for `JWT_AUTHENTICATION` and `TOKEN_AUTHENTICATION` policies.
//!
//! Keys come inline (`STATIC_KEYS`) or from a JWKS URI fetched through the gateway's own
//! [`HttpClient`] (so the network model decides whether the gateway can reach the identity
//! domain) and cached for `maxCacheDurationInHours`. The detailed reason for a refusal goes to
//! the hop log and the access log; the caller only sees OCI's generic `401 Unauthorized`.

use crate::{
    keys::{self, KeyEntry},
    routing,
    spec::{AuthenticationPolicy, JsonWebTokenClaim, PublicKeySet, StaticPublicKey, TokenValidationPolicy},
};
use hyok_core::{Clock, client::HttpClient};
use jsonwebtoken::{Validation, errors::ErrorKind, jwk::JwkSet};
use serde_json::{Map, Value};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Claims of a validated token.
pub type Claims = Map<String, Value>;

/// Where the token is read from.
#[derive(Clone, Debug)]
enum TokenLocation {
    Header { name: http::HeaderName, scheme: String },
    Query(String),
}

/// Where keys come from.
enum KeySource {
    Static(Arc<Vec<KeyEntry>>),
    Remote(JwksCache),
}

/// A cached remote JWKS.
pub(crate) struct JwksCache {
    pub(crate) uri: String,
    pub(crate) verify_tls: bool,
    ttl: Duration,
    /// When the cached set was fetched is read on this clock.
    clock: Clock,
    state: tokio::sync::Mutex<Option<(Instant, Arc<Vec<KeyEntry>>)>>,
}

/// A refusal by the authentication or authorization policy.
#[derive(Clone, Debug)]
pub struct AuthFailure {
    /// 401 (authentication) or 403 (authorization).
    pub status: http::StatusCode,
    /// Why, for logs and hop events.
    pub reason: String,
}

impl AuthFailure {
    fn unauthorized(reason: impl Into<String>) -> Self {
        Self { status: http::StatusCode::UNAUTHORIZED, reason: reason.into() }
    }
}

/// The outcome of a JWKS fetch, for the hop log.
#[derive(Debug)]
pub(crate) struct JwksFetch {
    pub(crate) uri: String,
    pub(crate) result: Result<u16, hyok_core::client::ClientError>,
    pub(crate) started: Instant,
    pub(crate) status_ok: bool,
}

/// The compiled authentication policy of a deployment.
pub(crate) struct Authenticator {
    location: TokenLocation,
    issuers: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    claims: Vec<JsonWebTokenClaim>,
    leeway: u64,
    pub(crate) anonymous_allowed: bool,
    keys: KeySource,
}

impl Authenticator {
    /// Compile a (validated) policy; a remote JWKS is cached on `clock`.
    pub(crate) fn new(policy: &AuthenticationPolicy, clock: &Clock) -> Result<Self, String> {
        let (header, query, scheme, skew, anon) = match policy {
            AuthenticationPolicy::Jwt(j) => (
                &j.token_header,
                &j.token_query_param,
                &j.token_auth_scheme,
                j.max_clock_skew_in_seconds,
                j.is_anonymous_access_allowed,
            ),
            AuthenticationPolicy::Token(t) => (
                &t.token_header,
                &t.token_query_param,
                &t.token_auth_scheme,
                t.max_clock_skew_in_seconds,
                t.is_anonymous_access_allowed,
            ),
        };
        let location = match (header, query) {
            (Some(h), _) => TokenLocation::Header {
                name: http::HeaderName::from_bytes(h.as_bytes()).map_err(|e| e.to_string())?,
                scheme: scheme.clone().unwrap_or_default(),
            },
            (None, Some(q)) => TokenLocation::Query(q.clone()),
            (None, None) => return Err("no token location".to_string()),
        };
        let statics = |keys: &[StaticPublicKey]| -> Result<KeySource, String> {
            Ok(KeySource::Static(Arc::new(
                keys.iter().map(StaticPublicKey::verification_key).collect::<Result<Vec<_>, _>>()?,
            )))
        };
        let remote = |uri: &str, hours: Option<i64>, disabled: Option<bool>| {
            KeySource::Remote(JwksCache {
                uri: uri.to_string(),
                verify_tls: !disabled.unwrap_or(false),
                ttl: Duration::from_secs(hours.unwrap_or(1).clamp(1, 24) as u64 * 3600),
                clock: clock.clone(),
                state: tokio::sync::Mutex::new(None),
            })
        };
        let (issuers, audiences, claims, keys) = match policy {
            AuthenticationPolicy::Jwt(j) => {
                let keys = match &j.public_keys {
                    PublicKeySet::RemoteJwks { uri, max_cache_duration_in_hours, is_ssl_verify_disabled } => {
                        remote(uri, *max_cache_duration_in_hours, *is_ssl_verify_disabled)
                    }
                    PublicKeySet::StaticKeys { keys } => statics(keys)?,
                };
                (Some(j.issuers.clone()), Some(j.audiences.clone()), j.verify_claims.clone().unwrap_or_default(), keys)
            }
            AuthenticationPolicy::Token(t) => {
                let (keys, add) = match &t.validation_policy {
                    TokenValidationPolicy::RemoteJwks {
                        uri,
                        max_cache_duration_in_hours,
                        is_ssl_verify_disabled,
                        additional_validation_policy,
                    } => (
                        remote(uri, *max_cache_duration_in_hours, *is_ssl_verify_disabled),
                        additional_validation_policy,
                    ),
                    TokenValidationPolicy::StaticKeys { keys, additional_validation_policy } => {
                        (statics(keys)?, additional_validation_policy)
                    }
                };
                let add = add.clone().unwrap_or_default();
                (add.issuers, add.audiences, add.verify_claims.unwrap_or_default(), keys)
            }
        };
        let leeway = skew.filter(|s| s.is_finite() && *s >= 0.0).map(|s| s.round() as u64).unwrap_or(0);
        Ok(Self { location, issuers, audiences, claims, leeway, anonymous_allowed: anon.unwrap_or(false), keys })
    }

    /// Describe where the token is expected, for messages.
    pub(crate) fn location_text(&self) -> String {
        match &self.location {
            TokenLocation::Header { name, scheme } => format!("header {name} ({scheme} scheme)"),
            TokenLocation::Query(q) => format!("query parameter {q}"),
        }
    }

    /// The token of a request, if present.
    pub(crate) fn extract(&self, headers: &http::HeaderMap, query: Option<&str>) -> Option<String> {
        match &self.location {
            TokenLocation::Header { name, scheme } => {
                let v = headers.get(name)?.to_str().ok()?.trim();
                if scheme.is_empty() {
                    return Some(v.to_string()).filter(|t| !t.is_empty());
                }
                let (s, t) = v.split_once(' ')?;
                (s.eq_ignore_ascii_case(scheme) && !t.trim().is_empty()).then(|| t.trim().to_string())
            }
            TokenLocation::Query(q) => {
                let raw = routing::query_value(query, q)?;
                let t = percent_encoding::percent_decode_str(&raw).decode_utf8().ok()?.to_string();
                Some(t).filter(|t| !t.is_empty())
            }
        }
    }

    /// The remote JWKS source, if any.
    pub(crate) fn jwks(&self) -> Option<&JwksCache> {
        match &self.keys {
            KeySource::Remote(c) => Some(c),
            KeySource::Static(_) => None,
        }
    }

    /// Validate a token; `client` fetches a remote JWKS. Fetches are reported in `fetches`.
    pub(crate) async fn verify(
        &self,
        token: &str,
        client: Option<&HttpClient>,
        fetches: &mut Vec<JwksFetch>,
    ) -> Result<Claims, AuthFailure> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthFailure::unauthorized(format!("malformed token: {e}")))?;
        let keys = match &self.keys {
            KeySource::Static(k) => k.clone(),
            KeySource::Remote(cache) => cache.keys(client, header.kid.as_deref(), fetches).await?,
        };
        let candidates: Vec<&KeyEntry> = keys
            .iter()
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(AuthFailure::unauthorized(format!(
                "no key with kid {:?} in the policy's key set",
                header.kid.unwrap_or_default()
            )));
        }
        let mut last = format!("algorithm {:?} is not allowed by any key", header.alg);
        for k in candidates.into_iter().filter(|k| k.algs.contains(&header.alg)) {
            let mut v = Validation::new(header.alg);
            v.leeway = self.leeway;
            v.validate_nbf = true;
            v.set_required_spec_claims(&["exp"]);
            match &self.issuers {
                Some(iss) if !iss.is_empty() => v.set_issuer(iss),
                _ => v.iss = None,
            }
            match &self.audiences {
                Some(aud) if !aud.is_empty() => v.set_audience(aud),
                _ => v.validate_aud = false,
            }
            match jsonwebtoken::decode::<Claims>(token, &k.key, &v) {
                Ok(data) => {
                    self.check_claims(&data.claims)?;
                    return Ok(data.claims);
                }
                Err(e) => {
                    last = describe(e.kind(), token);
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        // Signature verified with this key; the claims are wrong. No other key helps.
                        break;
                    }
                }
            }
        }
        Err(AuthFailure::unauthorized(last))
    }

    fn check_claims(&self, claims: &Claims) -> Result<(), AuthFailure> {
        for c in &self.claims {
            match claims.get(&c.key) {
                None if c.is_required.unwrap_or(false) => {
                    return Err(AuthFailure::unauthorized(format!("required claim {:?} is missing", c.key)));
                }
                None => {}
                Some(v) => {
                    let allowed = c.values.as_deref().unwrap_or_default();
                    if !allowed.is_empty() && !claim_strings(v).iter().any(|s| allowed.contains(s)) {
                        return Err(AuthFailure::unauthorized(format!(
                            "claim {:?} = {v} is not one of {allowed:?}",
                            c.key
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

fn claim_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(claim_strings).collect(),
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

/// The scopes of a token: `scope` (space-separated or array) and `scp`.
pub fn token_scopes(claims: &Claims) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["scope", "scp"] {
        match claims.get(key) {
            Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_string)),
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string))),
            _ => {}
        }
    }
    out
}

fn describe(kind: &ErrorKind, token: &str) -> String {
    // Unverified claims only to explain a refusal (signature already checked for these kinds).
    let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(token).ok().map(|d| d.claims).unwrap_or_default();
    match kind {
        ErrorKind::ExpiredSignature => {
            format!("token expired at {}", claims.get("exp").cloned().unwrap_or(Value::Null))
        }
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".to_string(),
        ErrorKind::InvalidIssuer => {
            format!("issuer {} is not accepted", claims.get("iss").cloned().unwrap_or(Value::Null))
        }
        ErrorKind::InvalidAudience => {
            format!("audience {} is not accepted", claims.get("aud").cloned().unwrap_or(Value::Null))
        }
        ErrorKind::InvalidSignature => "signature does not verify with the policy's keys".to_string(),
        ErrorKind::MissingRequiredClaim(c) => format!("required claim {c:?} is missing"),
        ErrorKind::InvalidAlgorithm => "token algorithm does not fit the key".to_string(),
        other => format!("token refused: {other:?}"),
    }
}

impl JwksCache {
    /// Keys, from cache or fetched; refetches early (at most once a minute) for an unknown kid.
    async fn keys(
        &self,
        client: Option<&HttpClient>,
        kid: Option<&str>,
        fetches: &mut Vec<JwksFetch>,
    ) -> Result<Arc<Vec<KeyEntry>>, AuthFailure> {
        let mut state = self.state.lock().await;
        if let Some((at, keys)) = state.as_ref() {
            let age = self.clock.since(*at);
            let fresh = age < self.ttl;
            let has_kid = kid.is_none_or(|k| keys.iter().any(|e| e.kid.as_deref() == Some(k)));
            if fresh && (has_kid || age < Duration::from_secs(60)) {
                return Ok(keys.clone());
            }
        }
        let Some(client) = client else {
            return Err(AuthFailure::unauthorized("no HTTP client to fetch the JWKS"));
        };
        let started = Instant::now();
        let result = client.get_json(&self.uri, &[("accept", "application/json")]).await;
        let outcome = match result {
            Err(e) => {
                let reason = format!("cannot fetch JWKS {}: {e}", self.uri);
                fetches.push(JwksFetch { uri: self.uri.clone(), result: Err(e), started, status_ok: false });
                return Err(AuthFailure::unauthorized(reason));
            }
            Ok((status, body)) => {
                let ok = status.is_success();
                fetches.push(JwksFetch { uri: self.uri.clone(), result: Ok(status.as_u16()), started, status_ok: ok });
                if !ok {
                    return Err(AuthFailure::unauthorized(format!(
                        "JWKS {} answered {status}; OCI API Gateway needs a JWKS readable without authentication",
                        self.uri
                    )));
                }
                body
            }
        };
        let set: JwkSet = serde_json::from_value(outcome)
            .map_err(|e| AuthFailure::unauthorized(format!("JWKS {} is not a JWK set: {e}", self.uri)))?;
        let keys = Arc::new(keys::from_jwks(&set));
        *state = Some((self.clock.now(), keys.clone()));
        Ok(keys)
    }
}
