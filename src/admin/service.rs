//! The admin capability: find accounts, see their sessions, disable or
//! enable an account, revoke any session, grant the administrator role.
//! The admin console and the CLI make the same calls; every action goes to
//! the affected user's security log and to the server log.

use super::AdminUser;
use crate::{
    auth::service::normalize_email,
    clock::now_ms,
    error::{AppError, ErrorCode},
    http::client_addr::ClientInfo,
    ids::{SessionId, UserId},
    mfa::service::MfaService,
    sessions::{
        device::device_name,
        events::{EventKind, RevokeReason},
        service::SessionService,
        SessionInfo,
    },
    store::{Db, User},
};

/// Who performs an administrative action.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// An administrator signed in to the console.
    Admin(&'a User),
    /// Someone with shell access running `gatehouse` on the server.
    Cli,
}

impl Actor<'_> {
    fn id(&self) -> &str {
        match self {
            Actor::Admin(user) => user.id.as_str(),
            Actor::Cli => "cli",
        }
    }
}

#[derive(Clone)]
pub struct AdminService {
    db: Db,
    sessions: SessionService,
    mfa: MfaService,
}

impl AdminService {
    pub fn new(db: Db, sessions: SessionService, mfa: MfaService) -> Self {
        Self { db, sessions, mfa }
    }

    /// The signed-in administrator; others get `403 forbidden` and nothing
    /// changes (OWASP ASVS V4.1.1: access control enforced on the server).
    pub async fn require_admin(&self, user_id: &UserId) -> Result<User, AppError> {
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        if !user.is_admin() || user.disabled {
            tracing::warn!(user_id = %user.id, "non-admin called an admin function");
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "Only administrators can do that.",
            ));
        }
        Ok(user)
    }

    async fn target(&self, user_id: &UserId) -> Result<User, AppError> {
        Ok(self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::NotFound)?)
    }

    /// The account with this email (normalized as at sign-in).
    pub async fn user_by_email(&self, email: &str) -> Result<User, AppError> {
        let email = normalize_email(email)?;
        self.db.user_by_email(&email).await?.ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                format!("no account with email {email}"),
            )
        })
    }

    /// Users whose email contains `query` (all when empty), with active session counts.
    pub async fn users(&self, query: &str) -> Result<Vec<AdminUser>, AppError> {
        let users = self.db.search_users(query.trim(), now_ms()).await?;
        Ok(users
            .into_iter()
            .map(|u| AdminUser {
                id: u.id.into_string(),
                email: u.email,
                role: u.role,
                disabled: u.disabled,
                sessions: u.sessions,
                second_factor: u.second_factor,
            })
            .collect())
    }

    /// A user's active sessions.
    pub async fn user_sessions(&self, user_id: &UserId) -> Result<Vec<SessionInfo>, AppError> {
        let user = self.target(user_id).await?;
        self.sessions.list(&user.id, None).await
    }

    /// Makes an account an administrator.
    pub async fn grant_admin(&self, user: &User) -> Result<(), AppError> {
        self.db.set_role(&user.id, "admin").await?;
        self.sessions.account_changed(&user.id);
        tracing::info!(user_id = %user.id, "administrator role granted");
        Ok(())
    }

    /// Disables an account (ending every session at once) or enables it;
    /// returns how many sessions ended.
    pub async fn set_disabled(
        &self,
        actor: Actor<'_>,
        user_id: &UserId,
        disabled: bool,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        let user = self.target(user_id).await?;
        if disabled && matches!(actor, Actor::Admin(admin) if admin.id == user.id) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "You cannot disable your own account.",
            ));
        }
        self.db.set_disabled(&user.id, disabled).await?;
        self.sessions.account_changed(&user.id);
        let (kind, detail, ended) = if disabled {
            let ended = self
                .sessions
                .end_all(&user.id, None, RevokeReason::AccountDisabled)
                .await?;
            tracing::info!(admin_id = actor.id(), user_id = %user.id, sessions_ended = ended, "account disabled by admin");
            (
                EventKind::AccountDisabled,
                format!("Disabled by an administrator; {ended} session(s) ended"),
                ended,
            )
        } else {
            tracing::info!(admin_id = actor.id(), user_id = %user.id, "account enabled by admin");
            (
                EventKind::AccountEnabled,
                "Enabled by an administrator".to_owned(),
                0,
            )
        };
        self.sessions
            .record_event(&user.id, kind, client, &detail)
            .await;
        Ok(ended)
    }

    /// Removes a person's authenticator app and recovery codes (they lost
    /// them and proved who they are some other way); recorded in their log
    /// and mailed to them. `not_found` if they had none.
    pub async fn reset_second_factor(
        &self,
        actor: Actor<'_>,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let user = self.target(user_id).await?;
        if !self.mfa.admin_reset(&user, client).await? {
            return Err(AppError::new(
                ErrorCode::NotFound,
                "This account has no second factor to reset.",
            ));
        }
        tracing::info!(admin_id = actor.id(), user_id = %user.id, "second factor reset by admin");
        Ok(())
    }

    /// Revokes any one session.
    pub async fn revoke_session(
        &self,
        actor: Actor<'_>,
        session_id: &SessionId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let session = self
            .sessions
            .find(session_id)
            .await?
            .filter(|s| s.revoked_at.is_none())
            .ok_or(ErrorCode::NotFound)?;
        self.sessions
            .end(&session.id, RevokeReason::AdminRevoked)
            .await?;
        tracing::info!(admin_id = actor.id(), user_id = %session.user_id, session_id = %session.id, "session revoked by admin");
        let detail = format!(
            "An administrator signed out {}",
            device_name(&session.user_agent)
        );
        self.sessions
            .record_event(
                &session.user_id,
                EventKind::AdminRevokedSession,
                client,
                &detail,
            )
            .await;
        Ok(())
    }

    /// Revokes every session of an account; returns how many ended.
    pub async fn revoke_all(
        &self,
        actor: Actor<'_>,
        user: &User,
        client: &ClientInfo,
    ) -> Result<usize, AppError> {
        let ended = self
            .sessions
            .end_all(&user.id, None, RevokeReason::AdminRevoked)
            .await?;
        tracing::info!(admin_id = actor.id(), user_id = %user.id, ended, "all sessions revoked by admin");
        if ended > 0 {
            let detail = format!("An administrator signed out {ended} device(s)");
            self.sessions
                .record_event(&user.id, EventKind::AdminRevokedSession, client, &detail)
                .await;
        }
        Ok(ended)
    }
}
