//! Adding second factors, and removing the ones someone else planted.
//!
//! A factor may be added only once the account's address is proved: an
//! account opened with someone else's address cannot be armed with a
//! passkey or an authenticator app that would outlive the owner's reset
//! ("Pre-hijacked accounts", USENIX Security 2022, §IV; OWASP ASVS 4.0
//! V2.5.7). Every factor added is mailed to the owner, at most one letter of
//! a kind a minute.

use super::{log, AccountService};
use crate::sessions::service::end_sessions;
use crate::{
    auth::passwords::Password,
    clock::now_ms,
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    mfa::{totp::Enrollment, PasskeyInfo},
    recovery::{letters, mail::Letter},
    request::{AuthedUser, ClientInfo},
    store::{Db, User},
    vocab::{EventKind, RevokeReason},
};

/// The factors a command removed.
#[derive(Debug, Default)]
pub struct RemovedFactors {
    pub(super) totp: bool,
    pub(super) passkeys: Vec<String>,
    /// Sign-in providers unlinked (by name).
    pub(super) providers: Vec<String>,
}

impl RemovedFactors {
    pub fn is_empty(&self) -> bool {
        !self.totp && self.passkeys.is_empty() && self.providers.is_empty()
    }

    pub fn len(&self) -> usize {
        usize::from(self.totp) + self.passkeys.len() + self.providers.len()
    }

    /// Each removed factor as a person would name it.
    pub fn names(&self) -> Vec<String> {
        let app = self.totp.then(|| "the authenticator app".to_owned());
        app.into_iter()
            .chain(
                self.passkeys
                    .iter()
                    .map(|name| format!("the passkey “{name}”")),
            )
            .chain(
                self.providers
                    .iter()
                    .map(|name| format!("the sign-in provider “{name}”")),
            )
            .collect()
    }

    /// "; removed …" for a log entry, or nothing.
    pub fn sentence(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            format!("; removed {}", self.names().join(", "))
        }
    }
}

impl AccountService {
    /// Removes, inside the command's transaction, every factor added while
    /// the address was unproved or by one of `sessions`, and the sign-in
    /// providers those sessions linked.
    pub(super) async fn remove_planted_factors(
        &self,
        tx: &Db,
        user_id: &UserId,
        sessions: &[SessionId],
    ) -> Result<RemovedFactors, AppError> {
        Ok(RemovedFactors {
            totp: tx.remove_planted_totp(user_id, sessions).await?,
            passkeys: tx.remove_planted_passkeys(user_id, sessions).await?,
            providers: tx
                .remove_planted_identities(user_id, sessions, false)
                .await?,
        })
    }

    /// The signed-in account if its address is proved; otherwise a fresh
    /// verification letter (at most one a minute) and `403 email_unverified`.
    async fn verified_account(&self, me: &AuthedUser) -> Result<User, AppError> {
        let user = self.account(&me.user_id).await?;
        if user.email_verified_at.is_some() {
            return Ok(user);
        }
        let sent = self.links.send_verification(&user).await?;
        tracing::info!(user_id = %user.id, sent, "factor refused: address not verified");
        Err(AppError::new(
            ErrorCode::EmailUnverified,
            "Confirm your email address before adding a second factor: we sent a link to it.",
        ))
    }

