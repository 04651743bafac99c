//! Account recovery by email, through the real server and its development
//! outbox: password reset, verification, address change, "this wasn't me",
//! and the limits around them.
#![cfg(feature = "ssr")]

mod common;

use common::{email, link_token, TestApp, FIREFOX, PASSWORD};
use reqwest::StatusCode;

const NEW_PASSWORD: &str = "amber tide carries seven paper boats";

async fn reset_link(app: &TestApp, to: &str, n: usize) -> String {
    let mail = app.wait_for_mail(to, "Reset your password", n).await;
    link_token(&mail, "/reset-password")
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let first = app.signed_up(&ada).await;
    let second = app.signed_in(&ada, FIREFOX).await;

    let stranger = app.browser();
    let asked = stranger
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(asked.body, "{}");
    let mail = app.wait_for_mail(&ada, "Reset your password", 1).await;
    assert!(mail.contains("Message-ID: <"), "{mail}");
    assert!(mail.contains("Content-Type: text/html"), "{mail}");
    let token = link_token(&mail, &format!("{}/reset-password", app.base));
    assert_eq!(token.len(), 43);

    // Opening the page changes nothing; a weak password spends nothing.
    let page = stranger
        .get(&format!("/reset-password?token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("new_password"));
    let weak = stranger
        .post_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", "password1")],
        )
        .await;
    assert_eq!(weak.code(), "weak_password", "{}", weak.body);

    let done = stranger
        .post_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["email"], ada.as_str());
    assert!(!done.body.contains(&token));
    // This browser is signed in; every earlier session has ended.
    let me = stranger.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.json()["email_verified"],
        true,
        "following the link proved the address"
    );
    for old in [&first, &second] {
        assert_eq!(old.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
        let refresh = old.post_form("/api/refresh", &[]).await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    }
    // The link works once; the old password is gone, the new one works.
    let again = app
        .browser()
        .post_form(
            "/api/reset_password",
            &[
                ("token", &token),
                ("new_password", "another very long passphrase here"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.code(), "invalid_token");
    let old_password = app
        .browser()
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(old_password.code(), "invalid_credentials");
    let log = stranger.post_form("/api/security_events", &[]).await;
    assert!(log.body.contains("\"password_reset\""), "{}", log.body);
}

#[tokio::test]
async fn reset_answers_the_same_for_known_and_unknown_addresses() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let ada = email("ada");
    app.signed_up(&ada).await;
    let client = app.browser();
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..24 {
        for (i, address) in [ada.clone(), email("nobody")].iter().enumerate() {
            let ip = format!("203.0.113.{}", round * 2 + i);
            let started = std::time::Instant::now();
            let res = client
                .post_form_from(&ip, "/api/request_password_reset", &[("email", address)])
                .await;
            times[i].push(started.elapsed());
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(res.body, "{}");
            assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
        }
    }
    let median = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut times[0]), median(&mut times[1]));
    let gap = known.abs_diff(unknown);
    assert!(
        gap < std::time::Duration::from_millis(5),
        "known {known:?} vs unknown {unknown:?}"
    );
    // Only one letter a minute goes to an address, however often it is asked.
    app.wait_for_mail(&ada, "Reset your password", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_to(&ada, "Reset your password").len(), 1);
}

#[tokio::test]
async fn one_client_address_is_capped_whatever_it_asks_for() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let ada = email("ada");
    app.signed_up(&ada).await;
    let client = app.browser();
    let ask = |address: String| {
        let client = &client;
        async move {
            client
                .post_form_from(
                    "198.51.100.9",
                    "/api/request_password_reset",
                    &[("email", &address)],
                )
                .await
        }
    };
    for _ in 0..30 {
        assert_eq!(ask(email("someone")).await.status, StatusCode::OK);
    }
    for address in [ada.clone(), email("nobody")] {
        let refused = ask(address).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code(), "throttled");
        assert!(refused.header("retry-after").is_some());
    }
    // Another address is not held up.
    let other = client
        .post_form_from(
            "198.51.100.10",
            "/api/request_password_reset",
            &[("email", &ada)],
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    let malformed = client
        .post_form_from(
            "198.51.100.11",
            "/api/request_password_reset",
            &[("email", "nope")],
        )
        .await;
    assert_eq!(malformed.code(), "invalid_input");
}

