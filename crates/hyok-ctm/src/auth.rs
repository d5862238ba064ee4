//! `POST /api/v1/auth/tokens`: password grant (and the legacy `{name,password}` body), refresh
//! grant, HS256 management JWTs with CTM's claims, and the middleware that checks them.

use crate::error::CtmError;
use crate::reject::CtmBody;
use crate::{Ctm, CtmLabError, util};
use axum::{
    Json, Router,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{patch, post},
};
use hyok_core::unix_now;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::{collections::HashMap, sync::Arc};

/// Lifetime of a management JWT (CTM: 5 minutes).
const JWT_TTL: i64 = 300;
/// The issuer CTM writes into its own tokens.
const ISSUER: &str = "kylo";
/// Most refresh tokens kept; the oldest are dropped beyond this.
const MAX_REFRESH_TOKENS: usize = 10_000;

struct User {
    id: String,
    name: String,
    salt: [u8; 16],
    hash: [u8; 32],
}

struct Refresh {
    id: String,
    user_id: String,
    username: String,
    client_id: String,
    seq: u64,
}

pub(crate) struct AuthState {
    user: RwLock<User>,
    initial: (String, String),
    enc: EncodingKey,
    dec: DecodingKey,
    refresh: Mutex<(u64, HashMap<String, Refresh>)>,
}

/// Claims of a CTM management JWT (as decoded from the token printed in Thales docs).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MgmtClaims {
    pub iss: String,
    pub acc: String,
    pub aud: String,
    pub sub: String,
    pub preferred_username: String,
    pub cust: Cust,
    pub jwtid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Cust {
    pub domain_id: String,
    pub groups: Vec<String>,
    pub sid: String,
    pub zone_id: String,
}

fn hash_pw(salt: &[u8; 16], pw: &str) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(salt);
    h.update(pw.as_bytes());
    h.finalize().into()
}

/// CTM's default password policy: 8–30 characters, upper, lower, digit and other.
fn policy_ok(pw: &str) -> bool {
    let n = pw.chars().count();
    (8..=30).contains(&n)
        && pw.chars().any(|c| c.is_ascii_uppercase())
        && pw.chars().any(|c| c.is_ascii_lowercase())
        && pw.chars().any(|c| c.is_ascii_digit())
        && pw.chars().any(|c| !c.is_ascii_alphanumeric())
}

fn generate_password() -> String {
    // A policy-conforming password: random core plus one of each required class.
    let core = hyok_core::ids::secret(16).replace(['-', '_'], "x");
    format!("Ct{core}7!")
}

impl AuthState {
    pub(crate) fn new(username: &str, password: Option<String>) -> Result<Self, CtmLabError> {
        let password = password.unwrap_or_else(generate_password);
        if !policy_ok(&password) {
            return Err(CtmLabError::Config(
                "admin_password must be 8-30 characters with upper, lower, digit and other".into(),
            ));
        }
        let salt: [u8; 16] = rand::random();
        let secret: [u8; 32] = rand::random();
        let user =
            User { id: hyok_core::ids::uuid(), name: username.to_string(), salt, hash: hash_pw(&salt, &password) };
        Ok(Self {
            user: RwLock::new(user),
            initial: (username.to_string(), password),
            enc: EncodingKey::from_secret(&secret)
                .map_err(|e| CtmLabError::Keygen(format!("management JWT key: {e}")))?,
            dec: DecodingKey::from_secret(&secret)
                .map_err(|e| CtmLabError::Keygen(format!("management JWT key: {e}")))?,
            refresh: Mutex::new((0, HashMap::new())),
        })
    }

    pub(crate) fn initial_credentials(&self) -> (String, String) {
        self.initial.clone()
    }

    fn check_password(&self, username: &str, password: &str) -> Option<(String, String)> {
        let u = self.user.read();
        let ok_name = u.name == username;
        let ok_pw = hash_pw(&u.salt, password) == u.hash;
        (ok_name && ok_pw).then(|| (u.id.clone(), u.name.clone()))
    }

    fn mint(&self, user_id: &str, username: &str, client_id: &str) -> Result<String, CtmError> {
        let now = unix_now();
        let claims = MgmtClaims {
            iss: ISSUER.into(),
            acc: "kylo".into(),
            aud: client_id.into(),
            sub: format!("local|{user_id}"),
            preferred_username: username.into(),
            cust: Cust {
                domain_id: "00000000-0000-0000-0000-000000000000".into(),
                groups: vec!["admin".into()],
                sid: hyok_core::ids::uuid(),
                zone_id: "00000000-0000-0000-0000-000000000000".into(),
            },
            jwtid: hyok_core::ids::uuid(),
            iat: now,
            exp: now + JWT_TTL,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.enc).map_err(CtmError::internal)
    }

