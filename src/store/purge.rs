//! Deleting rows nobody needs any more, one bounded batch at a time. Each
//! batch is a single statement (its own transaction) that picks at most
//! `limit` rows through an index, so the hourly purge never holds SQLite's
//! write lock, or PostgreSQL's row locks, for longer than one small batch
//! takes, however much has piled up: sign-ins waiting to write get in
//! between batches. Each batch takes the oldest rows in the order of its
//! index: without the order PostgreSQL may pick them by scanning the table
//! from its start, past every row the batches before left dead, so that
//! each batch reads more than the last (385 ms per batch at the end of a
//! million events, measured).

use super::{events::HOUR_MS, execute, Db, StoreResult};
use crate::clock::Millis;

/// What a purge batch deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// Revocation-log rows written before `bound` (`revocations_by_time`).
    Revocations,
    /// Sessions revoked before `bound` (`sessions_by_revoked_at`).
    RevokedSessions,
    /// Sessions whose idle expiry passed before `bound`; the idle expiry
    /// never exceeds the absolute one, so this covers both
    /// (`sessions_by_idle_expiry`).
    IdleSessions,
    /// Security events older than `bound` (`security_events_by_at`).
    Events,
    /// The dashboard's per-hour event counts of hours before `bound`.
    EventCounts,
    /// Throttle counters idle for `bound` ms by the database's clock (the
    /// clock that wrote them), not in backoff (`login_throttle_by_last_failure`).
    Throttle,
    /// Emailed links that expired before `bound`.
    Links,
    /// Second steps of sign-in that expired before `bound`.
    SecondSteps,
    /// Passkey ceremonies that expired before `bound`.
    Ceremonies,
    /// OpenID Connect round trips that expired before `bound`.
    Flows,
}

impl Db {
    /// Deletes at most `limit` rows of `what` past `bound`; returns how many.
    pub async fn purge_batch(&self, what: Expired, bound: Millis, limit: i64) -> StoreResult<u64> {
        let sql = match what {
            Expired::Revocations => "DELETE FROM revocations WHERE seq IN \
                 (SELECT seq FROM revocations WHERE revoked_at < $1 ORDER BY revoked_at LIMIT $2)"
                .to_owned(),
            Expired::RevokedSessions => "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < $1 \
                   ORDER BY revoked_at LIMIT $2)"
                .to_owned(),
            Expired::IdleSessions => "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE idle_expires_at < $1 ORDER BY idle_expires_at LIMIT $2)"
                .to_owned(),
            Expired::Events => "DELETE FROM security_events WHERE id IN \
                 (SELECT id FROM security_events WHERE at < $1 ORDER BY at LIMIT $2)"
                .to_owned(),
            Expired::EventCounts => format!(
                "DELETE FROM event_counts WHERE (hour, kind, shard) IN \
                 (SELECT hour, kind, shard FROM event_counts WHERE hour < $1 / {HOUR_MS} \
                  ORDER BY hour LIMIT $2)"
            ),
            Expired::Throttle => {
                let now = self.now_sql();
                format!(
                    "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle \
                       WHERE last_failure_at < {now} - $1 AND blocked_until < {now} \
                       ORDER BY last_failure_at LIMIT $2)"
                )
            }
            Expired::Links => by_expiry("link_tokens", "token_hash"),
            Expired::SecondSteps => by_expiry("mfa_challenges", "token_hash"),
            Expired::Ceremonies => by_expiry("webauthn_ceremonies", "id_hash"),
            Expired::Flows => by_expiry("oidc_flows", "id_hash"),
        };
        Ok(execute!(self, pool => sqlx::query(&sql).bind(bound).bind(limit))?)
    }
}

fn by_expiry(table: &str, key: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE {key} IN \
         (SELECT {key} FROM {table} WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)"
    )
}
