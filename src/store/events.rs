//! The `security_events` table: what happened to an account, for its owner.

use super::{execute, on_pool, placeholders, Db, StoreResult};
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

    /// How many events of each of `kinds` happened in each bucket of
    /// `bucket_ms` (buckets counted from the epoch, so in UTC) from `since`
    /// on, counted by the database: `(kind, bucket number, count)`.
    pub async fn event_counts(
        &self,
        kinds: &[EventKind],
        since: Millis,
        bucket_ms: Millis,
    ) -> StoreResult<Vec<(EventKind, i64, i64)>> {
        let sql = event_counts_sql(kinds.len(), bucket_ms);
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(since);
            for kind in kinds {
                query = query.bind(*kind);
            }
            query.fetch_all(pool).await
        })?)
    }

    /// The accounts with the most failed and throttled sign-ins since
    /// `since`, most first: `(email, failed, throttled)`. Only accounts that
    /// exist: addresses typed at the sign-in form that name nobody (or are
    /// a password typed into the wrong field) are never listed.
    pub async fn most_guessed_accounts(
        &self,
        since: Millis,
        limit: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT u.email, \
               SUM(CASE WHEN e.kind = $1 THEN 1 ELSE 0 END) AS failed, \
               SUM(CASE WHEN e.kind = $2 THEN 1 ELSE 0 END) AS throttled \
             FROM security_events e JOIN users u ON u.id = e.user_id \
             WHERE e.kind IN ($3, $4) AND e.at >= $5 \
             GROUP BY u.email ORDER BY COUNT(*) DESC, u.email LIMIT $6",
        )
        .bind(EventKind::SignInFailed)
        .bind(EventKind::SignInThrottled)
        .bind(EventKind::SignInFailed)
        .bind(EventKind::SignInThrottled)
        .bind(since)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// Everyone's events, newest first, strictly before `before` (an event's
    /// `(at, id)`: keyset pagination, so a page costs the same however deep
    /// it is), optionally of one kind and of accounts whose email contains
    /// `email_part` (lower case).
    pub async fn all_events(
        &self,
        filter: &EventFilter<'_>,
        before: Option<(Millis, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<AccountEvent>> {
        let mut conditions = vec!["e.at <= $1 AND (e.at, e.id) < ($1, $2)".to_owned()];
        let mut next = 3;
        if filter.kind.is_some() {
            conditions.push(format!("e.kind = ${next}"));
            next += 1;
        }
        if filter.email_part.is_some() {
            conditions.push(format!("u.email LIKE ${next} ESCAPE '!'"));
            next += 1;
        }
        let sql = format!(
            "SELECT e.id, e.kind, e.at, e.device, e.ip, e.detail, u.email \
             FROM security_events e JOIN users u ON u.id = e.user_id \
             WHERE {} ORDER BY e.at DESC, e.id DESC LIMIT ${next}",
            conditions.join(" AND ")
        );
        let (at, id) = before.unwrap_or((Millis::MAX, i64::MAX));
        let pattern = filter.email_part.map(|part| {
            let escaped: String = part
                .chars()
                .flat_map(|c| match c {
                    '!' | '%' | '_' => vec!['!', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        });
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(at).bind(id);
            if let Some(kind) = filter.kind {
                query = query.bind(kind);
            }
            if let Some(pattern) = &pattern {
                query = query.bind(pattern.clone());
            }
            query.bind(limit).fetch_all(pool).await
        })?)
    }
}

/// The statement of [`Db::event_counts`] (public so a benchmark can ask the
/// database how it runs it): `$1` the start, `$2…` the kinds. It reads the
/// per-hour counts a trigger keeps (`event_counts`), never the log.
pub fn event_counts_sql(kinds: usize, bucket_ms: Millis) -> String {
    assert!(
        bucket_ms % HOUR_MS == 0,
        "buckets are whole hours: the counts are kept per hour"
    );
    // The bucket size is a number of ours, never input: written into the
    // statement so both engines group by the very same expression.
    format!(
        "SELECT kind, hour * {HOUR_MS} / {bucket_ms} AS bucket, CAST(SUM(n) AS BIGINT) AS n FROM event_counts \
         WHERE kind IN ({}) AND hour >= $1 / {HOUR_MS} GROUP BY kind, hour * {HOUR_MS} / {bucket_ms}",
        placeholders(2, kinds)
    )
}

/// The hours the event counts are kept by.
pub(crate) const HOUR_MS: Millis = 3_600_000;

/// Which events [`Db::all_events`] lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventFilter<'a> {
    pub kind: Option<EventKind>,
    /// Part of the account's (normalized, lower-case) email.
    pub email_part: Option<&'a str>,
}

/// An event of any account, with the account's email.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccountEvent {
    pub id: i64,
    pub kind: EventKind,
    pub at: Millis,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub email: String,
}
