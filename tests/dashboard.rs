//! The security dashboard on `/admin`, through the real server: counts in
//! the right buckets after a scripted run, client networks by scope only,
//! the event log's filters and keyset pages, and administrators only.
#![cfg(feature = "ssr")]

mod common;

use common::{email, eventually, link_token, Browser, TestApp, FIREFOX, PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

const GUESSER: &str = "2001:db8:aa:bb01::7";
const SIGN_UP_HOST: &str = "198.51.100.9";
const NEW_PASSWORD: &str = "amber trains cross the silent valley";
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

async fn admin_of(app: &TestApp) -> Browser {
    let address = email("chief");
    let admin = app.signed_up(&address).await;
    let user = app.state.admin.user_by_email(&address).await.unwrap();
    app.state.admin.grant_admin(&user).await.unwrap();
    admin
}

async fn dashboard(admin: &Browser) -> Value {
    let res = admin.post_form("/api/admin/dashboard", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()
}

fn total(buckets: &Value, field: &str) -> i64 {
    buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[field].as_i64().unwrap())
        .sum()
}

/// The index of the bucket (of `size` ms) that holds `at`.
fn bucket_of(buckets: &Value, at: i64, size: i64) -> usize {
    buckets
        .as_array()
        .unwrap()
        .iter()
        .position(|b| {
            let start = time::OffsetDateTime::parse(
                b["start"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .unix_timestamp()
                * 1000;
            start <= at && at < start + size
        })
        .unwrap_or_else(|| panic!("no bucket holds {at}"))
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn the_dashboard_counts_a_scripted_run_in_the_right_buckets() {
    let run_started = now_ms();
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let admin = admin_of(&app).await;

    // Sign-ups: one from an IPv6 client, two from one IPv4 address.
    let alice = email("alice");
    let registered = app
        .browser()
        .post_form_from(
            GUESSER,
            "/api/register",
            &[("email", &alice), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
    let (bob, carol) = (email("bob"), email("carol"));
    for address in [&bob, &carol] {
        let res = app
            .browser()
            .post_form_from(
                SIGN_UP_HOST,
                "/api/register",
                &[("email", address), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }

    // Sign-ins: two that work, then wrong guesses from one IPv6 client
    // until the throttle refuses them.
    let laptop = app.signed_in(&alice, FIREFOX).await;
    let phone = app.signed_in(&alice, FIREFOX).await;
    let (mut failed, mut throttled) = (0, 0);
    while throttled == 0 {
        assert!(failed < 20, "never throttled");
        let res = app
            .browser()
            .post_form_from(
                GUESSER,
                "/api/login",
                &[("email", &alice), ("password", "wrong guess here")],
            )
            .await;
        match res.code().as_str() {
            "invalid_credentials" => failed += 1,
            "throttled" => throttled += 1,
            other => panic!("unexpected answer {other}: {}", res.body),
        }
    }

    // A revocation, and a reset by mail.
    let phone_session = phone.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = laptop
        .post_form("/api/revoke_session", &[("session_id", &phone_session)])
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    app.browser()
        .post_form("/api/request_password_reset", &[("email", &carol)])
        .await;
    let letter = app.wait_for_mail(&carol, "Reset your password", 1).await;
    let token = link_token(&letter, "/reset-password");
    let reset = app
        .browser()
        .post_form(
            "/api/reset_password",
            &[("token", &token), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);

    // Events from earlier hours and days, written straight to the log.
    let alice_id = laptop.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = now_ms();
    let (three_hours_ago, ten_days_ago) = (now - 3 * HOUR_MS, now - 10 * DAY_MS);
    app.execute(&format!(
        "INSERT INTO security_events (user_id, kind, at, detail) VALUES \
         ('{alice_id}', 'sign_in', {three_hours_ago}, 'earlier'), \
         ('{alice_id}', 'sign_in', {three_hours_ago}, 'earlier'), \
         ('{alice_id}', 'password_reset', {ten_days_ago}, 'earlier'), \
         ('{alice_id}', 'sign_in', {}, 'too old to chart')",
        now - 40 * DAY_MS
    ))
    .await;

    // Failed and throttled sign-ins are logged after the answer has left.
    eventually(
        "the failed sign-ins logged",
        Duration::from_secs(10),
        || async {
            let board = dashboard(&admin).await;
            total(&board["hourly"], "sign_in_failed") == failed
                && total(&board["hourly"], "sign_in_throttled") == throttled
        },
    )
    .await;
    let board = dashboard(&admin).await;
    let (hourly, daily) = (&board["hourly"], &board["daily"]);
    assert_eq!(hourly.as_array().unwrap().len(), 24);
    assert_eq!(daily.as_array().unwrap().len(), 30);

    // Everything of this run is in the buckets from the one it started in.
    let first = bucket_of(hourly, run_started, HOUR_MS);
    let in_run = |field: &str| {
        total(
            &Value::from(hourly.as_array().unwrap()[first..].to_vec()),
            field,
        )
    };
    // The seeded events are three hours back: not in the run's buckets.
    assert_eq!(in_run("sign_in"), 2, "{hourly}");
    assert_eq!(in_run("sign_in_failed"), failed);
    assert_eq!(in_run("sign_in_throttled"), throttled);
    assert_eq!(in_run("registered"), 4, "the admin, alice, bob and carol");
    assert_eq!(in_run("password_reset"), 1);
    assert_eq!(in_run("revoked"), 1);
    assert_eq!(total(hourly, "sign_in"), 4);
    let earlier = bucket_of(hourly, three_hours_ago, HOUR_MS);
    assert_eq!(hourly[earlier]["sign_in"], 2, "{hourly}");
    assert!(earlier <= 20);

    // Per day: the seeded reset ten days back in its own day, the 40-day-old
    // sign-in nowhere.
    assert_eq!(total(daily, "sign_in"), 4);
    assert_eq!(total(daily, "password_reset"), 2);
    assert_eq!(total(daily, "registered"), 4);
    assert_eq!(
        daily[bucket_of(daily, ten_days_ago, DAY_MS)]["password_reset"],
        1
    );
    assert_eq!(bucket_of(daily, ten_days_ago, DAY_MS), 29 - 10);

    // The account the guesses were aimed at, with its counts.
    assert_eq!(
        board["guessed_accounts"],
        serde_json::json!([{"email": alice, "failed": failed, "throttled": throttled}])
    );

    // Networks by scope: the guesser's /64, /56 and /48 and the sign-up
    // host, never the guesser's own address.
    let networks = board["busy_networks"].as_array().unwrap();
    let find = |network: &str, counted: &str| {
        networks
            .iter()
            .find(|n| n["network"] == network && n["counted"] == counted)
            .unwrap_or_else(|| panic!("{network} ({counted}) missing from {networks:?}"))
    };
    for scope in [
        "2001:db8:aa:bb01::/64",
        "2001:db8:aa:bb00::/56",
        "2001:db8:aa::/48",
    ] {
        assert!(find(scope, "sign_in")["attempts"].as_i64().unwrap() >= failed);
    }
    assert_eq!(find(SIGN_UP_HOST, "sign_up")["attempts"], 2);
    assert_eq!(find("2001:db8:aa:bb01::/64", "sign_up")["attempts"], 1);
    for n in networks {
        let network = n["network"].as_str().unwrap();
        assert!(
            network.parse::<std::net::Ipv6Addr>().is_err(),
            "a single IPv6 address: {network}"
        );
    }
    let raw = admin.post_form("/api/admin/dashboard", &[]).await.body;
    assert!(!raw.contains(GUESSER), "{raw}");
}

#[tokio::test]
async fn the_event_log_filters_and_pages_by_keyset() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let admin = admin_of(&app).await;
    let (alice, bob) = (email("alice"), email("bob"));
    let alice_browser = app.signed_up(&alice).await;
    app.signed_up(&bob).await;
    let wrong = app
        .browser()
        .post_form_from(
            GUESSER,
            "/api/login",
            &[("email", &bob), ("password", "wrong guess here")],
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");

    let events = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = admin.post_form("/api/admin/events", &fields).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            res.json()
        }
    };
    eventually("the failed sign-in logged", Duration::from_secs(10), || {
        let events = &events;
        async move {
            events(vec![("kind", "sign_in_failed".into())]).await["events"]
                .as_array()
                .unwrap()
                .len()
                == 1
        }
    })
    .await;

    // By kind: only that kind, with the client's network, not its address.
    let failed = events(vec![("kind", "sign_in_failed".into())]).await;
    let entry = &failed["events"][0];
    assert_eq!(entry["email"], bob.as_str());
    assert_eq!(entry["network"], "2001:db8:aa:bb01::/64");
    assert!(!failed.to_string().contains(GUESSER));
    assert_eq!(failed["next"], Value::Null);

    // By part of the email (any case), alone and with a kind.
    let fragment = alice.split('@').next().unwrap().to_uppercase();
    let mine = events(vec![("email", fragment.clone())]).await;
    let mine = mine["events"].as_array().unwrap();
    assert!(!mine.is_empty());
    assert!(
        mine.iter().all(|e| e["email"] == alice.as_str()),
        "{mine:?}"
    );
    let registered = events(vec![("kind", "registered".into()), ("email", "bob".into())]).await;
    assert_eq!(registered["events"].as_array().unwrap().len(), 1);
    assert_eq!(registered["events"][0]["email"], bob.as_str());
    // LIKE's wildcards are taken literally.
    let none = events(vec![("email", "%".into())]).await;
    assert_eq!(none["events"].as_array().unwrap().len(), 0);

    // Keyset pages: 60 events, pairs sharing a time, come back newest first
    // in pages of 25, each exactly once.
    let alice_id = alice_browser.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = now_ms() - HOUR_MS;
    let values: Vec<String> = (0..60)
        .map(|i| {
            format!(
                "('{alice_id}', 'passkey_removed', {}, 'seeded {i}')",
                base - i / 2
            )
        })
        .collect();
    app.execute(&format!(
        "INSERT INTO security_events (user_id, kind, at, detail) VALUES {}",
        values.join(", ")
    ))
    .await;
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut fields = vec![("kind", "passkey_removed".to_owned())];
        if let Some(cursor) = &before {
            fields.push(("before", cursor.clone()));
        }
        let page = events(fields).await;
        pages += 1;
        let list = page["events"].as_array().unwrap();
        assert!(list.len() <= 25);
        seen.extend(
            list.iter()
                .map(|e| e["detail"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Every event exactly once, newest first: by time, and the later
    // written first among equal times.
    let order: Vec<usize> = seen
        .iter()
        .map(|d| d["seeded ".len()..].parse().unwrap())
        .collect();
    let newest_first: Vec<usize> = (0..30).flat_map(|k| [2 * k + 1, 2 * k]).collect();
    assert_eq!(order, newest_first);

    // A kind or a page that does not exist.
    let bad = admin
        .post_form("/api/admin/events", &[("kind", "no_such_kind")])
        .await;
    assert_eq!(
        (bad.status, bad.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
    let bad = admin
        .post_form("/api/admin/events", &[("before", "yesterday")])
        .await;
    assert_eq!(bad.code(), "invalid_input");
}

#[tokio::test]
async fn only_administrators_see_the_dashboard() {
    let app = TestApp::spawn().await;
    let _admin = admin_of(&app).await;
    let member = app.signed_up(&email("member")).await;
    for path in ["/api/admin/dashboard", "/api/admin/events"] {
        let res = member.post_form(path, &[]).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
        let anonymous = app.browser().post_form(path, &[]).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // The page itself shows a member no dashboard, only the refusal.
    let page = member.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Only administrators can do that."));
    assert!(!page.body.contains("Security dashboard"));
}
