//! Specification parsing and validation messages name the offending field.

use crate::support::*;
use hyok_apigw::{GatewayError, parse_specification, spec::SpecError, validate};
use hyok_core::client::StaticDial;
use serde_json::{Value, json};
use std::sync::Arc;

fn errors(v: Value, prefix: &str) -> Vec<SpecError> {
    let s = parse_specification(&v).expect("parses");
    validate(&s, prefix).expect_err("invalid")
}

fn has(errs: &[SpecError], field: &str, needle: &str) -> bool {
    errs.iter().any(|e| e.field == field && e.message.contains(needle))
}

fn http_route(path: &str, url: &str) -> Value {
    json!({"path": path, "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": url}})
}

#[test]
fn tutorial_deployment_is_valid_and_round_trips() {
    let s = tutorial_spec();
    validate(&s, EKM_PREFIX).expect("tutorial spec is valid");
    let v = serde_json::to_value(&s).expect("json");
    assert_eq!(v["routes"][0]["backend"]["type"], "HTTP_BACKEND");
    assert_eq!(v["routes"][0]["methods"], json!(["GET", "POST"]));
    assert_eq!(parse_specification(&v).expect("again"), s);
}

#[test]
fn parse_errors_name_the_field() {
    let e = parse_specification(
        &json!({"routes": [{"path": "/x", "backend": {"type": "HTTP_BACKEND", "url": "https://a/", "bogus": 1}}]}),
    )
    .expect_err("unknown field");
    assert!(e.field.starts_with("specification.routes[0].backend"), "{e}");
    assert!(e.message.contains("bogus"), "{e}");
    let e = parse_specification(
        &json!({"routes": [{"path": "/x", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "f"}}]}),
    )
    .expect_err("unsupported backend");
    assert!(e.to_string().contains("ORACLE_FUNCTIONS_BACKEND"), "{e}");
    let e = parse_specification(&json!({"routes": [{"backend": {"type": "HTTP_BACKEND", "url": "https://a/"}}]}))
        .expect_err("no path");
    assert_eq!(e.field, "specification.routes[0]");
    assert!(e.message.contains("path"), "{e}");
    let e = parse_specification(&json!({"routes": [{"path": "/x", "backend": {"type": "HTTP_BACKEND", "url": "https://a/", "readTimeoutInSeconds": "ten"}}]}))
        .expect_err("wrong type");
    assert_eq!(e.field, "specification.routes[0].backend.readTimeoutInSeconds");
}

#[test]
fn path_prefix_rules() {
    let ok = json!({"routes": [http_route("/x", "https://a/")]});
    assert!(has(&errors(ok.clone(), "api/v1"), "pathPrefix", "must start with '/'"));
    assert!(has(&errors(ok.clone(), "/api/v1/"), "pathPrefix", "must not end with '/'"));
    assert!(has(&errors(ok.clone(), "/api//v1"), "pathPrefix", "adjacent"));
    assert!(has(&errors(ok.clone(), "/api/{v}"), "pathPrefix", "parameters"));
    assert!(has(&errors(ok.clone(), "/api v1"), "pathPrefix", "not allowed"));
    let s = parse_specification(&ok).expect("parses");
    validate(&s, "/").expect("a lone slash is a valid prefix");
    validate(&s, "/api/v1").expect("valid");
}

