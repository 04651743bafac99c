//! Metrics: after a scripted run of sign-ins, guesses, refreshes, a reset,
//! mail and a revocation seen by a second instance, the Prometheus
//! exposition on the metrics listener holds every family with the values
//! the run implies, no label names a person, an address or a token, and
//! Prometheus' own `promtool check metrics` accepts it.
#![cfg(feature = "ssr")]

mod common;

use common::{email, eventually, Browser, TestApp, CHROME, FIREFOX, PASSWORD};
use gatehouse::{telemetry, vocab::RevokeReason};
use reqwest::StatusCode;
use std::{collections::HashMap, time::Duration};

/// One sample of the text exposition: its family name and labels.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the sample lines of a Prometheus text exposition (labels hold no
/// escaped quotes here).
fn samples(exposition: &str) -> Vec<Sample> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `labels`; `None`
/// if there is none.
fn value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples(exposition)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

async fn scrape(app: &TestApp) -> String {
    let base = app.metrics_base.as_deref().expect("a metrics listener");
    let res = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_scrape_after_a_scripted_run_shows_every_family_and_no_person() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("GATEHOUSE_REVOCATION_POLL", "1")];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let two = TestApp::spawn_in(dir.path(), &vars).await;

    // A sign-up, then sign-ins: one good, and guesses at an address
    // nobody uses until the throttle refuses them.
    let address = email("metrics");
    let laptop = one.signed_up(&address).await;
    let phone = one.signed_in(&address, FIREFOX).await;
    let guesser = Browser::new(&one.base, CHROME);
    let nobody = email("nobody");
    let mut refused = 0;
    for _ in 0..8 {
        let res = guesser
            .post_form(
                "/api/login",
                &[("email", &nobody), ("password", "not the password")],
            )
            .await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&res.status),
            "{}",
            res.body
        );
        refused += usize::from(res.status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused > 0, "the guesses were throttled");

    // Refreshes: a rotation, its predecessor again within the grace
    // window, then a token two generations old (a replay: reuse).
    let first = phone.refresh_token();
    assert_eq!(
        phone.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let second = phone.refresh_token();
    let racing_tab = Browser::new(&one.base, FIREFOX);
    racing_tab.set_cookie("__Host-gh_refresh", &first);
    assert_eq!(
        racing_tab.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        phone.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    assert_ne!(phone.refresh_token(), second);
    let replay = Browser::new(&one.base, FIREFOX);
    replay.set_cookie("__Host-gh_refresh", &first);
    let res = replay.post_form("/api/refresh", &[]).await;
    assert_eq!(res.code(), "reuse_detected", "{}", res.body);

    // A reset asked for (its letter and the verification letter go out).
    let res = guesser
        .post_form("/api/request_password_reset", &[("email", &address)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    one.wait_for_mail(&address, "Reset your password", 1).await;

    // The token API: the same access token verified twice (a miss, then a
    // hit of the verified-token cache).
    let api = one.browser();
    let token = api
        .post_json(
            "/api/v1/token",
            serde_json::json!({"email": address, "password": PASSWORD}),
        )
        .await
        .json();
    let access = token["access_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(
            api.get_bearer("/api/v1/me", &access).await.status,
            StatusCode::OK
        );
    }

    // A revocation made on one instance, picked up by the other.
    let tablet = one.signed_in(&address, CHROME).await;
    let tablet_access = tablet.access();
    let tablet_id = tablet.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        two.browser()
            .get_bearer("/api/v1/me", &tablet_access)
            .await
            .status,
        StatusCode::OK
    );
    let res = laptop
        .post_form("/api/revoke_session", &[("session_id", &tablet_id)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    common::revoked_within(&two.base, &tablet_access, Duration::from_secs(5)).await;

    // The purge job counts the sessions still open.
    one.state.sessions.purge().await.unwrap();

    // Letters are delivered after the answers; wait for the counts.
    eventually("two letters sent", Duration::from_secs(10), || async {
        value(&scrape(&one).await, telemetry::MAIL, &[("event", "sent")]).unwrap_or(0.0) >= 2.0
    })
    .await;
    let text = scrape(&one).await;
    let at_least = |name: &str, labels: &[(&str, &str)], least: f64| {
        let got = value(&text, name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?} missing\n{text}"));
        assert!(
            got >= least,
            "{name} {labels:?} = {got}, expected at least {least}"
        );
    };
    let password = [("method", "password")];
    let guessed = (8 - refused) as f64;
    // The phone, the token API and the tablet.
    at_least(telemetry::SIGN_INS, &[password[0], ("outcome", "ok")], 3.0);
    at_least(
        telemetry::SIGN_INS,
        &[password[0], ("outcome", "wrong_password")],
        guessed,
    );
    at_least(
        telemetry::SIGN_INS,
        &[password[0], ("outcome", "throttled")],
        refused as f64,
    );
    at_least(
        telemetry::SIGN_INS,
        &[("method", "passkey"), ("outcome", "ok")],
        0.0,
    );
    at_least(telemetry::SIGN_UPS, &[], 1.0);
    at_least(telemetry::RESETS, &[("stage", "requested")], 1.0);
    at_least(telemetry::RESETS, &[("stage", "used")], 0.0);
    at_least(telemetry::REFRESHES, &[("outcome", "rotated")], 2.0);
    at_least(telemetry::REFRESHES, &[("outcome", "grace")], 1.0);
    at_least(telemetry::REFRESHES, &[("outcome", "reuse_detected")], 1.0);
    at_least(
        telemetry::REVOCATIONS,
        &[("reason", RevokeReason::Reuse.as_str())],
        1.0,
    );
    at_least(
        telemetry::REVOCATIONS,
        &[("reason", RevokeReason::Revoked.as_str())],
        1.0,
    );
    // laptop, the token API's session (phone's ended as a replay, the tablet's revoked).
    at_least(telemetry::ACTIVE_SESSIONS, &[], 2.0);
    at_least(telemetry::THROTTLED, &[], refused as f64);
    at_least(
        &format!("{}_count", telemetry::PASSWORD_CHECK),
        &[],
        3.0 + guessed,
    );
    at_least(telemetry::HASH_WAITING, &[], 0.0);
    at_least(telemetry::HASH_RUNNING, &[], 0.0);
    at_least(telemetry::HASH_REFUSED, &[], 0.0);
    at_least(telemetry::MAIL, &[("event", "queued")], 2.0);
    at_least(telemetry::MAIL, &[("event", "sent")], 2.0);
    at_least(telemetry::MAIL_WAITING, &[], 0.0);
    at_least(telemetry::MAIL_OLDEST, &[], 0.0);
    at_least(telemetry::KEY_AGE, &[], 0.0);
    at_least(telemetry::KEY_ROTATION, &[], 1.0);
    at_least(telemetry::TOKEN_CACHE, &[("result", "hit")], 1.0);
    at_least(telemetry::TOKEN_CACHE, &[("result", "miss")], 1.0);
    at_least(telemetry::POOL_SIZE, &[], 1.0);
    at_least(telemetry::POOL_IN_USE, &[], 0.0);
    at_least(telemetry::POOL_WAIT, &[], 0.0);
    at_least(&format!("{}_count", telemetry::REVOCATION_LAG), &[], 1.0);
    at_least(
        &format!("{}_count", telemetry::HTTP_DURATION),
        &[("route", "/api/login"), ("status", "2xx")],
        2.0,
    );
    at_least(
        telemetry::HTTP_REQUESTS,
        &[("route", "/api/login"), ("status", "4xx")],
        8.0,
    );
    at_least(
        telemetry::HTTP_REQUESTS,
        &[("route", "/api/v1/me"), ("status", "2xx")],
        2.0,
    );

    // No label carries a person, an address, a session or a token.
    let user_id = laptop.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for secret in [
        address.as_str(),
        nobody.as_str(),
        "@",
        "127.0.0.1",
        user_id.as_str(),
        tablet_id.as_str(),
        access.as_str(),
        first.as_str(),
    ] {
        assert!(!text.contains(secret), "the exposition names {secret:?}");
    }
    // Every route label is a template the router knows (or "unmatched").
    for sample in samples(&text)
        .iter()
        .filter(|s| s.name == telemetry::HTTP_REQUESTS)
    {
        let route = &sample.labels["route"];
        assert!(route == "unmatched" || route.starts_with('/'), "{route}");
    }

    // Prometheus' own checker accepts the exposition, lint included.
    let path = dir.path().join("exposition.txt");
    std::fs::write(&path, &text).unwrap();
    let checked = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect("promtool (Debian package `prometheus`; scripts/setup installs it)");
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[tokio::test]
async fn a_burst_of_made_up_paths_adds_no_series() {
    let app = TestApp::spawn().await;
    let calls = (0..50).map(|i| {
        let browser = app.browser();
        async move {
            browser.get(&format!("/made-up/{i}?q={i}")).await;
            browser.get(&format!("/api/made-up-{i}")).await;
            browser.get(&format!("/pkg/made-up-{i}.js")).await;
        }
    });
    futures::future::join_all(calls).await;
    let text = scrape(&app).await;
    assert!(!text.contains("made-up"), "a client's path became a label");
    let routes: std::collections::BTreeSet<String> = samples(&text)
        .into_iter()
        .filter(|s| s.name == telemetry::HTTP_REQUESTS)
        .map(|s| s.labels["route"].clone())
        .collect();
    // Each answered under its template: the fallback, the unknown-API
    // route and the assets' folder.
    assert!(routes.contains("unmatched"), "{routes:?}");
    assert!(routes.iter().any(|r| r.starts_with("/api/{")), "{routes:?}");
    assert!(routes.iter().all(|r| !r.contains('?')), "{routes:?}");
}

#[tokio::test]
async fn metrics_are_never_on_the_public_port_and_can_be_turned_off() {
    let app = TestApp::spawn().await;
    let public = app.browser().get("/metrics").await;
    assert_eq!(public.status, StatusCode::NOT_FOUND);
    assert!(!public.body.contains("gatehouse_"), "{}", public.body);
    // The metrics listener answers nothing but /metrics.
    let base = app.metrics_base.as_deref().unwrap();
    let other = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    let off = TestApp::spawn_with(&[("GATEHOUSE_METRICS_ADDR", "off")]).await;
    assert!(off.metrics_base.is_none());
}
