//! The sign-in entry points as clients call them: each runs its checks
//! (in the other files of this module) and counts how the attempt ended,
//! by method and outcome, for the metrics.

use super::{AuthService, SignIn};
use crate::{
    auth::passwords::Password,
    error::{AppError, ErrorCode},
    request::ClientInfo,
    sessions::tokens::IssuedTokens,
    store::User,
    telemetry::{self, SignInOutcome, SignInVia},
    vocab::SessionKind,
};

/// How an attempt that did not open a session ended.
fn refused(err: &AppError) -> SignInOutcome {
    match err.error {
        ErrorCode::InvalidCredentials => SignInOutcome::WrongPassword,
        ErrorCode::InvalidCode => SignInOutcome::WrongCode,
        ErrorCode::Throttled => SignInOutcome::Throttled,
        ErrorCode::EmailUnverified => SignInOutcome::EmailUnverified,
        ErrorCode::AccountDisabled => SignInOutcome::Disabled,
        ErrorCode::Unavailable | ErrorCode::Internal => SignInOutcome::Error,
        _ => SignInOutcome::Failed,
    }
}

impl AuthService {
    /// Signs in with an email and password: a session, or the second step
    /// for an account with a second factor (see `check_password`).
    pub async fn login(
        &self,
        email: &str,
        password: Password,
        kind: SessionKind,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let result = self
            .check_password(email, password, kind, device, client)
            .await;
        let outcome = match &result {
            Ok(SignIn::Done(..)) => SignInOutcome::Ok,
            Ok(SignIn::SecondStep { .. }) => SignInOutcome::MfaRequired,
            Err(err) => refused(err),
        };
        telemetry::sign_in(SignInVia::Password, outcome);
        result
    }

    /// Finishes a sign-in's second step with a code (see `check_second_step`).
    pub async fn finish_second_step(
        &self,
        token: &str,
        code: &str,
        kind: SessionKind,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let result = self
            .check_second_step(token, code, kind, device, client)
            .await;
        telemetry::sign_in(
            SignInVia::Code,
            result.as_ref().map_or_else(refused, |_| SignInOutcome::Ok),
        );
        result
    }

    /// Signs in with a passkey (see `check_passkey`).
    pub async fn passkey_sign_in(
        &self,
        ceremony: Option<&str>,
        credential: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let result = self
            .check_passkey(ceremony, credential, device, client)
            .await;
        let outcome = match &result {
            Ok(_) => SignInOutcome::Ok,
            // No such passkey, or a signature that does not verify.
            Err(err) if err.error == ErrorCode::InvalidCredentials => SignInOutcome::Failed,
            Err(err) => refused(err),
        };
        telemetry::sign_in(SignInVia::Passkey, outcome);
        result
    }
}
