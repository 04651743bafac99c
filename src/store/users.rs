//! The `users` table: accounts.

use super::{execute, on_pool, Db, StoreResult};
use crate::{clock::Millis, ids::UserId, vocab::Role};

/// An account. Its `Debug` never shows the password hash (an offline
/// guessing target once it leaks into a log).
#[derive(Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Millis,
    /// When the current address was proved (a link sent to it followed).
    pub email_verified_at: Option<Millis>,
}

/// The start of the stored hash of an account without a password (one
/// opened through a provider): never a valid PHC string, so no password
/// matches it, and random after the prefix, so device credentials and
/// sessions bound to it still end when a password is set.
pub const NO_PASSWORD_PREFIX: &str = "!none:";

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the account has a password to sign in with.
    pub fn has_password(&self) -> bool {
        !self.password_hash.starts_with(NO_PASSWORD_PREFIX)
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("email_verified_at", &self.email_verified_at)
            .finish()
    }
}

/// A user with the number of their active sessions, for the admin console.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserSummary {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub sessions: i64,
    /// Whether an authenticator app is on.
    pub second_factor: bool,
}

impl Db {
    /// Creates a user; `None` if the email exists (nothing is written).
    pub async fn create_user(
        &self,
        id: &UserId,
        email: &str,
        password_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<User>> {
        let inserted = execute!(self, pool => sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(now)
        )?;
        Ok((inserted == 1).then(|| User {
            id: id.clone(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            role: Role::User,
            disabled: false,
            created_at: now,
            email_verified_at: None,
        }))
    }

    /// The user whose `column` (a unique column: `id` or `email`) is `value`.
    async fn user_where(&self, column: &'static str, value: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT * FROM users WHERE {column} = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(value)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.user_where("email", email).await
    }

    pub async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.user_where("id", id.as_str()).await
    }

    pub async fn set_password_hash(&self, user_id: &UserId, hash: &str) -> StoreResult<()> {
        execute!(self, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        )?;
        Ok(())
    }

    /// Replaces the password hash only if it is still `old` (a compare
    /// and swap: of a change and a reset or a take-back racing it, the
    /// later never overwrites the earlier); whether it was replaced.
    pub async fn replace_password_hash(
        &self,
        user_id: &UserId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        )
        .bind(new)
        .bind(user_id)
        .bind(old)
        )?;
        Ok(done == 1)
    }

    /// Takes back an account whose address is still `email` and still
    /// unproved, in one conditional statement: its password becomes `hash`
    /// and its address proved. `false` if it changed meanwhile.
    pub async fn claim_unproved(
        &self,
        user_id: &UserId,
        email: &str,
        hash: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE users SET password_hash = $1, email_verified_at = $2 \
             WHERE id = $3 AND email = $4 AND email_verified_at IS NULL",
        )
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .bind(email)
        )?;
        Ok(done == 1)
    }

    /// Takes the account's row lock for the rest of the transaction (a
    /// no-op write): on PostgreSQL two commands that each check "another
    /// way in remains" and then remove one cannot both pass (write skew);
    /// SQLite's one write lock already orders them.
    pub async fn lock_account(&self, user_id: &UserId) -> StoreResult<()> {
        execute!(self, pool => sqlx::query("UPDATE users SET disabled = disabled WHERE id = $1")
            .bind(user_id)
        )?;
        Ok(())
    }

    pub async fn set_role(&self, user_id: &UserId, role: Role) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    pub async fn set_disabled(&self, user_id: &UserId, disabled: bool) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(disabled)
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Deletes a user; sessions and security events go with it (ON DELETE CASCADE).
    pub async fn delete_user(&self, user_id: &UserId) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        )?;
        Ok(done == 1)
    }

    /// Marks the account's address as proved, if it is still `email`.
    pub async fn mark_email_verified(
        &self,
        user_id: &UserId,
        email: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = execute!(self, pool => sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) \
             WHERE id = $2 AND email = $3",
        )
        .bind(now)
        .bind(user_id)
        .bind(email)
        )?;
        Ok(done == 1)
    }

    /// Moves the account to a new, proved address if it still has `old`;
    /// `None` if the new address belongs to another account by now.
    pub async fn change_email(
        &self,
        user_id: &UserId,
        old: &str,
        new: &str,
        now: Millis,
    ) -> StoreResult<Option<bool>> {
        let result = execute!(self, pool => sqlx::query(
            "UPDATE users SET email = $1, email_verified_at = $2 WHERE id = $3 AND email = $4",
        )
        .bind(new)
        .bind(now)
        .bind(user_id)
        .bind(old)
        );
        match result {
            Ok(done) => Ok(Some(done == 1)),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Users whose email contains `query` (all when empty), with their
    /// active session counts, by address, 200 at most. A part of three
    /// characters or more is looked up in a trigram index (SQLite's FTS5
    /// `users_email_trigrams`, PostgreSQL's `pg_trgm`), so the search does
    /// not read every address; the `LIKE` decides either way.
    pub async fn search_users(&self, query: &str, now: Millis) -> StoreResult<Vec<UserSummary>> {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        // FTS5's trigram index finds the rows holding the part as a quoted
        // phrase (quotes inside doubled); shorter parts have no trigram.
        let indexed = self.engine() == "sqlite" && query.chars().count() >= 3;
        let phrase = format!("\"{}\"", query.replace('"', "\"\""));
        let candidates = if indexed {
            "u.id IN (SELECT id FROM users_email_trigrams WHERE users_email_trigrams MATCH $4) AND "
        } else {
            ""
        };
        let sql = format!(
            "SELECT u.id, u.email, u.role, u.disabled, \
               (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL \
                  AND s.idle_expires_at > $1 AND s.absolute_expires_at > $2) AS sessions, \
               EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id \
                  AND f.confirmed_at IS NOT NULL) AS second_factor \
             FROM users u WHERE {candidates}u.email LIKE $3 ESCAPE '\\' \
             ORDER BY u.email LIMIT 200"
        );
        Ok(on_pool!(self, pool => {
            let query = sqlx::query_as(&sql).bind(now).bind(now).bind(pattern.clone());
            if indexed {
                query.bind(phrase.clone()).fetch_all(pool).await
            } else {
                query.fetch_all(pool).await
            }
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password_hash() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let user = User {
            id: UserId::new("u1"),
            email: "ada@example.com".into(),
            password_hash: hash.into(),
            role: Role::User,
            disabled: false,
            created_at: 1,
            email_verified_at: None,
        };
        let shown = format!("{user:?} {user:#?}");
        assert!(
            !shown.contains("argon2") && !shown.contains("aGFzaGhhc2g"),
            "{shown}"
        );
        assert!(shown.contains("password_hash: \"[redacted]\""), "{shown}");
        assert!(shown.contains("ada@example.com"), "{shown}");
    }
}
