//! Administration: search users, see their sessions, disable or enable an
//! account, revoke any session. Administrators only; every action is
//! recorded in the affected user's security log and the server log.

use crate::{auth::Done, error::AppError, sessions::SessionInfo};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A user as the admin console lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub sessions: i64,
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::auth::ssr::*;
    use crate::{
        db::User,
        error::{AppError, ErrorCode},
    };

    /// The signed-in administrator; others get `403 forbidden` and nothing changes
    /// (OWASP ASVS V4.1.1: access control enforced on the server).
    pub async fn require_admin() -> Result<User, AppError> {
        let authed = auth().require()?.clone();
        let user = state()
            .db
            .user_by_id(&authed.user_id)
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

    pub async fn target_user(user_id: &str) -> Result<User, AppError> {
        Ok(state()
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::NotFound)?)
    }
}

/// Users whose email contains `query` (all when empty), with active session counts.
#[server(endpoint = "admin/users", prefix = "/api")]
pub async fn admin_users(query: Option<String>) -> Result<Vec<AdminUser>, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        let query = query.unwrap_or_default();
        let users = state()
            .db
            .search_users(query.trim(), crate::db::now_ms())
            .await?;
        Ok(users
            .into_iter()
            .map(|u| AdminUser {
                id: u.id,
                email: u.email,
                role: u.role,
                disabled: u.disabled,
                sessions: u.sessions,
            })
            .collect())
    })
    .await
}

/// A user's active sessions.
#[server(endpoint = "admin/sessions", prefix = "/api")]
pub async fn admin_sessions(user_id: String) -> Result<Vec<SessionInfo>, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        let user = target_user(&user_id).await?;
        let sessions = state()
            .db
            .active_sessions(&user.id, crate::db::now_ms())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|s| crate::sessions::session_info(s, None))
            .collect())
    })
    .await
}

#[cfg(feature = "ssr")]
async fn set_disabled(user_id: String, disabled: bool) -> Result<Done, AppError> {
    use self::ssr::*;
    use crate::error::ErrorCode;
    let admin = require_admin().await?;
    let user = target_user(&user_id).await?;
    if disabled && user.id == admin.id {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "You cannot disable your own account.",
        ));
    }
    let state = state();
    state.db.set_disabled(&user.id, disabled).await?;
    let (kind, detail) = if disabled {
        let ended = state
            .end_user_sessions(&user.id, None, "account_disabled")
            .await?;
        tracing::info!(admin_id = %admin.id, user_id = %user.id, sessions_ended = ended, "account disabled by admin");
        (
            "account_disabled",
            format!("Disabled by an administrator; {ended} session(s) ended"),
        )
    } else {
        tracing::info!(admin_id = %admin.id, user_id = %user.id, "account enabled by admin");
        ("account_enabled", "Enabled by an administrator".to_owned())
    };
    state.record_event(&user.id, kind, &client(), &detail).await;
    Ok(Done {})
}

/// Disables an account and ends all its sessions at once.
#[server(endpoint = "admin/disable_user", prefix = "/api")]
pub async fn disable_user(user_id: String) -> Result<Done, AppError> {
    self::ssr::run(set_disabled(user_id, true)).await
}

/// Enables a disabled account.
#[server(endpoint = "admin/enable_user", prefix = "/api")]
pub async fn enable_user(user_id: String) -> Result<Done, AppError> {
    self::ssr::run(set_disabled(user_id, false)).await
}

/// Revokes any session.
#[server(endpoint = "admin/revoke_session", prefix = "/api")]
pub async fn admin_revoke_session(session_id: String) -> Result<Done, AppError> {
    use self::ssr::*;
    use crate::error::ErrorCode;
    run(async move {
        let admin = require_admin().await?;
        let state = state();
        let session = state
            .db
            .session(&session_id)
            .await?
            .filter(|s| s.revoked_at.is_none())
            .ok_or(ErrorCode::NotFound)?;
        state.end_session(&session.id, "admin_revoked").await?;
        tracing::info!(admin_id = %admin.id, user_id = %session.user_id, session_id = %session.id, "session revoked by admin");
        let detail = format!(
            "An administrator signed out {}",
            crate::sessions::device::device_name(&session.user_agent)
        );
        state.record_event(&session.user_id, "admin_revoked_session", &client(), &detail).await;
        Ok(Done {})
    })
    .await
}
