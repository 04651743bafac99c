//! Backups of a SQLite database (`gatehouse backup`), what a restore
//! shares with them (`restore.rs`), and the lock that tells a restore
//! whether a gatehouse process has the database open.
//!
//! A backup is `VACUUM INTO` a new file: one read transaction, so it is a
//! consistent snapshot while servers keep writing (SQLite, "VACUUM INTO").

use super::ConnectError;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    SqlitePool,
};
use std::{
    fs::{File, OpenOptions, TryLockError},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    str::FromStr as _,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Why a backup or a restore refused or failed; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: a backup never overwrites a file; choose a new name")]
    TargetExists(PathBuf),
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0} is not a file")]
    NoFile(PathBuf),
    #[error("{0} is not a SQLite database")]
    NotSqlite(PathBuf),
    #[error("{0} is not a gatehouse database (it has no migration history or no accounts table)")]
    NotGatehouse(PathBuf),
    #[error("{0} failed SQLite's integrity check: {1}")]
    Damaged(PathBuf, String),
    #[error(
        "{path} has a write-ahead log beside it ({path}-wal): it is a live database, not a backup; \
         make one with `gatehouse backup FILE`"
    )]
    LiveDatabase { path: PathBuf },
    #[error(
        "{0} was made by a newer gatehouse (its migration {1} is unknown to this build); \
         restore it with that version or a later one"
    )]
    Newer(PathBuf, i64),
    #[error(
        "{0} does not have this build's migration history ({1}); \
         it is not a backup of this gatehouse and is refused"
    )]
    Foreign(PathBuf, String),
    #[error(
        "the database {0} is in use by a running gatehouse (a server or a command); \
         stop every server using it, then restore"
    )]
    InUse(PathBuf),
    #[error("{0} is being restored; start again once the restore has finished")]
    Restoring(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("could not bring the restored copy up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The lock file beside a SQLite database. Every gatehouse process that
/// opens the database holds a shared lock on it; a restore takes it
/// exclusively, so it never replaces a database under a running server,
/// and no server opens one half-restored.
pub(super) fn lock_path(database: &Path) -> PathBuf {
    sibling(database, ".lock")
}

/// `database` with `suffix` added to its file name.
pub(super) fn sibling(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    database.with_file_name(name)
}

pub(super) fn open_lock(database: &Path) -> Result<File, BackupError> {
    let path = lock_path(database);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| BackupError::Io(path, e))
}

/// A gatehouse process's shared hold on a SQLite database (see
/// [`lock_path`]); released when the `Db` closes or the process ends.
#[derive(Clone, Debug)]
pub struct InUse(Arc<Mutex<Option<File>>>);

impl InUse {
    pub(super) fn hold(database: &Path) -> Result<Self, ConnectError> {
        let file = open_lock(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self(Arc::new(Mutex::new(Some(file))))),
            Err(TryLockError::WouldBlock) => {
                Err(BackupError::Restoring(database.to_path_buf()).into())
            }
            Err(TryLockError::Error(e)) => Err(BackupError::Io(lock_path(database), e).into()),
        }
    }

    pub(super) fn release(&self) {
        if let Ok(mut file) = self.0.lock() {
            file.take();
        }
    }
}

/// The file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    Ok(SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_path_buf())
}

/// `SQLITE_NOTADB` means `path` is not a SQLite database; other errors
/// are what they are.
fn not_sqlite(path: &Path) -> impl Fn(sqlx::Error) -> BackupError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("26") => {
            BackupError::NotSqlite(path.to_path_buf())
        }
        _ => BackupError::Sql(e),
    }
}

/// One connection to an existing file (never created), no migrations run.
pub(super) async fn open(file: &Path) -> Result<SqlitePool, BackupError> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(not_sqlite(file))
}

/// Checks that `pool` is a sound gatehouse database; `path` names it in errors.
pub(super) async fn check_database(pool: &SqlitePool, path: &Path) -> Result<(), BackupError> {
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(pool)
        .await
        .map_err(not_sqlite(path))?;
    if check != "ok" {
        return Err(BackupError::Damaged(path.to_path_buf(), check));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
           AND name IN ('_sqlx_migrations', 'users')",
    )
    .fetch_one(pool)
    .await?;
    if tables != 2 {
        return Err(BackupError::NotGatehouse(path.to_path_buf()));
    }
    Ok(())
}

/// Writes a consistent copy of the running SQLite database at `url` to
/// `target`, which must not exist; the copy's size in bytes. The copy holds
/// password hashes and sealed secrets, so only its owner may read it.
pub async fn backup(url: &str, target: &Path) -> Result<u64, BackupError> {
    let source = sqlite_file(url)?;
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::TargetExists(target.to_path_buf()));
    }
    let partial = sibling(target, &format!(".partial-{}", std::process::id()));
    let result = write_backup(&source, &partial, target).await;
    for leftover in [
        sibling(&partial, "-wal"),
        sibling(&partial, "-shm"),
        partial,
    ] {
        let _ = std::fs::remove_file(leftover);
    }
    result
}

async fn write_backup(source: &Path, partial: &Path, target: &Path) -> Result<u64, BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| BackupError::Io(path, e)
    };
    // VACUUM INTO fills an empty file; made here, it is the owner's alone.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(io(partial))?;
    let pool = open(source).await?;
    let copied = async {
        check_database(&pool, source).await?;
        sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&pool)
            .await?;
        Ok::<_, BackupError>(())
    }
    .await;
    pool.close().await;
    copied?;
    let copy = open(partial).await?;
    let checked = check_database(&copy, partial).await;
    copy.close().await;
    checked?;
    File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io(partial))?;
    // A hard link puts the finished copy in place only if nothing has the
    // name yet (no check-then-write race), and never a half-written file.
    match std::fs::hard_link(partial, target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::TargetExists(target.to_path_buf()))
        }
        Err(e) => return Err(BackupError::Io(target.to_path_buf(), e)),
    }
    sync_folder(target);
    Ok(std::fs::metadata(target).map_err(io(target))?.len())
}

/// Makes a rename or link in `file`'s folder durable (best effort: not
/// every filesystem lets a folder be synced).
pub(super) fn sync_folder(file: &Path) {
    if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(folder).and_then(|f| f.sync_all());
    }
}
