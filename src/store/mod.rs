//! Storage: every SQL statement gatehouse runs lives under this module, one
//! file per table, so services never see the database engine and nothing
//! else touches the database handle. Errors are [`StoreError`]; services map
//! them to the answers a client sees.

pub mod backup;
mod error;
pub mod events;
pub mod factors;
pub mod identities;
pub mod keys;
pub mod links;
pub mod passkeys;
pub mod purge;
pub mod restore;
pub mod revocation_log;
pub mod sessions;
pub mod throttle;
pub mod users;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};
use std::{str::FromStr, time::Duration};

pub use error::{StoreError, StoreResult};
pub use events::SecurityEvent;
pub use sessions::{NewSession, Session};
pub use users::{User, UserSummary};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The session store: SQLite (embedded, one machine) or PostgreSQL (shared
/// by several instances). Every statement is written once, with `$N`
/// placeholders that both engines accept.
///
/// A `Db` is either the pool or one open transaction ([`Db::begin`]): every
/// statement below runs on either, so a command that writes several rows
/// opens a transaction, makes the same calls on it, and commits them all or
/// none.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// On SQLite, the shared lock on the database's lock file that says a
    /// gatehouse process has it open (see [`backup::InUse`]); released by
    /// [`Db::close`].
    in_use: Option<backup::InUse>,
}

/// An open transaction, shared by the clones of the `Db` that holds it;
/// `None` once committed. Dropped uncommitted, it is rolled back.
type Shared<T> = std::sync::Arc<tokio::sync::Mutex<Option<sqlx::Transaction<'static, T>>>>;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    SqliteTx(Shared<sqlx::Sqlite>),
    PostgresTx(Shared<sqlx::Postgres>),
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pool::Sqlite(_) => "Sqlite",
            Pool::Postgres(_) => "Postgres",
            Pool::SqliteTx(_) => "SqliteTransaction",
            Pool::PostgresTx(_) => "PostgresTransaction",
        })
    }
}

/// The connection of an open transaction; using one after its commit is a
/// fault in the caller.
pub(crate) fn open<'a, T: sqlx::Database>(
    tx: &'a mut Option<sqlx::Transaction<'static, T>>,
) -> &'a mut T::Connection {
    tx.as_mut()
        .expect("a transaction is not used after its commit")
}

/// Runs the same statement on whichever engine this store uses, on the pool
/// or inside the open transaction.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
            $crate::store::Pool::SqliteTx(tx) => {
                let mut guard = tx.lock().await;
                let $pool = $crate::store::open(&mut guard);
                $body
            }
            $crate::store::Pool::PostgresTx(tx) => {
                let mut guard = tx.lock().await;
                let $pool = $crate::store::open(&mut guard);
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at `BEGIN IMMEDIATE`, waiting for it under the busy timeout: a deferred
/// transaction that first reads would instead fail at once with
/// `SQLITE_BUSY` when another connection writes in between (SQLite,
/// "Transactions", §2.2). PostgreSQL's plain `BEGIN` needs no such care.
pub(crate) trait BeginWrite<'c> {
    type Database: sqlx::Database;
    fn begin_write(
        self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'c, Self::Database>, sqlx::Error>>;
}

impl<'c> BeginWrite<'c> for &'c SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(self) -> Result<sqlx::Transaction<'c, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl<'c> BeginWrite<'c> for &'c PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(self) -> Result<sqlx::Transaction<'c, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Inside an open transaction (which already holds SQLite's write lock) a
/// nested one is a savepoint.
impl<'c> BeginWrite<'c> for &'c mut sqlx::SqliteConnection {
    type Database = sqlx::Sqlite;
    async fn begin_write(self) -> Result<sqlx::Transaction<'c, sqlx::Sqlite>, sqlx::Error> {
        sqlx::Connection::begin(self).await
    }
}

impl<'c> BeginWrite<'c> for &'c mut sqlx::PgConnection {
    type Database = sqlx::Postgres;
    async fn begin_write(self) -> Result<sqlx::Transaction<'c, sqlx::Postgres>, sqlx::Error> {
        sqlx::Connection::begin(self).await
    }
}

