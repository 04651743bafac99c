//! Restoring a SQLite database from a backup (`gatehouse restore`): the
//! file is checked (a SQLite gatehouse database whose applied migrations
//! are this build's, or an older prefix of them), brought up to date on a
//! copy beside the target, and renamed over the target in one step, once
//! no gatehouse process has the database open. A failure at any point
//! leaves the old database as it was.

use super::{
    backup::{
        check_database, lock_path, open, open_lock, sibling, sqlite_file, sync_folder, BackupError,
    },
    SQLITE_MIGRATIONS,
};
use sqlx::SqlitePool;
use std::{
    fs::{File, TryLockError},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// Migrations the file lacked (it came from an older build), applied
    /// to it before it took the database's place.
    pub applied: Vec<i64>,
    /// Where the database it replaced was kept, if there was one.
    pub kept: Option<PathBuf>,
}

/// Replaces the SQLite database at `url` with the backup `source`, once no
/// gatehouse process has it open (see [`lock_path`]).
pub async fn restore(url: &str, source: &Path) -> Result<Restored, BackupError> {
    let target = sqlite_file(url)?;
    if !source.is_file() {
        return Err(BackupError::NoFile(source.to_path_buf()));
    }
    let wal = sibling(source, "-wal");
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        return Err(BackupError::LiveDatabase {
            path: source.to_path_buf(),
        });
    }
    if let Some(folder) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| BackupError::Io(folder.to_path_buf(), e))?;
    }
    // Held until the end: no server starts on the database meanwhile.
    let lock = open_lock(&target)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(BackupError::InUse(target)),
        Err(TryLockError::Error(e)) => return Err(BackupError::Io(lock_path(&target), e)),
    }
    let copy = sibling(&target, &format!(".restoring-{}", std::process::id()));
    let result = restore_through(source, &copy, &target).await;
    for leftover in [sibling(&copy, "-wal"), sibling(&copy, "-shm"), copy] {
        let _ = std::fs::remove_file(leftover);
    }
    drop(lock);
    result
}

async fn restore_through(
    source: &Path,
    copy: &Path,
    target: &Path,
) -> Result<Restored, BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| BackupError::Io(path, e)
    };
    std::fs::copy(source, copy).map_err(io(copy))?;
    std::fs::set_permissions(copy, std::fs::Permissions::from_mode(0o600)).map_err(io(copy))?;
    let pool = open(copy).await.map_err(|e| match e {
        BackupError::NotSqlite(_) => BackupError::NotSqlite(source.to_path_buf()),
        other => other,
    })?;
    let prepared = async {
        check_database(&pool, source).await?;
        let applied = missing_migrations(&pool, source).await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok::<_, BackupError>(applied)
    }
    .await;
    pool.close().await;
    let applied = prepared?;
    File::open(copy)
        .and_then(|f| f.sync_all())
        .map_err(io(copy))?;

    let kept = if target.exists() {
        Some(keep_old(target).await?)
    } else {
        None
    };
    std::fs::rename(copy, target).map_err(io(target))?;
    // The replaced database's log and index would be applied to the new
    // file by the next connection: they go (the old one was checkpointed
    // into the kept copy first).
    for stale in [sibling(target, "-wal"), sibling(target, "-shm")] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(BackupError::Io(stale, e))
            }
            _ => {}
        }
    }
    sync_folder(target);
    Ok(Restored { applied, kept })
}

/// Folds the old database's write-ahead log into it and keeps a link to it
/// under a dated name; refuses if another program is reading or writing it.
async fn keep_old(target: &Path) -> Result<PathBuf, BackupError> {
    if let Ok(pool) = open(target).await {
        let checkpoint: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&pool)
                .await;
        pool.close().await;
        // busy = 1: another connection holds the log open mid-transaction.
        if matches!(checkpoint, Ok((1, _, _))) {
            return Err(BackupError::InUse(target.to_path_buf()));
        }
    }
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let kept = sibling(target, &format!(".before-restore-{stamp}"));
    std::fs::hard_link(target, &kept)
        .or_else(|_| std::fs::copy(target, &kept).map(|_| ()))
        .map_err(|e| BackupError::Io(kept.clone(), e))?;
    Ok(kept)
}

/// The migrations of this build that the file lacks; refuses one whose
/// history is not a prefix of this build's (a newer build's, a foreign one,
/// or one whose applied migration was altered: versions and checksums).
async fn missing_migrations(pool: &SqlitePool, path: &Path) -> Result<Vec<i64>, BackupError> {
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?;
    let ours: Vec<_> = SQLITE_MIGRATIONS
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let newest = ours.iter().map(|m| m.version).max().unwrap_or_default();
    let foreign = |why: String| BackupError::Foreign(path.to_path_buf(), why);
    for (i, (version, checksum, success)) in applied.iter().enumerate() {
        if !success {
            return Err(foreign(format!("migration {version} failed half-way")));
        }
        match ours.get(i) {
            _ if *version > newest => return Err(BackupError::Newer(path.to_path_buf(), *version)),
            Some(m) if m.version == *version && *m.checksum == **checksum => {}
            Some(m) if m.version == *version => {
                return Err(foreign(format!(
                    "migration {version} ({}) was altered",
                    m.description
                )))
            }
            _ => {
                return Err(foreign(format!(
                    "migration {version} is not one of this build's"
                )))
            }
        }
    }
    Ok(ours[applied.len().min(ours.len())..]
        .iter()
        .map(|m| m.version)
        .collect())
}
