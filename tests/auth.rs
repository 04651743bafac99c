//! Accounts, tokens, cookies and request rules, through the real server.
#![cfg(feature = "ssr")]

mod common;

use common::{email, Browser, TestApp, CHROME, PASSWORD};
use reqwest::{header, Method, StatusCode};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = TestApp::spawn().await;
    let res = app.browser().get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["status"], "ok");
}

#[tokio::test]
async fn register_signs_in_with_hardened_cookies() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let res = browser
        .post_form(
            "/api/register",
            &[("email", "  Ada@Example.COM "), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["email"], "ada@example.com");
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 3);
    for (cookie, name) in cookies.iter().zip([
        "__Host-gh_access=",
        "__Host-gh_refresh=",
        "__Host-gh_device=",
    ]) {
        assert!(cookie.starts_with(name), "{cookie}");
        for attr in ["HttpOnly", "Secure", "Path=/", "SameSite=Lax"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(
            !cookie.contains("Domain="),
            "__Host- cookies carry no Domain"
        );
    }
    // Tokens travel only in Set-Cookie, never in the body.
    assert!(!res.body.contains(&browser.access()));
    assert!(!res.body.contains(&browser.refresh_token()));

    let me = browser.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "ada@example.com");
}

#[tokio::test]
async fn registration_refuses_bad_input_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    type Case<'a> = (&'a [(&'a str, &'a str)], StatusCode, &'a str);
    let cases: [Case; 5] = [
        (
            &[("email", "not-an-email"), ("password", PASSWORD)],
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            &[("email", "a@example.com"), ("password", "password1")],
            StatusCode::BAD_REQUEST,
            "weak_password",
        ),
        (
            &[("email", "a@example.com"), ("password", "short")],
            StatusCode::BAD_REQUEST,
            "weak_password",
        ),
        (
            &[("email", "a@example.com")],
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (&[], StatusCode::BAD_REQUEST, "invalid_input"),
    ];
    for (fields, status, code) in cases {
        let res = b.post_form("/api/register", fields).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (status, code),
            "{fields:?}: {}",
            res.body
        );
        assert!(res.json()["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(res.set_cookies().is_empty());
    }
    let weak = b
        .post_form(
            "/api/register",
            &[("email", "a@example.com"), ("password", "password1")],
        )
        .await;
    assert!(
        weak.json()["message"].as_str().unwrap().len() > 40,
        "says why: {}",
        weak.body
    );

    let _ = app.signed_up("taken@example.com").await;
    let res = b
        .post_form(
            "/api/register",
            &[
                ("email", "TAKEN@example.com"),
                ("password", "another fine passphrase here"),
            ],
        )
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::CONFLICT, "email_taken")
    );
    let users = app
        .count("SELECT COUNT(*) FROM users WHERE email <> $1", "")
        .await;
    assert_eq!(users, 1);
}