#[tokio::test]
async fn links_are_single_use_purpose_bound_expiring_and_replaced() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.signed_up(&ada).await;
    let verification = link_token(
        &app.wait_for_mail(&ada, "Confirm your email address", 1)
            .await,
        "/verify-email",
    );
    let stranger = app.browser();
    stranger
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    let reset = reset_link(&app, &ada, 1).await;

    // A token of one purpose never does another's job.
    let swapped = stranger
        .post_form(
            "/api/reset_password",
            &[("token", &verification), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(swapped.code(), "invalid_token");
    let swapped = stranger
        .post_form("/api/verify_email", &[("token", &reset)])
        .await;
    assert_eq!(swapped.code(), "invalid_token");
    for garbage in ["", "x", &"A".repeat(43), &format!("{reset}A")] {
        let res = stranger
            .post_form("/api/verify_email", &[("token", garbage)])
            .await;
        assert_eq!(res.code(), "invalid_token", "{garbage}");
    }

    // A newer request makes the older link stop working (the one-a-minute
    // spacing is cleared here to ask again at once).
    app.execute("DELETE FROM login_throttle WHERE key LIKE 'mail:%'")
        .await;
    stranger
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    let newer = reset_link(&app, &ada, 2).await;
    assert_ne!(newer, reset);
    let older = stranger
        .post_form(
            "/api/reset_password",
            &[("token", &reset), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(older.code(), "invalid_token");

    // A password change does too.
    let changed = browser
        .post_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let after_change = stranger
        .post_form(
            "/api/reset_password",
            &[
                ("token", &newer),
                ("new_password", "a third long passphrase for ada"),
            ],
        )
        .await;
    assert_eq!(after_change.code(), "invalid_token");

    // An expired link is refused.
    app.execute("UPDATE link_tokens SET expires_at = 0").await;
    let expired = stranger
        .post_form("/api/verify_email", &[("token", &verification)])
        .await;
    assert_eq!(expired.code(), "invalid_token");
}

#[tokio::test]
async fn a_link_used_by_many_at_once_works_exactly_once() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    app.signed_up(&ada).await;
    app.browser()
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    let token = reset_link(&app, &ada, 1).await;
    let browsers: Vec<_> = (0..8).map(|_| app.browser()).collect();
    let answers = futures::future::join_all(browsers.iter().enumerate().map(|(i, b)| {
        let token = token.clone();
        async move {
            let password = format!("{NEW_PASSWORD} number {i}");
            b.post_form(
                "/api/reset_password",
                &[("token", &token), ("new_password", &password)],
            )
            .await
        }
    }))
    .await;
    let won: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for lost in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(lost.code(), "invalid_token");
    }
    let sessions = app
        .count(
            "SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1) AND revoked_at IS NULL",
            &ada,
        )
        .await;
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn registration_sends_a_verification_link() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.signed_up(&ada).await;
    let me = browser.get("/api/v1/me").await;
    assert_eq!(me.json()["email_verified"], false);
    let whoami = browser.post_form("/api/whoami", &[]).await;
    assert_eq!(whoami.json()["email_verified"], false);
    let home = browser.get("/").await;
    assert!(
        home.body.contains("verify-banner"),
        "the banner asks to confirm"
    );

    let mail = app
        .wait_for_mail(&ada, "Confirm your email address", 1)
        .await;
    let token = link_token(&mail, "/verify-email");
    // Opening the link's page changes nothing.
    let page = app
        .browser()
        .get(&format!("/verify-email?token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        browser.get("/api/v1/me").await.json()["email_verified"],
        false
    );

    let verified = app
        .browser()
        .post_form("/api/verify_email", &[("token", &token)])
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(
        browser.get("/api/v1/me").await.json()["email_verified"],
        true
    );
    assert!(!browser.get("/").await.body.contains("verify-banner"));
    let again = app
        .browser()
        .post_form("/api/verify_email", &[("token", &token)])
        .await;
    assert_eq!(again.code(), "invalid_token");
    // Nothing to send once verified.
    let resend = browser.post_form("/api/send_verification", &[]).await;
    assert_eq!(resend.status, StatusCode::OK);
}

#[tokio::test]
async fn send_again_is_spaced_out_and_needs_a_sign_in() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.signed_up(&ada).await;
    app.wait_for_mail(&ada, "Confirm your email address", 1)
        .await;
    let soon = browser.post_form("/api/send_verification", &[]).await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS, "{}", soon.body);
    app.execute("DELETE FROM login_throttle WHERE key LIKE 'mail:%'")
        .await;
    let later = browser.post_form("/api/send_verification", &[]).await;
    assert_eq!(later.status, StatusCode::OK);
    app.wait_for_mail(&ada, "Confirm your email address", 2)
        .await;
    let anonymous = app.browser().post_form("/api/send_verification", &[]).await;
    assert_eq!(anonymous.code(), "unauthenticated");
}

