//! The Bearer token API for non-browser clients.
#![cfg(feature = "ssr")]

mod common;

use common::{email, TestApp, PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::json;

#[tokio::test]
async fn password_grant_refresh_and_revoke() {
    let app = TestApp::spawn().await;
    let address = email("api");
    let browser = app.signed_up(&address).await;
    let client = app.browser_with_agent("curl/8.5.0");

    let res = client
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert!(res.set_cookies().is_empty(), "the API sets no cookies");
    let tokens = res.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!((295..=300).contains(&tokens["expires_in"].as_i64().unwrap()));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me = client.get_bearer("/api/v1/me", &access).await;
    assert_eq!(me.json()["email"], address.as_str());

    // The API session is on the owner's sessions page.
    let list = browser.post_form("/api/list_sessions", &[]).await.json();
    let api = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "api")
        .expect("api session listed")
        .clone();
    assert_eq!(api["device"], "curl");

    let rotated = client
        .post_json("/api/v1/token/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_refresh = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    let new_access = rotated.json()["access_token"].as_str().unwrap().to_owned();

    let revoked = client
        .post_json(
            "/api/v1/token/revoke",
            json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let me = client.get_bearer("/api/v1/me", &new_access).await;
    assert_eq!(
        (me.status, me.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
    let again = client
        .post_json(
            "/api/v1/token/refresh",
            json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    // Revoking again, or an unknown token, is still a success (RFC 7009).
    for token in [new_refresh.as_str(), "unknown-token"] {
        let res = client
            .post_json("/api/v1/token/revoke", json!({"refresh_token": token}))
            .await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn token_api_errors_follow_the_contract() {
    let app = TestApp::spawn().await;
    let address = email("api-errors");
    let _ = app.signed_up(&address).await;
    let c = app.browser();

    let wrong = c
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": "wrong wrong"}),
        )
        .await;
    let unknown = c
        .post_json(
            "/api/v1/token",
            json!({"email": "nobody@example.com", "password": "wrong wrong"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    assert_eq!(wrong.body, unknown.body);

    let missing = c
        .post_json("/api/v1/token", json!({"email": address}))
        .await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );

    let malformed = c
        .send(
            c.request(reqwest::Method::POST, "/api/v1/token")
                .header(header::CONTENT_TYPE, "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );

    // Serde would read a struct from an array of its fields; the schema
    // says object, and so does the server (found by schemathesis).
    for path in [
        "/api/v1/token",
        "/api/v1/token/refresh",
        "/api/v1/token/revoke",
    ] {
        let array = c.post_json(path, json!([""])).await;
        assert_eq!(
            (array.status, array.code().as_str()),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{path}"
        );
    }

    let form = c
        .send(
            c.request(reqwest::Method::POST, "/api/v1/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("email=a&password=b"),
        )
        .await;
    assert_eq!(
        (form.status, form.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );

    let huge = c
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": "x".repeat(20_000)}),
        )
        .await;
    assert_eq!(
        (huge.status, huge.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );

    let bad_refresh = c
        .post_json("/api/v1/token/refresh", json!({"refresh_token": "garbage"}))
        .await;
    assert_eq!(bad_refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad_refresh.header("cache-control").as_deref(),
        Some("no-store")
    );

    let anonymous = c.get("/api/v1/me").await;
    assert_eq!(
        (anonymous.status, anonymous.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(
        anonymous.header("www-authenticate").as_deref(),
        Some("Bearer")
    );

    let nowhere = c.post_json("/api/v1/nothing-here", json!({})).await;
    assert_eq!(
        (nowhere.status, nowhere.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}
