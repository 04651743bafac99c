//! The sessions capability's server functions, as the browser reaches
//! them: the signed-in person's devices (list, revoke one or all others),
//! password change, account deletion and the security log. Each parses its
//! fields, makes one service call and shapes the answer.

use crate::{
    auth::Done,
    error::AppError,
    sessions::{Revoked, SecurityEventInfo, SessionInfo},
};
use leptos::prelude::*;

/// Every active session of the signed-in user, the current one first.
#[server(endpoint = "list_sessions", prefix = "/api")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::http::server_fn::*;
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
    use crate::http::server_fn::*;
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
    use crate::http::server_fn::*;
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
    use crate::{auth::passwords::Password, http::server_fn::*};
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
    use crate::{auth::passwords::Password, http::server_fn::*};
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
    use crate::http::server_fn::*;
    run(async move { state().sessions.events(&authed()?.user_id).await }).await
}

/// Notices not yet dismissed ("new device or address"), newest first.
#[server(endpoint = "notices", prefix = "/api")]
pub async fn notices() -> Result<Vec<SecurityEventInfo>, AppError> {
    use crate::http::server_fn::*;
    run(async move { state().sessions.notices(&authed()?.user_id).await }).await
}

/// Marks the pending notices as seen.
#[server(endpoint = "dismiss_notices", prefix = "/api")]
pub async fn dismiss_notices() -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        state().sessions.dismiss_notices(&authed()?.user_id).await?;
        Ok(Done {})
    })
    .await
}
