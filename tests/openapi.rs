//! The published contract: the OpenAPI document is generated from the code,
//! committed as `openapi.json` and served at `/api/v1/openapi.json`; the
//! token API's errors are RFC 9457 problem documents.
//! `UPDATE_OPENAPI=1 cargo test --features ssr --test openapi` rewrites the
//! committed file after a change to the API.
#![cfg(feature = "ssr")]

mod common;

use common::{email, TestApp, PASSWORD, SECRET};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

fn committed() -> String {
    std::fs::read_to_string(committed_path()).unwrap_or_default()
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = gatehouse::openapi::pretty_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).expect("openapi.json written");
        return;
    }
    assert!(
        committed() == generated,
        "openapi.json differs from the API the code describes; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test --features ssr --test openapi` and review the diff"
    );
}

/// Resolves a local reference (`#/components/schemas/Problem`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => found.push(r.clone()),
                    _ => references(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_names_every_endpoint_of_the_contract() {
    let doc: Value = serde_json::from_str(&gatehouse::openapi::pretty_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(resolve(&doc, r).is_some(), "{r} does not resolve");
    }
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/token", "post"),
        ("/api/v1/token/mfa", "post"),
        ("/api/v1/token/refresh", "post"),
        ("/api/v1/token/revoke", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/.well-known/jwks.json", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    for path in paths.keys() {
        assert!(
            path.starts_with("/api/v1/")
                || ["/.well-known/jwks.json", "/healthz", "/readyz"].contains(&path.as_str()),
            "{path} is not part of the token API"
        );
    }
    // Every error code is enumerated, and every error answer of the token
    // API is a problem document.
    // Found by schemathesis: the codes once appeared under their Rust
    // names, so every error answer broke the document's own schema.
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    let wire: Vec<&str> = gatehouse::error::ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert_eq!(codes, &json!(wire));
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for (status, answer) in operation["responses"].as_object().unwrap() {
                assert!(
                    answer["description"].is_string(),
                    "{method} {path} {status}: OpenAPI requires a description"
                );
                if status.starts_with('4') || (status.starts_with('5') && path != "/readyz") {
                    assert!(
                        answer["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["paths"]["/api/v1/me"]["get"]["security"],
        json!([{"bearer": []}])
    );
}

#[tokio::test]
async fn the_served_document_is_the_committed_one_cacheable_and_without_secrets() {
    let app = TestApp::spawn().await;
    let res = app.browser().get("/api/v1/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        res.header("cache-control").as_deref(),
        Some("public, max-age=3600")
    );
    assert!(res.set_cookies().is_empty());
    assert_eq!(res.body, gatehouse::openapi::pretty_json());
    assert!(!res.body.contains(SECRET));
    assert!(!res.body.contains(PASSWORD));
}

/// Checks an answer is a problem document (RFC 9457) that kept the old
/// fields; returns its body.
fn assert_problem(res: &common::Answer, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{}",
        res.body
    );
    let body = res.json();
    assert_eq!(body["error"], code);
    assert_eq!(
        body["type"],
        format!("https://gatehouse.invalid/problems/{code}")
    );
    assert_eq!(body["status"], status.as_u16());
    assert!(!body["title"].as_str().unwrap().is_empty());
    assert_eq!(body["detail"], body["message"]);
    assert!(body["message"].as_str().unwrap().len() > 5);
    body
}

#[tokio::test]
async fn token_api_errors_are_problem_documents_and_keep_error_and_message() {
    let app = TestApp::spawn().await;
    let address = email("problems");
    let browser = app.signed_up(&address).await;
    let c = app.browser_with_agent("curl/8.5.0");

    let wrong = c
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": "wrong wrong"}),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.header("www-authenticate").as_deref(), Some("Bearer"));
    assert_eq!(wrong.header("cache-control").as_deref(), Some("no-store"));

    let missing = c.post_json("/api/v1/token", json!({})).await;
    assert_problem(&missing, StatusCode::BAD_REQUEST, "invalid_input");

    let anonymous = c.get("/api/v1/me").await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        anonymous.header("www-authenticate").as_deref(),
        Some("Bearer")
    );

    let form = c
        .send(
            c.request(Method::POST, "/api/v1/token/refresh")
                .header(header::CONTENT_TYPE, "text/plain")
                .body("x"),
        )
        .await;
    assert_problem(
        &form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let huge = c
        .post_json(
            "/api/v1/token/revoke",
            json!({"refresh_token": "x".repeat(20_000)}),
        )
        .await;
    assert_problem(&huge, StatusCode::PAYLOAD_TOO_LARGE, "too_large");

    // axum's own refusal of a method has no body of its own.
    let method = c.send(c.request(Method::GET, "/api/v1/token")).await;
    assert_problem(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert!(method.header("allow").is_some_and(|a| a.contains("POST")));

    // Found by schemathesis: an empty code is refused, so the document says
    // a code has at least one character.
    let empty = c
        .post_json("/api/v1/token/mfa", json!({"mfa_token": "x", "code": ""}))
        .await;
    assert_problem(&empty, StatusCode::BAD_REQUEST, "invalid_input");
    let doc: Value = serde_json::from_str(&gatehouse::openapi::pretty_json()).unwrap();
    assert_eq!(
        doc["components"]["schemas"]["SecondStepGrant"]["properties"]["code"]["minLength"],
        1
    );

    let nowhere = c.post_json("/api/v1/nothing-here", json!({})).await;
    assert_problem(&nowhere, StatusCode::NOT_FOUND, "not_found");

    // A token API refusal made by an outer layer: another site's Origin.
    let cross = c
        .send(
            c.request(Method::POST, "/api/v1/token/revoke")
                .header(header::ORIGIN, "https://evil.example")
                .json(&json!({"refresh_token": "x"})),
        )
        .await;
    assert_problem(&cross, StatusCode::FORBIDDEN, "cross_site");

    // Successes are unchanged.
    let ok = c
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.header("content-type").as_deref(),
        Some("application/json")
    );

    // The browser's server functions keep their plain JSON errors.
    let refused = browser
        .post_form(
            "/api/login",
            &[("email", &address), ("password", "wrong wrong")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(refused.code(), "invalid_credentials");
    assert!(refused.json().get("type").is_none());
}
