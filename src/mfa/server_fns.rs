//! The second factor's server functions, as the browser reaches them: the
//! second step of a sign-in, and setting up or removing an authenticator
//! app, its recovery codes and passkeys. Each parses its fields, makes one
//! service call and shapes the answer.

use crate::{
    auth::{Done, UserInfo},
    error::AppError,
    mfa::{FactorStatus, PasskeyInfo, RecoveryCodesAnswer, TotpEnrollment},
};
use leptos::prelude::*;

/// Completes a sign-in's second step with a code from the authenticator
/// app or a recovery code; `next` is where a form post without JavaScript
/// goes afterwards.
#[server(endpoint = "login_mfa", prefix = "/api")]
pub async fn login_mfa(code: String, next: Option<String>) -> Result<UserInfo, AppError> {
    use crate::http::server_fn::*;
    let _ = next;
    run(async move {
        let token = second_step_cookie();
        let answer = state()
            .auth
            .finish_second_step(
                token.as_deref().unwrap_or_default(),
                &code,
                crate::vocab::SessionKind::Browser,
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
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let e = state().account.enroll_totp(&me).await?;
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
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let recovery_codes = state().account.confirm_totp(&me, &code, &client()).await?;
        Ok(RecoveryCodesAnswer { recovery_codes })
    })
    .await
}

/// Turns the authenticator app off (takes the current password); other
/// sessions end.
#[server(endpoint = "totp/disable", prefix = "/api")]
pub async fn totp_disable(password: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state()
            .account
            .disable_totp(&me, passwords::Password::new(password), &client())
            .await?;
        Ok(Done {})
    })
    .await
}

/// A new set of recovery codes; the old ones stop working.
#[server(endpoint = "recovery_codes", prefix = "/api")]
pub async fn recovery_codes() -> Result<RecoveryCodesAnswer, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let recovery_codes = state()
            .account
            .regenerate_recovery_codes(&me, &client())
            .await?;
        Ok(RecoveryCodesAnswer { recovery_codes })
    })
    .await
}

/// The signed-in account's second factor.
#[server(endpoint = "mfa_status", prefix = "/api")]
pub async fn mfa_status() -> Result<FactorStatus, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state().mfa.status(&me.user_id).await
    })
    .await
}

/// Starts adding a passkey (needs a recent sign-in): WebAuthn creation
/// options for `navigator.credentials.create`.
#[server(endpoint = "passkey/register_start", prefix = "/api")]
pub async fn passkey_register_start() -> Result<serde_json::Value, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let (options, ceremony) = state().account.start_passkey(&me).await?;
        store_ceremony(&ceremony);
        Ok(options)
    })
    .await
}

/// Finishes adding a passkey: `credential` is the browser's answer (JSON).
#[server(endpoint = "passkey/register_finish", prefix = "/api")]
pub async fn passkey_register_finish(
    name: String,
    credential: String,
) -> Result<PasskeyInfo, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let added = state()
            .account
            .finish_passkey(
                &me,
                ceremony_cookie().as_deref(),
                &name,
                &credential,
                &client(),
            )
            .await;
        clear_ceremony();
        added
    })
    .await
}

/// Starts a passkey sign-in: WebAuthn request options.
#[server(endpoint = "passkey/login_start", prefix = "/api")]
pub async fn passkey_login_start() -> Result<serde_json::Value, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let (options, ceremony) = state().mfa.passkeys().sign_in_start(&client()).await?;
        store_ceremony(&ceremony);
        Ok(options)
    })
    .await
}

/// Signs in with a passkey (both factors at once).
#[server(endpoint = "passkey/login_finish", prefix = "/api")]
pub async fn passkey_login_finish(credential: String) -> Result<UserInfo, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let answer = state()
            .auth
            .passkey_sign_in(
                ceremony_cookie().as_deref(),
                &credential,
                device_cookie().as_deref(),
                &client(),
            )
            .await;
        clear_ceremony();
        let (user, issued) = answer?;
        Ok(signed_in(user, &issued))
    })
    .await
}

/// The signed-in account's passkeys.
#[server(endpoint = "passkey/list", prefix = "/api")]
pub async fn passkey_list() -> Result<Vec<PasskeyInfo>, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state().mfa.passkeys().list(&me.user_id).await
    })
    .await
}

/// Renames one of the account's passkeys.
#[server(endpoint = "passkey/rename", prefix = "/api")]
pub async fn passkey_rename(id: String, name: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state().mfa.passkeys().rename(&me, &id, &name).await?;
        Ok(Done {})
    })
    .await
}

/// Removes one of the account's passkeys (needs a recent sign-in).
#[server(endpoint = "passkey/remove", prefix = "/api")]
pub async fn passkey_remove(id: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state().account.remove_passkey(&me, &id, &client()).await?;
        Ok(Done {})
    })
    .await
}
