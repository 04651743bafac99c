//! The `security_events` table: what happened to an account, for its owner.

use super::{execute, on_pool, Db, StoreResult};
use crate::{clock::Millis, ids::UserId, vocab::EventKind};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecurityEvent {
    pub id: i64,
    pub kind: EventKind,
    pub at: Millis,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub dismissed: bool,
}

/// A new entry of a user's log.
pub struct NewEvent<'a> {
    pub user_id: &'a UserId,
    pub kind: EventKind,
    pub at: Millis,
    pub device: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: &'a str,
}

impl Db {
    pub async fn record_event(&self, e: NewEvent<'_>) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO security_events (user_id, kind, at, device, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.user_id)
        .bind(e.kind)
        .bind(e.at)
        .bind(e.device)
        .bind(e.ip)
        .bind(e.detail)
        )?;
        Ok(())
    }

    /// A user's events since `since`, newest first.
    pub async fn events(&self, user_id: &UserId, since: Millis) -> StoreResult<Vec<SecurityEvent>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, kind, at, device, ip, detail, dismissed FROM security_events \
             WHERE user_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }

    /// Every event kept for a user (until purged), newest first.
    pub async fn events_of(&self, user_id: &UserId) -> StoreResult<Vec<SecurityEvent>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT id, kind, at, device, ip, detail, dismissed FROM security_events \
             WHERE user_id = $1 ORDER BY at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Marks a user's pending notices as seen.
    pub async fn dismiss_notices(&self, user_id: &UserId) -> StoreResult<()> {
        execute!(self, pool => sqlx::query("UPDATE security_events SET dismissed = TRUE WHERE user_id = $1 AND dismissed = FALSE")
        .bind(user_id)
        )?;
        Ok(())
    }

    pub async fn purge_events(&self, before: Millis) -> StoreResult<u64> {
        Ok(
            execute!(self, pool => sqlx::query("DELETE FROM security_events WHERE at < $1")
            .bind(before)
            )?,
        )
    }
}