#[test]
fn route_and_backend_rules() {
    let e = errors(
        json!({"routes": [
            http_route("x", "https://a/"),
            http_route("/a/{rest*}/b", "https://a/"),
            http_route("/a/{id}", "https://a/${request.path[nope]}"),
            {"path": "/m", "methods": ["FETCH"], "backend": {"type": "HTTP_BACKEND", "url": "https://a/"}},
            {"path": "/t", "backend": {"type": "HTTP_BACKEND", "url": "https://a/", "readTimeoutInSeconds": 0, "connectTimeoutInSeconds": 500}},
            http_route("/h", "https://${request.headers[host]}/x"),
            http_route("/p/{bad-name}", "https://a/"),
            http_route("/dup", "https://a/"),
            http_route("/dup", "https://b/")
        ]}),
        "/api",
    );
    assert!(has(&e, "specification.routes[0].path", "must start with '/'"), "{e:?}");
    assert!(has(&e, "specification.routes[1].path", "must be the last segment"), "{e:?}");
    assert!(has(&e, "specification.routes[2].backend.url", "${request.path[nope]} names no path parameter"), "{e:?}");
    assert!(has(&e, "specification.routes[2].backend.url", "route parameters: id"), "{e:?}");
    assert!(has(&e, "specification.routes[3].methods[0]", "\"FETCH\" is not one of"), "{e:?}");
    assert!(has(&e, "specification.routes[4].backend.readTimeoutInSeconds", "out of range"), "{e:?}");
    assert!(has(&e, "specification.routes[4].backend.connectTimeoutInSeconds", "between 1 and 75"), "{e:?}");
    assert!(has(&e, "specification.routes[5].backend.url", "must be literal"), "{e:?}");
    assert!(has(&e, "specification.routes[6].path", "letters, digits and '_'"), "{e:?}");
    assert!(has(&e, "specification.routes[8].path", "already defined"), "{e:?}");
    assert!(!e.iter().any(|x| x.field.starts_with("specification.routes[7]")), "{e:?}");
    let e = errors(json!({"routes": []}), "/api");
    assert!(has(&e, "specification.routes", "at least one route"));
}

#[test]
fn authentication_rules() {
    let e = errors(
        json!({
            "requestPolicies": {"authentication": {"type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization",
                "issuers": [], "audiences": ["a"], "publicKeys": {"type": "REMOTE_JWKS", "uri": "http://idcs/jwk", "maxCacheDurationInHours": 48}}},
            "routes": [{"path": "/x", "backend": {"type": "HTTP_BACKEND", "url": "https://a/"},
                "requestPolicies": {"authorization": {"type": "ANONYMOUS"}}}]
        }),
        "/api",
    );
    let at = "specification.requestPolicies.authentication";
    assert!(has(&e, &format!("{at}.issuers"), "at least one issuer"), "{e:?}");
    assert!(has(&e, &format!("{at}.tokenAuthScheme"), "required"), "{e:?}");
    assert!(has(&e, &format!("{at}.publicKeys.uri"), "https://"), "{e:?}");
    assert!(has(&e, &format!("{at}.publicKeys.maxCacheDurationInHours"), "between 1 and 24"), "{e:?}");
    assert!(has(&e, "specification.routes[0].requestPolicies.authorization", "isAnonymousAccessAllowed"), "{e:?}");
    let e = errors(
        json!({"routes": [{"path": "/x", "backend": {"type": "HTTP_BACKEND", "url": "https://a/"},
        "requestPolicies": {"authorization": {"type": "ANY_OF", "allowedScope": ["s"]}}}]}),
        "/api",
    );
    assert!(
        has(&e, "specification.routes[0].requestPolicies.authorization", "requires requestPolicies.authentication"),
        "{e:?}"
    );
    let e = errors(
        json!({
            "requestPolicies": {"authentication": {"type": "TOKEN_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
                "validationPolicy": {"type": "STATIC_KEYS", "keys": [{"format": "PEM", "kid": "k", "key": "not a key"}]}}},
            "routes": [http_route("/x", "https://a/")]
        }),
        "/api",
    );
    assert!(has(&e, &format!("{at}.validationPolicy.keys[0]"), "PEM"), "{e:?}");
}

#[test]
fn set_deployment_refuses_invalid_specs_with_the_same_messages() {
    let w = World::new();
    let gw = w.gateway(Arc::new(StaticDial::new()), vec![w.ctm_ca.cert_pem().to_string()]);
    let s = parse_specification(&json!({"routes": [http_route("/a/{id}", "https://a/${request.path[x]}")]}))
        .expect("parses");
    let err = gw.set_deployment("d", "/api/", &s).expect_err("invalid");
    let GatewayError::InvalidSpec(errs) = &err else { panic!("unexpected {err}") };
    assert_eq!(errs.len(), 2, "{errs:?}");
    let text = err.to_string();
    assert!(text.contains("pathPrefix: ") && text.contains("specification.routes[0].backend.url: "), "{text}");
    assert!(gw.deployments().is_empty());
}
