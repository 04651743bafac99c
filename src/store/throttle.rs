//! The `login_throttle` table: attempt counters for sign-in and sign-up,
//! kept in the database so a restart does not reset them and every instance
//! counts together. Times here are the database's clock.

use super::{execute, on_pool, Db, StoreResult};
use crate::clock::Millis;

/// One attempt to count under `key` before any password is checked.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub key: &'a str,
    /// Attempts allowed before backoff starts.
    pub free: i64,
    /// A streak idle this long starts over.
    pub window_ms: Millis,
    /// The longest backoff.
    pub max_block_ms: Millis,
}

/// A fixed-window limit on one key: at most `limit` per window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowLimit {
    pub key: String,
    pub limit: i64,
}

/// The outcome of reserving an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Counted; go ahead.
    Allowed,
    /// The key is in backoff for this much longer; nothing was counted.
    Blocked { retry_after_ms: Millis },
}

impl Db {
    /// Counts an attempt and refuses it when the key is in backoff, in one
    /// statement, so concurrent attempts cannot all pass a check before any
    /// of them is counted. The attempt that uses up the free allowance sets
    /// the backoff: `1 s · 2^(n − free)`, at most `max_block_ms`.
    pub async fn reserve_attempt(&self, a: Attempt<'_>) -> StoreResult<Reservation> {
        let now = self.now_sql();
        let sql = format!(
            "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) \
               VALUES ($1, 1, {now}, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.last_failure_at < {now} - $2 THEN 1 \
                 ELSE login_throttle.failures + 1 END, \
               blocked_until = CASE \
                 WHEN login_throttle.last_failure_at < {now} - $3 THEN 0 \
                 WHEN login_throttle.failures + 1 < $4 THEN 0 \
                 WHEN login_throttle.failures + 1 - $5 >= 10 THEN {now} + $6 \
                 ELSE {now} + CAST(1000 AS BIGINT) * (CAST(1 AS BIGINT) << CAST(login_throttle.failures + 1 - $7 AS INTEGER)) END, \
               last_failure_at = {now} \
             WHERE login_throttle.blocked_until <= {now} \
             RETURNING failures"
        );
        let counted: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(a.key)
            .bind(a.window_ms)
            .bind(a.window_ms)
            .bind(a.free)
            .bind(a.free)
            .bind(a.max_block_ms)
            .bind(a.free)
            .fetch_optional(pool)
            .await)?;
        match counted {
            Some(_) => Ok(Reservation::Allowed),
            None => self.blocked_for(a.key).await,
        }
    }

    /// Counts a request under every limit, narrowest first, each in one
    /// statement ([`Self::reserve_in_window`]); refused by the first limit
    /// that is spent, and then not counted by the wider ones after it.
    pub async fn reserve_in_windows(
        &self,
        limits: &[WindowLimit],
        window_ms: Millis,
    ) -> StoreResult<Reservation> {
        for WindowLimit { key, limit } in limits {
            let reservation = self.reserve_in_window(key, *limit, window_ms).await?;
            if reservation != Reservation::Allowed {
                return Ok(reservation);
            }
        }
        Ok(Reservation::Allowed)
    }

    /// Counts an attempt in a fixed window: at most `limit` per `window_ms`
    /// (from the window's first attempt), then refused until it ends.
    pub async fn reserve_in_window(
        &self,
        key: &str,
        limit: i64,
        window_ms: Millis,
    ) -> StoreResult<Reservation> {
        let now = self.now_sql();
        // `last_failure_at` holds the window's start here.
        let sql = format!(
            "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) \
               VALUES ($1, 1, {now}, CASE WHEN $2 <= 1 THEN {now} + $3 ELSE 0 END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.last_failure_at <= {now} - $4 THEN 1 \
                 ELSE login_throttle.failures + 1 END, \
               blocked_until = CASE WHEN login_throttle.last_failure_at <= {now} - $5 \
                 THEN (CASE WHEN $9 <= 1 THEN {now} + $10 ELSE 0 END) \
                 WHEN login_throttle.failures + 1 >= $6 THEN login_throttle.last_failure_at + $7 \
                 ELSE 0 END, \
               last_failure_at = CASE WHEN login_throttle.last_failure_at <= {now} - $8 THEN {now} \
                 ELSE login_throttle.last_failure_at END \
             WHERE login_throttle.blocked_until <= {now} \
             RETURNING failures"
        );
        let counted: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(key)
            .bind(limit)
            .bind(window_ms)
            .bind(window_ms)
            .bind(window_ms)
            .bind(limit)
            .bind(window_ms)
            .bind(window_ms)
            .bind(limit)
            .bind(window_ms)
            .fetch_optional(pool)
            .await)?;
        match counted {
            Some(_) => Ok(Reservation::Allowed),
            None => self.blocked_for(key).await,
        }
    }

    async fn blocked_for(&self, key: &str) -> StoreResult<Reservation> {
        crate::telemetry::throttled(key);
        let now = self.now_sql();
        let wait: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT blocked_until - {now} FROM login_throttle WHERE key = $1"
        ))
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        Ok(Reservation::Blocked {
            retry_after_ms: wait.map_or(1000, |(ms,)| ms.max(1)),
        })
    }

    /// Takes back one counted attempt (it turned out to be a success that
    /// should not count against `key`).
    pub async fn release_attempt(&self, key: &str) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
        )
        .bind(key)
        )?;
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

    /// The counters with the most attempts among keys starting with one of
    /// `prefixes`, counted within the last `age_ms` (by the database's clock,
    /// which wrote them), most first: `(key, attempts, ms of backoff left)`,
    /// the last zero or less when the key is not in backoff.
    pub async fn busiest_keys(
        &self,
        prefixes: &[&str],
        age_ms: Millis,
        limit: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>> {
        let now = self.now_sql();
        let prefixed = (0..prefixes.len())
            .map(|n| format!("key LIKE ${}", n + 3))
            .collect::<Vec<_>>();
        let prefixed = if prefixed.is_empty() {
            "FALSE".to_owned()
        } else {
            prefixed.join(" OR ")
        };
        let sql = format!(
            "SELECT key, failures, blocked_until - {now} FROM login_throttle \
             WHERE ({prefixed}) AND last_failure_at >= {now} - $1 AND failures > 0 \
             ORDER BY failures DESC, key LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(age_ms).bind(limit);
            for prefix in prefixes {
                query = query.bind(format!("{prefix}%"));
            }
            query.fetch_all(pool).await
        })?)
    }
}