#[tokio::test]
async fn bodies_must_be_small_and_form_encoded() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let big = "x".repeat(17 * 1024);
    let res = b
        .post_form(
            "/api/login",
            &[("email", "a@example.com"), ("password", &big)],
        )
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    let res = b
        .send(
            b.request(Method::POST, "/api/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(r#"{"email":"a@example.com","password":"x"}"#),
        )
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = TestApp::spawn().await;
    let _ = app.signed_up("known@example.com").await;
    let b = app.browser();
    let wrong = b
        .post_form(
            "/api/login",
            &[
                ("email", "known@example.com"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    let unknown = b
        .post_form(
            "/api/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.code(), "invalid_credentials");
}

#[tokio::test]
async fn failed_logins_back_off_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn_in(dir.path(), &[]).await;
    let _ = app.signed_up("victim@example.com").await;
    let b = app.browser();
    for _ in 0..5 {
        let res = b
            .post_form(
                "/api/login",
                &[
                    ("email", "victim@example.com"),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
        assert_eq!(res.code(), "invalid_credentials");
    }
    // Now even the right password is refused until the backoff passes.
    let res = b
        .post_form(
            "/api/login",
            &[("email", "victim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "throttled")
    );
    let retry: u64 = res
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry));
    // Unknown accounts are counted the same way.
    for _ in 0..5 {
        b.post_form(
            "/api/login",
            &[
                ("email", "ghost@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    }
    let ghost = b
        .post_form(
            "/api/login",
            &[
                ("email", "ghost@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    assert_eq!(ghost.code(), "throttled");

    app.stop().await;
    let app = TestApp::spawn_in(dir.path(), &[]).await;
    let res = app
        .browser()
        .post_form(
            "/api/login",
            &[("email", "victim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        res.code(),
        "throttled",
        "a restart does not reset throttling"
    );
}

#[tokio::test]
async fn twenty_parallel_refreshes_all_get_one_successor() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("race")).await;
    let original = b.refresh_token();
    let calls = (0..20).map(|_| {
        let tab = Browser::new(&app.base, CHROME);
        tab.set_cookie("__Host-gh_refresh", &original);
        async move {
            let res = tab.post_form("/api/refresh", &[]).await;
            (res.status, tab.cookie("__Host-gh_refresh"), res.body)
        }
    });
    let results = futures::future::join_all(calls).await;
    let successors: std::collections::HashSet<_> = results
        .iter()
        .map(|(status, cookie, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            cookie.clone().expect("new refresh cookie")
        })
        .collect();
    assert_eq!(successors.len(), 1, "one identical successor");
    assert!(!successors.contains(&original));
    let (_, _, body) = &results[0];
    let expires_at = serde_json::from_str::<serde_json::Value>(body).unwrap()["expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(time::OffsetDateTime::parse(
        &expires_at,
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    assert!(expires_at.ends_with('Z'));
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_session() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_REFRESH_GRACE", "0")]).await;
    let b = app.signed_up(&email("replay")).await;
    let rt1 = b.refresh_token();
    assert_eq!(
        b.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let rt3 = b.refresh_token();
    let access = b.access();

    let thief = Browser::new(&app.base, CHROME);
    thief.set_cookie("__Host-gh_refresh", &rt1);
    let res = thief.post_form("/api/refresh", &[]).await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::UNAUTHORIZED, "reuse_detected")
    );

    let owner = Browser::new(&app.base, CHROME);
    owner.set_cookie("__Host-gh_refresh", &rt3);
    let res = owner.post_form("/api/refresh", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // The family's access token stops working at once, too, saying why.
    let me = app.browser().get_bearer("/api/v1/me", &access).await;
    assert_eq!(
        (me.status, me.code().as_str()),
        (StatusCode::UNAUTHORIZED, "reuse_detected")
    );
}

#[tokio::test]
async fn the_predecessor_is_accepted_only_within_the_grace_window() {
    let app = TestApp::spawn().await; // grace 10 s
    let b = app.signed_up(&email("grace")).await;
    let rt1 = b.refresh_token();
    assert_eq!(
        b.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let rt2 = b.refresh_token();
    // A retry with RT1 (e.g. the response was lost) gets the same RT2.
    let retry = Browser::new(&app.base, CHROME);
    retry.set_cookie("__Host-gh_refresh", &rt1);
    assert_eq!(
        retry.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(retry.refresh_token(), rt2);
    // After the next rotation RT1 is two steps behind: a replay.
    assert_eq!(
        b.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let late = Browser::new(&app.base, CHROME);
    late.set_cookie("__Host-gh_refresh", &rt1);
    assert_eq!(
        late.post_form("/api/refresh", &[]).await.code(),
        "reuse_detected"
    );
}

#[tokio::test]
async fn an_expired_access_token_on_a_page_load_is_silently_refreshed() {
    let app = TestApp::spawn().await;
    let address = email("page");
    let b = app.signed_up(&address).await;
    let claims = app.state.keys.verify_access(&b.access()).unwrap();
    // An access token that expired ten minutes ago, as after a laptop wakes.
    let expired = app
        .state
        .keys
        .issue_access(
            &claims.sub.as_str().into(),
            &claims.sid.as_str().into(),
            now() - 1200,
            std::time::Duration::from_secs(300),
            vec!["pwd".into()],
        )
        .unwrap();
    b.set_cookie("__Host-gh_access", &expired.value);
    let old_refresh = b.refresh_token();

    let page = b.get("/sessions").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&address), "renders signed in");
    assert_eq!(page.set_cookies().len(), 2);
    assert_ne!(b.refresh_token(), old_refresh);
    assert_ne!(b.access(), expired.value);
    assert_eq!(b.get("/api/v1/me").await.status, StatusCode::OK);

    // Without any cookie the same page sends the visitor to sign in.
    let stranger = app.browser().get("/sessions?tab=1").await;
    assert_eq!(stranger.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stranger.header("location").as_deref(),
        Some("/login?next=%2Fsessions%3Ftab%3D1")
    );
}

#[tokio::test]
async fn a_bearer_header_wins_over_the_access_cookie() {
    let app = TestApp::spawn().await;
    let a = app.signed_up(&email("bearer-a")).await;
    let b = app.signed_up(&email("bearer-b")).await;
    let res = a.get_bearer("/api/v1/me", &b.access()).await;
    let b_me = b.get("/api/v1/me").await;
    assert_eq!(res.json()["id"], b_me.json()["id"]);
}

#[tokio::test]
async fn cross_site_posts_are_refused_without_touching_cookies() {
    let app = TestApp::spawn().await;
    let address = email("csrf");
    let victim = app.signed_up(&address).await;
    for path in ["/api/login", "/api/logout", "/api/revoke_other_sessions"] {
        let from_elsewhere = victim
            .send(
                victim
                    .request(Method::POST, path)
                    .header(header::ORIGIN, "https://evil.example")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(format!("email={address}&password=x")),
            )
            .await;
        assert_eq!(
            (from_elsewhere.status, from_elsewhere.code().as_str()),
            (StatusCode::FORBIDDEN, "cross_site"),
            "{path}"
        );
        assert!(from_elsewhere.set_cookies().is_empty());
        let fetch_meta = victim
            .send(
                app.browser()
                    .request(Method::POST, path)
                    .header("sec-fetch-site", "cross-site")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            )
            .await;
        assert_eq!(fetch_meta.code(), "cross_site", "{path}");
    }
    assert_eq!(
        victim.get("/api/v1/me").await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn the_database_keeps_no_refresh_token() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("storage")).await;
    b.post_form("/api/refresh", &[]).await;
    let token = b.refresh_token();
    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &token).unwrap();
    let mac = &raw[raw.len() - 32..];
    let bytes = app.stored_session_bytes().await;
    let mac_hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !bytes
            .windows(mac_hex.len())
            .any(|w| w == mac_hex.as_bytes()),
        "token MAC stored (hex)"
    );
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(token.as_bytes()), "token value stored");
    assert!(!contains(mac), "token MAC stored");
}

#[tokio::test]
async fn form_posts_without_javascript_get_a_303_and_a_readable_message() {
    let app = TestApp::spawn().await;
    let address = email("nojs");
    let _ = app.signed_up(&address).await;
    let b = app.browser();
    let failed = b
        .post_html_form(
            "/api/login",
            &[
                ("email", &address),
                ("password", "not it at all"),
                ("next", "/sessions"),
            ],
            "/login?next=%2Fsessions",
        )
        .await;
    assert_eq!(failed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        failed.header("location").as_deref(),
        Some("/login?next=%2Fsessions&error=invalid_credentials")
    );
    assert!(failed.body.is_empty(), "no raw error text");
    let page = b
        .get("/login?next=%2Fsessions&error=invalid_credentials")
        .await;
    assert!(page.body.contains("The email or password is not right."));

    let ok = b
        .post_html_form(
            "/api/login",
            &[
                ("email", &address),
                ("password", PASSWORD),
                ("next", "/sessions"),
            ],
            "/login?next=%2Fsessions",
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location").as_deref(), Some("/sessions"));
    assert_eq!(ok.set_cookies().len(), 3, "access, refresh and device");

    // An off-site `next` is ignored.
    let b2 = app.browser();
    let res = b2
        .post_html_form(
            "/api/login",
            &[
                ("email", &address),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
            "/login",
        )
        .await;
    assert_eq!(res.header("location").as_deref(), Some("/"));
}

#[tokio::test]
async fn logout_revokes_clears_and_is_safe_to_repeat() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("logout")).await;
    let refresh = b.refresh_token();
    let access = b.access();
    let res = b.post_form("/api/logout", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let cleared = res.set_cookies();
    assert_eq!(cleared.len(), 2);
    assert!(cleared
        .iter()
        .all(|c| c.contains("Max-Age=0") && c.contains("HttpOnly") && c.contains("Secure")));
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        b.post_form("/api/logout", &[]).await.status,
        StatusCode::OK,
        "repeatable"
    );

    let replay = Browser::new(&app.base, CHROME);
    replay.set_cookie("__Host-gh_refresh", &refresh);
    assert_eq!(
        replay.post_form("/api/refresh", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().get_bearer("/api/v1/me", &access).await.code(),
        "session_revoked"
    );
}

#[tokio::test]
async fn production_refuses_to_start_without_a_secret() {
    let err = gatehouse::config::Config::from_lookup(|k| {
        (k == "GATEHOUSE_ENV").then(|| "production".to_owned())
    })
    .unwrap_err();
    assert!(err.to_string().contains("GATEHOUSE_JWT_SECRET"));
}
