//! Access-token checks on the vendor API: each rejection is a 401 with a reason and a hop event.

use crate::support::{Lab, Setup, good_claims, keys, mint, mint_with, now};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::StatusCode;
use hyok_core::Outcome;
use hyok_ctm::CtmConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Call vault metadata with `token`; assert a 401 whose message and hop event name `reason`.
async fn rejected(lab: &Lab, s: &Setup, token: &str, reason: &str) {
    let rid = format!("tok-{}", hyok_core::ids::hex32());
    let (st, _, body) = lab
        .call(
            "GET",
            &format!("{}/metadata", s.endpoint_url),
            &[("authorization", &format!("Bearer {token}")), ("opc-request-id", &rid)],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "expected 401 for {reason}: {body}");
    assert_eq!(body["code"], "401");
    let msg = body["message"].as_str().expect("message");
    assert!(msg.contains(reason), "message {msg:?} should mention {reason:?}");
    // A rejection may come with a JWKS refetch hop; exactly one hop is the token check.
    let hops: Vec<_> =
        lab.events.by_request(&rid).into_iter().filter(|h| h.hop.contains("access token check")).collect();
    assert_eq!(hops.len(), 1, "one token-check hop event per rejection");
    assert_eq!(hops[0].outcome, Outcome::Error);
    assert_eq!(hops[0].status, Some(401));
    assert!(hops[0].reason.contains(reason), "{}", hops[0].reason);
}

async fn accepted(lab: &Lab, s: &Setup, token: &str) {
    let (st, _, body) = lab.ekm("GET", &format!("{}/metadata", s.endpoint_url), token, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

fn with(overrides: Value) -> Value {
    let mut c = good_claims();
    for (k, v) in overrides.as_object().expect("object") {
        if v.is_null() {
            c.as_object_mut().expect("object").remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[tokio::test]
async fn good_token_is_accepted_with_skew() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    accepted(&lab, &s, &mint(&good_claims())).await;
    // Within the 60 s skew on both ends.
    accepted(&lab, &s, &mint(&with(json!({"exp": now() - 30, "nbf": now() + 30})))).await;
    // Audience as an array, scope among others, client id only in sub.
    accepted(
        &lab,
        &s,
        &mint(&with(
            json!({"aud": ["urn:other", "https://10.222.10.21/"], "scope": "openid oci_ekms", "client_id": null}),
        )),
    )
    .await;
}

#[tokio::test]
async fn forged_tokens_are_rejected() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    rejected(&lab, &s, "", "missing bearer token").await;

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good_claims()).expect("json"));
    rejected(&lab, &s, &format!("{header}.{payload}."), "only RS256").await;

    // HS256 signed with the RSA public key as the HMAC secret (key-confusion attack).
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(keys().0.kid.clone());
    let confused = jsonwebtoken::encode(
        &h,
        &good_claims(),
        &EncodingKey::from_secret(keys().0.public_pem.as_bytes()).expect("hmac key"),
    )
    .expect("sign");
    rejected(&lab, &s, &confused, "HS256").await;

    let good = mint(&good_claims());
    let (head, sig) = good.rsplit_once('.').expect("jwt");
    let mut sig: Vec<char> = sig.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    rejected(&lab, &s, &format!("{head}.{}", sig.into_iter().collect::<String>()), "signature").await;

    // Claims changed after signing.
    let (h64, rest) = good.split_once('.').expect("jwt");
    let (_, sig) = rest.split_once('.').expect("jwt");
    let evil = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(json!({"client_id": "attacker"}))).expect("json"));
    rejected(&lab, &s, &format!("{h64}.{evil}.{sig}"), "signature").await;
    rejected(&lab, &s, "garbage", "only RS256").await;
}

#[tokio::test]
async fn claim_checks_reject_with_reasons() {
    let lab = Lab::start().await;
    let s = lab.setup().await;
    rejected(&lab, &s, &mint(&with(json!({"exp": now() - 120}))), "expired").await;
    rejected(&lab, &s, &mint(&with(json!({"exp": null}))), "no exp").await;
    rejected(&lab, &s, &mint(&with(json!({"nbf": now() + 600}))), "not valid before").await;
    rejected(&lab, &s, &mint(&with(json!({"iss": "https://idcs-0000.identity.oraclecloud.com:443"}))), "issuer").await;
    rejected(&lab, &s, &mint(&with(json!({"aud": "https://10.0.0.99/"}))), "audience").await;
    rejected(
        &lab,
        &s,
        &mint(&with(json!({"client_id": "someone-else", "sub": "someone-else"}))),
        "not the vault's client application",
    )
    .await;
    rejected(&lab, &s, &mint(&with(json!({"scope": "urn:opc:idm:__myscopes__"}))), "scope").await;
    rejected(&lab, &s, &mint(&with(json!({"scope": null}))), "scope").await;
    // Every rejected call is audited as a failure.
    let (_, recs) = lab.mgmt("GET", "/api/v1/audit/records?result=failure", None).await;
    assert_eq!(recs["total"], 8);
}

#[tokio::test]
async fn audience_check_can_be_switched_off() {
    let cfg = CtmConfig { check_audience: false, ..CtmConfig::default() };
    let lab = Lab::start_with(cfg, false).await;
    let s = lab.setup().await;
    accepted(&lab, &s, &mint(&with(json!({"aud": "https://10.0.0.99/"})))).await;
}

#[tokio::test]
async fn unknown_kid_refetches_jwks_at_most_once_per_interval() {
    let clock = hyok_core::Clock::manual();
    let cfg = CtmConfig { jwks_refetch_min_secs: 2, clock: clock.clone(), ..CtmConfig::default() };
    let lab = Lab::start_with(cfg, false).await;
    let s = lab.setup().await;
    let fetches = || lab.idp.state.jwks_fetches.load(Ordering::SeqCst);
    assert_eq!(fetches(), 1);
    // The IdP rotates in a second key; right after the issuer was created no refetch happens.
    lab.idp.state.jwks.write().push(keys().1.jwk.clone());
    let t2 = mint_with(&keys().1, &good_claims());
    rejected(&lab, &s, &t2, "not in the issuer's JWKS").await;
    assert_eq!(fetches(), 1);
    clock.advance(std::time::Duration::from_millis(2100));
    // After the interval the unknown kid triggers one refetch and the new key is trusted.
    accepted(&lab, &s, &t2).await;
    assert_eq!(fetches(), 2);
    // A kid the IdP does not have: one refetch per interval, no matter how many calls.
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("NOT_A_KEY".into());
    let t3 = jsonwebtoken::encode(&h, &good_claims(), &keys().0.enc).expect("sign");
    for _ in 0..5 {
        rejected(&lab, &s, &t3, "not in the issuer's JWKS").await;
    }
    assert_eq!(fetches(), 2);
    clock.advance(std::time::Duration::from_millis(2100));
    for _ in 0..3 {
        rejected(&lab, &s, &t3, "not in the issuer's JWKS").await;
    }
    assert_eq!(fetches(), 3);
    // The original key still works.
    accepted(&lab, &s, &mint(&good_claims())).await;
}
