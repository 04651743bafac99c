//! Test harness: the real server on a free loopback port with a fresh SQLite
//! file, and a small cookie-keeping client with redirects off.
#![allow(dead_code)]

use gatehouse::{
    config::Config,
    server::{leptos_options, Application},
    state::AppState,
};
use reqwest::{header, redirect, Method, StatusCode};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub mod oidc;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "quiet lighthouse hums over grey water";
pub const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";

pub struct TestApp {
    pub base: String,
    /// The metrics listener's origin (`http://127.0.0.1:port`).
    pub metrics_base: Option<String>,
    pub state: AppState,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<TempDir>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let mut app = Self::spawn_in(&path, vars).await;
        app._dir = Some(dir);
        app
    }

    /// Starts a server on an existing data folder (e.g. to test a restart).
    pub async fn spawn_in(data_dir: &Path, vars: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> = HashMap::from([
            ("GATEHOUSE_JWT_SECRET".into(), SECRET.into()),
            ("GATEHOUSE_DATA_DIR".into(), data_dir.display().to_string()),
            ("DATABASE_URL".into(), database_url(data_dir).await),
            ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
            ("GATEHOUSE_METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ]);
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_vars(env).expect("valid test config");
        let options = leptos_options(&config);
        let app = Application::build(config, options)
            .await
            .expect("server builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics_base = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let state = app.state();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            base,
            metrics_base,
            state,
            data_dir: data_dir.to_path_buf(),
            shutdown: Some(tx),
            server: Some(server),
            _dir: None,
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base, CHROME)
    }

    pub fn browser_with_agent(&self, user_agent: &str) -> Browser {
        Browser::new(&self.base, user_agent)
    }

    /// Counts rows with a direct query (`sql` has one `$1` parameter).
    pub async fn count(&self, sql: &str, param: &str) -> i64 {
        let url = database_url(&self.data_dir).await;
        let (n,): (i64,) = if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&url).await.expect("database opens");
            sqlx::query_as(sql)
                .bind(param)
                .fetch_one(&pool)
                .await
                .unwrap()
        } else {
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .expect("database opens");
            sqlx::query_as(sql)
                .bind(param)
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        n
    }

    /// Runs one statement directly on the database (to set up a state the
    /// app would not make, such as the one before an upgrade).
    pub async fn execute(&self, sql: &str) {
        let url = database_url(&self.data_dir).await;
        if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&url).await.expect("database opens");
            sqlx::query(sql).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .expect("database opens");
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }

    /// Moves every session's sign-in (and last proof) an hour into the past:
    /// the database is the clock the recent-sign-in rule reads.
    pub async fn an_hour_later(&self) {
        self.execute(
            "UPDATE sessions SET created_at = created_at - 3600000, \
             proved_at = proved_at - 3600000",
        )
        .await;
    }

    /// Everything the database holds for sessions, as text and bytes, to
    /// look for secrets in.
    pub async fn stored_session_bytes(&self) -> Vec<u8> {
        self.stored_bytes("sessions").await
    }

    /// Everything the database holds in `table` (on SQLite, the whole
    /// database files), as text and bytes, to look for secrets in.
    pub async fn stored_bytes(&self, table: &str) -> Vec<u8> {
        let url = database_url(&self.data_dir).await;
        if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&url).await.expect("database opens");
            let rows: Vec<(String,)> =
                sqlx::query_as(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            rows.into_iter().flat_map(|(r,)| r.into_bytes()).collect()
        } else {
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .expect("database opens");
            sqlx::query("PRAGMA wal_checkpoint(FULL)")
                .execute(&pool)
                .await
                .unwrap();
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(&self.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    bytes.extend(std::fs::read(path).unwrap());
                }
            }
            bytes
        }
    }

    /// The raw messages in the development outbox, newest first.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.data_dir.join("outbox");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names.reverse();
        names
            .into_iter()
            .map(|p| std::fs::read_to_string(p).expect("a readable message"))
            .collect()
    }

    /// The messages to `to` whose subject is `subject`, newest first.
    pub fn mail_to(&self, to: &str, subject: &str) -> Vec<String> {
        self.outbox()
            .into_iter()
            .filter(|m| {
                m.contains(&format!("To: {to}\r\n"))
                    && m.contains(&format!("Subject: {subject}\r\n"))
            })
            .collect()
    }

    /// Waits for the `n`th message to `to` with `subject`; returns the newest.
    pub async fn wait_for_mail(&self, to: &str, subject: &str, n: usize) -> String {
        eventually(
            &format!("message {n} '{subject}' to {to}"),
            std::time::Duration::from_secs(10),
            || async { self.mail_to(to, subject).len() >= n },
        )
        .await;
        self.mail_to(to, subject).remove(0)
    }

    /// Registers a new account in a new browser; returns the browser.
    pub async fn signed_up(&self, email: &str) -> Browser {
        let browser = self.browser();
        let res = browser
            .post_form("/api/register", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        browser
    }

    /// Registers a new account and confirms its address from the mailed
    /// link (second factors need a proved address); returns the browser.
    pub async fn verified_up(&self, email: &str) -> Browser {
        let browser = self.signed_up(email).await;
        self.verify(&browser, email).await;
        browser
    }

    /// Confirms `email` from the newest verification letter sent to it.
    pub async fn verify(&self, browser: &Browser, email: &str) {
        let letter = self
            .wait_for_mail(email, "Confirm your email address", 1)
            .await;
        let token = link_token(&letter, "/verify-email");
        let done = browser
            .post_form("/api/verify_email", &[("token", &token)])
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    }

    /// Signs an existing account in from a new browser with this user agent.
    pub async fn signed_in(&self, email: &str, user_agent: &str) -> Browser {
        let browser = self.browser_with_agent(user_agent);
        let res = browser
            .post_form("/api/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        browser
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("JSON body, got {:?}", self.body))
    }

    /// The `error` code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }
}

