//! What a failed statement means for the request that ran it: the database
//! away or busy (nothing changed; try again later) or a fault in the
//! statement.

use crate::error::{AppError, ErrorCode};

/// A failed statement.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable, overloaded or busy: nothing was changed,
    /// and trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the database was away or busy, so that the same statement
    /// may work if tried again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_transient(&err) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Other(err)
        }
    }
}

/// A store failure, as a request answers it.
impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            // Transient: nothing was changed, and the caller's credentials
            // stay valid; the client may retry.
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self {
                    retry_after: Some(1),
                    ..Self::from(ErrorCode::Unavailable)
                }
            }
            StoreError::Other(cause) => Self::internal(cause),
        }
    }
}

/// Whether an error is the database being away or busy rather than a fault
/// in the statement: a request that meets one must not sign anybody out.
pub(super) fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            } else {
                // PostgreSQL: connection exceptions (08…), insufficient
                // resources such as too many connections (53…), operator
                // intervention such as a shutdown (57…), serialization
                // failures and deadlocks (40001, 40P01).
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57")
                    || code == "40001"
                    || code == "40P01"
            }
        }
        _ => false,
    }
}
