//! The `identities` and `oidc_flows` tables: identities at OpenID Connect
//! providers linked to accounts, and round trips to a provider in progress.
//! Taking a flow is one conditional statement, so a replayed callback never
//! finds it a second time.

use super::{execute, on_pool, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
};

/// A linked identity.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IdentityRow {
    pub issuer: String,
    pub subject: String,
    pub provider: String,
    pub user_id: UserId,
    pub email: Option<String>,
    /// The session that linked it, if it was linked to an existing account.
    pub linked_by_session: Option<SessionId>,
    pub linked_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// A round trip to store. `pkce_verifier` and `nonce` are secrets for ten
/// minutes; the row is keyed by the hash of the cookie's id.
pub struct NewFlow<'a> {
    pub id_hash: &'a str,
    pub provider: &'a str,
    pub purpose: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub next: Option<&'a str>,
    pub session_id: Option<&'a SessionId>,
    pub now: Millis,
    pub expires_at: Millis,
}

/// A taken round trip.
#[derive(Clone, sqlx::FromRow)]
pub struct FlowRow {
    pub provider: String,
    pub purpose: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: Option<String>,
    pub session_id: Option<SessionId>,
    pub created_at: Millis,
}

impl std::fmt::Debug for FlowRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRow")
            .field("provider", &self.provider)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "issuer, subject, provider, user_id, email, linked_by_session, linked_at, last_used_at";

impl Db {
    /// The identity (`issuer`, `subject`), if it is linked to an account.
    pub async fn identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<IdentityRow>> {
        let sql = format!("SELECT {COLUMNS} FROM identities WHERE issuer = $1 AND subject = $2");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(issuer)
            .bind(subject)
            .fetch_optional(pool)
            .await)?)
    }

    /// An account's linked identities, oldest first.
    pub async fn identities_of(&self, user_id: &UserId) -> StoreResult<Vec<IdentityRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM identities WHERE user_id = $1 ORDER BY linked_at, provider"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    /// The providers linked to each of `users`, as (account, provider).
    pub async fn providers_of(&self, users: &[UserId]) -> StoreResult<Vec<(UserId, String)>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT user_id, provider FROM identities WHERE user_id IN ({}) ORDER BY provider",
            super::placeholders(1, users.len())
        );
        Ok(on_pool!(self, pool => users
            .iter()
            .fold(sqlx::query_as(&sql), |q, u| q.bind(u))
            .fetch_all(pool)
            .await)?)
    }

    /// Links an identity; `false` if it is linked already (to any account)
    /// or the account has one at this provider.
    pub async fn insert_identity(&self, row: &IdentityRow) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "INSERT INTO identities \
               (issuer, subject, provider, user_id, email, linked_by_session, linked_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(&row.issuer)
        .bind(&row.subject)
        .bind(&row.provider)
        .bind(&row.user_id)
        .bind(&row.email)
        .bind(&row.linked_by_session)
        .bind(row.linked_at)
        .bind(row.last_used_at)
        )?;
        Ok(done == 1)
    }

    /// Records a sign-in with the identity and the address it gave.
    pub async fn identity_used(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        now: Millis,
    ) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "UPDATE identities SET last_used_at = $1, email = COALESCE($2, email) \
             WHERE issuer = $3 AND subject = $4",
        )
        .bind(now)
        .bind(email)
        .bind(issuer)
        .bind(subject)
        )?;
        Ok(())
    }

    /// Unlinks the account's identity at `provider`; whether it was linked.
    pub async fn delete_identity(&self, user_id: &UserId, provider: &str) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "DELETE FROM identities WHERE user_id = $1 AND provider = $2",
        )
        .bind(user_id)
        .bind(provider)
        )?;
        Ok(done == 1)
    }

    /// Unlinks the account's identities linked by one of `sessions` (all
    /// of them with `everything`); the providers' names.
    pub async fn remove_planted_identities(
        &self,
        user_id: &UserId,
        sessions: &[SessionId],
        everything: bool,
    ) -> StoreResult<Vec<String>> {
        let sql = format!(
            "DELETE FROM identities WHERE user_id = $1 \
               AND ($2 OR linked_by_session IN ({})) RETURNING provider",
            super::placeholders(3, sessions.len())
        );
        Ok(on_pool!(self, pool => sessions
            .iter()
            .fold(sqlx::query_scalar(&sql).bind(user_id).bind(everything), |q, s| q.bind(s))
            .fetch_all(pool)
            .await)?)
    }

    pub async fn insert_flow(&self, f: NewFlow<'_>) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO oidc_flows (id_hash, provider, purpose, state, nonce, pkce_verifier, next, \
               session_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.id_hash)
        .bind(f.provider)
        .bind(f.purpose)
        .bind(f.state)
        .bind(f.nonce)
        .bind(f.pkce_verifier)
        .bind(f.next)
        .bind(f.session_id)
        .bind(f.now)
        .bind(f.expires_at)
        )?;
        Ok(())
    }

    /// Takes the unexpired round trip behind `id_hash`: succeeds once, for
    /// one caller, whatever the callback then makes of it.
    pub async fn take_flow(&self, id_hash: &str, now: Millis) -> StoreResult<Option<FlowRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "DELETE FROM oidc_flows WHERE id_hash = $1 AND expires_at > $2 \
             RETURNING provider, purpose, state, nonce, pkce_verifier, next, session_id, created_at",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }
}