    /// Mails the owner a letter about a factor, at most one of a kind a minute.
    async fn tell_owner(&self, user: &User, letter: impl FnOnce(&str, &str) -> Letter, kind: &str) {
        match self.links.may_mail_kind(kind, &user.email).await {
            Ok(true) => self
                .links
                .mail(letter(&user.email, &self.links.forgot_url())),
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(user_id = %user.id, error = %err, "could not mail a factor notice")
            }
        }
    }

    /// Starts setting up an authenticator app.
    pub async fn enroll_totp(&self, me: &AuthedUser) -> Result<Enrollment, AppError> {
        let user = self.verified_account(me).await?;
        self.mfa.enroll(me, &user).await
    }

    /// Turns the authenticator app on with its first code (the app, its
    /// recovery codes and the log entry in one transaction); the recovery
    /// codes, shown this once. The owner is mailed.
    pub async fn confirm_totp(
        &self,
        me: &AuthedUser,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AppError> {
        let user = self.verified_account(me).await?;
        // Reads and checks first: the transaction holds SQLite's one write
        // lock, and nothing may wait on the pool while it does.
        self.sessions.require_recent_proof(me).await?;
        let first = self.mfa.first_code(me, code).await?;
        let tx = self.db.begin().await?;
        let codes = self.mfa.confirm(&tx, me, first).await?;
        let detail = "Authenticator app turned on; 10 recovery codes made";
        log(
            &tx,
            &me.user_id,
            EventKind::SecondFactorEnabled,
            client,
            detail,
        )
        .await?;
        tx.commit().await?;
        // The code just entered is a fresh proof of this session. The app
        // is on and the codes must be shown: a failure here is only logged.
        if let Err(err) = self.sessions.mark_proved(&me.session_id).await {
            tracing::warn!(user_id = %me.user_id, error = %err, "could not record the fresh proof");
        }
        tracing::info!(user_id = %me.user_id, "authenticator app turned on");
        self.tell_owner(&user, letters::totp_enabled, "totp_enabled")
            .await;
        Ok(codes)
    }

    /// New recovery codes; the old ones stop working. The owner is mailed.
    pub async fn regenerate_recovery_codes(
        &self,
        me: &AuthedUser,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AppError> {
        let user = self.account(&me.user_id).await?;
        self.sessions.require_recent_proof(me).await?;
        let tx = self.db.begin().await?;
        let codes = self.mfa.regenerate(&tx, me).await?;
        let detail = "New recovery codes; the old ones stopped working";
        log(
            &tx,
            &me.user_id,
            EventKind::RecoveryCodesRegenerated,
            client,
            detail,
        )
        .await?;
        tx.commit().await?;
        self.tell_owner(&user, letters::recovery_codes_made, "recovery_codes")
            .await;
        Ok(codes)
    }

    /// Starts adding a passkey: the creation options and the ceremony id.
    pub async fn start_passkey(
        &self,
        me: &AuthedUser,
    ) -> Result<(serde_json::Value, String), AppError> {
        let user = self.verified_account(me).await?;
        self.mfa.passkeys().register_start(me, &user).await
    }

    /// Finishes adding a passkey (the passkey and the log entry in one
    /// transaction); the owner is mailed.
    pub async fn finish_passkey(
        &self,
        me: &AuthedUser,
        ceremony: Option<&str>,
        name: &str,
        credential: &str,
        client: &ClientInfo,
    ) -> Result<PasskeyInfo, AppError> {
        let user = self.verified_account(me).await?;
        let passkeys = self.mfa.passkeys();
        let row = passkeys
            .register_finish(me, ceremony, name, credential)
            .await?;
        let tx = self.db.begin().await?;
        let added = passkeys.store(&tx, me, row).await?;
        let detail = format!("Passkey “{}” added", added.name);
        log(&tx, &me.user_id, EventKind::PasskeyAdded, client, &detail).await?;
        tx.commit().await?;
        tracing::info!(user_id = %me.user_id, passkey_id = %added.id, "passkey added");
        let name = added.name.clone();
        self.tell_owner(
            &user,
            move |to, forgot| letters::passkey_added(to, &name, forgot),
            "passkey_added",
        )
        .await;
        Ok(added)
    }

    /// Turns the authenticator app off after checking the password (which
    /// counts as this session's recent sign-in): the app and its recovery
    /// codes go, and every other session ends, in one transaction.
    pub async fn disable_totp(
        &self,
        me: &AuthedUser,
        password: Password,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        self.auth.confirm_owner(me, password, client).await?;
        let now = now_ms();
        let tx = self.db.begin().await?;
        if !tx.delete_totp(&me.user_id).await? {
            return Err(AppError::invalid_input("No authenticator app is set up."));
        }
        let reason = RevokeReason::SecondFactorRemoved;
        let ended = end_sessions(&tx, &me.user_id, Some(&me.session_id), reason).await?;
        let detail = format!(
            "Authenticator app turned off; {} other session(s) ended",
            ended.len()
        );
        log(
            &tx,
            &me.user_id,
            EventKind::SecondFactorDisabled,
            client,
            &detail,
        )
        .await?;
        tx.commit().await?;
        self.committed(&me.user_id, &ended, now, reason);
        tracing::info!(user_id = %me.user_id, ended = ended.len(), "authenticator app turned off");
        Ok(())
    }

    /// Removes one of the caller's passkeys (needs a recent sign-in).
    pub async fn remove_passkey(
        &self,
        me: &AuthedUser,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        self.sessions.require_recent_proof(me).await?;
        let tx = self.db.begin().await?;
        tx.lock_account(&me.user_id).await?;
        let name = tx
            .delete_passkey(id, &me.user_id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        // An account opened through a provider may have only passkeys and
        // providers: the last of them stays.
        super::federation::still_a_way_in(&tx, &me.user_id).await?;
        let detail = format!("Passkey “{name}” removed");
        log(&tx, &me.user_id, EventKind::PasskeyRemoved, client, &detail).await?;
        tx.commit().await?;
        tracing::info!(user_id = %me.user_id, passkey_id = id, "passkey removed");
        Ok(())
    }
}
