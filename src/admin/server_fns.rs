//! The admin console's server functions: search users, see their sessions,
//! disable or enable an account, revoke any session. Administrators only;
//! each checks the role, makes one service call and shapes the answer.

use crate::{
    admin::{AdminUser, Dashboard, EventPage},
    auth::Done,
    error::AppError,
    sessions::SessionInfo,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::admin::service::Actor;
    pub use crate::http::server_fn::*;
    use crate::{error::AppError, store::User};

    /// The signed-in administrator, or `403 forbidden`.
    pub async fn require_admin() -> Result<User, AppError> {
        state().admin.require_admin(&authed()?.user_id).await
    }
}

/// Users whose email contains `query` (all when empty), with active session counts.
#[server(endpoint = "admin/users", prefix = "/api")]
pub async fn admin_users(query: Option<String>) -> Result<Vec<AdminUser>, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        state().admin.users(&query.unwrap_or_default()).await
    })
    .await
}

/// The security dashboard: events of every account per hour and per day,
/// the accounts guesses are aimed at and the busiest client networks.
#[server(endpoint = "admin/dashboard", prefix = "/api")]
pub async fn admin_dashboard() -> Result<Dashboard, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        state().admin.dashboard().await
    })
    .await
}

/// A page of every account's security events, newest first: optionally of
/// one `kind`, of accounts whose email contains `email`, older than
/// `before` (the `next` of the page before).
#[server(endpoint = "admin/events", prefix = "/api")]
pub async fn admin_events(
    kind: Option<String>,
    email: Option<String>,
    before: Option<String>,
) -> Result<EventPage, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        state()
            .admin
            .events(kind.as_deref(), email.as_deref(), before.as_deref())
            .await
    })
    .await
}

/// A user's active sessions.
#[server(endpoint = "admin/sessions", prefix = "/api")]
pub async fn admin_sessions(user_id: String) -> Result<Vec<SessionInfo>, AppError> {
    use self::ssr::*;
    run(async move {
        require_admin().await?;
        state().admin.user_sessions(&user_id.into()).await
    })
    .await
}

#[cfg(feature = "ssr")]
async fn set_disabled(user_id: String, disabled: bool) -> Result<Done, AppError> {
    use self::ssr::*;
    let admin = require_admin().await?;
    let me = authed()?;
    state()
        .account
        .set_disabled(
            Actor::Admin(&admin),
            Some(&me),
            &user_id.into(),
            disabled,
            &client(),
        )
        .await?;
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

/// Removes a person's second factor (authenticator app and recovery
/// codes); they are told by mail.
#[server(endpoint = "admin/reset_mfa", prefix = "/api")]
pub async fn admin_reset_mfa(user_id: String) -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let admin = require_admin().await?;
        // Stripping someone's factor is sensitive enough to need the
        // administrator's own recent sign-in.
        state().sessions.require_recent_proof(&authed()?).await?;
        state()
            .account
            .reset_second_factor(Actor::Admin(&admin), &user_id.into(), &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// Revokes any session.
#[server(endpoint = "admin/revoke_session", prefix = "/api")]
pub async fn admin_revoke_session(session_id: String) -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let admin = require_admin().await?;
        let me = authed()?;
        state()
            .account
            .admin_revoke(
                Actor::Admin(&admin),
                Some(&me),
                &session_id.into(),
                &client(),
            )
            .await?;
        Ok(Done {})
    })
    .await
}
