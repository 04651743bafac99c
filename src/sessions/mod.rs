//! The sessions capability, as the browser reaches it: the signed-in
//! person's devices (list, revoke one or all others), password change,
//! account deletion and the security log. Each server function parses its
//! fields, makes one service call and shapes the answer.

use crate::{auth::Done, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub mod events;

server_only! {
    pub mod device;
    pub mod revocations;
    pub mod service;
}

use events::EventKind;

/// One active session, as the sessions page shows it. Carries no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub device: String,
    pub kind: String,
    /// How it signed in: `password`, `password+totp`, `recovery_code` or
    /// `passkey`.
    pub method: String,
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub current: bool,
}

/// One entry of the security log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventInfo {
    pub kind: EventKind,
    pub at: String,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked: usize,
}

/// How long security events are kept.
pub const EVENT_RETENTION_DAYS: i64 = 90;

/// Every active session of the signed-in user, the current one first.
#[server(endpoint = "list_sessions", prefix = "/api")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        state()
            .sessions
            .list(&me.user_id, Some(&me.session_id))
            .await
    })
    .await
}

/// Revokes one of the signed-in user's sessions by its id. Another user's
/// session answers exactly like a missing one.
#[server(endpoint = "revoke_session", prefix = "/api")]
pub async fn revoke_session(session_id: String) -> Result<Done, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        let was_current = state()
            .account
            .revoke_own(&me, &session_id.into(), &client())
            .await?;
        if was_current {
            clear_tokens();
        }
        Ok(Done {})
    })
    .await
}

/// Signs out every other device; keeps this one.
#[server(endpoint = "revoke_other_sessions", prefix = "/api")]
pub async fn revoke_other_sessions() -> Result<Revoked, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        let revoked = state().account.revoke_others(&me, &client()).await?;
        Ok(Revoked { revoked })
    })
    .await
}

/// Changes the password: every other session ends, this one continues with
/// freshly rotated tokens.
#[server(endpoint = "change_password", prefix = "/api")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<Done, AppError> {
    use crate::auth::{passwords::Password, ssr::*};
    run(async move {
        let me = authed()?;
        let issued = state()
            .account
            .change_password(
                &me,
                Password::new(current_password),
                Password::new(new_password),
                &client(),
            )
            .await?;
        store_tokens(&issued);
        Ok(Done {})
    })
    .await
}

/// Deletes the account with its sessions and security log, after checking the password.
#[server(endpoint = "delete_account", prefix = "/api")]
pub async fn delete_account(password: String) -> Result<Done, AppError> {
    use crate::auth::{passwords::Password, ssr::*};
    run(async move {
        let me = authed()?;
        state()
            .account
            .delete(&me, Password::new(password), &client())
            .await?;
        Ok(signed_out())
    })
    .await
}

/// The signed-in user's security log, newest first.
#[server(endpoint = "security_events", prefix = "/api")]
pub async fn security_events() -> Result<Vec<SecurityEventInfo>, AppError> {
    use crate::auth::ssr::*;
    run(async move { state().sessions.events(&authed()?.user_id).await }).await
}

/// Notices not yet dismissed ("new device or address"), newest first.
#[server(endpoint = "notices", prefix = "/api")]
pub async fn notices() -> Result<Vec<SecurityEventInfo>, AppError> {
    use crate::auth::ssr::*;
    run(async move { state().sessions.notices(&authed()?.user_id).await }).await
}

/// Marks the pending notices as seen.
#[server(endpoint = "dismiss_notices", prefix = "/api")]
pub async fn dismiss_notices() -> Result<Done, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        state().sessions.dismiss_notices(&authed()?.user_id).await?;
        Ok(Done {})
    })
    .await
}
