//! The second factor, as the browser reaches it: the second step of a
//! sign-in, and setting up or removing an authenticator app and its
//! recovery codes. Each server function parses its fields, makes one
//! service call and shapes the answer.

use crate::{
    auth::{Done, UserInfo},
    error::AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

server_only! {
    pub mod recovery_codes;
    pub mod service;
    pub mod totp;
}

/// The account's second factor, as the security page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorStatus {
    /// Whether an authenticator app is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// A new authenticator secret, not active until confirmed with a code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// Recovery codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesAnswer {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodesAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodesAnswer(<redacted>)")
    }
}

/// Completes a sign-in's second step with a code from the authenticator
/// app or a recovery code; `next` is where a form post without JavaScript
/// goes afterwards.
#[server(endpoint = "login_mfa", prefix = "/api")]
pub async fn login_mfa(code: String, next: Option<String>) -> Result<UserInfo, AppError> {
    use crate::auth::ssr::*;
    let _ = next;
    run(async move {
        let token = second_step_cookie();
        let answer = state()
            .auth
            .finish_second_step(
                token.as_deref().unwrap_or_default(),
                &code,
                crate::sessions::service::SessionKind::Browser,
                device_cookie().as_deref(),
                &client(),
            )
            .await;
        match answer {
            Ok((user, issued)) => {
                clear_second_step();
                Ok(signed_in(user, &issued))
            }
            Err(err) => {
                if err.error == crate::error::ErrorCode::InvalidToken {
                    clear_second_step();
                }
                Err(err)
            }
        }
    })
    .await
}

/// Starts setting up an authenticator app (needs a recent sign-in).
#[server(endpoint = "totp/enroll", prefix = "/api")]
pub async fn totp_enroll() -> Result<TotpEnrollment, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        let state = state();
        let user = state
            .auth
            .user(&me.user_id)
            .await?
            .ok_or(crate::error::ErrorCode::Unauthenticated)?;
        let e = state.mfa.enroll(&me, &user).await?;
        Ok(TotpEnrollment {
            secret: e.secret,
            otpauth_url: e.otpauth_url,
            qr_svg: e.qr_svg,
        })
    })
    .await
}

/// Turns the authenticator app on with its first code; the recovery codes.
#[server(endpoint = "totp/confirm", prefix = "/api")]
pub async fn totp_confirm(code: String) -> Result<RecoveryCodesAnswer, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        let recovery_codes = state().mfa.confirm(&me, &code, &client()).await?;
        Ok(RecoveryCodesAnswer { recovery_codes })
    })
    .await
}

/// Turns the authenticator app off (takes the current password); other
/// sessions end.
#[server(endpoint = "totp/disable", prefix = "/api")]
pub async fn totp_disable(password: String) -> Result<Done, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        state()
            .auth
            .disable_second_factor(&me, passwords::Password::new(password), &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// A new set of recovery codes; the old ones stop working.
#[server(endpoint = "recovery_codes", prefix = "/api")]
pub async fn recovery_codes() -> Result<RecoveryCodesAnswer, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        let recovery_codes = state().mfa.regenerate(&me, &client()).await?;
        Ok(RecoveryCodesAnswer { recovery_codes })
    })
    .await
}

/// The signed-in account's second factor.
#[server(endpoint = "mfa_status", prefix = "/api")]
pub async fn mfa_status() -> Result<FactorStatus, AppError> {
    use crate::auth::ssr::*;
    run(async move {
        let me = authed()?;
        state().mfa.status(&me.user_id).await
    })
    .await
}
