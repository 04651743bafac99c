//! Unit tests of the store: error classification and start-up errors.

use super::*;

/// A real `SQLITE_BUSY`: a write while another connection holds the
/// write lock, with no busy timeout to wait it out.
pub(crate) async fn busy_error(dir: &std::path::Path) -> sqlx::Error {
    let file = dir.join("busy.db");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true);
    let holder = SqlitePool::connect_with(options.clone()).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        .execute(&holder)
        .await
        .unwrap();
    let mut lock = holder.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let writer = SqlitePool::connect_with(options.busy_timeout(Duration::ZERO))
        .await
        .unwrap();
    let err = sqlx::query("INSERT INTO t (x) VALUES (1)")
        .execute(&writer)
        .await
        .unwrap_err();
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
    err
}

#[tokio::test]
async fn a_busy_database_is_unavailable_and_a_bad_statement_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let busy = busy_error(dir.path()).await;
    let code = busy
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("5"), "SQLITE_BUSY: {busy}");
    assert!(StoreError::from(busy).is_unavailable());
    assert!(ConnectError::Open(busy_error(dir.path()).await).is_busy());

    let pool =
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(dir.path().join("busy.db")))
            .await
            .unwrap();
    let bad = sqlx::query("INSERT INTO no_such_table VALUES (1)")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(!StoreError::from(bad).is_unavailable());
    assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
    // The pool has already waited for a server that does not answer.
    assert!(!ConnectError::Open(sqlx::Error::PoolTimedOut).is_busy());
}

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
