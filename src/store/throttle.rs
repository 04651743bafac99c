//! The `login_throttle` table: failed sign-in counters, kept in the database
//! so a restart does not reset them.

use super::{execute, on_pool, Db, StoreResult};
use crate::clock::Millis;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ThrottleEntry {
    pub key: String,
    pub failures: i64,
    pub blocked_until: Millis,
}

impl Db {
    pub async fn throttle_entries(&self, keys: &[&str]) -> StoreResult<Vec<ThrottleEntry>> {
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
    ) -> StoreResult<()> {
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

    pub async fn clear_failures(&self, keys: &[&str]) -> StoreResult<()> {
        for key in keys {
            execute!(self, pool => sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            )?;
        }
        Ok(())
    }

    /// Forgets failure counters idle since `before`.
    pub async fn purge_throttle(&self, before: Millis) -> StoreResult<u64> {
        Ok(execute!(self, pool => sqlx::query(
            "DELETE FROM login_throttle WHERE last_failure_at < $1 AND blocked_until < $2",
        )
        .bind(before)
        .bind(before)
        )?)
    }
}