#[tokio::test]
async fn a_required_verified_address_gates_sign_in() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let ada = email("ada");
    let browser = app.browser();
    let registered = browser
        .post_form("/api/register", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(
        registered.status,
        StatusCode::FORBIDDEN,
        "{}",
        registered.body
    );
    assert_eq!(registered.code(), "email_unverified");
    // Cookies may only be cleared, never set.
    let opened = |cookies: Vec<String>| cookies.iter().any(|c| !c.contains("Max-Age=0"));
    assert!(
        !opened(registered.set_cookies()),
        "no session before the address is proved"
    );

    let wrong = browser
        .post_form(
            "/api/login",
            &[("email", &ada), ("password", "not the password at all")],
        )
        .await;
    assert_eq!(
        wrong.code(),
        "invalid_credentials",
        "only a correct password learns more"
    );
    let refused = browser
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "email_unverified");
    assert!(!opened(refused.set_cookies()));
    let api = browser
        .post_json(
            "/api/v1/token",
            serde_json::json!({"email": ada, "password": PASSWORD}),
        )
        .await;
    assert_eq!(api.code(), "email_unverified");

    let token = link_token(
        &app.wait_for_mail(&ada, "Confirm your email address", 1)
            .await,
        "/verify-email",
    );
    browser
        .post_form("/api/verify_email", &[("token", &token)])
        .await;
    let signed_in = browser
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
}

