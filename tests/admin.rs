//! Administration through the real server.
#![cfg(feature = "ssr")]

mod common;

use common::{email, TestApp, FIREFOX, PASSWORD};
use reqwest::StatusCode;

async fn make_admin(app: &TestApp, address: &str) {
    let user = app.state.admin.user_by_email(address).await.unwrap();
    app.state.admin.grant_admin(&user).await.unwrap();
}

#[tokio::test]
async fn non_admins_are_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let mallory = app.signed_up(&email("mallory")).await;
    let victim_address = email("victim");
    let victim = app.signed_up(&victim_address).await;
    let victim_id = victim.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let victim_session = victim.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, fields) in [
        ("/api/admin/users", vec![]),
        (
            "/api/admin/disable_user",
            vec![("user_id", victim_id.as_str())],
        ),
        (
            "/api/admin/enable_user",
            vec![("user_id", victim_id.as_str())],
        ),
        (
            "/api/admin/revoke_session",
            vec![("session_id", victim_session.as_str())],
        ),
    ] {
        let res = mallory.post_form(path, &fields).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
    }
    assert_eq!(victim.get("/api/v1/me").await.status, StatusCode::OK);
    assert!(
        !app.state
            .auth
            .user(&victim_id.as_str().into())
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let anonymous = app.browser().post_form("/api/admin/users", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let admin_address = email("admin");
    let admin = app.signed_up(&admin_address).await;
    make_admin(&app, &admin_address).await;
    let user_address = email("user");
    let user = app.signed_up(&user_address).await;
    let _phone = app.signed_in(&user_address, FIREFOX).await;

    let list = admin
        .post_form("/api/admin/users", &[("query", "user-")])
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let found = list.json();
    let entry = found
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == user_address.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["sessions"], 2);
    assert_eq!(entry["role"], "user");
    assert_eq!(entry["disabled"], false);
    let user_id = entry["id"].as_str().unwrap().to_owned();

    let res = admin
        .post_form("/api/admin/disable_user", &[("user_id", &user_id)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let me = user.get("/api/v1/me").await;
    assert_eq!(
        (me.status, me.code().as_str()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    // Only after a correct password does sign-in say the account is disabled.
    let wrong = app
        .browser()
        .post_form(
            "/api/login",
            &[("email", &user_address), ("password", "wrong guess here")],
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");
    let right = app
        .browser()
        .post_form(
            "/api/login",
            &[("email", &user_address), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (right.status, right.code().as_str()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );

    assert_eq!(
        admin
            .post_form("/api/admin/enable_user", &[("user_id", &user_id)])
            .await
            .status,
        StatusCode::OK
    );
    let again = app
        .browser()
        .post_form(
            "/api/login",
            &[("email", &user_address), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);

    let events = app
        .state
        .sessions
        .events(&user_id.as_str().into())
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"account_disabled") && kinds.contains(&"account_enabled"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_admin_can_revoke_any_single_session() {
    let app = TestApp::spawn().await;
    let admin_address = email("admin2");
    let admin = app.signed_up(&admin_address).await;
    make_admin(&app, &admin_address).await;
    let user_address = email("user2");
    let laptop = app.signed_up(&user_address).await;
    let phone = app.signed_in(&user_address, FIREFOX).await;
    let user_id = laptop.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone_session = phone.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let sessions = admin
        .post_form("/api/admin/sessions", &[("user_id", &user_id)])
        .await
        .json();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    let res = admin
        .post_form(
            "/api/admin/revoke_session",
            &[("session_id", &phone_session)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(phone.get("/api/v1/me").await.code(), "session_revoked");
    assert_eq!(laptop.get("/api/v1/me").await.status, StatusCode::OK);
    let missing = admin
        .post_form(
            "/api/admin/revoke_session",
            &[("session_id", &phone_session)],
        )
        .await;
    assert_eq!(missing.code(), "not_found");
}

/// The addresses the admin search finds for `part`, sorted.
async fn search(admin: &common::Browser, part: &str) -> Vec<String> {
    let res = admin
        .post_form("/api/admin/users", &[("query", part)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{part}: {}", res.body);
    let mut found: Vec<String> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn the_admin_search_finds_any_part_of_an_address_as_accounts_change() {
    let app = TestApp::spawn().await;
    let chief = email("chief");
    let admin = app.signed_up(&chief).await;
    make_admin(&app, &chief).await;
    let (ada, bob) = ("zq-ada.lovelace@example.com", "zq-bob@mail.example.org");
    app.signed_up(ada).await;
    let bob_browser = app.signed_up(bob).await;

    assert_eq!(
        search(&admin, "ada.love").await,
        [ada],
        "a part of three or more"
    );
    assert_eq!(search(&admin, "ZQ-").await, [ada, bob], "any case");
    assert_eq!(
        search(&admin, "zq").await,
        [ada, bob],
        "a part shorter than a trigram"
    );
    assert_eq!(search(&admin, "@mail.example.org").await, [bob]);
    // Wildcards and the index's phrase quotes are plain characters.
    for part in ["zq_", "zq%", "zq\"", "\"zq-\"", "a*", "zq- OR x"] {
        assert!(search(&admin, part).await.is_empty(), "{part}");
    }

    // An address changed by any path, and an account deleted: the index
    // follows both.
    let eve = "zq-eve@example.net";
    app.execute(&format!(
        "UPDATE users SET email = '{eve}' WHERE email = '{ada}'"
    ))
    .await;
    assert!(search(&admin, "lovelace").await.is_empty());
    assert_eq!(search(&admin, "eve@exa").await, [eve]);
    let deleted = bob_browser
        .post_form("/api/delete_account", &[("password", PASSWORD)])
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(search(&admin, "zq-").await, [eve]);
    // What no address holds is refused with a clear error, not a 500.
    for part in ["zq\u{0}abc", &"a".repeat(321)] {
        let res = admin
            .post_form("/api/admin/users", &[("query", part)])
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        assert_eq!(res.code(), "invalid_input");
    }
    assert_eq!(search(&admin, "").await, {
        let mut all = vec![chief.clone(), eve.to_owned()];
        all.sort();
        all
    });
}
