//! The account lifecycle: the commands that change what an account is —
//! its password, its factors, its sessions as a whole, its existence — and
//! the rules that span capabilities (sessions, links, second factors).
//! Each command writes all its rows in one transaction, then updates what
//! this instance keeps in memory (revoked sessions, cached accounts) and
//! sends its letters: a failure half-way leaves the account as it was.
//!
//! Nothing below this layer knows that a reset or a "this wasn't me"
//! exists; the adapters (server functions, the token API, the CLI) call
//! in here for every such command.

mod admin;
mod export;
mod factors;
mod federation;
mod recovery;
mod sessions;

pub use federation::ProviderSignIn;

use crate::{
    auth::{passwords::Password, service::AuthService},
    clock::{now_ms, Millis},
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    mfa::service::MfaService,
    recovery::links::{Links, Purpose},
    request::{AuthedUser, ClientInfo},
    sessions::{
        records::write_event,
        service::{end_sessions, SessionService},
    },
    store::{Db, User},
    vocab::{EventKind, RevokeReason},
};
use std::sync::Arc;

#[derive(Clone)]
pub struct AccountService {
    db: Db,
    auth: Arc<AuthService>,
    sessions: Arc<SessionService>,
    links: Arc<Links>,
    mfa: Arc<MfaService>,
}

impl AccountService {
    pub fn new(
        db: Db,
        auth: Arc<AuthService>,
        sessions: Arc<SessionService>,
        links: Arc<Links>,
        mfa: Arc<MfaService>,
    ) -> Self {
        Self {
            db,
            auth,
            sessions,
            links,
            mfa,
        }
    }

    /// Changes the password (the current one is checked and counts as a
    /// recent sign-in): every other session ends, pending reset and
    /// address-change links die, and this session continues with fresh
    /// tokens and a fresh device credential.
    pub async fn change_password(
        &self,
        me: &AuthedUser,
        current: Password,
        new: Password,
        client: &ClientInfo,
    ) -> Result<crate::sessions::tokens::IssuedTokens, AppError> {
        let user = self.auth.confirm_owner(me, current, client).await?;
        // An account without a password sets its first one with no current
        // password to give (a recent sign-in instead).
        let setting = !user.has_password();
        self.auth.check_new_password(&new, &user.email).await?;
        let hash = self.auth.hash_password(&new).await?;
        let now = now_ms();
        let tx = self.db.begin().await?;
        // The password checked (or its absence) must still be the stored
        // one: a change, reset or take-back racing this one is refused,
        // never overwritten.
        if !tx
            .replace_password_hash(&user.id, &user.password_hash, &hash)
            .await?
        {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "The password changed meanwhile (another tab?). Reload the page and try again.",
            ));
        }
        // A reset link mailed before the change must not undo it, nor an
        // address change started with the old password go through.
        void_links(
            &tx,
            &user.id,
            &[Purpose::ResetPassword, Purpose::ChangeEmail],
            now,
        )
        .await?;
        let ended = end_sessions(
            &tx,
            &user.id,
            Some(&me.session_id),
            RevokeReason::PasswordChanged,
        )
        .await?;
        let verb = if setting { "set" } else { "changed" };
        let detail = format!("Password {verb}; {} other session(s) ended", ended.len());
        log(&tx, &user.id, EventKind::PasswordChanged, client, &detail).await?;
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::PasswordChanged);
        tracing::info!(user_id = %user.id, revoked = ended.len(), "password changed");
        self.auth
            .reissue_after_password_change(&me.session_id, &user.id, &hash, client)
            .await
    }

    /// Deletes the account with its sessions, factors and security log,
    /// after checking the password; its access tokens stop working at once.
    pub async fn delete(
        &self,
        me: &AuthedUser,
        password: Password,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let user = self.auth.confirm_owner(me, password, client).await?;
        let now = now_ms();
        let tx = self.db.begin().await?;
        let ended = end_sessions(&tx, &user.id, None, RevokeReason::AccountDeleted).await?;
        if !tx.delete_user(&user.id).await? {
            return Err(ErrorCode::Unauthenticated.into());
        }
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::AccountDeleted);
        tracing::info!(user_id = %user.id, "account deleted");
        Ok(())
    }

    /// After a command's commit: this instance refuses the ended sessions'
    /// access tokens at once and forgets its cached copy of the account
    /// (other instances learn both from the database's log).
    fn committed(&self, user_id: &UserId, ended: &[SessionId], now: Millis, reason: RevokeReason) {
        self.sessions.refuse_ended(ended, now, reason);
        self.sessions.account_changed(user_id);
    }

    /// The signed-in account, fresh from the database.
    async fn account(&self, user_id: &UserId) -> Result<User, AppError> {
        self.db
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| ErrorCode::Unauthenticated.into())
    }
}

/// Makes the account's unused links of these purposes stop working.
async fn void_links(
    tx: &Db,
    user_id: &UserId,
    purposes: &[Purpose],
    now: Millis,
) -> Result<(), AppError> {
    for purpose in purposes {
        tx.void_links(user_id, *purpose, now).await?;
    }
    Ok(())
}

/// Writes an entry of the account's security log inside the command's
/// transaction: the entry and the change it tells of stay or go together.
async fn log(
    tx: &Db,
    user_id: &UserId,
    kind: EventKind,
    client: &ClientInfo,
    detail: &str,
) -> Result<(), AppError> {
    Ok(write_event(tx, user_id, kind, client, detail).await?)
}
