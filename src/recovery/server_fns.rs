//! The recovery capability's server functions, as the browser reaches
//! them: asking for and using a password-reset link, proving an address,
//! changing it, and ending a sign-in that was not the owner's. Each parses
//! its fields, makes one service call and shapes the answer.

use crate::{auth::Done, error::AppError, recovery::OutboxMessage};
use leptos::prelude::*;

/// Mails a reset link if the account exists; answers the same either way.
#[server(endpoint = "request_password_reset", prefix = "/api")]
pub async fn request_password_reset(email: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        state()
            .recovery
            .request_password_reset(&email, &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// Sets a new password from a reset link and signs this browser in.
#[server(endpoint = "reset_password", prefix = "/api")]
pub async fn reset_password(
    token: String,
    new_password: String,
) -> Result<crate::auth::LoginAnswer, AppError> {
    use crate::{auth::passwords::Password, http::server_fn::*};
    run(async move {
        let answer = state()
            .account
            .reset_password(&token, Password::new(new_password), &client())
            .await?;
        Ok(answer_sign_in(answer, Some("/")))
    })
    .await
}

/// Mails a new verification link to the signed-in person's address.
#[server(endpoint = "send_verification", prefix = "/api")]
pub async fn send_verification() -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        state().recovery.send_verification(&authed()?).await?;
        Ok(Done {})
    })
    .await
}

/// Proves an address with the link sent to it.
#[server(endpoint = "verify_email", prefix = "/api")]
pub async fn verify_email(token: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        state().recovery.verify_email(&token, &client()).await?;
        Ok(Done {})
    })
    .await
}

/// Starts an address change (the current password is required).
#[server(endpoint = "change_email", prefix = "/api")]
pub async fn change_email(new_email: String, password: String) -> Result<Done, AppError> {
    use crate::{auth::passwords::Password, http::server_fn::*};
    run(async move {
        let me = authed()?;
        state()
            .recovery
            .change_email(&me, &new_email, Password::new(password), &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// Completes an address change with the link sent to the new address.
#[server(endpoint = "confirm_email_change", prefix = "/api")]
pub async fn confirm_email_change(token: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed().ok();
        state()
            .account
            .confirm_email_change(&token, me.as_ref(), &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// Ends the session a sign-in alert was about.
#[server(endpoint = "not_me", prefix = "/api")]
pub async fn not_me(token: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        state().account.not_me(&token, &client()).await?;
        Ok(Done {})
    })
    .await
}

/// The development outbox, newest first; `not_found` in production.
#[server(endpoint = "dev_outbox", prefix = "/api")]
pub async fn dev_outbox() -> Result<Vec<OutboxMessage>, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let config = state().config.clone();
        // Development only, and only to the machine itself: the outbox holds
        // working sign-in links for every account.
        let local = client()
            .ip
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if config.environment == crate::config::Environment::Production
            || config.mail.smtp_url.is_some()
            || !local
        {
            return Err(crate::error::ErrorCode::NotFound.into());
        }
        crate::recovery::outbox::read(&crate::recovery::mail::outbox_dir(&config))
            .await
            .map_err(AppError::internal)
    })
    .await
}
