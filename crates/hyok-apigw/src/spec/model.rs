//! The `ApiSpecification` serde types.

use crate::keys::{self, KeyEntry};
use serde::{Deserialize, Serialize};

/// A deployment specification: deployment-wide request policies and the routes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSpecification {
    /// Policies applied to every route (authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_policies: Option<ApiSpecificationRequestPolicies>,
    /// Logging policies; accepted and stored, the lab always writes its own access log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_policies: Option<serde_json::Value>,
    /// The routes, matched below the deployment's path prefix.
    #[serde(default)]
    pub routes: Vec<ApiSpecificationRoute>,
}

/// Deployment-wide request policies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSpecificationRequestPolicies {
    /// How callers authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<AuthenticationPolicy>,
}

/// `requestPolicies.authentication`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AuthenticationPolicy {
    /// The older JWT policy (issuers, audiences and keys at the top level).
    #[serde(rename = "JWT_AUTHENTICATION")]
    Jwt(JwtAuthenticationPolicy),
    /// The newer token policy (keys and claims under `validationPolicy`).
    #[serde(rename = "TOKEN_AUTHENTICATION")]
    Token(TokenAuthenticationPolicy),
}

/// `JWT_AUTHENTICATION`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtAuthenticationPolicy {
    /// Header that carries the token (e.g. `Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// Query parameter that carries the token, instead of a header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_query_param: Option<String>,
    /// Scheme before the token in the header (e.g. `Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_auth_scheme: Option<String>,
    /// Accepted `iss` values.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted `aud` values (one match is enough).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Where the verification keys come from.
    pub public_keys: PublicKeySet,
    /// Extra claims to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_claims: Option<Vec<JsonWebTokenClaim>>,
    /// Clock skew tolerated on `exp`/`nbf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_clock_skew_in_seconds: Option<f32>,
    /// Let requests without a token through to `ANONYMOUS` routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_anonymous_access_allowed: Option<bool>,
}

/// `TOKEN_AUTHENTICATION`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenAuthenticationPolicy {
    /// Header that carries the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// Query parameter that carries the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_query_param: Option<String>,
    /// Scheme before the token in the header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_auth_scheme: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_clock_skew_in_seconds: Option<f32>,
    /// Let requests without a token through to `ANONYMOUS` routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_anonymous_access_allowed: Option<bool>,
    /// How tokens are validated.
    pub validation_policy: TokenValidationPolicy,
}

/// `TOKEN_AUTHENTICATION.validationPolicy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum TokenValidationPolicy {
    /// Keys fetched from a JWKS URI.
    #[serde(rename = "REMOTE_JWKS", rename_all = "camelCase")]
    RemoteJwks {
        /// The JWKS URI; must be reachable without authentication.
        uri: String,
        /// Cache lifetime of the fetched set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_cache_duration_in_hours: Option<i64>,
        /// Skip TLS verification of the JWKS host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_ssl_verify_disabled: Option<bool>,
        /// Issuers, audiences and claims to check.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        additional_validation_policy: Option<AdditionalValidationPolicy>,
    },
    /// Keys given inline.
    #[serde(rename = "STATIC_KEYS", rename_all = "camelCase")]
    StaticKeys {
        /// The keys.
        #[serde(default)]
        keys: Vec<StaticPublicKey>,
        /// Issuers, audiences and claims to check.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        additional_validation_policy: Option<AdditionalValidationPolicy>,
    },
}

/// `additionalValidationPolicy` of a token validation policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdditionalValidationPolicy {
    /// Accepted `iss` values; none means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuers: Option<Vec<String>>,
    /// Accepted `aud` values; none means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Extra claims to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_claims: Option<Vec<JsonWebTokenClaim>>,
}

/// `publicKeys` of a JWT policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PublicKeySet {
    /// Keys fetched from a JWKS URI.
    #[serde(rename = "REMOTE_JWKS", rename_all = "camelCase")]
    RemoteJwks {
        /// The JWKS URI; must be reachable without authentication.
        uri: String,
        /// Cache lifetime of the fetched set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_cache_duration_in_hours: Option<i64>,
        /// Skip TLS verification of the JWKS host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_ssl_verify_disabled: Option<bool>,
    },
    /// Keys given inline.
    #[serde(rename = "STATIC_KEYS")]
    StaticKeys {
        /// The keys.
        #[serde(default)]
        keys: Vec<StaticPublicKey>,
    },
}

/// One inline public key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", deny_unknown_fields)]
pub enum StaticPublicKey {
    /// A JWK (RSA: `n`, `e`).
    #[serde(rename = "JSON_WEB_KEY", rename_all = "camelCase")]
    JsonWebKey {
        /// Key id, matched against the token's `kid`.
        kid: String,
        /// Key type; the lab supports `RSA`.
        kty: String,
        /// Intended use (`sig`).
        #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
        use_: Option<String>,
        /// Operations (`verify`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_ops: Option<Vec<String>>,
        /// Algorithm (`RS256`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alg: Option<String>,
        /// RSA modulus, base64url.
        n: String,
        /// RSA exponent, base64url.
        e: String,
    },
    /// A PEM public key.
    #[serde(rename = "PEM")]
    Pem {
        /// Key id, matched against the token's `kid`.
        kid: String,
        /// PEM text (`-----BEGIN PUBLIC KEY-----`).
        key: String,
    },
}

