//! JWT policies: REMOTE_JWKS fetched through the gateway's Dial and cached, STATIC_KEYS,
//! issuers, audiences, expiry with clock skew, verifyClaims, ANY_OF scopes, ANONYMOUS.

use crate::support::*;
use axum::{Json, Router, routing::get as get_route};
use hyok_core::{
    Outcome,
    client::StaticDial,
    pki::LabCa,
    server::{bind, serve},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio_util::sync::CancellationToken;

const IDCS_HOST: &str = "idcs-0123456789abcdef0123456789abcdef.identity.oraclecloud.com";
const ISSUER: &str = "https://identity.oraclecloud.com/";
const AUDIENCE: &str = "https://172.16.1.103/";

fn token(claims: Value, pem: &str) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("SIGNING_KEY".into());
    jsonwebtoken::encode(&h, &claims, &EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key")).expect("sign")
}

fn claims(extra: Value) -> Value {
    let now = hyok_core::unix_now();
    let mut c = json!({
        "iss": ISSUER, "aud": [AUDIENCE], "sub": "client-1", "sub_type": "client", "client_id": "client-1",
        "scope": "oci_ekms", "tok_type": "AT", "iat": now, "exp": now + 3600, "jti": "j1"
    });
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn signing_jwk() -> Value {
    let key = EncodingKey::from_rsa_pem(signing_rsa_pem().as_bytes()).expect("key");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk");
    jwk.common.key_id = Some("SIGNING_KEY".into());
    serde_json::to_value(jwk).expect("json")
}

#[tokio::test]
async fn remote_jwks_policy_enforced() {
    let w = World::new();
    let web_ca = LabCa::generate("Lab Public Root").expect("ca");
    let hits = Arc::new(AtomicUsize::new(0));
    let jwks = json!({"keys": [signing_jwk()]});
    let h2 = hits.clone();
    let idcs_router = Router::new().route(
        "/admin/v1/SigningCert/jwk",
        get_route(move || {
            let jwks = jwks.clone();
            let hits = h2.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                Json(jwks)
            }
        }),
    );
    let idcs_cert = web_ca.issue_server(&[IDCS_HOST]).expect("idcs cert");
    let idcs_tls = hyok_core::tls::server_config(&idcs_cert.chain_pem(), &idcs_cert.key_pem).expect("tls");
    let idcs = serve(
        bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind"),
        idcs_router,
        Some(idcs_tls),
        CancellationToken::new(),
    );

    let backend = echo_backend(&w.ctm_ca.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr).pin(IDCS_HOST, 443, idcs.local_addr));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string(), web_ca.cert_pem().to_string()]);
    let url = format!("https://{CTM_HOST}{EKM_PREFIX}/${{request.path[p]}}");
    let s = spec(json!({
        "requestPolicies": {"authentication": {
            "type": "JWT_AUTHENTICATION",
            "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
            "issuers": [ISSUER], "audiences": [AUDIENCE],
            "publicKeys": {"type": "REMOTE_JWKS", "uri": format!("https://{IDCS_HOST}/admin/v1/SigningCert/jwk"), "maxCacheDurationInHours": 1},
            "verifyClaims": [{"key": "sub_type", "values": ["client"], "isRequired": true}],
            "maxClockSkewInSeconds": 30,
            "isAnonymousAccessAllowed": true
        }},
        "routes": [
            {"path": "/admin/{p*}", "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": url},
             "requestPolicies": {"authorization": {"type": "ANY_OF", "allowedScope": ["oci_ekms_admin"]}}},
            {"path": "/public/{p*}", "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": url},
             "requestPolicies": {"authorization": {"type": "ANONYMOUS"}}},
            {"path": "/{p*}", "methods": ["GET", "POST"], "backend": {"type": "HTTP_BACKEND", "url": url},
             "requestPolicies": {"authorization": {"type": "ANY_OF", "allowedScope": ["oci_ekms", "other"]}}}
        ]
    }));
    gw.set_deployment("d", EKM_PREFIX, &s).expect("deploy");
    let server = serve_gateway(&gw).await;
    let c = w.client(&server);
    let pem = signing_rsa_pem();
    let path = format!("{EKM_PREFIX}/vaults/v/metadata");
    let bearer = |t: &str| format!("Bearer {t}");

    // Valid token: 200, the token reaches the backend, the JWKS was fetched once through the Dial.
    let good = token(claims(json!({})), &pem);
    let (st, _, v) = get(&c, &path, &[("authorization", &bearer(&good)), ("opc-request-id", "rid-jwt-ok")]).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["headers"]["authorization"], bearer(&good));
    let hops = w.events.by_request("rid-jwt-ok");
    assert!(hops.iter().any(|e| e.hop == "API gateway → JWKS" && e.outcome == Outcome::Ok), "{hops:?}");
    let (st, _, _) = get(&c, &path, &[("authorization", &bearer(&good))]).await;
    assert_eq!(st, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "JWKS is cached");
    // Cached for maxCacheDurationInHours (1), on the gateway's clock.
    w.clock.advance(Duration::from_secs(3599));
    assert_eq!(get(&c, &path, &[("authorization", &bearer(&good))]).await.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "still cached after 59:59");
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(get(&c, &path, &[("authorization", &bearer(&good))]).await.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "fetched again after an hour");

    // Missing, wrong scheme, wrong issuer, wrong audience, expired, bad claim, bad signature: 401.
    let (st, h, v) = get(&c, &path, &[("opc-request-id", "rid-missing")]).await;
    assert_eq!(st, 401);
    assert_eq!(v, json!({"code": 401, "message": "Unauthorized"}));
    assert_eq!(h.get("www-authenticate").expect("challenge"), "Bearer");
    assert!(w.events.by_request("rid-missing").iter().any(|e| e.reason.contains("no token in header authorization")));
    let cases: Vec<(&str, String, &str)> = vec![
        ("scheme", format!("Basic {good}"), "no token"),
        ("issuer", bearer(&token(claims(json!({"iss": "https://evil.example/"})), &pem)), "issuer"),
        ("audience", bearer(&token(claims(json!({"aud": "https://10.0.0.1/"})), &pem)), "audience"),
        ("expired", bearer(&token(claims(json!({"exp": hyok_core::unix_now() - 600})), &pem)), "expired"),
        ("claim", bearer(&token(claims(json!({"sub_type": "user"})), &pem)), "sub_type"),
        ("signature", bearer(&token(claims(json!({})), &gateway_rsa_pem())), "signature"),
        ("garbage", "Bearer not-a-jwt".to_string(), "malformed"),
    ];
    for (name, auth, why) in cases {
        let rid = format!("rid-401-{name}");
        let (st, _, v) = get(&c, &path, &[("authorization", &auth), ("opc-request-id", &rid)]).await;
        assert_eq!(st, 401, "{name}: {v}");
        let hops = w.events.by_request(&rid);
        assert!(hops.iter().any(|e| e.status == Some(401) && e.reason.contains(why)), "{name}: {hops:?}");
        assert!(!hops.iter().any(|e| e.hop == "API gateway → backend"), "{name} reached the backend");
    }
    // Expired but within maxClockSkewInSeconds.
    let (st, _, _) =
        get(&c, &path, &[("authorization", &bearer(&token(claims(json!({"exp": hyok_core::unix_now() - 5})), &pem)))])
            .await;
    assert_eq!(st, 200);

    // ANY_OF: a token without the admin scope is authenticated but not authorized.
    let (st, _, v) = get(
        &c,
        &format!("{EKM_PREFIX}/admin/x"),
        &[("authorization", &bearer(&good)), ("opc-request-id", "rid-scope")],
    )
    .await;
    assert_eq!(st, 403);
    assert_eq!(v, json!({"code": 403, "message": "Forbidden"}));
    assert!(w.events.by_request("rid-scope").iter().any(|e| e.reason.contains("allowedScope")));
    let admin = token(claims(json!({"scope": "oci_ekms oci_ekms_admin"})), &pem);
    let (st, _, _) = get(&c, &format!("{EKM_PREFIX}/admin/x"), &[("authorization", &bearer(&admin))]).await;
    assert_eq!(st, 200);

    // ANONYMOUS route with isAnonymousAccessAllowed: no token needed; a bad one is still refused.
    let (st, _, _) = get(&c, &format!("{EKM_PREFIX}/public/x"), &[]).await;
    assert_eq!(st, 200);
    let (st, _, _) = get(&c, &format!("{EKM_PREFIX}/public/x"), &[("authorization", "Bearer junk")]).await;
    assert_eq!(st, 401);
    server.shutdown().await;
    backend.shutdown().await;
    idcs.shutdown().await;
}

