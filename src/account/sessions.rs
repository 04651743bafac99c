//! Ending sessions on someone's behalf: one device, all others, or — by an
//! administrator — any session or a whole account. Ending another device's
//! session needs a recent sign-in of the session asking, whichever way it
//! is asked for (OWASP ASVS 4.0 V3.7.1), so a stolen session cannot sign
//! its owner out one device at a time.

use super::{log, AccountService};
use crate::sessions::service::end_sessions;
use crate::{
    admin::service::Actor,
    clock::now_ms,
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    request::{AuthedUser, ClientInfo},
    sessions::device::device_name,
    vocab::{EventKind, RevokeReason},
};

impl AccountService {
    /// Signs out one of the caller's own sessions; another device's needs a
    /// recent sign-in. Another person's session answers exactly like a
    /// missing one. Returns whether it was the caller's current session.
    pub async fn revoke_own(
        &self,
        me: &AuthedUser,
        session_id: &SessionId,
        client: &ClientInfo,
    ) -> Result<bool, AppError> {
        let target = self
            .sessions
            .find(session_id)
            .await?
            .filter(|s| s.user_id == me.user_id && s.revoked_at.is_none())
            .ok_or(ErrorCode::NotFound)?;
        let current = target.id == me.session_id;
        if !current {
            self.sessions.require_recent_proof(me).await?;
        }
        let detail = format!(
            "Signed out {} from this device",
            device_name(&target.user_agent)
        );
        self.end_one(
            &me.user_id,
            &target.id,
            RevokeReason::Revoked,
            EventKind::SessionRevoked,
            client,
            &detail,
        )
        .await?;
        tracing::info!(user_id = %me.user_id, session_id = %target.id, by_session = %me.session_id, "session revoked");
        Ok(current)
    }

    /// Signs out every other device of the caller (needs a recent sign-in).
    pub async fn revoke_others(
        &self,
        me: &AuthedUser,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        self.sessions.require_recent_proof(me).await?;
        let now = now_ms();
        let tx = self.db.begin().await?;
        let ended = end_sessions(
            &tx,
            &me.user_id,
            Some(&me.session_id),
            RevokeReason::Revoked,
        )
        .await?;
        if !ended.is_empty() {
            let detail = format!(
                "Signed out {} other device(s) from this device",
                ended.len()
            );
            log(&tx, &me.user_id, EventKind::SessionRevoked, client, &detail).await?;
        }
        tx.commit().await?;
        self.sessions
            .refuse_ended(&ended, now, RevokeReason::Revoked);
        tracing::info!(user_id = %me.user_id, revoked = ended.len(), "other sessions revoked");
        Ok(ended.len())
    }

    /// An administrator (with a recent sign-in) or the command line ends
    /// any one session.
    pub async fn admin_revoke(
        &self,
        actor: Actor<'_>,
        me: Option<&AuthedUser>,
        session_id: &SessionId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let session = self
            .sessions
            .find(session_id)
            .await?
            .filter(|s| s.revoked_at.is_none())
            .ok_or(ErrorCode::NotFound)?;
        if let Some(me) = me {
            self.sessions.require_recent_proof(me).await?;
        }
        let detail = format!(
            "An administrator signed out {}",
            device_name(&session.user_agent)
        );
        self.end_one(
            &session.user_id,
            &session.id,
            RevokeReason::AdminRevoked,
            EventKind::AdminRevokedSession,
            client,
            &detail,
        )
        .await?;
        tracing::info!(admin_id = actor.id(), user_id = %session.user_id, session_id = %session.id, "session revoked by admin");
        Ok(())
    }

    /// Disables an account (ending every session at once) or enables it;
    /// how many sessions ended. Disabling needs the administrator's recent
    /// sign-in; nobody disables their own account.
    pub async fn set_disabled(
        &self,
        actor: Actor<'_>,
        me: Option<&AuthedUser>,
        user_id: &UserId,
        disabled: bool,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::NotFound)?;
        if disabled && matches!(actor, Actor::Admin(admin) if admin.id == user.id) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "You cannot disable your own account.",
            ));
        }
        if let (true, Some(me)) = (disabled, me) {
            self.sessions.require_recent_proof(me).await?;
        }
        let now = now_ms();
        let tx = self.db.begin().await?;
        tx.set_disabled(&user.id, disabled).await?;
        let (kind, detail, ended) = if disabled {
            let ended = end_sessions(&tx, &user.id, None, RevokeReason::AccountDisabled).await?;
            let detail = format!(
                "Disabled by an administrator; {} session(s) ended",
                ended.len()
            );
            (EventKind::AccountDisabled, detail, ended)
        } else {
            (
                EventKind::AccountEnabled,
                "Enabled by an administrator".to_owned(),
                Vec::new(),
            )
        };
        log(&tx, &user.id, kind, client, &detail).await?;
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::AccountDisabled);
        tracing::info!(admin_id = actor.id(), user_id = %user.id, disabled, sessions_ended = ended.len(), "account disabled or enabled by admin");
        Ok(ended.len())
    }

    /// Ends one session and logs it, in one transaction.
    async fn end_one(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        reason: RevokeReason,
        kind: EventKind,
        client: &ClientInfo,
        detail: &str,
    ) -> Result<(), AppError> {
        let now = now_ms();
        let tx = self.db.begin().await?;
        let ended = tx.revoke_session(session_id, reason).await?;
        if ended {
            log(&tx, user_id, kind, client, detail).await?;
        }
        tx.commit().await?;
        if ended {
            self.sessions
                .refuse_ended(std::slice::from_ref(session_id), now, reason);
        }
        Ok(())
    }
}
