//! The security dashboard's queries on a million events: seeds 1,000
//! accounts and 1,000,000 security events spread over 30 days with one
//! set-based statement each (the trigger of migration 20261207000013
//! counts each event per hour as it is written), then times every query
//! the dashboard makes (median of 7) with the indexes of migration
//! 20261206000011, and again after dropping them, and prints how the
//! database runs the daily chart's query (on the per-hour counts) both
//! ways. On SQLite always; on PostgreSQL too when
//! `GATEHOUSE_BENCH_POSTGRES` names a server (a database of its own is
//! made there and dropped after).
//!
//! `cargo bench --features ssr --bench dashboard`

use gatehouse::{
    admin::dashboard::CHARTED,
    store::{
        events::{event_counts_sql, EventFilter},
        Db,
    },
    vocab::EventKind,
};
use std::time::{Duration, Instant};

const EVENTS: i64 = 1_000_000;
const USERS: i64 = 1_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The events are spread evenly over 30 days up to now.
const SPACING_MS: i64 = 30 * DAY_MS / EVENTS;
const RUNS: usize = 7;

/// The rows' values, the same on both engines (`i` numbers the row).
fn seed_columns(now: i64) -> String {
    format!(
        "'bench-user-' || (i % {USERS}), \
         CASE WHEN i % 20 < 8 THEN 'sign_in' WHEN i % 20 < 12 THEN 'sign_in_failed' \
           WHEN i % 20 = 12 THEN 'sign_in_throttled' WHEN i % 20 = 13 THEN 'registered' \
           WHEN i % 20 = 14 THEN 'password_reset' WHEN i % 20 = 15 THEN 'session_revoked' \
           WHEN i % 20 = 16 THEN 'admin_revoked_session' ELSE 'new_device' END, \
         {now} - i * {SPACING_MS}, 'Firefox on Linux', '2001:db8:' || (i % 97) || '::1', 'seeded'"
    )
}

const EVENT_COLUMNS: &str = "security_events (user_id, kind, at, device, ip, detail)";
const USER_COLUMNS: &str = "users (id, email, password_hash, created_at)";
const USER_VALUES: &str = "'bench-user-' || i, 'user-' || i || '@example.com', 'x', 0";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Times each query the dashboard makes.
async fn time_queries(db: &Db, now: i64) -> Vec<(&'static str, Duration)> {
    let hour_start = (now.div_euclid(HOUR_MS) - 23) * HOUR_MS;
    let day_start = (now.div_euclid(DAY_MS) - 29) * DAY_MS;
    let deep = (now - 20 * DAY_MS, i64::MAX);
    let mut results = Vec::new();
    macro_rules! measure {
        ($name:expr, $call:expr) => {{
            let mut times = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                let rows = $call.await.expect("query runs");
                times.push(started.elapsed());
                std::hint::black_box(rows);
            }
            results.push(($name, median(times)));
        }};
    }
    measure!(
        "chart counts per hour, 24 hours",
        db.event_counts(CHARTED, hour_start, HOUR_MS)
    );
    measure!(
        "chart counts per day, 30 days",
        db.event_counts(CHARTED, day_start, DAY_MS)
    );
    measure!(
        "most guessed-at accounts, last hour",
        db.most_guessed_accounts(now - HOUR_MS, 10)
    );
    measure!(
        "event log, newest page",
        db.all_events(&EventFilter::default(), None, 26)
    );
    let failed = EventFilter {
        kind: Some(EventKind::SignInFailed),
        email_part: None,
    };
    measure!(
        "event log, one kind, a page 20 days back",
        db.all_events(&failed, Some(deep), 26)
    );
    let by_email = EventFilter {
        kind: None,
        email_part: Some("user-77@"),
    };
    measure!("event log, by email", db.all_events(&by_email, None, 26));
    results
}

fn print_table(engine: &str, with: &[(&str, Duration)], without: &[(&str, Duration)]) {
    println!("\n{engine}: {EVENTS} events, {USERS} accounts, median of {RUNS}\n");
    println!("| query | with the indexes | without |");
    println!("|---|---|---|");
    for ((name, a), (_, b)) in with.iter().zip(without) {
        println!("| {name} | {} | {} |", ms(*a), ms(*b));
    }
}

