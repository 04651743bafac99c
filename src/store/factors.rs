//! Second factors: the `totp_factors`, `recovery_codes` and `mfa_challenges`
//! tables. Every "use once" rule is one conditional statement, so requests
//! racing with the same code, step or challenge cannot both succeed.

use super::{execute, on_pool, BeginWrite as _, Db, StoreResult};
use crate::{
    clock::Millis,
    ids::{SessionId, UserId},
    vocab::SessionKind,
};

/// Whether session `session` of account `user` is still open: a session
/// ended meanwhile adds no factor.
pub(super) fn session_active(user: &str, session: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM sessions WHERE id = {session} AND user_id = {user} AND revoked_at IS NULL)"
    )
}

/// An account's authenticator app.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub secret_sealed: Vec<u8>,
    pub confirmed_at: Option<Millis>,
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// A second step of a sign-in waiting for its code.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChallengeRow {
    pub user_id: UserId,
    pub kind: SessionKind,
    pub known_device: bool,
    /// A provider sign-in's first step: the provider, and what it reported.
    pub provider: Option<String>,
    pub amr: Option<String>,
}

/// Which state of the factor new recovery codes require.
enum CodesGuard<'a> {
    /// Turning on the unconfirmed secret `sealed` at `step`.
    Confirm {
        sealed: &'a [u8],
        step: i64,
        session: &'a SessionId,
    },
    /// An authenticator that is on.
    Confirmed,
}

/// A second step to store.
pub struct NewChallenge<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a UserId,
    pub kind: SessionKind,
    pub known_device: bool,
    pub now: Millis,
    pub expires_at: Millis,
    pub provider: Option<&'a str>,
    pub amr: Option<&'a str>,
}

