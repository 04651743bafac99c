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
    sessions::{service::SessionService, SessionInfo},
    store::{Db, User},
    vocab::Role,
};
use std::sync::Arc;

/// The longest part of an address the admin search takes.
const MAX_SEARCH: usize = 320;

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
    pub(super) db: Db,
    sessions: Arc<SessionService>,
}

impl AdminService {
    pub fn new(db: Db, sessions: Arc<SessionService>) -> Self {
        Self { db, sessions }
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

    /// Users whose email contains `query` (all when empty), in any case:
    /// addresses are kept in lower case. With active session counts.
    pub async fn users(&self, query: &str) -> Result<Vec<AdminUser>, AppError> {
        let query = query.trim().to_lowercase();
        // An address is at most 320 characters, and holds no control
        // character (SQLite's trigram index would read a NUL as the end of
        // the search).
        if query.chars().count() > MAX_SEARCH || query.chars().any(char::is_control) {
            return Err(AppError::invalid_input(format!(
                "Search by up to {MAX_SEARCH} characters of an address."
            )));
        }
        let users = self.db.search_users(&query, now_ms()).await?;
        let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
        let linked = self.db.providers_of(&ids).await?;
        Ok(users
            .into_iter()
            .map(|u| AdminUser {
                providers: linked
                    .iter()
                    .filter(|(id, _)| *id == u.id)
                    .map(|(_, p)| p.clone())
                    .collect(),
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
        self.db.set_role(&user.id, Role::Admin).await?;
        self.sessions.account_changed(&user.id);
        tracing::info!(user_id = %user.id, "administrator role granted");
        Ok(())
    }
}