#[tokio::test]
async fn unreachable_jwks_is_401_with_the_reason_in_the_hop() {
    let w = World::new();
    let backend = echo_backend(&w.ctm_ca.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial =
        Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr).pin(IDCS_HOST, 443, dead_addr().await));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string()]);
    let s = spec(json!({
        "requestPolicies": {"authentication": {
            "type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
            "validationPolicy": {"type": "REMOTE_JWKS", "uri": format!("https://{IDCS_HOST}/admin/v1/SigningCert/jwk")}
        }},
        "routes": [{"path": "/{p*}", "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/${{request.path[p]}}")}}]
    }));
    gw.set_deployment("d", "/k", &s).expect("deploy");
    let server = serve_gateway(&gw).await;
    let good = token(claims(json!({})), &signing_rsa_pem());
    let (st, _, _) = get(
        &w.client(&server),
        "/k/x",
        &[("authorization", &format!("Bearer {good}")), ("opc-request-id", "rid-jwks-down")],
    )
    .await;
    assert_eq!(st, 401);
    let hops = w.events.by_request("rid-jwks-down");
    let fetch = hops.iter().find(|e| e.hop == "API gateway → JWKS").expect("jwks hop");
    assert_eq!(fetch.outcome, Outcome::Unreachable);
    server.shutdown().await;
    backend.shutdown().await;
}

