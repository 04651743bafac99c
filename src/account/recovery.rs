//! Taking an account back by mail: a reset link, and "this wasn't me".
//! Both end sessions and remove the second factors someone else may have
//! planted (Sudhodanan & Paverd, "Pre-hijacked accounts", USENIX Security
//! 2022): those added while the address was unproved, and — for "this
//! wasn't me" — those added by the sessions it ends.

use super::{log, void_links, AccountService};
use crate::sessions::service::end_sessions;
use crate::{
    auth::{passwords::Password, service::SignIn},
    clock::now_ms,
    error::{AppError, ErrorCode},
    ids::SessionId,
    recovery::{letters, links::Purpose},
    request::{AuthedUser, ClientInfo},
    vocab::{EventKind, RevokeReason},
};

fn link_gone() -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        "This link is not valid any more: the account or its address changed. Ask for a new one.",
    )
}

impl AccountService {
    /// Sets a new password from a reset link: every session of the account
    /// ends, factors planted while the address was unproved are removed, and
    /// this browser is signed in fresh (after its second factor, if one
    /// remains). A weak password is refused before the link is spent.
    pub async fn reset_password(
        &self,
        token: &str,
        new: Password,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let link = self.links.peek(token, Purpose::ResetPassword).await?;
        let mut user = self
            .db
            .user_by_id(&link.user_id)
            .await?
            .ok_or_else(link_gone)?;
        if link.email.as_deref() != Some(user.email.as_str()) {
            return Err(link_gone());
        }
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }
        self.auth.check_new_password(&new, &user.email).await?;
        let hash = self.auth.hash_password(&new).await?;
        let now = now_ms();
        let tx = self.db.begin().await?;
        self.links
            .take_in(&tx, token, Purpose::ResetPassword)
            .await?;
        tx.set_password_hash(&user.id, &hash).await?;
        // Following the link proved the mailbox.
        tx.mark_email_verified(&user.id, &user.email, now).await?;
        // A pending address change (perhaps an intruder's) dies with the
        // old password.
        void_links(
            &tx,
            &user.id,
            &[Purpose::ResetPassword, Purpose::ChangeEmail],
            now,
        )
        .await?;
        let ended = end_sessions(&tx, &user.id, None, RevokeReason::PasswordChanged).await?;
        let removed = self.remove_planted_factors(&tx, &user.id, &[]).await?;
        let detail = format!(
            "Password reset from an emailed link; {} session(s) ended{}",
            ended.len(),
            removed.sentence()
        );
        log(&tx, &user.id, EventKind::PasswordReset, client, &detail).await?;
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::PasswordChanged);
        crate::telemetry::reset(crate::telemetry::ResetStage::Used);
        tracing::info!(user_id = %user.id, ended = ended.len(), removed = removed.len(), "password reset");
        if !removed.is_empty() {
            self.links.mail(letters::factors_removed(
                &user.email,
                &removed.names(),
                &self.links.forgot_url(),
            ));
        }
        user.password_hash = hash;
        self.auth.sign_in_after_link(&user, client).await
    }

    /// Ends the session a sign-in alert was about and every session opened
    /// since, removes the factors those sessions added (and any added while
    /// the address was unproved), and cancels a pending address change.
    pub async fn not_me(&self, token: &str, client: &ClientInfo) -> Result<(), AppError> {
        let now = now_ms();
        let tx = self.db.begin().await?;
        let link = self.links.take_in(&tx, token, Purpose::NotMe).await?;
        let session_id = link.session_id.ok_or_else(link_gone)?;
        let session = tx
            .session(&session_id)
            .await?
            .filter(|s| s.user_id == link.user_id)
            .ok_or_else(link_gone)?;
        // That session, and any opened after it: alerts are spaced a minute
        // apart, so a second sign-in right after the first had none of its own.
        let ended = tx
            .revoke_sessions_since(&link.user_id, session.created_at, RevokeReason::NotMe)
            .await?;
        // Whoever signed in may have started an address change.
        void_links(&tx, &link.user_id, &[Purpose::ChangeEmail], now).await?;
        let mut suspects: Vec<SessionId> = ended.clone();
        if !suspects.contains(&session_id) {
            suspects.push(session_id.clone());
        }
        let removed = self
            .remove_planted_factors(&tx, &link.user_id, &suspects)
            .await?;
        let detail = format!(
            "A sign-in was reported as not you; {} session(s) opened since then were ended{}",
            ended.len(),
            removed.sentence()
        );
        log(&tx, &link.user_id, EventKind::NotMe, client, &detail).await?;
        tx.commit().await?;
        self.committed(&link.user_id, &ended, now, RevokeReason::NotMe);
        tracing::warn!(user_id = %link.user_id, session_id = %session_id, ended = ended.len(), removed = removed.len(), "sign-in reported as not the owner");
        if !removed.is_empty() {
            if let Some(user) = self.db.user_by_id(&link.user_id).await? {
                self.links.mail(letters::factors_removed(
                    &user.email,
                    &removed.names(),
                    &self.links.forgot_url(),
                ));
            }
        }
        Ok(())
    }

    /// Completes an address change from the link mailed to the new address:
    /// the address moves, links sent to the old one stop working, and every
    /// session but the caller's own ends — all in one transaction.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        me: Option<&AuthedUser>,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let now = now_ms();
        let tx = self.db.begin().await?;
        let link = self.links.take_in(&tx, token, Purpose::ChangeEmail).await?;
        let new = link.email.ok_or_else(link_gone)?;
        let user = tx.user_by_id(&link.user_id).await?.ok_or_else(link_gone)?;
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }
        match tx.change_email(&user.id, &user.email, &new, now).await? {
            Some(true) => {}
            Some(false) => return Err(link_gone()),
            None => return Err(ErrorCode::EmailTaken.into()),
        }
        // Links sent to the old address must not work for the new one.
        void_links(
            &tx,
            &user.id,
            &[Purpose::ResetPassword, Purpose::VerifyEmail, Purpose::NotMe],
            now,
        )
        .await?;
        let keep = me
            .filter(|me| me.user_id == user.id)
            .map(|me| &me.session_id);
        let ended = end_sessions(&tx, &user.id, keep, RevokeReason::EmailChanged).await?;
        let detail = format!(
            "Email address changed; {} other session(s) ended",
            ended.len()
        );
        log(&tx, &user.id, EventKind::EmailChanged, client, &detail).await?;
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::EmailChanged);
        tracing::info!(user_id = %user.id, ended = ended.len(), "email changed");
        Ok(())
    }
}
