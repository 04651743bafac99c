//! A second factor: an authenticator app (TOTP, RFC 6238) with recovery
//! codes, the two-step sign-in for browsers and the token API, and the
//! rules around them, through the real server.
#![cfg(feature = "ssr")]

mod common;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use common::{email, Browser, TestApp, FIREFOX, PASSWORD};
use gatehouse::mfa::totp::code_at;
use reqwest::StatusCode;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits until the clock is early in a 30-second step, so that "this
/// step", "one step later" and "two steps later" keep meaning the same
/// steps for the next ten seconds.
async fn early_in_a_step() {
    common::eventually(
        "early in a step",
        std::time::Duration::from_secs(31),
        || async { now_secs() % 30 < 20 },
    )
    .await;
}

/// The secret's bytes from the base32 the enrolment shows.
fn from_base32(text: &str) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(text)
        .expect("base32 secret")
        .as_bytes()
        .to_vec()
}

/// A code `steps` steps from now, as the person's app would show it.
fn code(secret: &[u8], steps: i64) -> String {
    code_at(secret, (now_secs() as i64 + steps * 30) as u64)
}

/// An account with an authenticator app turned on (confirmed with this
/// step's code); its browser, secret and recovery codes.
async fn with_authenticator(app: &TestApp, address: &str) -> (Browser, Vec<u8>, Vec<String>) {
    early_in_a_step().await;
    let browser = app.verified_up(address).await;
    let enrolled = browser.post_form("/api/totp/enroll", &[]).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let body = enrolled.json();
    let secret_text = body["secret"].as_str().unwrap().to_owned();
    assert!(body["otpauth_url"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let secret = from_base32(&secret_text);
    assert_eq!(secret.len(), 20, "160 bits");
    let confirmed = browser
        .post_form("/api/totp/confirm", &[("code", &code(&secret, 0))])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes: Vec<String> = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (browser, secret, codes)
}

/// Posts the password from a new browser; it must answer the second step.
async fn password_step(app: &TestApp, address: &str) -> Browser {
    let browser = app.browser_with_agent(FIREFOX);
    let res = browser
        .post_form("/api/login", &[("email", address), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["mfa_required"], true, "{}", res.body);
    browser
}

fn amr(browser: &Browser) -> serde_json::Value {
    let token = browser.access();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["amr"].clone()
}

async fn current_method(browser: &Browser) -> String {
    let list = browser.post_form("/api/list_sessions", &[]).await.json();
    list[0]["method"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn enrolment_then_a_two_step_sign_in() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    early_in_a_step().await;
    let here = app.verified_up(&ada).await;
    let enrolled = here.post_form("/api/totp/enroll", &[]).await.json();
    let secret = from_base32(enrolled["secret"].as_str().unwrap());
    // Not active until confirmed: the password alone still signs in.
    let before = app.signed_in(&ada, FIREFOX).await;
    assert_eq!(before.get("/api/v1/me").await.status, StatusCode::OK);
    let wrong = here
        .post_form("/api/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_code");
    let confirmed_at = now_secs();
    let confirmed = here
        .post_form(
            "/api/totp/confirm",
            &[("code", &code_at(&secret, confirmed_at))],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);
    let again = here.post_form("/api/totp/enroll", &[]).await;
    assert_eq!(again.code(), "invalid_input", "one authenticator at a time");

    // The password step: no session, no tokens, only the second step.
    let browser = app.browser_with_agent(FIREFOX);
    let res = browser
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["mfa_required"], true);
    assert_eq!(
        res.json()["methods"],
        serde_json::json!(["totp", "recovery_code"])
    );
    assert!(res.json().get("id").is_none());
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let step = &cookies[0];
    assert!(step.starts_with("__Host-gh_mfa="), "{step}");
    assert!(step.contains("HttpOnly") && step.contains("Secure") && step.contains("Path=/"));
    let max_age: i64 = step
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age > 0 && max_age <= 300, "{step}");
    assert_eq!(
        browser.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    let wrong = browser
        .post_form("/api/login_mfa", &[("code", "123456")])
        .await;
    assert_eq!(wrong.code(), "invalid_code");
    // The code of the step the confirmation used was spent there; the next
    // step's (a phone clock a little ahead) works.
    let replay = browser
        .post_form(
            "/api/login_mfa",
            &[("code", &code_at(&secret, confirmed_at))],
        )
        .await;
    assert_eq!(replay.code(), "invalid_code", "a step's code works once");
    let step_token = browser.cookie("__Host-gh_mfa").unwrap();
    let done = browser
        .post_form(
            "/api/login_mfa",
            &[("code", &code_at(&secret, confirmed_at + 30))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["email"], ada.as_str());
    assert!(
        browser.cookie("__Host-gh_mfa").is_none(),
        "the step cookie is cleared"
    );
    assert_eq!(browser.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(current_method(&browser).await, "password+totp");
    assert_eq!(amr(&browser), serde_json::json!(["pwd", "otp", "mfa"]));

    // The step is single use, even with another good code.
    let reuse = app.browser();
    reuse.set_cookie("__Host-gh_mfa", &step_token);
    let again = reuse
        .post_form("/api/login_mfa", &[("code", codes[0].as_str().unwrap())])
        .await;
    assert_eq!(again.code(), "invalid_token");
    let none = app
        .browser()
        .post_form("/api/login_mfa", &[("code", "123456")])
        .await;
    assert_eq!(none.code(), "invalid_token");
}

#[tokio::test]
async fn codes_within_one_step_either_way_once_each_and_in_order() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (_, secret, _) = with_authenticator(&app, &ada).await;

    let browser = password_step(&app, &ada).await;
    early_in_a_step().await;
    let too_early = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, 2))])
        .await;
    assert_eq!(too_early.code(), "invalid_code", "two steps ahead");
    let early = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(
        early.status,
        StatusCode::OK,
        "one step ahead: {}",
        early.body
    );

    // After step s+1 was used, step s's code is refused: steps only move on.
    let browser = password_step(&app, &ada).await;
    let older = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, 0))])
        .await;
    assert_eq!(older.code(), "invalid_code");

    // A code one step late, when no later one was used.
    app.execute("UPDATE totp_factors SET last_step = last_step - 10")
        .await;
    early_in_a_step().await;
    let too_late = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, -2))])
        .await;
    assert_eq!(too_late.code(), "invalid_code", "two steps late");
    let late = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, -1))])
        .await;
    assert_eq!(late.status, StatusCode::OK, "one step late: {}", late.body);
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (owner, secret, _) = with_authenticator(&app, &ada).await;
    let browser = password_step(&app, &ada).await;
    let mut throttled = None;
    for attempt in 1..=8 {
        let res = browser
            .post_form("/api/login_mfa", &[("code", "000000")])
            .await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(res.code(), "throttled");
            assert!(res.header("retry-after").is_some());
            throttled = Some(attempt);
            break;
        }
        assert_eq!(res.code(), "invalid_code");
    }
    let throttled = throttled.expect("wrong codes end in backoff");
    assert!(throttled <= 7, "after {throttled} attempts");
    // In backoff even the right code waits, and no session opens.
    let right = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(right.code(), "throttled");
    assert_eq!(
        browser.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let events = owner.post_form("/api/security_events", &[]).await.json();
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "second_factor_failed")
        .count();
    assert!(failed >= 5, "{events}");
    // The owner hears that their password is known, once a minute at most.
    let alert = app
        .wait_for_mail(&ada, "Your password was used with a wrong code", 1)
        .await;
    assert!(!alert.contains("000000"));
    assert_eq!(
        app.mail_to(&ada, "Your password was used with a wrong code")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_recovery_code_works_once_even_under_a_race() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (_, _, codes) = with_authenticator(&app, &ada).await;
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(c.len(), 14, "{c}");
        assert_eq!(c.matches('-').count(), 2, "{c}");
    }
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);

    // Four at once: the three that lose count as wrong codes, which stays
    // within this client's free attempts for the rest of the test.
    let mut browsers = Vec::new();
    for _ in 0..4 {
        browsers.push(password_step(&app, &ada).await);
    }
    let code = codes[0].to_uppercase();
    let fields = [("code", code.as_str())];
    let answers = futures::future::join_all(
        browsers
            .iter()
            .map(|b| b.post_form("/api/login_mfa", &fields)),
    )
    .await;
    let won: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for lost in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(lost.code(), "invalid_code");
    }
    let winner = browsers
        .iter()
        .position(|b| b.cookie("__Host-gh_access").is_some())
        .unwrap();
    assert_eq!(current_method(&browsers[winner]).await, "recovery_code");
    let mail = app
        .wait_for_mail(&ada, "A recovery code was used on your account", 1)
        .await;
    assert!(mail.contains("Codes left: 9"), "{mail}");
    assert!(!mail.contains(&codes[0]), "the code is not mailed");
    let events = browsers[winner]
        .post_form("/api/security_events", &[])
        .await
        .json();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "recovery_code_used"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL AND code_hash <> $1",
            "-"
        )
        .await,
        9
    );

    // Regenerating replaces every code.
    let status = browsers[winner]
        .post_form("/api/mfa_status", &[])
        .await
        .json();
    assert_eq!(status["recovery_codes_left"], 9);
    let fresh = browsers[winner].post_form("/api/recovery_codes", &[]).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    let fresh: Vec<String> = fresh.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let old = password_step(&app, &ada).await;
    let refused = old
        .post_form("/api/login_mfa", &[("code", &codes[1])])
        .await;
    assert_eq!(
        refused.code(),
        "invalid_code",
        "the old set stopped working"
    );
    let accepted = old
        .post_form("/api/login_mfa", &[("code", &fresh[1])])
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
}

