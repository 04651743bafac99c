//! A PostgreSQL outage mid-request: `503 unavailable`, nothing revoked or
//! cleared, and the same request works once the database is back. Alone in
//! its test binary, because it stops the server every other test uses.
#![cfg(feature = "ssr")]

mod common;

use common::{email, on_postgres, Browser, TestApp, CHROME};
use reqwest::StatusCode;

/// Stops and starts the test's PostgreSQL (`GATEHOUSE_TEST_PG_CTL` and
/// `GATEHOUSE_TEST_PG_DATA` are set by `scripts/test`).
fn pg_ctl(action: &str) {
    let (Ok(pg_ctl), Ok(data)) = (
        std::env::var("GATEHOUSE_TEST_PG_CTL"),
        std::env::var("GATEHOUSE_TEST_PG_DATA"),
    ) else {
        panic!("GATEHOUSE_TEST_PG_CTL and GATEHOUSE_TEST_PG_DATA must be set to stop PostgreSQL");
    };
    let run_as = std::env::var("GATEHOUSE_TEST_PG_USER").ok();
    let mut command = match &run_as {
        Some(user) => {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", user, "--", &pg_ctl]);
            c
        }
        None => std::process::Command::new(&pg_ctl),
    };
    let extra = std::env::var("GATEHOUSE_TEST_PG_OPTS").unwrap_or_default();
    command.args(["-D", &data, "-w", "-m", "fast", action]);
    if action == "start" {
        command.args(["-o", &extra, "-l", &format!("{data}/../restart.log")]);
    }
    let status = command.status().expect("pg_ctl runs");
    assert!(status.success(), "pg_ctl {action} failed");
}

#[tokio::test]
async fn a_database_outage_answers_503_and_changes_nothing() {
    if !on_postgres() {
        eprintln!("skipped: runs against PostgreSQL (scripts/test sets GATEHOUSE_TEST_POSTGRES)");
        return;
    }
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("outage")).await;
    let refresh = b.refresh_token();
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.json(), serde_json::json!({"ready": true}));

    pg_ctl("stop");
    let res = b.post_form("/api/refresh", &[]).await;
    let health = app.browser().get("/healthz").await;
    let not_ready = app.browser().get("/readyz").await;
    pg_ctl("start");

    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        not_ready.json(),
        serde_json::json!({"ready": false, "failing": ["database"]})
    );
    // Ready again once the database is back.
    common::eventually(
        "ready after the restart",
        std::time::Duration::from_secs(15),
        || async { app.browser().get("/readyz").await.status == StatusCode::OK },
    )
    .await;

    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        "{}",
        res.body
    );
    assert!(res.set_cookies().is_empty(), "no cookie cleared");
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);

    // Once it is back, the same refresh token still works.
    let again = Browser::new(&app.base, CHROME);
    again.set_cookie("__Host-gh_refresh", &refresh);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = again.post_form("/api/refresh", &[]).await.status;
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, StatusCode::OK);
}
