//! The admin capability: find accounts, see their sessions, disable or
//! enable an account, revoke any session, grant the administrator role.
//! The admin console and the CLI make the same calls; every action goes to
//! the affected user's security log and to the server log.

use super::AdminUser;
use crate::{
    auth::service::normalize_email,
    clock::now_ms,
    error::{AppError, ErrorCode},
    ids::UserId,
    mfa::service::MfaService,
    request::ClientInfo,
    sessions::{service::SessionService, SessionInfo},
    store::{Db, User},
    vocab::{EventKind, RevokeReason},
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
    pub fn id(&self) -> &str {
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
