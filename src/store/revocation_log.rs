//! The `revocations` table: the ordered log every instance follows to
//! refuse ended sessions' access tokens and to forget cached accounts.
//! Sessions are logged by a trigger when they end; account changes by the
//! `users_changed` and `users_deleted` triggers.

use super::{on_pool, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
    vocab::RevokeReason,
};

/// One revocation as recorded for other instances.
#[derive(Clone, Debug)]
pub struct RevocationRow {
    pub seq: i64,
    pub session_id: SessionId,
    pub reason: RevokeReason,
    /// By the database's clock.
    pub revoked_at: Millis,
    /// When the session was last given an access token, by the clock of
    /// the instance that issued it (none for an account change, or a
    /// revocation recorded before this was kept).
    pub last_issued_at: Option<Millis>,
}

/// An entry of the ordered log every instance follows: a session ended, or
/// an account row changed (written by the `users_changed` and
/// `users_deleted` triggers, so every instance forgets its cached copy).
#[derive(Clone, Debug)]
pub enum LogEntry {
    Revoked(RevocationRow),
    AccountChanged { seq: i64, user_id: UserId },
}

impl LogEntry {
    pub fn seq(&self) -> i64 {
        match self {
            LogEntry::Revoked(row) => row.seq,
            LogEntry::AccountChanged { seq, .. } => *seq,
        }
    }
}

/// The `session_id` prefix and reason the account-change triggers write.
const ACCOUNT_PREFIX: &str = "user:";
const ACCOUNT_CHANGED: &str = "account_changed";

/// A log row as stored: the two kinds share the columns.
#[derive(sqlx::FromRow)]
struct StoredLogRow {
    seq: i64,
    session_id: String,
    reason: String,
    revoked_at: Millis,
    last_issued_at: Option<Millis>,
}

impl From<StoredLogRow> for LogEntry {
    fn from(row: StoredLogRow) -> Self {
        match row.session_id.strip_prefix(ACCOUNT_PREFIX) {
            Some(user_id) if row.reason == ACCOUNT_CHANGED => LogEntry::AccountChanged {
                seq: row.seq,
                user_id: UserId::new(user_id.to_owned()),
            },
            _ => LogEntry::Revoked(RevocationRow {
                seq: row.seq,
                // A reason this build does not know still refuses the
                // session's tokens.
                reason: RevokeReason::parse(&row.reason).unwrap_or(RevokeReason::Revoked),
                session_id: SessionId::new(row.session_id),
                revoked_at: row.revoked_at,
                last_issued_at: row.last_issued_at,
            }),
        }
    }
}

/// Notices that a session was revoked somewhere (a connection of its own).
pub struct RevocationNotices(sqlx::postgres::PgListener);

impl RevocationNotices {
    /// Waits for the next notice. After an error the next call reconnects.
    pub async fn next(&mut self) -> StoreResult<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Db {
    /// Revocations still of use — younger than `retention_ms` by the
    /// database's clock, or of a session last given an access token at or
    /// after `issued_since` (by the issuer's clock, as the caller's clock
    /// will judge that token's `exp`) — that are numbered after `after_seq`
    /// or were made in the last `overlap_ms`: numbers are handed out when a
    /// statement starts, so one that commits late can land below numbers
    /// already seen; re-reading the last moments by time catches it, and
    /// merging is idempotent.
    pub async fn revocations_after(
        &self,
        after_seq: i64,
        retention_ms: Millis,
        overlap_ms: Millis,
        issued_since: Millis,
    ) -> StoreResult<Vec<LogEntry>> {
        let now = self.now_sql();
        // Two index range scans (by number, by time), never the whole log:
        // a poll costs the same however long the log has grown.
        let columns = "seq, session_id, reason, revoked_at, last_issued_at";
        let sql = format!(
            "SELECT * FROM (\
               SELECT {columns} FROM revocations WHERE seq > $1 \
                 AND (revoked_at >= {now} - $2 OR last_issued_at >= $3) \
               UNION \
               SELECT {columns} FROM revocations WHERE revoked_at >= {now} - $4 \
                 AND (revoked_at >= {now} - $5 OR last_issued_at >= $6)\
             ) AS log ORDER BY seq"
        );
        let rows: Vec<StoredLogRow> = on_pool!(self, pool => sqlx::query_as(&sql)
        .bind(after_seq)
        .bind(retention_ms)
        .bind(issued_since)
        .bind(overlap_ms)
        .bind(retention_ms)
        .bind(issued_since)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(LogEntry::from).collect())
    }

    /// Revocations pushed by the database as they commit (PostgreSQL's
    /// NOTIFY); `None` on SQLite, where only the poll is used.
    pub async fn revocation_notices(&self) -> StoreResult<Option<RevocationNotices>> {
        match &self.pool {
            super::Pool::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen("gatehouse_revocations").await?;
                Ok(Some(RevocationNotices(listener)))
            }
            _ => Ok(None),
        }
    }
}