#[tokio::test]
async fn token_authentication_with_static_pem_keys_and_query_token() {
    let w = World::new();
    let backend = echo_backend(&w.ctm_ca.issue_server(&[CTM_HOST]).expect("cert")).await;
    let dial = Arc::new(StaticDial::new().pin(CTM_HOST, 443, backend.local_addr));
    let gw = w.gateway(dial, vec![w.ctm_ca.cert_pem().to_string()]);
    let public_pem = {
        use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
        let k = rsa::PrivateKey::from_pkcs8_pem(&signing_rsa_pem()).expect("key");
        k.to_public_key().to_public_key_pem(LineEnding::LF).expect("pem")
    };
    let s = spec(json!({
        "requestPolicies": {"authentication": {
            "type": "TOKEN_AUTHENTICATION", "tokenQueryParam": "access_token",
            "validationPolicy": {"type": "STATIC_KEYS", "keys": [{"format": "PEM", "kid": "SIGNING_KEY", "key": public_pem}],
                "additionalValidationPolicy": {"issuers": [ISSUER], "audiences": [AUDIENCE]}}
        }},
        "routes": [{"path": "/{p*}", "backend": {"type": "HTTP_BACKEND", "url": format!("https://{CTM_HOST}/${{request.path[p]}}")}}]
    }));
    gw.set_deployment("d", "/s", &s).expect("deploy");
    let server = serve_gateway(&gw).await;
    let c = w.client(&server);
    let good = token(claims(json!({})), &signing_rsa_pem());
    let (st, _, v) = get(&c, &format!("/s/x?access_token={good}&y=2"), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(v["query"], format!("access_token={good}&y=2"));
    let forged = token(claims(json!({})), &gateway_rsa_pem());
    let (st, _, _) = get(&c, &format!("/s/x?access_token={forged}"), &[]).await;
    assert_eq!(st, 401);
    let (st, _, _) = get(&c, "/s/x", &[("authorization", &format!("Bearer {good}"))]).await;
    assert_eq!(st, 401, "token is expected in the query parameter");
    server.shutdown().await;
    backend.shutdown().await;
}
