//! The `passkeys` and `webauthn_ceremonies` tables. Using a ceremony is one
//! conditional statement, so a replayed answer to a challenge never finds
//! it a second time.

use super::{execute, on_pool, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
    vocab::CeremonyKind,
};

/// A stored passkey.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: UserId,
    pub credential_id: String,
    /// The credential as webauthn-rs serializes it (public key, counter).
    pub credential: String,
    pub name: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// A ceremony to store.
pub struct NewCeremony<'a> {
    pub id_hash: &'a str,
    pub kind: CeremonyKind,
    pub user_id: Option<&'a UserId>,
    pub state: &'a str,
    pub now: Millis,
    pub expires_at: Millis,
}

/// What a used ceremony was started for.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CeremonyRow {
    pub user_id: Option<UserId>,
    pub state: String,
}

const COLUMNS: &str = "id, user_id, credential_id, credential, name, created_at, last_used_at";

impl Db {
    /// Stores a new passkey; `false` if its credential is already
    /// registered (to this account or another).
    /// `added_by` is the session that added it, which must still be open;
    /// whether the account's address was proved then is recorded with it.
    pub async fn insert_passkey(
        &self,
        row: &PasskeyRow,
        added_by: &SessionId,
    ) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO passkeys \
               (id, user_id, credential_id, credential, name, created_at, added_by_session, added_unverified) \
             SELECT $1, $2, $3, $4, $5, $6, $7, email_verified_at IS NULL FROM users \
             WHERE id = $2 AND {} \
             ON CONFLICT (credential_id) DO NOTHING",
            super::factors::session_active("$2", "$7"),
        );
        let done = execute!(self, pool => sqlx::query(&sql)
        .bind(&row.id)
        .bind(&row.user_id)
        .bind(&row.credential_id)
        .bind(&row.credential)
        .bind(&row.name)
        .bind(row.created_at)
        .bind(added_by)
        )?;
        Ok(done == 1)
    }

    /// Removes the account's passkeys added while its address was unproved
    /// or by one of `sessions`; their names.
    pub async fn remove_planted_passkeys(
        &self,
        user_id: &UserId,
        sessions: &[SessionId],
    ) -> StoreResult<Vec<String>> {
        let sql = format!(
            "DELETE FROM passkeys WHERE user_id = $1 \
               AND (added_unverified OR added_by_session IN ({})) RETURNING name",
            super::placeholders(2, sessions.len())
        );
        Ok(on_pool!(self, pool => sessions
            .iter()
            .fold(sqlx::query_scalar(&sql).bind(user_id), |q, s| q.bind(s))
            .fetch_all(pool)
            .await)?)
    }

    /// An account's passkeys, oldest first.
    pub async fn passkeys_of(&self, user_id: &UserId) -> StoreResult<Vec<PasskeyRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(credential_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Records a sign-in with the passkey, and its new counter if the
    /// stored credential is still `read` (the one the sign-in was checked
    /// against): of two sign-ins at once, the later write never takes the
    /// counter back.
    pub async fn passkey_used(
        &self,
        id: &str,
        read: &str,
        updated: &str,
        now: Millis,
    ) -> StoreResult<()> {
        let swapped = execute!(self, pool => sqlx::query(
            "UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3 AND credential = $4",
        )
        .bind(updated)
        .bind(now)
        .bind(id)
        .bind(read)
        )?;
        if swapped == 0 {
            execute!(self, pool => sqlx::query("UPDATE passkeys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
            )?;
        }
        Ok(())
    }

    pub async fn rename_passkey(
        &self,
        id: &str,
        user_id: &UserId,
        name: &str,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3",
        )
        .bind(name)
        .bind(id)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Removes one of the account's passkeys; its name, if it existed.
    pub async fn delete_passkey(&self, id: &str, user_id: &UserId) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn insert_ceremony(&self, c: NewCeremony<'_>) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO webauthn_ceremonies (id_hash, kind, user_id, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id_hash)
        .bind(c.kind)
        .bind(c.user_id)
        .bind(c.state)
        .bind(c.now)
        .bind(c.expires_at)
        )?;
        Ok(())
    }

    /// Uses a ceremony of `kind`: succeeds once, for one caller.
    pub async fn take_ceremony(
        &self,
        id_hash: &str,
        kind: CeremonyKind,
        now: Millis,
    ) -> StoreResult<Option<CeremonyRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "UPDATE webauthn_ceremonies SET used_at = $1 \
             WHERE id_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id, state",
        )
        .bind(now)
        .bind(id_hash)
        .bind(kind)
        .fetch_optional(pool)
        .await)?)
    }
}
