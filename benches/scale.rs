//! Gatehouse at a million sessions: the real server (this build's release
//! binary) on an empty database and on one seeded to full size, in the same
//! run, on SQLite and — when `GATEHOUSE_BENCH_POSTGRES` names a server — on
//! PostgreSQL (a database of its own is made there for each size).
//!
//! Full size: 100,000 accounts (a tenth with a second factor or a passkey),
//! 1,000,000 sessions (300,000 open, the rest ended within the retention
//! window), 5,000,000 security events, 200,000 revocations in the log and
//! 1,000,000 throttle counters, seeded with one set-based statement a table.
//!
//! Measured on each: start-up to `/readyz`, resident memory after start-up
//! and after a mixed load, then one client at a time: `GET /api/v1/me`
//! (Bearer), a refresh rotation, a sign-in less the time its password check
//! took, `/sessions` for an account with 50 sessions, `/security` (the
//! security log), the admin search by part of an address, and `/admin` (the
//! dashboard's charts). Last, rows are aged past their retention and
//! `gatehouse purge` runs while sign-ins go on: its duration, its longest
//! batch, and sign-in p99 during it beside p99 just before.
//!
//! `scripts/bench --scale` (`GATEHOUSE_SCALE=0.1` seeds a tenth;
//! `GATEHOUSE_SCALE_LOAD_SECS` sets the mixed load's length, 60 s).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");
const PASSWORD: &str = "quiet lighthouse hums over grey water";
const DAY_MS: i64 = 86_400_000;
/// Requests timed per figure (after a tenth as many unmeasured).
const SAMPLES: usize = 300;
const SIGN_INS: usize = 60;

#[derive(Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Row counts of a seeded database.
#[derive(Clone, Copy)]
struct Size {
    accounts: i64,
    sessions: i64,
    open: i64,
    events: i64,
    revocations: i64,
    throttle: i64,
}