/// Runs a statement on either engine; the number of rows it changed.
macro_rules! execute {
    ($db:expr, $pool:ident => $query:expr) => {
        $crate::store::on_pool!($db, $pool => $query.execute($pool).await.map(|r| r.rows_affected()))
    };
}
pub(crate) use execute;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported DATABASE_URL scheme `{0}`: use sqlite: or postgres://")]
    UnsupportedScheme(String),
    #[error("could not connect to PostgreSQL at {0}: {1}")]
    Postgres(String, sqlx::Error),
    #[error("could not create the database folder {0}: {1}")]
    Folder(String, std::io::Error),
    /// The database's lock file could not be held (a restore is running).
    #[error("{0}")]
    Lock(#[from] backup::BackupError),
    #[error("could not open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl ConnectError {
    /// Whether the database answered that it is busy (SQLite's
    /// `SQLITE_BUSY`/`SQLITE_LOCKED` while another process writes, or a
    /// server's transient refusal), so that opening it again shortly may
    /// work. A database that does not answer at all is not busy: the pool
    /// has already spent its acquire timeout trying it.
    pub fn is_busy(&self) -> bool {
        use sqlx::migrate::MigrateError;
        match self {
            ConnectError::Open(err)
            | ConnectError::Postgres(_, err)
            | ConnectError::Migrate(
                MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _),
            ) => matches!(err, sqlx::Error::Database(_)) && error::is_transient(err),
            _ => false,
        }
    }
}

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
        // A database in memory has no file for a restore to replace.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let in_use = if in_memory {
            None
        } else {
            Some(backup::InUse::hold(&file)?)
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
            in_use,
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
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
            in_use: None,
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) | Pool::SqliteTx(_) => "sqlite",
            Pool::Postgres(_) | Pool::PostgresTx(_) => "postgres",
        }
    }

    /// Opens a transaction: the returned `Db` runs every statement inside
    /// it until [`Db::commit`]; dropped without a commit, nothing it wrote
    /// stays. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`). Statements on the pool meanwhile are not part of it.
    pub async fn begin(&self) -> StoreResult<Db> {
        let pool = match &self.pool {
            Pool::Sqlite(pool) => Pool::SqliteTx(shared(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Pool::Postgres(pool) => Pool::PostgresTx(shared(pool.begin().await?)),
            Pool::SqliteTx(_) | Pool::PostgresTx(_) => {
                panic!("a transaction is opened on the pool, not inside another")
            }
        };
        Ok(Db {
            pool,
            in_use: self.in_use.clone(),
        })
    }

    /// Commits the transaction this `Db` holds (see [`Db::begin`]).
    pub async fn commit(self) -> StoreResult<()> {
        match &self.pool {
            Pool::SqliteTx(tx) => take(tx).await.commit().await?,
            Pool::PostgresTx(tx) => take(tx).await.commit().await?,
            Pool::Sqlite(_) | Pool::Postgres(_) => panic!("commit without a transaction"),
        }
        Ok(())
    }

    /// SQL for the database's own clock in unix milliseconds: rules that
    /// several instances share (throttling) read one clock, not each
    /// server's. A scalar subquery, read once per statement: PostgreSQL's
    /// `clock_timestamp()` is volatile, and compared with a column directly
    /// it is computed again for every row (the dashboard's busiest networks
    /// took 173 ms instead of 103 ms over a million throttle counters).
    pub(crate) fn now_sql(&self) -> &'static str {
        match self.engine() {
            "sqlite" => {
                "(SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER))"
            }
            _ => "(SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))",
        }
    }

    /// Whether every migration this build carries has been applied (it
    /// may not be, if the database was restored from an older copy).
    pub async fn migrations_applied(&self) -> StoreResult<bool> {
        let expected = match self.engine() {
            "sqlite" => SQLITE_MIGRATIONS.iter().count(),
            _ => POSTGRES_MIGRATIONS.iter().count(),
        };
        let applied: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
        )
        .fetch_one(pool)
        .await)?;
        Ok(usize::try_from(applied).unwrap_or_default() >= expected)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        execute!(self, pool => sqlx::query("SELECT 1")).is_ok()
    }

    /// The pool's open and idle connections, and how long taking one took
    /// just now (`None` if none came within the acquire timeout, or inside
    /// a transaction, which holds its own).
    pub async fn pool_probe(&self) -> PoolProbe {
        async fn probe<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolProbe {
            let (size, idle) = (pool.size(), pool.num_idle());
            let started = std::time::Instant::now();
            let wait = pool.acquire().await.ok().map(|_conn| started.elapsed());
            PoolProbe { size, idle, wait }
        }
        match &self.pool {
            Pool::Sqlite(pool) => probe(pool).await,
            Pool::Postgres(pool) => probe(pool).await,
            Pool::SqliteTx(_) | Pool::PostgresTx(_) => PoolProbe::default(),
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
            Pool::SqliteTx(_) | Pool::PostgresTx(_) => return,
        }
        if let Some(in_use) = &self.in_use {
            in_use.release();
        }
    }
}

/// What [`Db::pool_probe`] found.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolProbe {
    pub size: u32,
    pub idle: usize,
    pub wait: Option<Duration>,
}

/// `count` numbered placeholders from `$first` on, comma-separated; a
/// `NULL` for none, so `x IN (NULL)` matches nothing on both engines.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    if count == 0 {
        return "NULL".to_owned();
    }
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shared<T: sqlx::Database>(tx: sqlx::Transaction<'static, T>) -> Shared<T> {
    std::sync::Arc::new(tokio::sync::Mutex::new(Some(tx)))
}

async fn take<T: sqlx::Database>(tx: &Shared<T>) -> sqlx::Transaction<'static, T> {
    tx.lock()
        .await
        .take()
        .expect("a transaction is committed once")
}

#[cfg(test)]
pub(crate) mod tests;
