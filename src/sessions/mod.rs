//! The signed-in person's devices and security log: list sessions, revoke one
//! or all others, change the password, delete the account.

use crate::{auth::Done, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod device;

/// One active session, as the sessions page shows it. Carries no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub device: String,
    pub kind: String,
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub current: bool,
}

/// One entry of the security log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventInfo {
    pub kind: String,
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

/// The listing of a stored session; `current` is the caller's session id.
#[cfg(feature = "ssr")]
pub fn session_info(s: crate::db::Session, current: Option<&str>) -> SessionInfo {
    use crate::db::rfc3339;
    SessionInfo {
        current: current == Some(s.id.as_str()),
        device: device::device_name(&s.user_agent),
        kind: s.kind,
        ip: s.ip,
        created_at: rfc3339(s.created_at),
        last_used_at: rfc3339(s.last_used_at),
        id: s.id,
    }
}

/// The listing of a stored security event.
#[cfg(feature = "ssr")]
fn event_info(e: crate::db::SecurityEvent) -> SecurityEventInfo {
    SecurityEventInfo {
        kind: e.kind,
        at: crate::db::rfc3339(e.at),
        device: e.device,
        ip: e.ip,
        detail: e.detail,
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::auth::{middleware::AuthedUser, ssr::*};
    use crate::{db::SecurityEvent, error::AppError};

    /// The user's security events within the retention period, newest first.
    pub async fn recent_events(user_id: &str) -> Result<Vec<SecurityEvent>, AppError> {
        let since = crate::db::now_ms() - super::EVENT_RETENTION_DAYS * 24 * 3600 * 1000;
        state().db.events(user_id, since).await
    }

    /// The signed-in user of this request, or the reason there is none.
    pub fn signed_in() -> Result<AuthedUser, AppError> {
        auth().require().cloned()
    }
}

/// Every active session of the signed-in user, the current one first.
#[server(endpoint = "list_sessions", prefix = "/api")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use self::ssr::*;
    use crate::db::now_ms;
    run(async move {
        let me = signed_in()?;
        let mut sessions: Vec<SessionInfo> = state()
            .db
            .active_sessions(&me.user_id, now_ms())
            .await?
            .into_iter()
            .map(|s| session_info(s, Some(&me.session_id)))
            .collect();
        // Stable: the current session first, then most recently used.
        sessions.sort_by_key(|s| !s.current);
        Ok(sessions)
    })
    .await
}

/// Revokes one of the signed-in user's sessions by its id. Another user's
/// session answers exactly like a missing one.
#[server(endpoint = "revoke_session", prefix = "/api")]
pub async fn revoke_session(session_id: String) -> Result<Done, AppError> {
    use self::ssr::*;
    use crate::error::ErrorCode;
    run(async move {
        let me = signed_in()?;
        let state = state();
        let target = state
            .db
            .session(&session_id)
            .await?
            .filter(|s| s.user_id == me.user_id && s.revoked_at.is_none())
            .ok_or(ErrorCode::NotFound)?;
        state.end_session(&target.id, "revoked").await?;
        let detail = format!("Signed out {} from this device", device::device_name(&target.user_agent));
        tracing::info!(user_id = %me.user_id, session_id = %target.id, by_session = %me.session_id, "session revoked");
        state.record_event(&me.user_id, "session_revoked", &client(), &detail).await;
        if target.id == me.session_id {
            clear_token_cookies();
        }
        Ok(Done {})
    })
    .await
}

/// Signs out every other device; keeps this one.
#[server(endpoint = "revoke_other_sessions", prefix = "/api")]
pub async fn revoke_other_sessions() -> Result<Revoked, AppError> {
    use self::ssr::*;
    run(async move {
        let me = signed_in()?;
        let state = state();
        let revoked = state
            .end_user_sessions(&me.user_id, Some(&me.session_id), "revoked")
            .await?;
        tracing::info!(user_id = %me.user_id, revoked, "other sessions revoked");
        if revoked > 0 {
            let detail = format!("Signed out {revoked} other device(s) from this device");
            state
                .record_event(&me.user_id, "session_revoked", &client(), &detail)
                .await;
        }
        Ok(Revoked { revoked })
    })
    .await
}

/// Changes the password: every other session ends, this one continues with
/// freshly rotated tokens (OWASP Session Management Cheat Sheet, "Renew the
/// Session ID After Any Privilege Level Change").
#[server(endpoint = "change_password", prefix = "/api")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<Done, AppError> {
    use self::ssr::*;
    use crate::auth::passwords::Password;
    run(async move {
        let me = signed_in()?;
        let state = state();
        let client = client();
        let user = state
            .verify_password_of(&me.user_id, Password::new(current_password), &client)
            .await?;
        let new_password = Password::new(new_password);
        let local_part = user.email.split('@').next().unwrap_or_default();
        crate::auth::passwords::check_new_password(
            &new_password,
            &[&user.email, local_part, "gatehouse"],
        )?;
        let hash = state.passwords.hash(&new_password).await?;
        state.db.set_password_hash(&user.id, &hash).await?;
        let revoked = state
            .end_user_sessions(&user.id, Some(&me.session_id), "password_changed")
            .await?;
        let issued = state.reissue(&me.session_id, &client).await?;
        set_token_cookies(&issued);
        tracing::info!(user_id = %user.id, revoked, "password changed");
        state
            .record_event(
                &user.id,
                "password_changed",
                &client,
                &format!("Password changed; {revoked} other session(s) ended"),
            )
            .await;
        Ok(Done {})
    })
    .await
}

/// Deletes the account with its sessions and security log, after checking the password.
#[server(endpoint = "delete_account", prefix = "/api")]
pub async fn delete_account(password: String) -> Result<Done, AppError> {
    use self::ssr::*;
    use crate::auth::passwords::Password;
    run(async move {
        let me = signed_in()?;
        let state = state();
        let user = state
            .verify_password_of(&me.user_id, Password::new(password), &client())
            .await?;
        let ids: Vec<String> = state
            .db
            .active_sessions(&user.id, 0)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        state.db.delete_user(&user.id).await?;
        state
            .revocations
            .insert_all(&ids, crate::db::now_ms(), "account_deleted");
        tracing::info!(user_id = %user.id, "account deleted");
        clear_token_cookies();
        Ok(Done {})
    })
    .await
}

/// The signed-in user's security log, newest first.
#[server(endpoint = "security_events", prefix = "/api")]
pub async fn security_events() -> Result<Vec<SecurityEventInfo>, AppError> {
    use self::ssr::*;
    run(async move {
        let me = signed_in()?;
        Ok(recent_events(&me.user_id)
            .await?
            .into_iter()
            .map(event_info)
            .collect())
    })
    .await
}

/// Notices not yet dismissed ("new device or address"), newest first.
#[server(endpoint = "notices", prefix = "/api")]
pub async fn notices() -> Result<Vec<SecurityEventInfo>, AppError> {
    use self::ssr::*;
    run(async move {
        let me = signed_in()?;
        Ok(recent_events(&me.user_id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "new_device" && !e.dismissed)
            .map(event_info)
            .collect())
    })
    .await
}

/// Marks the pending notices as seen.
#[server(endpoint = "dismiss_notices", prefix = "/api")]
pub async fn dismiss_notices() -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let me = signed_in()?;
        state().db.dismiss_notices(&me.user_id).await?;
        Ok(Done {})
    })
    .await
}