#[tokio::test]
async fn an_address_change_is_confirmed_from_the_new_address() {
    let app = TestApp::spawn().await;
    let (ada, new) = (email("ada"), email("ada-new"));
    let here = app.signed_up(&ada).await;
    let elsewhere = app.signed_in(&ada, FIREFOX).await;
    let taken = email("taken");
    app.signed_up(&taken).await;

    let wrong = here
        .post_form(
            "/api/change_email",
            &[("new_email", &new), ("password", "wrong password here")],
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");
    let clash = here
        .post_form(
            "/api/change_email",
            &[("new_email", &taken), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(clash.code(), "email_taken");
    let asked = here
        .post_form(
            "/api/change_email",
            &[("new_email", &new), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let notice = app
        .wait_for_mail(&ada, "Your email address is being changed", 1)
        .await;
    assert!(notice.contains(&new));
    let token = link_token(
        &app.wait_for_mail(&new, "Confirm your new email address", 1)
            .await,
        "/confirm-email",
    );
    // Nothing changes until the link is followed.
    assert_eq!(here.get("/api/v1/me").await.json()["email"], ada.as_str());

    let confirmed = here
        .post_form("/api/confirm_email_change", &[("token", &token)])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let me = here.get("/api/v1/me").await;
    assert_eq!(me.json()["email"], new.as_str());
    assert_eq!(me.json()["email_verified"], true);
    assert_eq!(
        elsewhere.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .browser()
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(old.code(), "invalid_credentials");
    app.signed_in(&new, FIREFOX).await;
    let reuse = here
        .post_form("/api/confirm_email_change", &[("token", &token)])
        .await;
    assert_eq!(reuse.code(), "invalid_token");
    let anonymous = app
        .browser()
        .post_form(
            "/api/change_email",
            &[("new_email", &email("x")), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(anonymous.code(), "unauthenticated");
}

#[tokio::test]
async fn this_wasnt_me_ends_exactly_that_session() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.signed_up(&ada).await;
    // The owner's browser again (device credential, same address): no alert.
    let again = owner
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(again.status, StatusCode::OK);
    // A browser the account has never seen: an alert naming it.
    let intruder = app.signed_in(&ada, FIREFOX).await;
    let alert = app
        .wait_for_mail(&ada, "New sign-in to your account", 1)
        .await;
    assert!(alert.contains("Firefox"), "{alert}");
    assert!(alert.contains("127.0.0.1"), "{alert}");
    assert_eq!(app.mail_to(&ada, "New sign-in to your account").len(), 1);
    let token = link_token(&alert, "/not-me");

    let page = app.browser().get(&format!("/not-me?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign that device out"));
    assert_eq!(
        intruder.get("/api/v1/me").await.status,
        StatusCode::OK,
        "GET changes nothing"
    );

    let ended = app
        .browser()
        .post_form("/api/not_me", &[("token", &token)])
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(
        intruder.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        intruder.post_form("/api/refresh", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        owner.get("/api/v1/me").await.status,
        StatusCode::OK,
        "only that session ends"
    );
    let log = owner.post_form("/api/security_events", &[]).await;
    assert!(log.body.contains("\"not_me\""), "{}", log.body);
    let reuse = app
        .browser()
        .post_form("/api/not_me", &[("token", &token)])
        .await;
    assert_eq!(reuse.code(), "invalid_token");
}

#[tokio::test]
async fn the_outbox_page_lists_messages_in_development_only() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    app.signed_up(&ada).await;
    app.wait_for_mail(&ada, "Confirm your email address", 1)
        .await;
    let page = app.browser().get("/dev/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Confirm your email address"));
    assert!(page
        .body
        .contains(&format!("href=\"{}/verify-email?token=", app.base)));

    let production = TestApp::spawn_with(&[
        ("GATEHOUSE_ENV", "production"),
        (
            "GATEHOUSE_SECRET",
            "9xiZslo3uV4HKl16V9t/oXOF+T9Uhmxd9lBp+uPpQsUxfFxLv7+E3VBEyyRczX3g",
        ),
        ("GATEHOUSE_SMTP_URL", "smtp://127.0.0.1:1"),
    ])
    .await;
    let hidden = production.browser().get("/dev/outbox").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.body.contains("Outbox"));
    let api = production.browser().post_form("/api/dev_outbox", &[]).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_work_without_javascript() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    app.signed_up(&ada).await;
    let browser = app.browser();
    let asked = browser
        .post_html_form(
            "/api/request_password_reset",
            &[("email", &ada), ("next", "/forgot-password?sent=1")],
            "/forgot-password",
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/forgot-password?sent=1")
    );
    let token = reset_link(&app, &ada, 1).await;
    let page = format!("/reset-password?token={token}");
    let weak = browser
        .post_html_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", "short"), ("next", "/")],
            &page,
        )
        .await;
    assert_eq!(weak.status, StatusCode::SEE_OTHER);
    let back = weak.header("location").unwrap();
    assert!(back.starts_with("/reset-password?token="), "{back}");
    assert!(back.contains("error=weak_password"), "{back}");
    let done = browser
        .post_html_form(
            "/api/reset_password",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("next", "/"),
            ],
            &page,
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.header("location").as_deref(), Some("/"));
    assert!(browser.get("/").await.body.contains(&ada));
}

#[tokio::test]
async fn a_reset_cancels_an_address_change_started_with_the_old_password() {
    let app = TestApp::spawn().await;
    let (ada, intruder_address) = (email("ada"), email("intruder"));
    let intruder = app.signed_up(&ada).await;
    let asked = intruder
        .post_form(
            "/api/change_email",
            &[("new_email", &intruder_address), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let change = link_token(
        &app.wait_for_mail(&intruder_address, "Confirm your new email address", 1)
            .await,
        "/confirm-email",
    );
    // The owner, warned at the old address, resets the password.
    let owner = app.browser();
    owner
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    let reset = reset_link(&app, &ada, 1).await;
    let done = owner
        .post_form(
            "/api/reset_password",
            &[("token", &reset), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let taken = app
        .browser()
        .post_form("/api/confirm_email_change", &[("token", &change)])
        .await;
    assert_eq!(taken.code(), "invalid_token");
    assert_eq!(owner.get("/api/v1/me").await.json()["email"], ada.as_str());
}

#[tokio::test]
async fn this_wasnt_me_also_ends_sign_ins_made_after_the_alerted_one() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.signed_up(&ada).await;
    let first = app.signed_in(&ada, FIREFOX).await;
    // A second sign-in within the minute gets no alert of its own.
    let second = app.signed_in(&ada, FIREFOX).await;
    let alert = app
        .wait_for_mail(&ada, "New sign-in to your account", 1)
        .await;
    app.browser()
        .post_form("/api/not_me", &[("token", &link_token(&alert, "/not-me"))])
        .await;
    for intruder in [&first, &second] {
        assert_eq!(
            intruder.get("/api/v1/me").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(owner.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(app.mail_to(&ada, "New sign-in to your account").len(), 1);
}

#[tokio::test]
async fn the_outbox_answers_only_the_machine_itself() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let remote = app
        .browser()
        .post_form_from("203.0.113.5", "/api/dev_outbox", &[])
        .await;
    assert_eq!(remote.status, StatusCode::NOT_FOUND);
    let local = app.browser().post_form("/api/dev_outbox", &[]).await;
    assert_eq!(local.status, StatusCode::OK);
}

#[tokio::test]
async fn requiring_verified_addresses_reaches_sessions_opened_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut before = TestApp::spawn_in(dir.path(), &[]).await;
    let ada = email("ada");
    let browser = before.signed_up(&ada).await;
    let refresh = browser.refresh_token();
    let access = browser.access();
    before.stop().await;

    let after =
        TestApp::spawn_in(dir.path(), &[("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let browser = after.browser();
    browser.set_cookie("__Host-gh_refresh", &refresh);
    browser.set_cookie("__Host-gh_access", &access);
    let renewed = browser.post_form("/api/refresh", &[]).await;
    assert_eq!(renewed.status, StatusCode::FORBIDDEN, "{}", renewed.body);
    assert_eq!(renewed.code(), "email_unverified");
}
