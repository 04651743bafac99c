//! The hourly purge: everything past its retention goes, in batches of
//! statements of a bounded number of rows, and nothing still needed does.

mod common;

use common::{email, on_postgres, TestApp};
use gatehouse::sessions::service::{PURGE_BATCH, PURGE_BATCH_RANGE};
use reqwest::StatusCode;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `INSERT INTO {into} SELECT {values}` for `i` from 0 to `n - 1`, on
/// either engine.
fn insert_series(n: i64, into: &str, values: &str) -> String {
    format!(
        "INSERT INTO {into} WITH RECURSIVE s(i) AS \
           (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n} - 1) \
         SELECT {values} FROM s"
    )
}

#[tokio::test]
async fn the_purge_deletes_in_batches_and_keeps_what_is_still_needed() {
    let app = TestApp::spawn().await;
    let address = email("purge");
    let browser = app.signed_up(&address).await;
    let me = browser.get("/api/v1/me").await.json();
    let user = me["id"].as_str().unwrap().to_owned();
    let now = now_ms();
    let blob = if on_postgres() {
        "'\\x00'::bytea"
    } else {
        "X'00'"
    };
    let text = if on_postgres() { "::text" } else { "" };
    let session = |n: i64, prefix: &str, ended: i64| {
        insert_series(
            n,
            "sessions (id, user_id, kind, secret, created_at, last_used_at, \
               idle_expires_at, absolute_expires_at, revoked_at, revoked_reason)",
            &format!(
                "'{prefix}-' || i, '{user}', 'browser', {blob}, {ended}, {ended}, \
                 {ended}, {ended} + {DAY_MS}, {ended}, 'signed_out'"
            ),
        )
    };
    // More than two batches past the week sessions are kept once ended;
    // a few ended within it.
    let old_sessions = 2 * PURGE_BATCH + 234;
    app.execute(&session(old_sessions, "old", now - 8 * DAY_MS))
        .await;
    app.execute(&session(3, "recent", now - 6 * DAY_MS)).await;
    // Sessions idle past their expiry for a week, never revoked.
    app.execute(&insert_series(
        PURGE_BATCH + 1,
        "sessions (id, user_id, kind, secret, created_at, last_used_at, \
           idle_expires_at, absolute_expires_at)",
        &format!(
            "'idle-' || i, '{user}', 'api', {blob}, {0}, {0}, {0}, {1}",
            now - 30 * DAY_MS,
            now + DAY_MS
        ),
    ))
    .await;
    let event = |n: i64, at: i64| {
        insert_series(
            n,
            "security_events (user_id, kind, at, detail)",
            &format!("'{user}', 'sign_in', {at} - i, 'seeded'"),
        )
    };
    let old_events = PURGE_BATCH + 100;
    app.execute(&event(old_events, now - 91 * DAY_MS)).await;
    app.execute(&event(5, now - 89 * DAY_MS)).await;
    let counter = |n: i64, prefix: &str, last: i64| {
        insert_series(
            n,
            "login_throttle (key, failures, last_failure_at, blocked_until)",
            &format!("'{prefix}:' || i{text}, 3, {last}, 0"),
        )
    };
    let idle_counters = PURGE_BATCH + 50;
    app.execute(&counter(idle_counters, "ip:idle", now - 2 * DAY_MS))
        .await;
    app.execute(&counter(4, "ip:busy", now - 3_600_000)).await;
    // Still in backoff, however idle: kept.
    app.execute(&format!(
        "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) \
         VALUES ('acct:blocked@example.com', 9, {}, {})",
        now - 2 * DAY_MS,
        now + 600_000
    ))
    .await;
    app.execute(&insert_series(
        PURGE_BATCH * 2,
        "revocations (session_id, reason, revoked_at)",
        &format!("'gone-' || i, 'signed_out', {} - i", now - 8 * DAY_MS),
    ))
    .await;

    let report = app.state.sessions.purge().await.unwrap();
    assert_eq!(
        report.sessions,
        (old_sessions + PURGE_BATCH + 1) as u64,
        "every session ended more than a week ago, revoked or idle"
    );
    assert_eq!(report.events, old_events as u64);
    assert!(
        report.other >= (idle_counters + 2 * PURGE_BATCH) as u64,
        "idle counters and old revocations: {report:?}"
    );
    // Ten tables, the five seeded past one first batch took two statements
    // or more; none deleted more than the largest batch.
    assert!(report.batches >= 15, "{report:?}");
    assert!(
        report.largest_batch <= *PURGE_BATCH_RANGE.end() as u64,
        "{report:?}"
    );

    for (sql, like, left) in [
        (
            "SELECT COUNT(*) FROM sessions WHERE id LIKE $1",
            "recent-%",
            3,
        ),
        ("SELECT COUNT(*) FROM sessions WHERE id LIKE $1", "old-%", 0),
        (
            "SELECT COUNT(*) FROM sessions WHERE id LIKE $1",
            "idle-%",
            0,
        ),
        (
            "SELECT COUNT(*) FROM security_events WHERE detail LIKE $1",
            "seeded",
            5,
        ),
        (
            "SELECT COUNT(*) FROM login_throttle WHERE key LIKE $1",
            "ip:idle:%",
            0,
        ),
        (
            "SELECT COUNT(*) FROM login_throttle WHERE key LIKE $1",
            "ip:busy:%",
            4,
        ),
        // In backoff, however idle: kept.
        (
            "SELECT COUNT(*) FROM login_throttle WHERE key LIKE $1",
            "acct:%",
            1,
        ),
        (
            "SELECT COUNT(*) FROM revocations WHERE session_id LIKE $1",
            "gone-%",
            0,
        ),
    ] {
        assert_eq!(app.count(sql, like).await, left, "{sql} ({like})");
    }
    // The person's own session is untouched.
    assert_eq!(browser.get("/api/v1/me").await.status, StatusCode::OK);

    let again = app.state.sessions.purge().await.unwrap();
    assert_eq!(
        (again.sessions, again.events),
        (0, 0),
        "nothing left to purge"
    );
}