impl Db {
    pub async fn totp_factor(&self, user_id: &UserId) -> StoreResult<Option<TotpRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT secret_sealed, confirmed_at, last_step FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Stores a new, unconfirmed secret (replacing an unconfirmed one);
    /// `false` if the account already has a confirmed authenticator.
    pub async fn begin_totp(
        &self,
        user_id: &UserId,
        sealed: &[u8],
        now: Millis,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "INSERT INTO totp_factors (user_id, secret_sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE \
               SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at \
               WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now)
        )?;
        Ok(done == 1)
    }

    /// Turns on the unconfirmed secret `sealed` (still the one the code was
    /// checked against), with `step` as its first used step and a new set
    /// of recovery codes, in one transaction; `false` if it changed or was
    /// confirmed meanwhile.
    pub async fn confirm_totp(
        &self,
        user_id: &UserId,
        sealed: &[u8],
        step: i64,
        code_hashes: &[String],
        now: Millis,
        session: &SessionId,
    ) -> StoreResult<bool> {
        self.codes_after(
            CodesGuard::Confirm {
                sealed,
                step,
                session,
            },
            user_id,
            code_hashes,
            now,
        )
        .await
    }

    /// Runs `guard` on the account's factor and, if it matched, replaces
    /// the recovery codes, in one transaction. The guard's update takes the
    /// factor's row first, so a concurrent disable waits (or this waits for
    /// it) and codes never outlive their factor.
    async fn codes_after(
        &self,
        guard: CodesGuard<'_>,
        user_id: &UserId,
        code_hashes: &[String],
        now: Millis,
    ) -> StoreResult<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let matched = match guard {
                CodesGuard::Confirm { sealed, step, session } => sqlx::query(&format!(
                    "UPDATE totp_factors SET confirmed_at = $1, last_step = $2, added_by_session = $5, \
                       added_unverified = (SELECT email_verified_at IS NULL FROM users WHERE id = $3) \
                     WHERE user_id = $3 AND secret_sealed = $4 AND confirmed_at IS NULL AND {}",
                    session_active("$3", "$5"),
                ))
                .bind(now)
                .bind(step)
                .bind(user_id)
                .bind(sealed)
                .bind(session)
                .execute(&mut *tx)
                .await?,
                CodesGuard::Confirmed => sqlx::query(
                    "UPDATE totp_factors SET created_at = created_at \
                     WHERE user_id = $1 AND confirmed_at IS NOT NULL",
                )
                .bind(user_id)
                .execute(&mut *tx)
                .await?,
            };
            if matched.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                    .bind(user_id)
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Accepts a code's time step: only a confirmed factor, and only a
    /// step later than the last one accepted (RFC 6238 §5.2).
    pub async fn use_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE totp_factors SET last_step = $1 \
             WHERE user_id = $2 AND confirmed_at IS NOT NULL \
               AND (last_step IS NULL OR last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Removes the authenticator and the recovery codes; whether a
    /// confirmed authenticator was removed.
    pub async fn delete_totp(&self, user_id: &UserId) -> StoreResult<bool> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let removed = sqlx::query(
                "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(removed == 1)
        })
    }

    /// Removes the account's authenticator app (with its recovery codes)
    /// if it was turned on while the address was unproved or by one of
    /// `sessions`; whether it was.
    pub async fn remove_planted_totp(
        &self,
        user_id: &UserId,
        sessions: &[SessionId],
    ) -> StoreResult<bool> {
        let sql = format!(
            "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL \
               AND (added_unverified OR added_by_session IN ({}))",
            super::placeholders(2, sessions.len())
        );
        let removed = execute!(self, pool => sessions
            .iter()
            .fold(sqlx::query(&sql).bind(user_id), |q, s| q.bind(s)))?;
        if removed == 0 {
            return Ok(false);
        }
        execute!(self, pool => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id))?;
        Ok(true)
    }

    /// Replaces the account's recovery codes, if its authenticator is on.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        code_hashes: &[String],
        now: Millis,
    ) -> StoreResult<bool> {
        self.codes_after(CodesGuard::Confirmed, user_id, code_hashes, now)
            .await
    }

    /// Spends a recovery code: succeeds once, for one caller.
    pub async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        )?;
        Ok(done == 1)
    }

    /// When the account's authenticator app was added and turned on, if
    /// it has one (never its secret).
    pub async fn totp_dates(
        &self,
        user_id: &UserId,
    ) -> StoreResult<Option<(Millis, Option<Millis>)>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT created_at, confirmed_at FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// When each of the account's recovery codes was made and used (never
    /// the codes' hashes), oldest first.
    pub async fn recovery_code_dates(
        &self,
        user_id: &UserId,
    ) -> StoreResult<Vec<(Millis, Option<Millis>)>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT created_at, used_at FROM recovery_codes WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
    }

    /// How many unused recovery codes the account has.
    pub async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await)?)
    }

    pub async fn insert_challenge(&self, challenge: NewChallenge<'_>) -> StoreResult<()> {
        execute!(self, pool => sqlx::query(
            "INSERT INTO mfa_challenges \
               (token_hash, user_id, kind, known_device, created_at, expires_at, provider, amr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(challenge.token_hash)
        .bind(challenge.user_id)
        .bind(challenge.kind)
        .bind(challenge.known_device)
        .bind(challenge.now)
        .bind(challenge.expires_at)
        .bind(challenge.provider)
        .bind(challenge.amr)
        )?;
        Ok(())
    }

    /// The open, unexpired second step with this hash, without using it.
    pub async fn find_challenge(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<ChallengeRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, kind, known_device, provider, amr FROM mfa_challenges \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
    }

    /// Completes a second step: succeeds once, for one caller.
    pub async fn use_challenge(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<ChallengeRow>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "UPDATE mfa_challenges SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id, kind, known_device, provider, amr",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?)
    }

    /// Ends every open second step of the account (its password or
    /// factor changed, or its sessions were all ended).
    pub async fn void_second_steps(&self, user_id: &UserId) -> StoreResult<()> {
        execute!(self, pool => sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1")
            .bind(user_id)
        )?;
        Ok(())
    }
}