impl Size {
    fn full(scale: f64) -> Self {
        let n = |x: f64| (x * scale) as i64;
        Self {
            accounts: n(100_000.0),
            sessions: n(1_000_000.0),
            open: n(300_000.0),
            events: n(5_000_000.0),
            revocations: n(200_000.0),
            throttle: n(1_000_000.0),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `INSERT INTO {into} SELECT {values}` over `i` from 0 to `n - 1`.
fn insert_series(engine: Engine, n: i64, into: &str, values: &str) -> String {
    match engine {
        Engine::Sqlite => format!(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n} - 1) \
             INSERT INTO {into} SELECT {values} FROM s"
        ),
        Engine::Postgres => {
            format!(
                "INSERT INTO {into} SELECT {values} \
                 FROM generate_series(CAST(0 AS BIGINT), {n} - 1) AS s(i)"
            )
        }
    }
}

/// The statements that fill a migrated database to `size`. Rows marked
/// `aging` are moved past their retention just before the purge is timed.
fn seed_statements(engine: Engine, size: Size, now: i64) -> Vec<(String, String)> {
    let (blob, text) = match engine {
        Engine::Sqlite => ("randomblob(32)", ""),
        Engine::Postgres => (
            "decode(md5(i::text) || md5((i + 1)::text), 'hex')",
            "::text",
        ),
    };
    let Size {
        accounts,
        sessions,
        open,
        events,
        revocations,
        throttle,
    } = size;
    let hash =
        "$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkc2VlZGVk$ZXhhbXBsZWhhc2hleGFtcGxlaGFzaGV4YW1wbGU";
    let retention = 89 * DAY_MS;
    vec![
        (format!("{accounts} accounts"), insert_series(engine, accounts,
            "users (id, email, password_hash, created_at, email_verified_at)",
            &format!("'seed-user-' || i, 'user-' || i || '@example.com', '{hash}', {now} - i * 1000, {now}"))),
        (format!("{} second factors", accounts / 20), insert_series(engine, accounts / 20,
            "totp_factors (user_id, secret_sealed, created_at, confirmed_at)",
            &format!("'seed-user-' || (i * 20), {blob}, {now}, {now}"))),
        (format!("{} passkeys", accounts / 20), insert_series(engine, accounts / 20,
            "passkeys (id, user_id, credential_id, credential, name, created_at)",
            &format!("'seed-passkey-' || i, 'seed-user-' || (i * 20 + 10), 'seed-credential-' || i, '{{}}', 'Seeded key', {now}"))),
        (format!("{sessions} sessions, {open} open"), insert_series(engine, sessions,
            "sessions (id, user_id, kind, secret, created_at, last_used_at, idle_expires_at, \
             absolute_expires_at, user_agent, ip, revoked_at, revoked_reason)",
            &format!("'seed-session-' || i, 'seed-user-' || (i % {accounts}), \
              CASE WHEN i % 4 = 0 THEN 'api' ELSE 'browser' END, {blob}, \
              {} - (i % 1000) * 60000, {now} - (i % 5000) * 60000, \
              CASE WHEN i < {open} THEN {} ELSE {now} - (i % 6) * {DAY_MS} - 1000 END, \
              {}, \
              CASE WHEN i >= {open} AND i % 5 = 0 THEN 'aging' ELSE 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' END, \
              '2001:db8:' || (i % 65000){text} || '::1', \
              CASE WHEN i < {open} THEN NULL ELSE {now} - (i % 6) * {DAY_MS} - 1000 END, \
              CASE WHEN i < {open} THEN NULL ELSE 'signed_out' END",
              now - 7 * DAY_MS, now + 7 * DAY_MS, now + 30 * DAY_MS))),
        (format!("{events} security events"), insert_series(engine, events,
            "security_events (user_id, kind, at, device, ip, detail)",
            &format!("'seed-user-' || (i % {accounts}), \
              CASE WHEN i % 20 < 8 THEN 'sign_in' WHEN i % 20 < 12 THEN 'sign_in_failed' \
                WHEN i % 20 = 12 THEN 'sign_in_throttled' WHEN i % 20 = 13 THEN 'registered' \
                WHEN i % 20 = 14 THEN 'password_reset' WHEN i % 20 = 15 THEN 'session_revoked' \
                WHEN i % 20 = 16 THEN 'admin_revoked_session' ELSE 'new_device' END, \
              {now} - i * {} - 1, 'Firefox on Linux', '2001:db8:' || (i % 97){text} || '::1', \
              CASE WHEN i % 5 = 0 THEN 'aging' ELSE 'seeded' END", retention / events.max(1)))),
        (format!("{revocations} revocations"), insert_series(engine, revocations,
            "revocations (session_id, reason, revoked_at, last_issued_at)",
            &format!("'seed-session-' || ({open} + i), 'signed_out', {now} - (i % 6) * {DAY_MS} - i, \
              {now} - (i % 6) * {DAY_MS} - i"))),
        (format!("{throttle} throttle counters"), insert_series(engine, throttle,
            "login_throttle (key, failures, last_failure_at, blocked_until)",
            &format!("CASE WHEN i % 2 = 0 THEN 'acct:user-' || i || '@example.com' \
                ELSE 'ip:2001:db8:' || i{text} || '::/48' END, \
              CASE WHEN i % 2 = 0 THEN 7 ELSE 1 + i % 4 END, {now} - (i % 72000) * 1000, 0"))),
    ]
}

/// Moves what was seeded as `aging` past its retention.
fn aging_statements(engine: Engine) -> Vec<String> {
    let _ = engine;
    vec![
        format!(
            "UPDATE sessions SET revoked_at = revoked_at - {0}, \
             idle_expires_at = idle_expires_at - {0} WHERE user_agent = 'aging'",
            8 * DAY_MS
        ),
        format!(
            "UPDATE security_events SET at = at - {} WHERE detail = 'aging'",
            100 * DAY_MS
        ),
        format!(
            "UPDATE revocations SET revoked_at = revoked_at - {} WHERE revoked_at < {}",
            8 * DAY_MS,
            now_ms() - 3 * DAY_MS
        ),
        format!(
            "UPDATE login_throttle SET last_failure_at = last_failure_at - {} \
             WHERE failures = 7",
            2 * DAY_MS
        ),
    ]
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    async fn open(url: &str) -> Self {
        if url.starts_with("postgres") {
            Self::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        } else {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        }
    }

    async fn run(&self, sql: &str) {
        match self {
            Self::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Self::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    async fn close(self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

/// A database of its own for one run.
struct Database {
    url: String,
    dir: tempfile::TempDir,
}

async fn database(engine: Engine, label: &str) -> Database {
    let dir = tempfile::tempdir().unwrap();
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}/scale.db", dir.path().display()),
        Engine::Postgres => {
            let admin_url = std::env::var("GATEHOUSE_BENCH_POSTGRES").unwrap();
            let name = format!("scale_{label}_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&admin)
                .await
                .unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
    };
    Database { url, dir }
}

fn gatehouse(db: &Database, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("DATABASE_URL", &db.url)
        .env("GATEHOUSE_DATA_DIR", db.dir.path())
        .env("LEPTOS_SITE_ROOT", site_root())
        .env("RUST_LOG", "warn");
    cmd
}

fn site_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site")
}

fn run(db: &Database, args: &[&str]) -> String {
    let out = gatehouse(db, args).output().unwrap();
    assert!(
        out.status.success(),
        "gatehouse {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

struct Server {
    child: Child,
    base: String,
    metrics: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server; returns it and how long it took to answer `/readyz`
/// with 200.
async fn start(db: &Database, client: &reqwest::Client) -> (Server, Duration) {
    let (port, metrics_port) = (free_port(), free_port());
    let started = Instant::now();
    let child = gatehouse(db, &["serve"])
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "GATEHOUSE_METRICS_ADDR",
            format!("127.0.0.1:{metrics_port}"),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
            if res.status().is_success() {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never ready");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    let server = Server {
        child,
        base,
        metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
    };
    (server, took)
}

#[derive(Clone, Copy)]
struct Timing {
    median: Duration,
    p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    Timing {
        median: at(0.5),
        p99: at(0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Times `SAMPLES` calls of `call` (one at a time), after a tenth as many
/// unmeasured.
async fn measure<F, Fut>(mut call: F) -> Timing
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..SAMPLES / 10 {
        call().await;
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        call().await;
        samples.push(t.elapsed());
    }
    timing(samples)
}

async fn expect_ok(res: reqwest::Response) -> reqwest::Response {
    let status = res.status();
    assert!(
        status.is_success(),
        "{} answered {status}: {}",
        res.url().clone(),
        res.text().await.unwrap_or_default()
    );
    res
}

struct Tokens {
    access: String,
    refresh: String,
}

async fn token(client: &reqwest::Client, base: &str, email: &str) -> Tokens {
    let res = client
        .post(format!("{base}/api/v1/token"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = expect_ok(res).await.json().await.unwrap();
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn register(client: &reqwest::Client, base: &str, email: &str) {
    let res = client
        .post(format!("{base}/api/register"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    expect_ok(res).await;
}

async fn rotate(client: &reqwest::Client, base: &str, refresh: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/token/refresh"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = expect_ok(res).await.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn get(client: &reqwest::Client, url: &str, access: &str) {
    let res = client.get(url).bearer_auth(access).send().await.unwrap();
    let res = expect_ok(res).await;
    assert_eq!(res.url().as_str(), url, "answered, not redirected");
    res.bytes().await.unwrap();
}

/// The password checks' total seconds and count so far, from `/metrics`.
async fn password_checks(client: &reqwest::Client, metrics: &str) -> (f64, f64) {
    let text = client
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("gatehouse_password_check_duration_seconds_sum"),
        value("gatehouse_password_check_duration_seconds_count"),
    )
}

/// Sign-ins one at a time: their latencies, and the mean time each spent
/// outside its password check.
async fn sign_ins(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
    until: impl Fn(usize) -> bool,
) -> (Timing, Duration) {
    let (sum0, count0) = password_checks(client, &server.metrics).await;
    let mut samples = Vec::new();
    while !until(samples.len()) {
        let t = Instant::now();
        token(client, &server.base, email).await;
        samples.push(t.elapsed());
    }
    let (sum1, count1) = password_checks(client, &server.metrics).await;
    let total: f64 = samples.iter().map(Duration::as_secs_f64).sum();
    let n = samples.len() as f64;
    assert_eq!(count1 - count0, n, "one password check per sign-in");
    let outside = Duration::from_secs_f64(((total - (sum1 - sum0)) / n).max(0.0));
    (timing(samples), outside)
}

/// What was measured, in the order it was.
#[derive(Default)]
struct Figures(Vec<(&'static str, String)>);

impl Figures {
    fn insert(&mut self, name: &'static str, value: String) {
        self.0.push((name, value));
    }

    fn get(&self, name: &str) -> Option<&String> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// Everything measured on one database.
async fn measure_all(engine: Engine, label: &'static str, size: Option<Size>) -> Figures {
    let mut figures = Figures::default();
    let db = database(engine, label).await;
    run(&db, &["migrate"]);
    if let Some(size) = size {
        let pool = Pool::open(&db.url).await;
        let started = Instant::now();
        for (what, sql) in seed_statements(engine, size, now_ms()) {
            let t = Instant::now();
            pool.run(&sql).await;
            eprintln!("  seeded {what} in {:.1} s", t.elapsed().as_secs_f64());
        }
        if matches!(engine, Engine::Postgres) {
            pool.run("VACUUM ANALYZE").await;
        }
        eprintln!("  seeded in {:.1} s", started.elapsed().as_secs_f64());
        pool.close().await;
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (server, ready) = start(&db, &client).await;
    let pid = server.child.id();
    figures.insert("start-up to /readyz", format!("{} ms", ready.as_millis()));
    // Settle: the first purge and revocation load run at start-up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    figures.insert(
        "resident memory after start-up",
        format!("{:.0} MB", rss_mb(pid)),
    );

    let base = server.base.clone();
    let (user, signer, admin) = (
        format!("scale-user-{label}@example.com"),
        format!("scale-signer-{label}@example.com"),
        format!("scale-admin-{label}@example.com"),
    );
    for email in [&user, &signer, &admin] {
        register(&client, &base, email).await;
    }
    run(&db, &["admin", "grant", &admin]);
    let mut sessions = Vec::new();
    for _ in 0..50 {
        sessions.push(token(&client, &base, &user).await);
    }
    let admin_token = token(&client, &base, &admin).await;
    let access = sessions[0].access.clone();

    let me = format!("{base}/api/v1/me");
    let t = measure(|| get(&client, &me, &access)).await;
    figures.insert("GET /api/v1/me (Bearer)", row(t));

    let mut refresh = sessions[1].refresh.clone();
    let mut samples = Vec::new();
    for i in 0..SAMPLES + SAMPLES / 10 {
        let t = Instant::now();
        refresh = rotate(&client, &base, &refresh).await;
        if i >= SAMPLES / 10 {
            samples.push(t.elapsed());
        }
    }
    figures.insert("refresh rotation (token API)", row(timing(samples)));

    let (t, outside) = sign_ins(&client, &server, &signer, |n| n == SIGN_INS).await;
    figures.insert(
        "sign-in (token API), outside the password check: mean",
        format!("{} ms (whole sign-in p50 {} ms)", ms(outside), ms(t.median)),
    );

    let page = format!("{base}/sessions");
    let t = measure(|| get(&client, &page, &access)).await;
    figures.insert("/sessions, an account with 50 sessions", row(t));
    let page = format!("{base}/security");
    let t = measure(|| get(&client, &page, &access)).await;
    figures.insert("/security (the security log)", row(t));
    let search = format!("{base}/api/admin/users");
    let t = measure(|| async {
        let res = client
            .post(&search)
            .bearer_auth(&admin_token.access)
            // One account matches on either database (the bench's admin):
            // the same answer, so only the finding costs differ.
            .form(&[("query", "scale-admin")])
            .send()
            .await
            .unwrap();
        expect_ok(res).await.bytes().await.unwrap();
    })
    .await;
    figures.insert("admin search by part of an address", row(t));
    let board = format!("{base}/api/admin/dashboard");
    let t = measure(|| async {
        let res = client
            .post(&board)
            .bearer_auth(&admin_token.access)
            .send()
            .await
            .unwrap();
        expect_ok(res).await.bytes().await.unwrap();
    })
    .await;
    figures.insert(
        "admin dashboard: charts, guessed-at accounts, busy networks",
        row(t),
    );
    let page = format!("{base}/admin");
    let t = measure(|| get(&client, &page, &admin_token.access)).await;
    figures.insert(
        "/admin page: the dashboard, the first 200 accounts, the log's first page",
        row(t),
    );

    let load_secs: u64 = std::env::var("GATEHOUSE_SCALE_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let done = mixed_load(&client, &server, &sessions, &signer, load_secs).await;
    figures.insert(
        "mixed load: requests answered",
        format!("{done} in {load_secs} s"),
    );
    figures.insert(
        "resident memory after the mixed load",
        format!("{:.0} MB", rss_mb(pid)),
    );

    // The purge, while sign-ins go on.
    let pool = Pool::open(&db.url).await;
    for sql in aging_statements(engine) {
        pool.run(&sql).await;
    }
    pool.close().await;
    let (before, _) = sign_ins(&client, &server, &signer, |n| n == SIGN_INS).await;
    let mut purge = gatehouse(&db, &["purge"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let finished = std::sync::atomic::AtomicBool::new(false);
    let (during, _) = {
        let watch = async {
            while purge.try_wait().unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            finished.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let load = sign_ins(&client, &server, &signer, |n| {
            n >= 3 && finished.load(std::sync::atomic::Ordering::SeqCst)
        });
        let (_, result) = tokio::join!(watch, load);
        result
    };
    let output = purge.wait_with_output().unwrap();
    assert!(output.status.success());
    figures.insert(
        "purge",
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    );
    figures.insert(
        "sign-in p99: before the purge / during it",
        format!("{} / {} ms", ms(before.p99), ms(during.p99)),
    );
    drop(server);
    figures
}

fn row(t: Timing) -> String {
    format!("{} ms (p99 {})", ms(t.median), ms(t.p99))
}

/// Eight clients for `secs`: each `GET /api/v1/me` five times, renders
/// `/sessions` and rotates its refresh token, over and over; one more signs
/// in again and again. Returns how many requests were answered.
async fn mixed_load(
    client: &reqwest::Client,
    server: &Server,
    sessions: &[Tokens],
    signer: &str,
    secs: u64,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for tokens in sessions.iter().skip(2).take(8) {
        let (client, base) = (client.clone(), server.base.clone());
        let (access, mut refresh) = (tokens.access.clone(), tokens.refresh.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while Instant::now() < deadline {
                for _ in 0..5 {
                    get(&client, &format!("{base}/api/v1/me"), &access).await;
                }
                get(&client, &format!("{base}/sessions"), &access).await;
                refresh = rotate(&client, &base, &refresh).await;
                done += 7;
            }
            done
        }));
    }
    let (client, base, signer) = (client.clone(), server.base.clone(), signer.to_owned());
    tasks.push(tokio::spawn(async move {
        let mut done = 0;
        while Instant::now() < deadline {
            token(&client, &base, &signer).await;
            done += 1;
        }
        done
    }));
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

fn print_table(engine: &str, size: Size, empty: &Figures, full: &Figures) {
    println!(
        "\n{engine}: empty, and at {} accounts / {} sessions / {} events / {} revocations / {} throttle counters\n",
        size.accounts, size.sessions, size.events, size.revocations, size.throttle
    );
    println!("| {engine} | empty database | at 1M sessions |");
    println!("|---|---|---|");
    for (name, value) in &empty.0 {
        println!(
            "| {name} | {value} | {} |",
            full.get(name).map(String::as_str).unwrap_or("")
        );
    }
}

#[tokio::main]
async fn main() {
    let scale: f64 = std::env::var("GATEHOUSE_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let size = Size::full(scale);
    let mut engines = vec![("SQLite", Engine::Sqlite)];
    if std::env::var("GATEHOUSE_BENCH_POSTGRES").is_ok() {
        engines.push(("PostgreSQL", Engine::Postgres));
    }
    for (name, engine) in engines {
        eprintln!("{name}: empty database");
        let empty = measure_all(engine, "empty", None).await;
        eprintln!("{name}: full size");
        let full = measure_all(engine, "full", Some(size)).await;
        print_table(name, size, &empty, &full);
    }
}