    fn new_refresh(&self, user_id: &str, username: &str, client_id: &str) -> String {
        let token = hyok_core::ids::secret(64);
        let mut g = self.refresh.lock();
        g.0 += 1;
        let seq = g.0;
        if g.1.len() >= MAX_REFRESH_TOKENS
            && let Some(oldest) = g.1.iter().min_by_key(|(_, r)| r.seq).map(|(k, _)| k.clone())
        {
            g.1.remove(&oldest);
        }
        g.1.insert(
            token.clone(),
            Refresh {
                id: hyok_core::ids::uuid(),
                user_id: user_id.into(),
                username: username.into(),
                client_id: client_id.into(),
                seq,
            },
        );
        token
    }

    fn refresh_id(&self, token: &str) -> Option<String> {
        self.refresh.lock().1.get(token).map(|r| r.id.clone())
    }

    /// Verify a management JWT (HS256 only, issuer `kylo`, not expired).
    pub(crate) fn verify(&self, token: &str) -> Result<MgmtClaims, String> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.validate_aud = false;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<MgmtClaims>(token, &self.dec, &v).map(|d| d.claims).map_err(|e| e.to_string())
    }
}

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route("/api/v1/auth/tokens", post(tokens))
        .route("/api/v1/auth/tokens/", post(tokens))
        .route("/api/v1/auth/changepw", patch(changepw))
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    name: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    domain: Option<String>,
    connection: Option<String>,
}

async fn tokens(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: TokenRequest = util::parse_json(&body)?;
    if let Some(d) = req.domain.as_deref()
        && !d.is_empty()
        && d != "root"
    {
        return Err(CtmError::unauthorized("Wrong username or password."));
    }
    if let Some(c) = req.connection.as_deref()
        && !c.is_empty()
        && c != "local_account"
    {
        return Err(CtmError::unauthorized("Wrong username or password."));
    }
    let grant = req.grant_type.as_deref().unwrap_or("password");
    let auth = &ctm.auth;
    let (user_id, username, client_id, refresh) = match grant {
        "password" => {
            let username = req.username.or(req.name).unwrap_or_default();
            let password = req.password.unwrap_or_default();
            let (uid, uname) = auth
                .check_password(&username, &password)
                .ok_or_else(|| CtmError::unauthorized("Wrong username or password."))?;
            let client_id = hyok_core::ids::uuid();
            let refresh = auth.new_refresh(&uid, &uname, &client_id);
            (uid, uname, client_id, refresh)
        }
        "refresh_token" => {
            let rt = req.refresh_token.unwrap_or_default();
            let g = auth.refresh.lock();
            let r = g.1.get(&rt).ok_or_else(|| CtmError::unauthorized("Invalid refresh token"))?;
            // Real CTM hands back the same refresh token (no rotation).
            (r.user_id.clone(), r.username.clone(), r.client_id.clone(), rt.clone())
        }
        other => return Err(CtmError::invalid_param(format!("unsupported grant_type {other:?}"))),
    };
    let jwt = auth.mint(&user_id, &username, &client_id)?;
    let body = serde_json::json!({
        "jwt": jwt,
        "duration": JWT_TTL,
        "token_type": "Bearer",
        "client_id": client_id,
        "refresh_token_id": auth.refresh_id(&refresh),
        "refresh_token": refresh,
        // 0: the refresh token does not expire (CTM's default for API clients).
        "refresh_token_expires_in": 0,
    });
    Ok((http::StatusCode::OK, Json(body)).into_response())
}

#[derive(Deserialize)]
struct ChangePw {
    username: String,
    password: String,
    new_password: String,
}

async fn changepw(State(ctm): State<Arc<Ctm>>, CtmBody(body): CtmBody) -> Result<http::StatusCode, CtmError> {
    let req: ChangePw = util::parse_json(&body)?;
    let auth = &ctm.auth;
    if auth.check_password(&req.username, &req.password).is_none() {
        return Err(CtmError::unauthorized("Wrong username or password."));
    }
    if !policy_ok(&req.new_password) {
        return Err(CtmError::invalid_param(
            "Password must be 8-30 characters and contain an upper-case letter, a lower-case letter, a digit and another character",
        ));
    }
    let mut u = auth.user.write();
    let salt: [u8; 16] = rand::random();
    u.salt = salt;
    u.hash = hash_pw(&salt, &req.new_password);
    Ok(http::StatusCode::NO_CONTENT)
}

/// Middleware: management endpoints need `Authorization: Bearer <CTM JWT>`.
pub(crate) async fn require_token(State(ctm): State<Arc<Ctm>>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return CtmError::unauthorized("Token is missing").into_response();
    };
    match ctm.auth.verify(token) {
        Ok(_) => next.run(req).await,
        Err(reason) => {
            tracing::debug!(%reason, "management token rejected");
            CtmError::unauthorized("Invalid token").into_response()
        }
    }
}