/// A browser-like client: keeps cookies itself (so `Secure` cookies work over
/// loopback http, as they do in Chromium), sends a same-origin `Origin`, and
/// never follows redirects.
pub struct Browser {
    client: reqwest::Client,
    pub base: String,
    user_agent: String,
    jar: Mutex<HashMap<String, String>>,
}

impl Browser {
    pub fn new(base: &str, user_agent: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                // A request that hangs fails its test instead of the run.
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
            base: base.to_owned(),
            user_agent: user_agent.to_owned(),
            jar: Mutex::new(HashMap::new()),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn remove_cookie(&self, name: &str) {
        self.jar.lock().unwrap().remove(name);
    }

    pub fn access(&self) -> String {
        self.cookie("__Host-gh_access").expect("access cookie")
    }

    pub fn refresh_token(&self) -> String {
        self.cookie("__Host-gh_refresh").expect("refresh cookie")
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn absorb(&self, headers: &header::HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for value in headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (pair, attrs) = value.split_once(';').unwrap_or((value, ""));
            let (name, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), val.trim().to_owned());
            }
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let mut req = req.header(header::USER_AGENT, &self.user_agent);
        if let Some(cookies) = self.cookie_header() {
            req = req.header(header::COOKIE, cookies);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        self.absorb(&headers);
        let body = res.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
            .header(header::ORIGIN, &self.base)
    }

    /// A hydrated client's server-function call.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded(fields);
        self.send(
            self.request(Method::POST, path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(body),
        )
        .await
    }

    /// A form post from `ip`, as forwarded by a trusted proxy on loopback.
    pub async fn post_form_from(&self, ip: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.send(
            self.request(Method::POST, path)
                .header("x-forwarded-for", ip)
                .header(header::ACCEPT, "application/json")
                .form(fields),
        )
        .await
    }

    /// A form post from a browser without JavaScript.
    pub async fn post_html_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        referer: &str,
    ) -> Answer {
        let body = serde_urlencoded(fields);
        self.send(
            self.request(Method::POST, path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
                .header(header::REFERER, format!("{}{}", self.base, referer))
                .body(body),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(
            self.client
                .get(format!("{}{}", self.base, path))
                .header(header::ACCEPT, "text/html"),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> Answer {
        self.send(
            self.client
                .post(format!("{}{}", self.base, path))
                .json(&body),
        )
        .await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Answer {
        self.send(
            self.client
                .get(format!("{}{}", self.base, path))
                .bearer_auth(token),
        )
        .await
    }
}

fn serde_urlencoded(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// A unique address per call.
pub fn email(label: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{label}-{}@example.com", N.fetch_add(1, Ordering::Relaxed))
}

/// The test database for a data folder: a SQLite file in it, or — when
/// `GATEHOUSE_TEST_POSTGRES` names a PostgreSQL server — a database of its
/// own on that server, named after the folder (so a restart finds it again).
pub async fn database_url(data_dir: &Path) -> String {
    let Ok(admin_url) = std::env::var("GATEHOUSE_TEST_POSTGRES") else {
        return format!("sqlite://{}", data_dir.join("test.db").display());
    };
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    let name = format!("t_{:016x}", hasher.finish());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("test PostgreSQL answers");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&admin)
        .await
        .unwrap();
    if exists.is_none() {
        // Parallel tests may race to create the same database; one wins.
        let _ = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await;
    }
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
    format!("{base}/{name}")
}

/// Polls the instance at `base` until `access` is refused as a revoked
/// session's, failing after `limit`.
pub async fn revoked_within(base: &str, access: &str, limit: std::time::Duration) {
    let started = std::time::Instant::now();
    loop {
        let res = Browser::new(base, CHROME)
            .get_bearer("/api/v1/me", access)
            .await;
        if res.status == StatusCode::UNAUTHORIZED && res.code() == "session_revoked" {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Two instances on one database with `vars`: a device signed in on the
/// first is revoked there; the second must refuse its access token within
/// `limit`.
pub async fn revocation_reaches_the_other_instance(
    vars: &[(&str, &str)],
    limit: std::time::Duration,
) {
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn_in(dir.path(), vars).await;
    let two = TestApp::spawn_in(dir.path(), vars).await;
    let address = email("instances");
    let a = one.signed_up(&address).await;
    let b = one.signed_in(&address, FIREFOX).await;
    let b_access = b.access();
    let me = b.get("/api/v1/me").await.json();
    let b_id = me["session_id"].as_str().unwrap();
    let before = two.browser().get_bearer("/api/v1/me", &b_access).await;
    assert_eq!(before.status, StatusCode::OK);
    a.post_form("/api/revoke_session", &[("session_id", b_id)])
        .await;
    revoked_within(&two.base, &b_access, limit).await;
}

/// Whether the tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("GATEHOUSE_TEST_POSTGRES").is_ok()
}

/// Polls `check` every 50 ms until it holds, failing after `limit`.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> F,
) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The token of the first link to `page` in a raw message.
pub fn link_token(message: &str, page: &str) -> String {
    let marker = format!("{page}?token=");
    let start = message
        .find(&marker)
        .unwrap_or_else(|| panic!("no {page} link in\n{message}"))
        + marker.len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Makes the database refuse every write of `table` (`INSERT` or
/// `DELETE`), as a fault half-way through a command would.
pub async fn break_writes(app: &TestApp, table: &str, op: &str) {
    if on_postgres() {
        app.execute(
            "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql",
        )
        .await;
        app.execute(&format!(
            "CREATE TRIGGER injected_fault BEFORE {op} ON {table} \
             FOR EACH ROW EXECUTE FUNCTION injected_fault()"
        ))
        .await;
    } else {
        app.execute(&format!(
            "CREATE TRIGGER injected_fault BEFORE {op} ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ))
        .await;
    }
}

pub async fn heal(app: &TestApp, table: &str) {
    if on_postgres() {
        app.execute(&format!("DROP TRIGGER injected_fault ON {table}"))
            .await;
    } else {
        app.execute("DROP TRIGGER injected_fault").await;
    }
}
