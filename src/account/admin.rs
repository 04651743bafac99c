//! What an administrator (or the command line) does to another person's
//! account as a whole: remove a lost second factor, sign out every device.
//! Each is one transaction with its log entry.

use super::{log, AccountService};
use crate::sessions::service::end_sessions;
use crate::{
    admin::service::Actor,
    clock::now_ms,
    error::{AppError, ErrorCode},
    ids::UserId,
    recovery::letters,
    request::ClientInfo,
    store::User,
    vocab::{EventKind, RevokeReason},
};

impl AccountService {
    /// Removes a person's authenticator app and recovery codes (they lost
    /// them and proved who they are some other way), and any sign-in
    /// waiting for a code; recorded in their log and mailed to them.
    /// `not_found` if they had none.
    pub async fn reset_second_factor(
        &self,
        actor: Actor<'_>,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        let tx = self.db.begin().await?;
        if !tx.delete_totp(&user.id).await? {
            return Err(AppError::new(
                ErrorCode::NotFound,
                "This account has no second factor to reset.",
            ));
        }
        tx.void_second_steps(&user.id).await?;
        let detail = "Authenticator app and recovery codes removed by an administrator";
        log(&tx, &user.id, EventKind::SecondFactorReset, client, detail).await?;
        tx.commit().await?;
        self.sessions.account_changed(&user.id);
        tracing::info!(admin_id = actor.id(), user_id = %user.id, "second factor reset by admin");
        self.links.mail(letters::second_factor_reset(
            &user.email,
            &self.links.forgot_url(),
        ));
        Ok(())
    }

    /// Signs out every device of an account; how many sessions ended.
    pub async fn revoke_all(
        &self,
        actor: Actor<'_>,
        user: &User,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        let now = now_ms();
        let reason = RevokeReason::AdminRevoked;
        let tx = self.db.begin().await?;
        let ended = end_sessions(&tx, &user.id, None, reason).await?;
        if !ended.is_empty() {
            let detail = format!("An administrator signed out {} device(s)", ended.len());
            log(
                &tx,
                &user.id,
                EventKind::AdminRevokedSession,
                client,
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        self.sessions.refuse_ended(&ended, now, reason);
        tracing::info!(admin_id = actor.id(), user_id = %user.id, ended = ended.len(), "all sessions revoked by admin");
        Ok(ended.len())
    }
}
