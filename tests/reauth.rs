//! Recent sign-in ("sudo mode"): sensitive actions need a session that proved
//! a factor within `GATEHOUSE_REAUTH_WINDOW`; the password proves it again.
#![cfg(feature = "ssr")]

mod common;

use common::{email, Browser, TestApp, FIREFOX, PASSWORD};
use reqwest::StatusCode;

async fn two_devices(app: &TestApp) -> (String, Browser, Browser) {
    let ada = email("ada");
    let here = app.signed_up(&ada).await;
    let other = app.signed_in(&ada, FIREFOX).await;
    (ada, here, other)
}

#[tokio::test]
async fn a_fresh_sign_in_may_act_and_an_old_one_must_prove_itself() {
    let app = TestApp::spawn().await;
    let (_, here, other) = two_devices(&app).await;
    app.an_hour_later().await;

    let refused = here.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(refused.code(), "reauth_required");
    // Refused, but nobody is signed out.
    assert_eq!(here.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::OK);

    let wrong = here
        .post_form(
            "/api/reauthenticate",
            &[("password", "not my password at all")],
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");
    let no_factor = here
        .post_form("/api/reauthenticate", &[("code", "123456")])
        .await;
    assert_eq!(no_factor.code(), "invalid_code");
    let empty = here.post_form("/api/reauthenticate", &[]).await;
    assert_eq!(empty.code(), "invalid_input");
    let anonymous = app
        .browser()
        .post_form("/api/reauthenticate", &[("password", PASSWORD)])
        .await;
    assert_eq!(anonymous.code(), "unauthenticated");

    let proved = here
        .post_form("/api/reauthenticate", &[("password", PASSWORD)])
        .await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    let done = here.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["revoked"], 1);
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The proof is this session's alone.
    let (_, elsewhere, _) = two_devices(&app).await;
    app.an_hour_later().await;
    let refused = elsewhere.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(refused.code(), "reauth_required");
}

#[tokio::test]
async fn actions_that_take_the_password_count_it_as_proof() {
    let app = TestApp::spawn().await;
    let (ada, here, _) = two_devices(&app).await;
    app.an_hour_later().await;
    let changed = here
        .post_form(
            "/api/change_email",
            &[("new_email", &email("ada-new")), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // That proof also covers the next sensitive action.
    let revoked = here.post_form("/api/revoke_other_sessions", &[]).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    app.an_hour_later().await;
    let new_password = "amber tide carries seven paper boats";
    let changed = here
        .post_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let _ = ada;
}

#[tokio::test]
async fn without_javascript_the_page_asks_for_the_password_and_returns() {
    let app = TestApp::spawn().await;
    let (_, here, _) = two_devices(&app).await;
    app.an_hour_later().await;
    let refused = here
        .post_html_form(
            "/api/revoke_other_sessions",
            &[("next", "/sessions")],
            "/sessions?confirm=others",
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let back = refused.header("location").unwrap();
    assert_eq!(back, "/sessions?confirm=others&error=reauth_required");
    let page = here.get(&back).await;
    assert!(
        page.body.contains("data-testid=\"reauth\""),
        "{}",
        page.body
    );
    let proved = here
        .post_html_form(
            "/api/reauthenticate",
            &[("password", PASSWORD), ("next", "/sessions?confirm=others")],
            &back,
        )
        .await;
    assert_eq!(
        proved.header("location").as_deref(),
        Some("/sessions?confirm=others")
    );
    let done = here
        .post_html_form(
            "/api/revoke_other_sessions",
            &[("next", "/sessions")],
            "/sessions?confirm=others",
        )
        .await;
    assert_eq!(done.header("location").as_deref(), Some("/sessions"));
}

#[tokio::test]
async fn sessions_say_how_they_signed_in_and_tokens_carry_it() {
    let app = TestApp::spawn().await;
    let (_, here, _) = two_devices(&app).await;
    let list = here.post_form("/api/list_sessions", &[]).await;
    for session in list.json().as_array().unwrap() {
        assert_eq!(session["method"], "password");
    }
    let claims = app.state.keys.verify_access(&here.access()).unwrap();
    assert_eq!(claims.amr, ["pwd"]);
    // A refreshed token says the same.
    assert_eq!(
        here.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let claims = app.state.keys.verify_access(&here.access()).unwrap();
    assert_eq!(claims.amr, ["pwd"]);
}
