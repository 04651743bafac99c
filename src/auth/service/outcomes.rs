//! The sign-in entry points as clients call them: each runs its checks
//! (in the other files of this module) and counts how the attempt ended,
//! by method and outcome, for the metrics.

use super::{AuthService, SignIn};
use crate::{
    auth::passwords::Password,
    error::{AppError, ErrorCode},
    request::ClientInfo,
    sessions::{service::Federated, tokens::IssuedTokens},
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

/// How a first step ended: signed in, a second step to come, or refused.
fn first_step(
    result: &Result<SignIn, AppError>,
    refused: impl Fn(&AppError) -> SignInOutcome,
) -> SignInOutcome {
    match result {
        Ok(SignIn::Done(..)) => SignInOutcome::Ok,
        Ok(SignIn::SecondStep { .. }) => SignInOutcome::MfaRequired,
        Err(err) => refused(err),
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
        telemetry::sign_in(SignInVia::Password, first_step(&result, refused));
        result
    }

    /// Signs in `user`, who proved who they are at a provider (the
    /// account layer decided which account that is): the account's own
    /// second factor is still asked, unless `second_factor_done` (the
    /// provider reported one and the administrator trusts it).
    pub async fn sign_in_federated(
        &self,
        user: &User,
        federated: Federated,
        second_factor_done: bool,
        known_device: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let result = self
            .check_federated(user, &federated, second_factor_done, known_device, client)
            .await;
        // No password or code was checked here: a refusal is the account
        // (disabled) or the service.
        let outcome = first_step(&result, |err| match err.error {
            ErrorCode::AccountDisabled => SignInOutcome::Disabled,
            _ => SignInOutcome::Error,
        });
        telemetry::sign_in(SignInVia::Provider, outcome);
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
