//! The `sessions` table: one row per sign-in (a refresh-token family).

use super::{execute, on_pool, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
    vocab::{RevokeReason, SessionKind, SignInMethod},
};

/// A session row. `secret` is key material for deriving refresh tokens, not a token.
#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub kind: SessionKind,
    pub secret: Vec<u8>,
    pub generation: i64,
    pub rotated_at: Option<Millis>,
    pub created_at: Millis,
    pub last_used_at: Millis,
    pub idle_expires_at: Millis,
    pub absolute_expires_at: Millis,
    pub user_agent: String,
    pub ip: Option<String>,
    pub revoked_at: Option<Millis>,
    pub revoked_reason: Option<RevokeReason>,
    /// How it signed in.
    pub method: SignInMethod,
    /// When it last proved a factor after signing in.
    pub proved_at: Option<Millis>,
    /// The provider a provider sign-in went through (`method` is `oidc`).
    pub provider: Option<String>,
    /// What that provider reported (RFC 8176 values, space-separated),
    /// with gatehouse's own second step added when it asked one.
    pub amr: Option<String>,
    /// The database's clock when the row was read: rules that compare times
    /// written by different instances (the grace window) use it, never a
    /// server's own clock.
    pub db_now: Millis,
}

impl Session {
    /// The access token's `amr` (RFC 8176 §2): what the provider reported
    /// for a provider sign-in (never `pwd` for a password gatehouse did not
    /// check), the method's own otherwise.
    pub fn amr(&self) -> Vec<String> {
        match &self.amr {
            Some(amr) => amr.split_whitespace().map(str::to_owned).collect(),
            None => self.method.amr().iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    /// Why the session was revoked, if it was (a row revoked without a
    /// reason counts as a plain revocation).
    pub fn revoke_reason(&self) -> Option<RevokeReason> {
        self.revoked_at
            .map(|_| self.revoked_reason.unwrap_or(RevokeReason::Revoked))
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("generation", &self.generation)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// What a new session starts with.
pub struct NewSession<'a> {
    pub id: &'a SessionId,
    pub user_id: &'a UserId,
    pub kind: SessionKind,
    pub secret: &'a [u8],
    pub now: Millis,
    pub idle_expires_at: Millis,
    pub absolute_expires_at: Millis,
    pub user_agent: &'a str,
    pub ip: Option<&'a str>,
    /// The password hash the sign-in was checked against.
    pub credential: &'a str,
    /// How the person signed in.
    pub method: SignInMethod,
    /// For a provider sign-in: the provider and the `amr` to carry.
    pub provider: Option<&'a str>,
    pub amr: Option<&'a str>,
    /// When the person last proved a factor, if before `now` (a provider
    /// sign-in whose login at the provider is older).
    pub proved_at: Option<Millis>,
}

/// A rotation: the session moves from `expected_generation` to the next.
pub struct Rotation<'a> {
    pub id: &'a SessionId,
    pub expected_generation: i64,
    pub now: Millis,
    pub idle_expires_at: Millis,
    pub user_agent: &'a str,
    pub ip: Option<&'a str>,
}

const SESSION_COLUMNS: &str = "id, user_id, kind, secret, generation, rotated_at, created_at, \
     last_used_at, idle_expires_at, absolute_expires_at, user_agent, ip, revoked_at, revoked_reason, \
     method, proved_at, provider, amr";

impl Db {
    /// The session columns and the database's clock, for a SELECT.
    fn session_select(&self) -> String {
        format!("SELECT {SESSION_COLUMNS}, {} AS db_now", self.now_sql())
    }
}

impl Db {
    /// Opens a session only if the account still has the credential the
    /// sign-in was checked against and is not disabled, in one statement:
    /// a sign-in that races a password change, a disable or a deletion
    /// cannot leave a session behind that the change did not end.
    /// `false` if the account changed meanwhile.
    pub async fn insert_session(&self, s: NewSession<'_>) -> StoreResult<bool> {
        let inserted = execute!(self, pool => sqlx::query(
            "INSERT INTO sessions (id, user_id, kind, secret, generation, created_at, last_used_at, \
               idle_expires_at, absolute_expires_at, user_agent, ip, method, provider, amr, proved_at) \
             SELECT $1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $13, $14, $15, $16 \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = $11 AND password_hash = $12 AND disabled = FALSE)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.kind)
        .bind(s.secret)
        .bind(s.now)
        .bind(s.now)
        .bind(s.idle_expires_at)
        .bind(s.absolute_expires_at)
        .bind(s.user_agent)
        .bind(s.ip)
        .bind(s.user_id)
        .bind(s.credential)
        .bind(s.method)
        .bind(s.provider)
        .bind(s.amr)
        .bind(s.proved_at)
        )?;
        Ok(inserted == 1)
    }

    pub async fn session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        Ok(on_pool!(self, pool => sqlx::query_as(&format!(
            "{} FROM sessions WHERE id = $1", self.session_select()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Advances a session to its next generation in one statement (a
    /// compare-and-swap): of any number of concurrent callers presenting the
    /// same token, exactly one sees `true`.
    /// `rotated_at` is the database's clock, so the grace window means the
    /// same on every instance. `last_used_at` is the rotating instance's
    /// clock, the one its new access token's `exp` is counted from, and never
    /// moves back: a revocation records it as the latest such time (an
    /// instance whose clock runs behind must not hide the later `exp` of a
    /// token issued by one running ahead).
    pub async fn rotate_session(&self, r: Rotation<'_>) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE sessions SET generation = generation + 1, rotated_at = {}, \
               last_used_at = CASE WHEN last_used_at > $1 THEN last_used_at ELSE $1 END, \
               idle_expires_at = $2, user_agent = $3, ip = $4 \
             WHERE id = $5 AND generation = $6 AND revoked_at IS NULL",
            self.now_sql()
        );
        let done = execute!(self, pool => sqlx::query(&sql)
        .bind(r.now)
        .bind(r.idle_expires_at)
        .bind(r.user_agent)
        .bind(r.ip)
        .bind(r.id)
        .bind(r.expected_generation)
        )?;
        Ok(done == 1)
    }

    /// Revokes one session if it is still active; `true` if this call revoked
    /// it. Revocations are stamped with the database's clock, which other
    /// instances read them by.
    pub async fn revoke_session(&self, id: &SessionId, reason: RevokeReason) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE sessions SET revoked_at = {}, revoked_reason = $1 WHERE id = $2 AND revoked_at IS NULL",
            self.now_sql()
        );
        let done = execute!(self, pool => sqlx::query(&sql)
        .bind(reason)
        .bind(id)
        )?;
        Ok(done == 1)
    }

    /// Revokes every active session of a user except `keep`; returns the revoked ids.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&SessionId>,
        reason: RevokeReason,
    ) -> StoreResult<Vec<SessionId>> {
        let sql = format!(
            "UPDATE sessions SET revoked_at = {}, revoked_reason = $1 \
             WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3 RETURNING id",
            self.now_sql()
        );
        let ids: Vec<(SessionId,)> = on_pool!(self, pool => sqlx::query_as(&sql)
        .bind(reason)
        .bind(user_id)
        .bind(keep)
        .fetch_all(pool)
        .await)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Whether any earlier session of the account (open or ended, still
    /// kept) came from `ip`.
    pub async fn address_known(
        &self,
        user_id: &UserId,
        ip: &str,
        except: &SessionId,
    ) -> StoreResult<bool> {
        let found: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM sessions WHERE user_id = $1 AND ip = $2 AND id <> $3 LIMIT 1",
        )
        .bind(user_id)
        .bind(ip)
        .bind(except)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Records that a session proved a factor again at `now`.
    pub async fn mark_proved(&self, id: &SessionId, now: Millis) -> StoreResult<()> {
        execute!(self, pool => sqlx::query("UPDATE sessions SET proved_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        )?;
        Ok(())
    }

    /// Ends a user's open sessions created at or after `since`.
    pub async fn revoke_sessions_since(
        &self,
        user_id: &UserId,
        since: Millis,
        reason: RevokeReason,
    ) -> StoreResult<Vec<SessionId>> {
        let sql = format!(
            "UPDATE sessions SET revoked_at = {}, revoked_reason = $1 \
             WHERE user_id = $2 AND revoked_at IS NULL AND created_at >= $3 RETURNING id",
            self.now_sql()
        );
        let ids: Vec<(SessionId,)> = on_pool!(self, pool => sqlx::query_as(&sql)
        .bind(reason)
        .bind(user_id)
        .bind(since)
        .fetch_all(pool)
        .await)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Every session row of a user, ended ones too (until purged), newest first.
    pub async fn sessions_of(&self, user_id: &UserId) -> StoreResult<Vec<Session>> {
        Ok(on_pool!(self, pool => sqlx::query_as(&format!(
            "{} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id",
            self.session_select()
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
    }

    /// A user's sessions that are neither revoked nor expired, newest activity first.
    pub async fn active_sessions(
        &self,
        user_id: &UserId,
        now: Millis,
    ) -> StoreResult<Vec<Session>> {
        Ok(on_pool!(self, pool => sqlx::query_as(&format!(
            "{} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
               AND idle_expires_at > $2 AND absolute_expires_at > $3 ORDER BY last_used_at DESC",
            self.session_select()
        ))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .fetch_all(pool)
        .await)?)
    }

    /// How many sessions are neither ended nor expired at `now`.
    pub async fn count_active_sessions(&self, now: Millis) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL \
               AND idle_expires_at > $1 AND absolute_expires_at > $2",
        )
        .bind(now)
        .bind(now)
        .fetch_one(pool)
        .await)?)
    }
}
