//! The auth capability's server functions, as the browser reaches them:
//! registering, signing in, silent refresh and signing out. Each parses its
//! fields, makes one service call and shapes the answer.

use crate::{
    auth::{CurrentUser, Done, LoginAnswer, Refreshed, UserInfo},
    error::AppError,
};
use leptos::prelude::*;

/// Creates an account and signs it in.
#[server(endpoint = "register", prefix = "/api")]
pub async fn register(email: String, password: String) -> Result<UserInfo, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let (user, issued) = state()
            .auth
            .register(&email, passwords::Password::new(password), &client())
            .await?;
        Ok(signed_in(user, &issued))
    })
    .await
}

/// Signs in; `next` is where a form post without JavaScript goes afterwards.
#[server(endpoint = "login", prefix = "/api")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<LoginAnswer, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let answer = state()
            .auth
            .login(
                &email,
                passwords::Password::new(password),
                crate::vocab::SessionKind::Browser,
                device_cookie().as_deref(),
                &client(),
            )
            .await?;
        Ok(answer_sign_in(answer, next.as_deref()))
    })
    .await
}

/// Rotates the refresh cookie and issues a new access cookie.
#[server(endpoint = "refresh", prefix = "/api")]
pub async fn refresh() -> Result<Refreshed, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let token = refresh_cookie().ok_or(crate::error::ErrorCode::Unauthenticated)?;
        let issued = state().auth.refresh(&token, &client()).await;
        let issued = issued.inspect_err(|err| {
            if err.error.ends_renewal() {
                clear_tokens();
            }
        })?;
        store_tokens(&issued);
        Ok(Refreshed {
            expires_at: crate::clock::rfc3339(issued.access.expires_at * 1000),
        })
    })
    .await
}

/// Ends this browser's session and clears its cookies; safe to repeat.
#[server(endpoint = "logout", prefix = "/api")]
pub async fn logout() -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed().ok();
        state()
            .auth
            .logout(refresh_cookie().as_deref(), me.as_ref(), &client())
            .await?;
        Ok(signed_out())
    })
    .await
}

/// Proves a factor again (the password, or a second-factor code) so this
/// session may take sensitive actions for the next few minutes.
#[server(endpoint = "reauthenticate", prefix = "/api")]
pub async fn reauthenticate(
    password: Option<String>,
    code: Option<String>,
) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state()
            .auth
            .reauthenticate(
                &me,
                password.map(passwords::Password::new),
                code.as_deref(),
                device_cookie().as_deref(),
                &client(),
            )
            .await?;
        Ok(Done {})
    })
    .await
}

/// The signed-in person, if any.
#[server(endpoint = "whoami", prefix = "/api")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let Ok(authed) = authed() else {
            return Ok(None);
        };
        let Some(user) = state().auth.user(&authed.user_id).await? else {
            return Ok(None);
        };
        let has_password = user.has_password();
        Ok(Some(CurrentUser {
            id: user.id.into_string(),
            email: user.email,
            email_verified: user.email_verified_at.is_some(),
            has_password,
            role: user.role,
            access_expires_at: authed.access_expires_at,
        }))
    })
    .await
}