#[tokio::test]
async fn the_secret_is_sealed_in_the_database() {
    let app = TestApp::spawn().await;
    let (_, secret, codes) = with_authenticator(&app, &email("ada")).await;
    let stored = app.stored_bytes("totp_factors").await;
    let base32 = totp_rs::Secret::new(secret.clone().into_boxed_slice()).to_base32();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    for needle in [secret.clone(), base32.into_bytes(), hex.into_bytes()] {
        assert!(
            !stored.windows(needle.len()).any(|w| w == needle.as_slice()),
            "the secret is stored readable"
        );
    }
    let stored = app.stored_bytes("recovery_codes").await;
    for c in &codes {
        let plain = c.replace('-', "");
        assert!(!stored.windows(plain.len()).any(|w| w == plain.as_bytes()));
        assert!(!stored.windows(c.len()).any(|w| w == c.as_bytes()));
    }
}

#[tokio::test]
async fn the_token_api_answers_mfa_required_with_an_mfa_token() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (_, secret, _) = with_authenticator(&app, &ada).await;
    let client = app.browser();
    let res = client
        .post_json(
            "/api/v1/token",
            serde_json::json!({"email": ada, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let body = res.json();
    assert_eq!(body["error"], "mfa_required");
    assert!(body["message"].as_str().unwrap().len() > 10);
    // A problem document (RFC 9457) that also carries the second step.
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(body["status"], 403);
    assert_eq!(
        body["type"],
        "https://gatehouse.invalid/problems/mfa_required"
    );
    assert_eq!(body["detail"], body["message"]);
    assert_eq!(
        body["methods"],
        serde_json::json!(["totp", "recovery_code"])
    );
    assert!(body.get("access_token").is_none());
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();

    let wrong = client
        .post_json(
            "/api/v1/token/mfa",
            serde_json::json!({"mfa_token": mfa_token, "code": "000000"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_code");
    // A browser's second step is not the API's, and the reverse.
    let cross = app.browser();
    cross.set_cookie("__Host-gh_mfa", &mfa_token);
    let refused = cross
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(refused.code(), "invalid_token");
    let done = client
        .post_json(
            "/api/v1/token/mfa",
            serde_json::json!({"mfa_token": mfa_token, "code": code(&secret, 1)}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let access = done.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(done.json()["token_type"], "Bearer");
    let me = client.get_bearer("/api/v1/me", &access).await;
    assert_eq!(me.status, StatusCode::OK);
    let again = client
        .post_json(
            "/api/v1/token/mfa",
            serde_json::json!({"mfa_token": mfa_token, "code": code(&secret, 1)}),
        )
        .await;
    assert_eq!(again.code(), "invalid_token");
    let garbage = client
        .post_json(
            "/api/v1/token/mfa",
            serde_json::json!({"mfa_token": "nope", "code": "123456"}),
        )
        .await;
    assert_eq!(garbage.code(), "invalid_token");
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_sign_in_and_a_code_is_one() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (here, secret, codes) = with_authenticator(&app, &ada).await;
    app.an_hour_later().await;
    for path in [
        "/api/totp/enroll",
        "/api/totp/confirm",
        "/api/recovery_codes",
        "/api/revoke_other_sessions",
    ] {
        let res = here.post_form(path, &[("code", "123456")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}: {}", res.body);
        assert_eq!(res.code(), "reauth_required", "{path}");
    }
    let status = here.post_form("/api/mfa_status", &[]).await.json();
    assert_eq!(status["recovery_codes_left"], 10, "nothing was replaced");

    let wrong = here
        .post_form("/api/reauthenticate", &[("code", "000000")])
        .await;
    assert_eq!(wrong.code(), "invalid_code");
    let proved = here
        .post_form("/api/reauthenticate", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    let fresh = here.post_form("/api/recovery_codes", &[]).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);

    // A recovery code proves it too (and is spent).
    app.an_hour_later().await;
    let fresh: Vec<String> = fresh.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_ne!(fresh, codes);
    let proved = here
        .post_form("/api/reauthenticate", &[("code", &fresh[0])])
        .await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    app.an_hour_later().await;
    let spent = here
        .post_form("/api/reauthenticate", &[("code", &fresh[0])])
        .await;
    assert_eq!(spent.code(), "invalid_code");
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (here, secret, _) = with_authenticator(&app, &ada).await;
    let other = password_step(&app, &ada).await;
    let signed_in = other
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    app.an_hour_later().await;

    let wrong = here
        .post_form("/api/totp/disable", &[("password", "not the password")])
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");
    let off = here
        .post_form("/api/totp/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(here.get("/api/v1/me").await.status, StatusCode::OK);
    let status = here.post_form("/api/mfa_status", &[]).await.json();
    assert_eq!(status["totp"], false);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM recovery_codes WHERE code_hash <> $1",
            "-"
        )
        .await,
        0
    );
    // The password alone signs in again.
    let plain = app.signed_in(&ada, FIREFOX).await;
    assert_eq!(current_method(&plain).await, "password");
    let again = here
        .post_form("/api/totp/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(again.code(), "invalid_input");
}

#[tokio::test]
async fn an_administrator_resets_a_lost_factor_and_the_person_is_told() {
    let app = TestApp::spawn().await;
    let admin_address = email("admin");
    let admin = app.verified_up(&admin_address).await;
    let user = app.state.admin.user_by_email(&admin_address).await.unwrap();
    app.state.admin.grant_admin(&user).await.unwrap();
    let ada = email("ada");
    let (here, _, _) = with_authenticator(&app, &ada).await;
    let ada_id = here.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = here
        .post_form("/api/admin/reset_mfa", &[("user_id", &ada_id)])
        .await;
    assert_eq!(refused.code(), "forbidden");
    let reset = admin
        .post_form("/api/admin/reset_mfa", &[("user_id", &ada_id)])
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    app.wait_for_mail(&ada, "Your second factor was reset", 1)
        .await;
    let events = here.post_form("/api/security_events", &[]).await.json();
    assert_eq!(events[0]["kind"], "second_factor_reset", "{events}");
    let plain = app.signed_in(&ada, FIREFOX).await;
    assert_eq!(current_method(&plain).await, "password");
    let none = admin
        .post_form("/api/admin/reset_mfa", &[("user_id", &ada_id)])
        .await;
    assert_eq!(none.code(), "not_found");
}

#[tokio::test]
async fn without_javascript_the_second_step_is_its_own_page() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (_, secret, _) = with_authenticator(&app, &ada).await;
    let browser = app.browser();
    let res = browser
        .post_html_form(
            "/api/login",
            &[
                ("email", &ada),
                ("password", PASSWORD),
                ("next", "/sessions"),
            ],
            "/login?next=%2Fsessions",
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/login/code?next=%2Fsessions")
    );
    assert!(res.header("gatehouse-form-next").is_none());
    let page = browser.get("/login/code?next=%2Fsessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(">Code<"), "{}", page.body);
    assert!(page.body.contains("autocomplete=\"one-time-code\""));

    let wrong = browser
        .post_html_form(
            "/api/login_mfa",
            &[("code", "000000"), ("next", "/sessions")],
            "/login/code?next=%2Fsessions",
        )
        .await;
    assert_eq!(wrong.status, StatusCode::SEE_OTHER);
    assert_eq!(
        wrong.header("location").as_deref(),
        Some("/login/code?next=%2Fsessions&error=invalid_code")
    );
    let page = browser
        .get("/login/code?next=%2Fsessions&error=invalid_code")
        .await;
    assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    let done = browser
        .post_html_form(
            "/api/login_mfa",
            &[("code", &code(&secret, 1)), ("next", "/sessions")],
            "/login/code?next=%2Fsessions",
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.header("location").as_deref(), Some("/sessions"));
    assert_eq!(browser.get("/sessions").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_link_does_not_skip_the_second_factor() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let (_, secret, _) = with_authenticator(&app, &ada).await;
    // A sign-in waiting for its code, opened with the old password.
    let pending = password_step(&app, &ada).await;

    let browser = app.browser();
    let asked = browser
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let mail = app.wait_for_mail(&ada, "Reset your password", 1).await;
    let token = common::link_token(&mail, "/reset-password");
    let reset = browser
        .post_form(
            "/api/reset_password",
            &[
                ("token", &token),
                ("new_password", "a brand new passphrase for ada"),
            ],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.json()["mfa_required"], true, "{}", reset.body);
    assert!(
        browser.cookie("__Host-gh_access").is_none(),
        "no session from the mailbox alone"
    );
    assert!(browser.cookie("__Host-gh_mfa").is_some());

    // The step opened with the old password ended with it.
    let stale = pending
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(stale.code(), "invalid_token");
    let done = browser
        .post_form("/api/login_mfa", &[("code", &code(&secret, 1))])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(current_method(&browser).await, "password+totp");
}