async fn sqlite(now: i64) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let started = Instant::now();
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS} - 1) \
         INSERT INTO {USER_COLUMNS} SELECT {USER_VALUES} FROM n"
    ))
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS} - 1) \
         INSERT INTO {EVENT_COLUMNS} SELECT {} FROM n",
        seed_columns(now)
    ))
    .execute(&raw)
    .await
    .unwrap();
    println!("SQLite: seeded in {:.1} s", started.elapsed().as_secs_f64());
    let explain = |raw: sqlx::SqlitePool| async move {
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            event_counts_sql(CHARTED.len(), DAY_MS)
        );
        // Not kept prepared: the plan must be made again once the indexes are gone.
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql)
            .persistent(false)
            .bind(now - 30 * DAY_MS);
        for kind in CHARTED {
            query = query.bind(*kind);
        }
        for (_, _, _, detail) in query.fetch_all(&raw).await.unwrap() {
            println!("    {detail}");
        }
    };
    println!("SQLite plan of the daily chart, with the indexes:");
    explain(raw.clone()).await;
    let with = time_queries(&db, now).await;
    for index in ["security_events_by_kind_at", "security_events_by_at"] {
        sqlx::query(&format!("DROP INDEX {index}"))
            .execute(&raw)
            .await
            .unwrap();
    }
    // A new connection: one that only explains never notices another
    // connection's schema change, and would show the dropped indexes.
    raw.close().await;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    println!("SQLite plan of the daily chart, without:");
    explain(raw.clone()).await;
    let without = time_queries(&db, now).await;
    print_table("SQLite", &with, &without);
    db.close().await;
    raw.close().await;
}

async fn postgres(server: &str, now: i64) {
    let admin = sqlx::PgPool::connect(server).await.unwrap();
    let name = format!("gatehouse_bench_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    let db = Db::connect(url.as_str()).await.unwrap();
    let raw = sqlx::PgPool::connect(url.as_str()).await.unwrap();
    let started = Instant::now();
    for sql in [
        format!(
            "INSERT INTO {USER_COLUMNS} SELECT {USER_VALUES} FROM generate_series(0, {USERS} - 1) AS n(i)"
        ),
        format!(
            "INSERT INTO {EVENT_COLUMNS} SELECT {} \
             FROM generate_series(CAST(0 AS BIGINT), {EVENTS} - 1) AS n(i)",
            seed_columns(now)
        ),
        "VACUUM ANALYZE".to_owned(),
    ] {
        sqlx::query(&sql).execute(&raw).await.unwrap();
    }
    println!(
        "\nPostgreSQL: seeded and analyzed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let explain = |raw: sqlx::PgPool| async move {
        let sql = format!(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {}",
            event_counts_sql(CHARTED.len(), DAY_MS)
        );
        let mut query = sqlx::query_as::<_, (String,)>(&sql)
            .persistent(false)
            .bind(now - 30 * DAY_MS);
        for kind in CHARTED {
            query = query.bind(*kind);
        }
        for (line,) in query.fetch_all(&raw).await.unwrap() {
            println!("    {line}");
        }
    };
    println!("PostgreSQL plan of the daily chart, with the indexes:");
    explain(raw.clone()).await;
    let with = time_queries(&db, now).await;
    for index in ["security_events_by_kind_at", "security_events_by_at"] {
        sqlx::query(&format!("DROP INDEX {index}"))
            .execute(&raw)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE security_events")
        .execute(&raw)
        .await
        .unwrap();
    println!("PostgreSQL plan of the daily chart, without:");
    explain(raw.clone()).await;
    let without = time_queries(&db, now).await;
    print_table("PostgreSQL", &with, &without);
    db.close().await;
    raw.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    sqlite(now).await;
    if let Ok(server) = std::env::var("GATEHOUSE_BENCH_POSTGRES") {
        postgres(&server, now).await;
    }
}
