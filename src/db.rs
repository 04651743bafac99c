//! Storage: every SQL statement gatehouse runs lives in this module, so pages
//! and auth logic never see the database engine.

use crate::error::{AppError, ErrorCode};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};
use std::{str::FromStr, time::Duration};

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub type Millis = i64;

/// The current time in unix milliseconds.
pub fn now_ms() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// Formats unix milliseconds as RFC 3339 UTC (e.g. `2026-11-25T10:00:00Z`).
pub fn rfc3339(ms: Millis) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The session store: SQLite (embedded, one machine) or PostgreSQL (shared
/// by several instances). Every statement is written once, with `$N`
/// placeholders that both engines accept.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same statement on whichever engine this store uses.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs a statement on either engine; the number of rows it changed.
macro_rules! execute {
    ($db:expr, $pool:ident => $query:expr) => {
        on_pool!($db, $pool => $query.execute($pool).await.map(|r| r.rows_affected()))
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported DATABASE_URL scheme `{0}`: use sqlite: or postgres://")]
    UnsupportedScheme(String),
    #[error("could not connect to PostgreSQL at {0}: {1}")]
    Postgres(String, sqlx::Error),
    #[error("could not create the database folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error("could not open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: Millis,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// A session row. `secret` is key material for deriving refresh tokens, not a token.
#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub secret: Vec<u8>,
    pub generation: i64,
    pub rotated_at: Option<Millis>,
    pub created_at: Millis,
    pub last_used_at: Millis,
    pub idle_expires_at: Millis,
    pub absolute_expires_at: Millis,
    pub user_agent: String,
    pub ip: Option<String>,
    pub revoked_at: Option<Millis>,
    pub revoked_reason: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("generation", &self.generation)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// What a new session starts with.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub secret: &'a [u8],
    pub now: Millis,
    pub idle_expires_at: Millis,
    pub absolute_expires_at: Millis,
    pub user_agent: &'a str,
    pub ip: Option<&'a str>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ThrottleEntry {
    pub key: String,
    pub failures: i64,
    pub blocked_until: Millis,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecurityEvent {
    pub id: i64,
    pub kind: String,
    pub at: Millis,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub dismissed: bool,
}

/// A user with the number of their active sessions, for the admin console.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub sessions: i64,
}

const SESSION_COLUMNS: &str = "id, user_id, kind, secret, generation, rotated_at, created_at, \
     last_used_at, idle_expires_at, absolute_expires_at, user_agent, ip, revoked_at, revoked_reason";

impl Db {
    /// Opens the database at `url` (creating a SQLite file and its folder if
    /// needed) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Self::connect_sqlite(url).await,
            "postgres" | "postgresql" => Self::connect_postgres(url).await,
            _ => Err(ConnectError::UnsupportedScheme(format!("{scheme}:"))),
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Self, ConnectError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let file = options.get_filename().to_path_buf();
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| ConnectError::Folder(parent.display().to_string(), e))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Self, ConnectError> {
        // Errors name the server, never the password.
        let options = PgConnectOptions::from_str(url)?;
        let address = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| ConnectError::Postgres(address, e))?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        execute!(self, pool => sqlx::query("SELECT 1")).is_ok()
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    // ---- users ----

    /// Creates a user; `Err(EmailTaken)` if the email exists (nothing is written).
    pub async fn create_user(
        &self,
        id: &str,
        email: &str,
        password_hash: &str,
        now: Millis,
    ) -> Result<User, AppError> {
        let inserted = execute!(self, pool => sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(now)
        )?;
        if inserted == 0 {
            return Err(ErrorCode::EmailTaken.into());
        }
        Ok(User {
            id: id.to_owned(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            role: "user".into(),
            disabled: false,
            created_at: now,
        })
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, AppError> {
        Ok(
            on_pool!(self, pool => sqlx::query_as("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await)?,
        )
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, AppError> {
        Ok(
            on_pool!(self, pool => sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    pub async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<(), AppError> {
        execute!(self, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        )?;
        Ok(())
    }

    pub async fn set_role(&self, user_id: &str, role: &str) -> Result<bool, AppError> {
        let done = execute!(self, pool => sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    pub async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<bool, AppError> {
        let done = execute!(self, pool => sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(disabled)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Deletes a user; sessions and security events go with it (ON DELETE CASCADE).
    pub async fn delete_user(&self, user_id: &str) -> Result<bool, AppError> {
        let done = execute!(self, pool => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Users whose email contains `query` (all when empty), with their active session counts.
    pub async fn search_users(
        &self,
        query: &str,
        now: Millis,
    ) -> Result<Vec<UserSummary>, AppError> {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.disabled, \
               (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL \
                  AND s.idle_expires_at > $1 AND s.absolute_expires_at > $2) AS sessions \
             FROM users u WHERE u.email LIKE $3 ESCAPE '\\' ORDER BY u.email LIMIT 200",
        )
        .bind(now)
        .bind(now)
        .bind(pattern)
        .fetch_all(pool)
        .await)?)
    }

    // ---- sessions ----

    pub async fn insert_session(&self, s: NewSession<'_>) -> Result<(), AppError> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO sessions (id, user_id, kind, secret, generation, created_at, last_used_at, \
               idle_expires_at, absolute_expires_at, user_agent, ip) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.kind)
        .bind(s.secret)
        .bind(s.now)
        .bind(s.now)
        .bind(s.idle_expires_at)
        .bind(s.absolute_expires_at)
        .bind(s.user_agent)
        .bind(s.ip)
        )?;
        Ok(())
    }

    pub async fn session(&self, id: &str) -> Result<Option<Session>, AppError> {
        Ok(on_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Advances a session from `expected_generation` to the next one, in one
    /// statement (a compare-and-swap): of any number of concurrent callers
    /// presenting the same token, exactly one sees `true`.
    pub async fn rotate_session(
        &self,
        id: &str,
        expected_generation: i64,
        now: Millis,
        idle_expires_at: Millis,
        user_agent: &str,
        ip: Option<&str>,
    ) -> Result<bool, AppError> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE sessions SET generation = generation + 1, rotated_at = $1, last_used_at = $2, \
               idle_expires_at = $3, user_agent = $4, ip = $5 \
             WHERE id = $6 AND generation = $7 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(now)
        .bind(idle_expires_at)
        .bind(user_agent)
        .bind(ip)
        .bind(id)
        .bind(expected_generation)
        )?;
        Ok(done == 1)
    }

    /// Revokes one session if it is still active; `true` if this call revoked it.
    pub async fn revoke_session(
        &self,
        id: &str,
        reason: &str,
        now: Millis,
    ) -> Result<bool, AppError> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        )?;
        Ok(done == 1)
    }

    /// Revokes every active session of a user except `keep`; returns the revoked ids.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now: Millis,
    ) -> Result<Vec<String>, AppError> {
        let ids: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL AND id IS DISTINCT FROM $4 RETURNING id",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .bind(keep)
        .fetch_all(pool)
        .await)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// A user's sessions that are neither revoked nor expired, newest activity first.
    pub async fn active_sessions(
        &self,
        user_id: &str,
        now: Millis,
    ) -> Result<Vec<Session>, AppError> {
        Ok(on_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
               AND idle_expires_at > $2 AND absolute_expires_at > $3 ORDER BY last_used_at DESC"
        ))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .fetch_all(pool)
        .await)?)
    }

    /// Sessions revoked at or after `since`: (id, revoked_at, reason).
    pub async fn revoked_since(
        &self,
        since: Millis,
    ) -> Result<Vec<(String, Millis, Option<String>)>, AppError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, revoked_at, revoked_reason FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at >= $1",
        )
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }

    /// Removes sessions that ended before `before` (expired or revoked).
    pub async fn purge_sessions(&self, before: Millis) -> Result<u64, AppError> {
        let done = execute!(self, pool => sqlx::query(
            "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1) \
               OR idle_expires_at < $2 OR absolute_expires_at < $3",
        )
        .bind(before)
        .bind(before)
        .bind(before)
        )?;
        Ok(done)
    }

    // ---- throttling ----

    pub async fn throttle_entries(&self, keys: &[&str]) -> Result<Vec<ThrottleEntry>, AppError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let entry: Option<ThrottleEntry> = on_pool!(self, pool => sqlx::query_as(
                "SELECT key, failures, blocked_until FROM login_throttle WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await)?;
            found.extend(entry);
        }
        Ok(found)
    }

    /// Counts one more failure for `key`; `block_for` maps the new failure
    /// count to how long (ms) further attempts are refused.
    pub async fn record_failure(
        &self,
        key: &str,
        now: Millis,
        block_for: impl Fn(i64) -> Millis,
    ) -> Result<(), AppError> {
        let (failures,): (i64,) = on_pool!(self, pool => sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        let block = block_for(failures);
        if block > 0 {
            execute!(self, pool => sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2")
            .bind(now + block)
            .bind(key)
            )?;
        }
        Ok(())
    }

    pub async fn clear_failures(&self, keys: &[&str]) -> Result<(), AppError> {
        for key in keys {
            execute!(self, pool => sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            )?;
        }
        Ok(())
    }

    /// Forgets failure counters idle since `before`.
    pub async fn purge_throttle(&self, before: Millis) -> Result<u64, AppError> {
        let done = execute!(self, pool => sqlx::query(
            "DELETE FROM login_throttle WHERE last_failure_at < $1 AND blocked_until < $2",
        )
        .bind(before)
        .bind(before)
        )?;
        Ok(done)
    }

    // ---- security events ----

    pub async fn record_event(
        &self,
        user_id: &str,
        kind: &str,
        at: Millis,
        device: Option<&str>,
        ip: Option<&str>,
        detail: &str,
    ) -> Result<(), AppError> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO security_events (user_id, kind, at, device, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user_id)
        .bind(kind)
        .bind(at)
        .bind(device)
        .bind(ip)
        .bind(detail)
        )?;
        Ok(())
    }

    /// A user's events since `since`, newest first.
    pub async fn events(
        &self,
        user_id: &str,
        since: Millis,
    ) -> Result<Vec<SecurityEvent>, AppError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, kind, at, device, ip, detail, dismissed FROM security_events \
             WHERE user_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }

    /// Marks a user's pending notices as seen.
    pub async fn dismiss_notices(&self, user_id: &str) -> Result<(), AppError> {
        execute!(self, pool => sqlx::query("UPDATE security_events SET dismissed = TRUE WHERE user_id = $1 AND dismissed = FALSE")
        .bind(user_id)
        )?;
        Ok(())
    }

    pub async fn purge_events(&self, before: Millis) -> Result<u64, AppError> {
        let done = execute!(self, pool => sqlx::query("DELETE FROM security_events WHERE at < $1")
        .bind(before)
        )?;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn start_up_errors_name_the_server_but_never_the_password() {
        let err = Db::connect("mysql://root:hunter2@127.0.0.1/app")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported DATABASE_URL scheme `mysql:`: use sqlite: or postgres://"
        );
        // Nothing listens on port 1.
        let err = Db::connect("postgres://gatehouse:hunter2@127.0.0.1:1/gatehouse")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("127.0.0.1:1/gatehouse"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn rfc3339_is_utc_without_fraction() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
