//! The `signing_keys` table: the access-token signing keys every instance
//! shares, and their moves from one state to the next. Each move is one
//! conditional statement (or one transaction), so instances racing to make
//! the same move make it once; the `signing_keys_one_current` index keeps
//! at most one key signing.

use super::{execute, on_pool, BeginWrite as _, Db, StoreResult};
use crate::{clock::Millis, vocab::KeyState};

/// One key as stored. `private_key` is sealed (see `keys::seal`).
#[derive(Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub public_key: Vec<u8>,
    pub private_key: Option<Vec<u8>>,
    pub created_at: Millis,
    pub activate_at: Option<Millis>,
    pub activated_at: Option<Millis>,
    pub verify_until: Option<Millis>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRow({} {} {})", self.kid, self.alg, self.state)
    }
}

const KEY_COLUMNS: &str = "kid, alg, state, public_key, private_key, created_at, activate_at, \
     activated_at, verify_until";

impl Db {
    /// The database's clock, in unix milliseconds.
    pub async fn now(&self) -> StoreResult<Millis> {
        let sql = format!("SELECT {}", self.now_sql());
        let (now,): (Millis,) = on_pool!(self, pool => sqlx::query_as(&sql).fetch_one(pool).await)?;
        Ok(now)
    }

    /// Every key, oldest first (only keys that still sign have a private
    /// key).
    pub async fn signing_keys(&self) -> StoreResult<Vec<KeyRow>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    /// Adds a key; `false` if it would be a second current key (another
    /// instance made one first) or its kid exists.
    pub async fn insert_signing_key(&self, key: &KeyRow) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING"
        );
        let added = execute!(self, pool => sqlx::query(&sql)
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(key.state)
            .bind(&key.public_key)
            .bind(&key.private_key)
            .bind(key.created_at)
            .bind(key.activate_at)
            .bind(key.activated_at)
            .bind(key.verify_until))?;
        Ok(added == 1)
    }

    /// Whether any key was ever made (the first start of this version sees
    /// none).
    pub async fn any_signing_key(&self) -> StoreResult<bool> {
        let (any,): (bool,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM signing_keys)"
        ).fetch_one(pool).await)?;
        Ok(any)
    }

    /// Whether any session is still open (so tokens of an older signing
    /// scheme may be in use).
    pub async fn any_open_session(&self) -> StoreResult<bool> {
        let (any,): (bool,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE revoked_at IS NULL)"
        ).fetch_one(pool).await)?;
        Ok(any)
    }

    /// Makes standby `kid` the current key and the current key previous
    /// (verifying until `now + verify_for_ms`, its private key wiped), in
    /// one transaction. `due_only`: only if its `activate_at` has come.
    /// `false` if `kid` is not (or no longer) a standby key that may start.
    pub async fn promote_signing_key(
        &self,
        kid: &str,
        now: Millis,
        verify_for_ms: Millis,
        due_only: bool,
    ) -> StoreResult<bool> {
        let due_by = if due_only { now } else { Millis::MAX };
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE signing_keys SET state = 'previous', verify_until = $1, ended_at = $2, \
                 private_key = NULL WHERE state = 'current'",
            )
            .bind(now + verify_for_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let promoted = sqlx::query(
                "UPDATE signing_keys SET state = 'current', activated_at = $1 \
                 WHERE kid = $2 AND state = 'standby' AND COALESCE(activate_at, 0) <= $3",
            )
                .bind(now)
                .bind(kid)
                .bind(due_by)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if promoted == 1 {
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
        }))
    }

    /// Ends key `kid` at once if it is still in `state`; whether it was.
    pub async fn revoke_signing_key(
        &self,
        kid: &str,
        state: KeyState,
        now: Millis,
    ) -> StoreResult<bool> {
        let changed = execute!(self, pool => sqlx::query(
            "UPDATE signing_keys SET state = 'revoked', ended_at = $1, private_key = NULL \
             WHERE kid = $2 AND state = $3",
        )
        .bind(now)
        .bind(kid)
        .bind(state))?;
        Ok(changed == 1)
    }

    /// Retires previous keys whose tokens have all expired.
    pub async fn retire_signing_keys(&self, now: Millis) -> StoreResult<u64> {
        Ok(execute!(self, pool => sqlx::query(
            "UPDATE signing_keys SET state = 'retired', ended_at = $1, private_key = NULL \
             WHERE state = 'previous' AND verify_until <= $2",
        )
        .bind(now)
        .bind(now))?)
    }

    /// Tells other instances at once that the key set changed (PostgreSQL;
    /// SQLite instances see it at their next poll).
    pub async fn announce_key_change(&self) -> StoreResult<()> {
        if let super::Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify('gatehouse_revocations', 'signing-keys')")
                .execute(pool)
                .await?;
        }
        Ok(())
    }
}
