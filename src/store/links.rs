//! The `link_tokens` table: single-use links sent by mail. Only a token's
//! SHA-256 is stored; using one is a single conditional statement, so two
//! requests racing with the same token cannot both succeed.

use super::{execute, on_pool, BeginWrite as _, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
    vocab::Purpose,
};

/// A link token to store.
pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub purpose: Purpose,
    pub user_id: &'a UserId,
    pub email: Option<&'a str>,
    pub session_id: Option<&'a SessionId>,
    pub now: Millis,
    pub expires_at: Millis,
}

/// What a used (or looked-up) token was issued for.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub user_id: UserId,
    pub email: Option<String>,
    pub session_id: Option<SessionId>,
}

impl Db {
    /// Stores a token; when `replace`, the account's unused tokens of the
    /// same purpose stop working in the same transaction (a newer request
    /// invalidates the older link).
    pub async fn insert_link(&self, link: NewLink<'_>, replace: bool) -> StoreResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if replace {
                sqlx::query(
                    "UPDATE link_tokens SET used_at = $1 \
                     WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
                )
                .bind(link.now)
                .bind(link.user_id)
                .bind(link.purpose)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO link_tokens \
                   (token_hash, purpose, user_id, email, session_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(link.token_hash)
            .bind(link.purpose)
            .bind(link.user_id)
            .bind(link.email)
            .bind(link.session_id)
            .bind(link.now)
            .bind(link.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The unused, unexpired token of `purpose` with this hash, without
    /// using it (to check a form before spending the link).
    pub async fn find_link(
        &self,
        token_hash: &str,
        purpose: Purpose,
        now: Millis,
    ) -> StoreResult<Option<LinkRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, email, session_id FROM link_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Uses a token: one statement that succeeds for exactly one caller,
    /// and only for an unused, unexpired token of `purpose`.
    pub async fn use_link(
        &self,
        token_hash: &str,
        purpose: Purpose,
        now: Millis,
    ) -> StoreResult<Option<LinkRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "UPDATE link_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4 \
             RETURNING user_id, email, session_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Makes an account's unused tokens of `purpose` stop working (its
    /// password or address changed).
    pub async fn void_links(
        &self,
        user_id: &UserId,
        purpose: Purpose,
        now: Millis,
    ) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "UPDATE link_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(purpose)
        )?;
        Ok(())
    }
}