impl StaticPublicKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        match self {
            StaticPublicKey::JsonWebKey { kid, .. } | StaticPublicKey::Pem { kid, .. } => kid,
        }
    }

    /// The key as a verifier uses it (validation calls it too, so a bad key is refused early).
    pub(crate) fn verification_key(&self) -> Result<KeyEntry, String> {
        match self {
            StaticPublicKey::JsonWebKey { kid, kty, alg, n, e, .. } => {
                keys::from_rsa_jwk(kid, kty, alg.as_deref(), n, e)
            }
            StaticPublicKey::Pem { kid, key } => keys::from_pem(kid, key),
        }
    }
}

/// One entry of `verifyClaims`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonWebTokenClaim {
    /// Claim name.
    pub key: String,
    /// Accepted values; empty or absent means any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The claim must be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_required: Option<bool>,
}

/// One route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSpecificationRoute {
    /// Path below the prefix, with `{name}` and `{name*}` parameters.
    pub path: String,
    /// Allowed methods; absent means `ANY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Where matching requests go.
    pub backend: ApiSpecificationRouteBackend,
    /// Route policies (authorization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_policies: Option<ApiSpecificationRouteRequestPolicies>,
    /// Logging policies; accepted and stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_policies: Option<serde_json::Value>,
}

/// A route's backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ApiSpecificationRouteBackend {
    /// Proxy to an HTTP(S) URL.
    #[serde(rename = "HTTP_BACKEND")]
    Http(HttpBackend),
    /// Answer with a fixed response.
    #[serde(rename = "STOCK_RESPONSE_BACKEND")]
    StockResponse(StockResponseBackend),
}

/// `HTTP_BACKEND`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpBackend {
    /// Backend URL, may use `${request.path[x]}`, `${request.query[x]}`, `${request.headers[x]}`.
    pub url: String,
    /// Seconds to establish the connection (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_in_seconds: Option<f32>,
    /// Seconds to wait for the response (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout_in_seconds: Option<f32>,
    /// Seconds to transmit the request (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_timeout_in_seconds: Option<f32>,
    /// Skip verification of the backend's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ssl_verify_disabled: Option<bool>,
}

/// Default and bounds of the backend timeouts (seconds): (default, min, max).
pub const CONNECT_TIMEOUT: (f32, f32, f32) = (60.0, 1.0, 75.0);
/// Read timeout: (default, min, max).
pub const READ_TIMEOUT: (f32, f32, f32) = (10.0, 1.0, 300.0);
/// Send timeout: (default, min, max).
pub const SEND_TIMEOUT: (f32, f32, f32) = (10.0, 1.0, 300.0);

impl HttpBackend {
    /// Connect timeout with the default applied.
    pub fn connect_timeout(&self) -> std::time::Duration {
        secs(self.connect_timeout_in_seconds, CONNECT_TIMEOUT.0)
    }
    /// Read timeout with the default applied.
    pub fn read_timeout(&self) -> std::time::Duration {
        secs(self.read_timeout_in_seconds, READ_TIMEOUT.0)
    }
    /// Send timeout with the default applied.
    pub fn send_timeout(&self) -> std::time::Duration {
        secs(self.send_timeout_in_seconds, SEND_TIMEOUT.0)
    }
    /// True unless `isSslVerifyDisabled` is set.
    pub fn verify_tls(&self) -> bool {
        !self.is_ssl_verify_disabled.unwrap_or(false)
    }
}

fn secs(v: Option<f32>, default: f32) -> std::time::Duration {
    let v = v.filter(|v| v.is_finite() && *v > 0.0).unwrap_or(default);
    std::time::Duration::from_secs_f32(v)
}

/// `STOCK_RESPONSE_BACKEND`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StockResponseBackend {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<HeaderFieldSpecification>>,
}

/// A `{name, value}` header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFieldSpecification {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Route request policies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSpecificationRouteRequestPolicies {
    /// Who may call this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<RouteAuthorizationPolicy>,
}

/// `route.requestPolicies.authorization`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum RouteAuthorizationPolicy {
    /// The token's `scope` must contain one of these.
    #[serde(rename = "ANY_OF", rename_all = "camelCase")]
    AnyOf {
        /// Accepted scopes (case-sensitive).
        allowed_scope: Vec<String>,
    },
    /// Any authenticated caller (the default when authentication is configured).
    #[serde(rename = "AUTHENTICATION_ONLY")]
    AuthenticationOnly,
    /// Callers without a token too (needs `isAnonymousAccessAllowed`).
    #[serde(rename = "ANONYMOUS")]
    Anonymous,
}

/// Methods OCI accepts in `routes[].methods`.
pub const METHODS: [&str; 8] = ["ANY", "HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
