//! The sessions page's functions: listing, revoking, password change,
//! account deletion and the security log.
#![cfg(feature = "ssr")]

mod common;

use common::{email, Answer, Browser, TestApp, CHROME, FIREFOX, PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sessions_are_listed_current_first_with_readable_devices() {
    let app = TestApp::spawn().await;
    let address = email("list");
    let a = app.signed_up(&address).await;
    let _b = app.signed_in(&address, FIREFOX).await;
    let res = a.post_form("/api/list_sessions", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let list = res.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["device"], "Chrome on Linux");
    assert_eq!(list[1]["device"], "Firefox on Windows 10");
    assert_eq!(list[1]["kind"], "browser");
    assert_eq!(list[1]["ip"], "127.0.0.1");
    for s in list {
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        for key in [
            "id",
            "device",
            "kind",
            "ip",
            "created_at",
            "last_used_at",
            "current",
        ] {
            assert!(keys.contains(&key), "{key} missing");
        }
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
    }
    // The list handles no secrets.
    assert!(!res.body.contains(&a.refresh_token()) && !res.body.contains(&a.access()));
}

#[tokio::test]
async fn revoking_a_device_refuses_its_access_token_at_once() {
    let app = TestApp::spawn().await;
    let address = email("revoke");
    let a = app.signed_up(&address).await;
    let b = app.signed_in(&address, FIREFOX).await;
    let b_id = b.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (b_access, b_refresh) = (b.access(), b.refresh_token());

    let res = a
        .post_form("/api/revoke_session", &[("session_id", &b_id)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json(), serde_json::json!({}));

    // B's access token still has minutes left, yet is refused now.
    let me = b.get("/api/v1/me").await;
    assert_eq!(
        (me.status, me.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
    let refresh = b.post_form("/api/refresh", &[]).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    // A page load on B (both cookies still there) lands on the sign-in page saying why.
    let b2 = common::Browser::new(&app.base, FIREFOX);
    b2.set_cookie("__Host-gh_access", &b_access);
    b2.set_cookie("__Host-gh_refresh", &b_refresh);
    let page = b2.get("/sessions").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/login?next=%2Fsessions&error=session_revoked")
    );
    assert!(
        b2.cookie("__Host-gh_refresh").is_none(),
        "dead cookies are cleared"
    );
    // A is unaffected and no longer lists B.
    let list = a.post_form("/api/list_sessions", &[]).await.json();
    assert!(!ids(&list).contains(&b_id));
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_this_device() {
    let app = TestApp::spawn().await;
    let address = email("others");
    let a = app.signed_up(&address).await;
    let b = app.signed_in(&address, FIREFOX).await;
    let c = app.signed_in(&address, CHROME).await;
    let res = a.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(res.json(), serde_json::json!({"revoked": 2}));
    assert_eq!(b.get("/api/v1/me").await.code(), "session_revoked");
    assert_eq!(c.get("/api/v1/me").await.code(), "session_revoked");
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        a.post_form("/api/list_sessions", &[])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn another_users_session_is_answered_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let a = app.signed_up(&email("owner")).await;
    let c = app.signed_up(&email("intruder")).await;
    let a_id = a.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = c
        .post_form("/api/revoke_session", &[("session_id", &a_id)])
        .await;
    let missing = c
        .post_form("/api/revoke_session", &[("session_id", "no-such-session")])
        .await;
    assert_eq!(
        (foreign.status, foreign.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        (foreign.status, &foreign.body),
        (missing.status, &missing.body)
    );
    assert!(!ids(&c.post_form("/api/list_sessions", &[]).await.json()).contains(&a_id));
    assert_eq!(
        a.get("/api/v1/me").await.status,
        StatusCode::OK,
        "nothing changed"
    );
    // Signed out, nothing is listed.
    let stranger = app.browser().post_form("/api/list_sessions", &[]).await;
    assert_eq!(
        (stranger.status, stranger.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_rotates_this_one() {
    let app = TestApp::spawn().await;
    let address = email("password");
    let a = app.signed_up(&address).await;
    let b = app.signed_in(&address, FIREFOX).await;
    let wrong = a
        .post_form(
            "/api/change_password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new passphrase today"),
            ],
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let weak = a
        .post_form(
            "/api/change_password",
            &[("current_password", PASSWORD), ("new_password", "password")],
        )
        .await;
    assert_eq!(weak.code(), "weak_password");

    let old_refresh = a.refresh_token();
    let res = a
        .post_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase today"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_ne!(a.refresh_token(), old_refresh, "fresh tokens");
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(b.get("/api/v1/me").await.code(), "session_revoked");
    let old = app
        .browser()
        .post_form("/api/login", &[("email", &address), ("password", PASSWORD)])
        .await;
    assert_eq!(old.code(), "invalid_credentials");
    let new = app
        .browser()
        .post_form(
            "/api/login",
            &[
                ("email", &address),
                ("password", "a brand new passphrase today"),
            ],
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_the_account_leaves_nothing() {
    let app = TestApp::spawn().await;
    let address = email("delete");
    let a = app.signed_up(&address).await;
    let _b = app.signed_in(&address, FIREFOX).await;
    let user_id = a.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = a
        .post_form("/api/delete_account", &[("password", "nope nope nope")])
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");
    let res = a
        .post_form("/api/delete_account", &[("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for table in [
        "users WHERE id = $1",
        "sessions WHERE user_id = $1",
        "security_events WHERE user_id = $1",
    ] {
        let n = app
            .count(&format!("SELECT COUNT(*) FROM {table}"), &user_id)
            .await;
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_security_log_records_what_happened_and_no_secret() {
    let app = TestApp::spawn().await;
    let address = email("log");
    let a = app.signed_up(&address).await;
    let b = app.signed_in(&address, FIREFOX).await;
    app.browser()
        .post_form(
            "/api/login",
            &[("email", &address), ("password", "wrong guess here")],
        )
        .await;
    let b_id = b.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // B's next refresh comes from another browser family: a "new device" notice.
    let moved = common::Browser::new(&app.base, CHROME);
    moved.set_cookie("__Host-gh_refresh", &b.refresh_token());
    assert_eq!(
        moved.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    a.post_form("/api/revoke_session", &[("session_id", &b_id)])
        .await;
    a.post_form(
        "/api/change_password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase today"),
        ],
    )
    .await;

    let res = a.post_form("/api/security_events", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let events = res.json();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "registered",
        "sign_in",
        "sign_in_failed",
        "new_device",
        "session_revoked",
        "password_changed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(kinds[0], "password_changed", "newest first");
    let first = &events[0];
    for key in ["kind", "at", "device", "ip", "detail"] {
        assert!(first.get(key).is_some(), "{key}");
    }
    for secret in [a.refresh_token(), a.access(), PASSWORD.to_owned()] {
        assert!(!res.body.contains(&secret));
    }
    let notices = a.post_form("/api/notices", &[]).await.json();
    assert_eq!(notices.as_array().unwrap().len(), 1);
    a.post_form("/api/dismiss_notices", &[]).await;
    assert_eq!(
        a.post_form("/api/notices", &[])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn revocations_made_elsewhere_are_picked_up_within_the_poll_interval() {
    // Two instances on one database, as two processes would be.
    common::revocation_reaches_the_other_instance(
        &[("GATEHOUSE_REVOCATION_POLL", "1")],
        std::time::Duration::from_secs(3),
    )
    .await;
}

/// "Sign out every other device" posted from the sessions page without
/// JavaScript.
async fn sign_out_others_without_javascript(browser: &Browser) -> Answer {
    browser
        .post_html_form(
            "/api/revoke_other_sessions",
            &[("next", "/sessions")],
            "/sessions",
        )
        .await
}

/// A page left open past the access token's lifetime: the browser has
/// dropped the expired access cookie, and a form posted without JavaScript
/// still works, renewed from the refresh cookie like a page load; a hydrated
/// call is still told to refresh.
#[tokio::test]
async fn a_form_posted_without_javascript_after_the_access_token_expired_still_works() {
    let app = TestApp::spawn().await;
    let address = email("nojs-expired");
    let a = app.signed_up(&address).await;
    let b = app.signed_in(&address, FIREFOX).await;
    let old_refresh = a.refresh_token();
    a.remove_cookie("__Host-gh_access");

    let hydrated = a.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(
        hydrated.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        hydrated.body
    );
    assert_eq!(b.get("/api/v1/me").await.status, StatusCode::OK);

    let res = sign_out_others_without_javascript(&a).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location").as_deref(), Some("/sessions"));
    assert_ne!(a.refresh_token(), old_refresh, "the refresh cookie rotated");
    assert_eq!(b.get("/api/v1/me").await.code(), "session_revoked");
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);

    // A device whose sign-in was ended is sent back with the reason, and
    // its cookies are cleared.
    b.remove_cookie("__Host-gh_access");
    let res = sign_out_others_without_javascript(&b).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        res.header("location")
            .is_some_and(|l| l.contains("error=session_revoked")),
        "{:?}",
        res.header("location")
    );
    assert!(
        b.cookie("__Host-gh_refresh").is_none(),
        "refresh cookie cleared"
    );
}

/// The same renewal before a handler that sets the session cookies itself
/// (a password change rotates the session again): the browser is given the
/// handler's cookies alone, so its next refresh presents the current token.
#[tokio::test]
async fn a_renewal_before_a_handler_that_sets_cookies_gives_way_to_its_cookies() {
    let app = TestApp::spawn().await;
    let a = app.signed_up(&email("nojs-rotate")).await;
    a.remove_cookie("__Host-gh_access");
    let res = a
        .post_html_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase today"),
                ("next", "/security"),
            ],
            "/security",
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location").as_deref(), Some("/security"));
    let set = res.set_cookies();
    for name in ["__Host-gh_access=", "__Host-gh_refresh="] {
        assert_eq!(
            set.iter().filter(|c| c.starts_with(name)).count(),
            1,
            "one {name} in {set:?}"
        );
    }
    // The refresh cookie kept is the session's current one: once no grace
    // window covers an earlier token, a refresh with it still moves the
    // session on.
    let held = a.refresh_token();
    app.execute(
        "UPDATE sessions SET rotated_at = rotated_at - 3600000 WHERE rotated_at IS NOT NULL",
    )
    .await;
    let refreshed = a.post_form("/api/refresh", &[]).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_ne!(a.refresh_token(), held);
    assert_eq!(a.get("/api/v1/me").await.status, StatusCode::OK);
}
