#![cfg(feature = "ssr")]
//! Compiled assets and compression: precompressed files chosen by
//! `Accept-Encoding`, cache policy, no Nagle stalls on keep-alive
//! connections, compressed pages, and token answers never compressed.

mod common;

use common::{email, TestApp, PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn assets_pages_and_token_answers_are_sent_as_they_should_be() {
    // A site of its own (this test binary has only this test, so setting
    // the variable affects nobody else).
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let css = "body { color: black; }\n".repeat(200);
    std::fs::write(pkg.join("gatehouse.css"), &css).unwrap();
    std::fs::write(pkg.join("gatehouse.css.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("gatehouse.css.gz"), b"gzip bytes").unwrap();
    std::env::set_var("LEPTOS_SITE_ROOT", site.path());
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let get = |path: &str, encoding: Option<&str>| {
        let mut req = client.get(format!("{}{path}", app.base));
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        req.send()
    };

    let br = get("/pkg/gatehouse.css", Some("gzip, br")).await.unwrap();
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
    // Without a hash in the name, caches must revalidate.
    assert_eq!(br.headers()[header::CACHE_CONTROL], "no-cache");
    // Shared caches keep each encoding apart.
    assert_eq!(br.headers()[header::VARY], "accept-encoding");
    assert!(br.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let gz = get("/pkg/gatehouse.css", Some("gzip")).await.unwrap();
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    let plain = get("/pkg/gatehouse.css", None).await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.text().await.unwrap(), css);
    let missing = get("/pkg/nothing.js", Some("br")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(header::CACHE_CONTROL).is_none());

    // One keep-alive connection, many requests: none waits for a delayed
    // ACK (about 40 ms when TCP_NODELAY is off). A generous bound, far
    // below the stall.
    let one = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let url = format!("{}/pkg/gatehouse.css", app.base);
    one.get(&url).send().await.unwrap().bytes().await.unwrap();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        one.get(&url).send().await.unwrap().bytes().await.unwrap();
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(25),
        "a request took {slowest:?}"
    );

    // Pages are compressed for clients that accept it.
    let page = get("/login", Some("br")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CONTENT_ENCODING], "br");

    // Nothing that must not be stored is compressed (BREACH): not a
    // signed-in page, not a token answer.
    let address = email("assets");
    let signed_in = app.browser();
    signed_in
        .post_form(
            "/api/register",
            &[("email", &address), ("password", PASSWORD)],
        )
        .await;
    let own_page = signed_in
        .send(
            signed_in
                .request(reqwest::Method::GET, "/sessions")
                .header(header::ACCEPT_ENCODING, "br, gzip"),
        )
        .await;
    assert_eq!(own_page.status, StatusCode::OK);
    assert_eq!(
        own_page.header("cache-control").as_deref(),
        Some("no-store")
    );
    assert_eq!(own_page.header("content-encoding"), None);
    let token = client
        .post(format!("{}/api/v1/token", app.base))
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .json(&json!({"email": address, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    assert!(token.headers().get(header::CONTENT_ENCODING).is_none());
    let body: serde_json::Value = token.json().await.unwrap();
    assert!(body["access_token"].is_string());
}
