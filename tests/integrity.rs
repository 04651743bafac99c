//! Rules that span capabilities, tried as an attacker would: factors on an
//! unproved address, factors planted by a session the owner disowns, side
//! doors around the recent-sign-in rule, and commands that must write all
//! their rows or none.
#![cfg(feature = "ssr")]

mod common;

use common::{break_writes, email, heal, link_token, Browser, TestApp, FIREFOX, PASSWORD};
use gatehouse::mfa::totp::code_at;
use reqwest::StatusCode;
use std::time::{SystemTime, UNIX_EPOCH};

const NEW_PASSWORD: &str = "amber tide carries seven paper boats";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts setting up an authenticator app from `browser`; its secret.
async fn start_app(browser: &Browser) -> Vec<u8> {
    let enrolled = browser.post_form("/api/totp/enroll", &[]).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let text = enrolled.json()["secret"].as_str().unwrap().to_owned();
    totp_rs::Secret::try_from_base32(&text)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// Turns an authenticator app on from `browser`; its secret.
async fn turn_on_app(browser: &Browser) -> Vec<u8> {
    let secret = start_app(browser).await;
    let confirmed = browser
        .post_form(
            "/api/totp/confirm",
            &[("code", &code_at(&secret, now_secs()))],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    secret
}

/// Whether a password sign-in of `address` from a new browser asks for a
/// second step.
async fn asks_for_a_code(app: &TestApp, address: &str, password: &str) -> bool {
    let res = app
        .browser()
        .post_form("/api/login", &[("email", address), ("password", password)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["mfa_required"] == true
}

#[tokio::test]
async fn a_factor_needs_a_proved_address_and_the_refusal_mails_a_link() {
    let app = TestApp::spawn().await;
    let mallory_uses = email("victim");
    // Someone signs up with another person's address and tries to arm the
    // account before its owner arrives.
    let planter = app.signed_up(&mallory_uses).await;
    for path in ["/api/totp/enroll", "/api/passkey/register_start"] {
        let refused = planter.post_form(path, &[]).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
        assert_eq!(refused.code(), "email_unverified", "{path}");
    }
    let refused = planter
        .post_form("/api/totp/confirm", &[("code", "123456")])
        .await;
    assert_eq!(refused.code(), "email_unverified");
    let refused = planter
        .post_form(
            "/api/passkey/register_finish",
            &[("name", "mine"), ("credential", "{}")],
        )
        .await;
    assert_eq!(refused.code(), "email_unverified");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM totp_factors WHERE user_id = (SELECT id FROM users WHERE email = $1)", &mallory_uses).await,
        0
    );
    // The link to prove the address is in the mailbox, and once followed
    // a factor may be added.
    app.verify(&planter, &mallory_uses).await;
    let enrolled = planter.post_form("/api/totp/enroll", &[]).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
}

#[tokio::test]
async fn turning_on_an_app_and_new_recovery_codes_are_mailed_to_the_owner() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.verified_up(&ada).await;
    turn_on_app(&browser).await;
    let letter = app
        .wait_for_mail(&ada, "An authenticator app was set up on your account", 1)
        .await;
    assert!(letter.contains("/forgot-password"), "{letter}");
    let codes = browser.post_form("/api/recovery_codes", &[]).await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    app.wait_for_mail(&ada, "New recovery codes were made for your account", 1)
        .await;
    // At most one letter of a kind a minute: a burst mails once.
    for _ in 0..3 {
        browser.post_form("/api/recovery_codes", &[]).await;
    }
    assert_eq!(
        app.mail_to(&ada, "New recovery codes were made for your account")
            .len(),
        1
    );
}

#[tokio::test]
async fn this_wasnt_me_removes_the_factor_the_intruder_added() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.verified_up(&ada).await;
    // An intruder with the password signs in from a new device (the owner
    // is alerted) and turns on an authenticator app of their own.
    let intruder = app.signed_in(&ada, FIREFOX).await;
    turn_on_app(&intruder).await;
    assert!(asks_for_a_code(&app, &ada, PASSWORD).await);
    let alert = app
        .wait_for_mail(&ada, "New sign-in to your account", 1)
        .await;
    let token = link_token(&alert, "/not-me");

    let done = app
        .browser()
        .post_form("/api/not_me", &[("token", &token)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        intruder.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(owner.get("/api/v1/me").await.status, StatusCode::OK);
    // The intruder's app no longer guards the account.
    assert!(!asks_for_a_code(&app, &ada, PASSWORD).await);
    let letter = app
        .wait_for_mail(&ada, "Second factors were removed from your account", 1)
        .await;
    assert!(letter.contains("authenticator app"), "{letter}");
    let log = owner.post_form("/api/security_events", &[]).await.json();
    let not_me = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "not_me")
        .expect("a not_me entry");
    assert!(
        not_me["detail"]
            .as_str()
            .unwrap()
            .contains("removed the authenticator app"),
        "{not_me}"
    );
}

#[tokio::test]
async fn a_reset_removes_a_factor_added_before_the_address_was_proved() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let planter = app.verified_up(&ada).await;
    turn_on_app(&planter).await;
    // The state an account opened before this rule existed may be in: an
    // app turned on while the address was unproved (the upgrade marks such
    // factors).
    app.execute("UPDATE totp_factors SET added_unverified = TRUE")
        .await;
    assert!(asks_for_a_code(&app, &ada, PASSWORD).await);

    let asked = app
        .browser()
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let letter = app.wait_for_mail(&ada, "Reset your password", 1).await;
    let token = link_token(&letter, "/reset-password");
    let owner = app.browser();
    let reset = owner
        .post_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    // The owner is signed in at once, not sent to a code prompt for a
    // factor they never set up; the planter is signed out.
    assert_eq!(reset.json()["email"], ada.as_str(), "{}", reset.body);
    assert_eq!(owner.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        planter.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(!asks_for_a_code(&app, &ada, NEW_PASSWORD).await);
    app.wait_for_mail(&ada, "Second factors were removed from your account", 1)
        .await;
}

#[tokio::test]
async fn signing_out_another_device_one_at_a_time_needs_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let here = app.signed_up(&ada).await;
    let other = app.signed_in(&ada, FIREFOX).await;
    let list = here.post_form("/api/list_sessions", &[]).await.json();
    let other_id = list[1]["id"].as_str().unwrap().to_owned();
    let this_id = list[0]["id"].as_str().unwrap().to_owned();
    app.an_hour_later().await;

    let refused = here
        .post_form("/api/revoke_session", &[("session_id", &other_id)])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(refused.code(), "reauth_required");
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::OK);
    // Another person's session, or none, still answers not_found.
    let stranger = app.signed_up(&email("bob")).await;
    let foreign = stranger
        .post_form("/api/revoke_session", &[("session_id", &other_id)])
        .await;
    assert_eq!(foreign.code(), "not_found");

    let proved = here
        .post_form("/api/reauthenticate", &[("password", PASSWORD)])
        .await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    let done = here
        .post_form("/api/revoke_session", &[("session_id", &other_id)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Signing out here needs no proof: it ends nobody else's session.
    app.an_hour_later().await;
    let own = here
        .post_form("/api/revoke_session", &[("session_id", &this_id)])
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

#[tokio::test]
async fn a_stale_administrator_cannot_disable_or_sign_out_anyone() {
    let app = TestApp::spawn().await;
    let admin = signed_in_admin(&app).await;
    let ada = email("ada");
    let victim = app.signed_up(&ada).await;
    let victim_id = account_id(&victim).await;
    let session_id = victim.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.an_hour_later().await;

    let disable = admin
        .post_form("/api/admin/disable_user", &[("user_id", &victim_id)])
        .await;
    assert_eq!(disable.code(), "reauth_required", "{}", disable.body);
    let revoke = admin
        .post_form("/api/admin/revoke_session", &[("session_id", &session_id)])
        .await;
    assert_eq!(revoke.code(), "reauth_required", "{}", revoke.body);
    assert_eq!(victim.get("/api/v1/me").await.status, StatusCode::OK);

    admin
        .post_form("/api/reauthenticate", &[("password", PASSWORD)])
        .await;
    let disable = admin
        .post_form("/api/admin/disable_user", &[("user_id", &victim_id)])
        .await;
    assert_eq!(disable.status, StatusCode::OK, "{}", disable.body);
    let refused = victim.get("/api/v1/me").await;
    assert_ne!(refused.status, StatusCode::OK, "{}", refused.body);
}

/// An administrator, signed in just now.
async fn signed_in_admin(app: &TestApp) -> Browser {
    let root = email("root");
    let admin = app.signed_up(&root).await;
    let user = app.state.admin.user_by_email(&root).await.unwrap();
    app.state.admin.grant_admin(&user).await.unwrap();
    admin
}

/// The account id of whoever `browser` is signed in as.
async fn account_id(browser: &Browser) -> String {
    browser.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Two signed-in devices of one account, with a reset link pending.
async fn account_with_two_devices(app: &TestApp) -> (String, Browser, Browser, String) {
    let ada = email("ada");
    let here = app.verified_up(&ada).await;
    let other = app.signed_in(&ada, FIREFOX).await;
    app.browser()
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    let letter = app.wait_for_mail(&ada, "Reset your password", 1).await;
    (ada, here, other, link_token(&letter, "/reset-password"))
}

/// Nothing of the command stayed: both devices are signed in, the old
/// password works, and the reset link is still good.
async fn nothing_changed(app: &TestApp, ada: &str, here: &Browser, other: &Browser, token: &str) {
    assert_eq!(here.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::OK);
    let again = app.signed_in(ada, FIREFOX).await;
    assert_eq!(again.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM link_tokens WHERE used_at IS NULL AND purpose = $1",
            "reset_password"
        )
        .await,
        1,
        "the reset link {token} is still usable"
    );
}

#[tokio::test]
async fn a_password_change_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here
        .post_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
}

#[tokio::test]
async fn a_reset_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = app
        .browser()
        .post_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
}

#[tokio::test]
async fn signing_out_others_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here.post_form("/api/revoke_other_sessions", &[]).await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    let list = here.post_form("/api/list_sessions", &[]).await.json();
    let other_id = list[1]["id"].as_str().unwrap().to_owned();
    let failed = here
        .post_form("/api/revoke_session", &[("session_id", &other_id)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
}

#[tokio::test]
async fn a_disable_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = signed_in_admin(&app).await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    let victim_id = account_id(&here).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = admin
        .post_form("/api/admin/disable_user", &[("user_id", &victim_id)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
}

#[tokio::test]
async fn a_deletion_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    break_writes(&app, "users", "DELETE").await;
    let failed = here
        .post_form("/api/delete_account", &[("password", PASSWORD)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "users").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
}

#[tokio::test]
async fn this_wasnt_me_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    let alert = app
        .wait_for_mail(&ada, "New sign-in to your account", 1)
        .await;
    let not_me = link_token(&alert, "/not-me");
    break_writes(&app, "security_events", "INSERT").await;
    let failed = app
        .browser()
        .post_form("/api/not_me", &[("token", &not_me)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
    // The link was not spent either.
    let done = app
        .browser()
        .post_form("/api/not_me", &[("token", &not_me)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_session_ended_meanwhile_adds_no_factor() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.verified_up(&ada).await;
    let secret = start_app(&browser).await;
    // The session ends in the database while its access token is still
    // accepted (another instance, or before this one hears of it).
    app.execute("UPDATE sessions SET revoked_at = 1, revoked_reason = 'revoked'")
        .await;
    let refused = browser
        .post_form(
            "/api/totp/confirm",
            &[("code", &code_at(&secret, now_secs()))],
        )
        .await;
    assert_ne!(refused.status, StatusCode::OK, "{}", refused.body);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM totp_factors WHERE confirmed_at IS NOT NULL AND user_id = (SELECT id FROM users WHERE email = $1)",
            &ada
        )
        .await,
        0
    );
}

const APP_ON: &str = "SELECT COUNT(*) FROM totp_factors WHERE confirmed_at IS NOT NULL \
     AND user_id = (SELECT id FROM users WHERE email = $1)";

#[tokio::test]
async fn turning_the_app_off_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    turn_on_app(&here).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here
        .post_form("/api/totp/disable", &[("password", PASSWORD)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    assert_eq!(app.count(APP_ON, &ada).await, 1, "the app is still on");
    assert_eq!(other.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(here.get("/api/v1/me").await.status, StatusCode::OK);
    assert!(asks_for_a_code(&app, &ada, PASSWORD).await);
    let _ = token;
}

#[tokio::test]
async fn an_administrators_factor_reset_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = signed_in_admin(&app).await;
    let ada = email("ada");
    let here = app.verified_up(&ada).await;
    turn_on_app(&here).await;
    let ada_id = account_id(&here).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = admin
        .post_form("/api/admin/reset_mfa", &[("user_id", &ada_id)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    assert_eq!(app.count(APP_ON, &ada).await, 1, "the app is still on");
    assert!(asks_for_a_code(&app, &ada, PASSWORD).await);
    // Healed, the same request does it, once.
    let done = admin
        .post_form("/api/admin/reset_mfa", &[("user_id", &ada_id)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(app.count(APP_ON, &ada).await, 0);
    assert!(!asks_for_a_code(&app, &ada, PASSWORD).await);
}

#[tokio::test]
async fn removing_a_passkey_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let here = app.verified_up(&ada).await;
    app.execute(&format!(
        "INSERT INTO passkeys (id, user_id, credential_id, credential, name, created_at) \
         SELECT 'pk1', id, 'cred1', '{{}}', 'Laptop', 1 FROM users WHERE email = '{ada}'"
    ))
    .await;
    let passkeys =
        "SELECT COUNT(*) FROM passkeys WHERE user_id = (SELECT id FROM users WHERE email = $1)";
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here
        .post_form("/api/passkey/remove", &[("id", "pk1")])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    assert_eq!(app.count(passkeys, &ada).await, 1, "the passkey stays");
    let done = here
        .post_form("/api/passkey/remove", &[("id", "pk1")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(app.count(passkeys, &ada).await, 0);
    let logged = "SELECT COUNT(*) FROM security_events WHERE kind = 'passkey_removed' \
         AND user_id = (SELECT id FROM users WHERE email = $1)";
    assert_eq!(app.count(logged, &ada).await, 1);
}

#[tokio::test]
async fn an_address_change_that_fails_at_its_last_write_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    let new = email("ada-new");
    let asked = here
        .post_form(
            "/api/change_email",
            &[("new_email", &new), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let letter = app
        .wait_for_mail(&new, "Confirm your new email address", 1)
        .await;
    let confirm = link_token(&letter, "/confirm-email");
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here
        .post_form("/api/confirm_email_change", &[("token", &confirm)])
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    assert_eq!(here.get("/api/v1/me").await.json()["email"], ada.as_str());
    nothing_changed(&app, &ada, &here, &other, &token).await;
    // The link was not spent: it still moves the address, once.
    let done = here
        .post_form("/api/confirm_email_change", &[("token", &confirm)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(here.get("/api/v1/me").await.json()["email"], new.as_str());
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn signing_out_every_device_from_the_command_line_is_one_transaction() {
    let app = TestApp::spawn().await;
    let (ada, here, other, token) = account_with_two_devices(&app).await;
    let user = app.state.admin.user_by_email(&ada).await.unwrap();
    let cli = gatehouse::request::ClientInfo::default();
    break_writes(&app, "security_events", "INSERT").await;
    let failed = app
        .state
        .account
        .revoke_all(gatehouse::admin::service::Actor::Cli, &user, &cli)
        .await;
    assert!(failed.is_err());
    heal(&app, "security_events").await;
    nothing_changed(&app, &ada, &here, &other, &token).await;
    let ended = app
        .state
        .account
        .revoke_all(gatehouse::admin::service::Actor::Cli, &user, &cli)
        .await
        .unwrap();
    assert_eq!(ended, 3);
    assert_eq!(
        here.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn turning_the_app_on_or_new_codes_that_fail_at_their_last_write_change_nothing() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let here = app.verified_up(&ada).await;
    let secret = start_app(&here).await;
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here
        .post_form(
            "/api/totp/confirm",
            &[("code", &code_at(&secret, now_secs()))],
        )
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    assert_eq!(app.count(APP_ON, &ada).await, 0, "the app is not on");
    assert!(!asks_for_a_code(&app, &ada, PASSWORD).await);

    // Turned on; then new recovery codes fail at their log entry: the
    // first codes still work.
    let codes = here
        .post_form(
            "/api/totp/confirm",
            &[("code", &code_at(&secret, now_secs()))],
        )
        .await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    let first = codes.json()["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    break_writes(&app, "security_events", "INSERT").await;
    let failed = here.post_form("/api/recovery_codes", &[]).await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    heal(&app, "security_events").await;
    let browser = app.browser();
    let step = browser
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(step.json()["mfa_required"], true, "{}", step.body);
    let done = browser
        .post_form("/api/login_mfa", &[("code", &first)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}
