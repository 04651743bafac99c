//! The second step of a sign-in, and checking a second-factor code with
//! the same throttling as a password (OWASP Multifactor Authentication
//! Cheat Sheet, "Failed login attempts"). The factors themselves live in
//! `mfa::service`.

use super::AuthService;
use crate::{
    auth::throttle::{self, ThrottleKeys},
    error::{AppError, ErrorCode},
    request::ClientInfo,
    sessions::{service::Federated, tokens::IssuedTokens},
    store::User,
    vocab::{EventKind, SessionKind, SignInMethod},
};

/// How a correct password ended. Made once per sign-in and taken apart at
/// once, so the size difference of its variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum SignIn {
    /// Signed in: the session is open.
    Done(User, IssuedTokens),
    /// The account has a second factor: no session yet, only a second step
    /// (`token`, for the `__Host-gh_mfa` cookie or the API's `mfa_token`)
    /// that a code completes.
    SecondStep {
        token: String,
        methods: Vec<&'static str>,
    },
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignIn::Done(user, _) => write!(f, "SignIn::Done({})", user.id),
            SignIn::SecondStep { methods, .. } => write!(f, "SignIn::SecondStep({methods:?})"),
        }
    }
}

impl AuthService {
    /// A correct password for an account with a second factor: open the
    /// second step, no session.
    pub(super) async fn second_step(
        &self,
        user: &User,
        kind: SessionKind,
        methods: Vec<&'static str>,
        known_device: bool,
        federated: Option<&Federated>,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let token = self
            .mfa
            .open_step(&user.id, kind, known_device, federated)
            .await?;
        tracing::info!(user_id = %user.id, kind = kind.as_str(), "first factor accepted; second factor required");
        match federated {
            Some(f) => {
                let detail = format!("Signed in at {}", self.config.provider_label(&f.provider));
                self.sessions
                    .record_event(&user.id, EventKind::SecondStepStarted, client, &detail)
                    .await;
            }
            None => self.sessions.record_event_later(
                &user.id,
                EventKind::SecondStepStarted,
                client,
                "Password accepted",
            ),
        }
        Ok(SignIn::SecondStep { token, methods })
    }

    /// Completes a sign-in's second step with a code: the session opens
    /// once, for one caller; a wrong code leaves the step open (within its
    /// five minutes) and counts as a failed attempt.
    pub(super) async fn check_second_step(
        &self,
        token: &str,
        code: &str,
        kind: SessionKind,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        if code.trim().is_empty() {
            return Err(AppError::invalid_input("Enter the code."));
        }
        let step = self.mfa.find_step(token, kind).await?;
        let user = self.db.user_by_id(&step.user_id).await?;
        let user = user.ok_or(ErrorCode::InvalidToken)?;
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }
        let method = match self.check_code(&user, code, device, client).await {
            Ok(method) => method,
            Err(err) => {
                if err.error == ErrorCode::InvalidCode {
                    self.links.alert_wrong_code_later(&user, client);
                }
                return Err(err);
            }
        };
        // The code is spent; now the step. Of two requests racing with two
        // good codes, one opens the session and the other is refused.
        self.mfa.finish_step(token).await?;
        // After a provider's first step the session is a provider sign-in,
        // its `amr` what the provider reported and the code gatehouse
        // checked — never `pwd` for a password it did not see.
        let federated = step.provider.map(|provider| {
            let mut amr: Vec<String> = step
                .amr
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            for added in ["otp", "mfa"] {
                if !amr.iter().any(|m| m == added) {
                    amr.push(added.to_owned());
                }
            }
            Federated {
                provider,
                amr,
                // The code was checked just now.
                authenticated_at: Some(crate::clock::now_ms()),
            }
        });
        let method = if federated.is_some() {
            SignInMethod::Provider
        } else {
            method
        };
        let issued = self
            .complete_sign_in(
                &user,
                kind,
                method,
                step.known_device,
                federated.as_ref(),
                client,
            )
            .await?;
        Ok((user, issued))
    }

    /// Checks and spends a second-factor code of `user`, counted like a
    /// password attempt; `invalid_code` if it is wrong or already used.
    pub(super) async fn check_code(
        &self,
        user: &User,
        code: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignInMethod, AppError> {
        if code.len() > 64 {
            return Err(ErrorCode::InvalidCode.into());
        }
        let device_key = device
            .and_then(|token| self.devices.device_of(token, &user.id, &user.password_hash))
            .map(|d| throttle::device_key(&d));
        let keys = ThrottleKeys::new(&user.email, client.ip.as_deref());
        if let Err(throttled) = self
            .reserve_for(device_key.as_deref(), &keys, &user.email)
            .await
        {
            tracing::warn!(user_id = %user.id, "second-factor attempts throttled");
            return Err(throttled);
        }
        match self.mfa.spend_code(user, code, client).await? {
            Some(method) => {
                self.release_for(device_key.as_deref(), &keys, &user.email)
                    .await?;
                Ok(method)
            }
            None => {
                tracing::info!(user_id = %user.id, "wrong or reused second-factor code");
                self.sessions
                    .record_event(
                        &user.id,
                        EventKind::SecondFactorFailed,
                        client,
                        "Wrong or already used code",
                    )
                    .await;
                Err(ErrorCode::InvalidCode.into())
            }
        }
    }

    /// Signs in with a passkey: user verification on the authenticator
    /// makes it both factors at once, so no second step follows.
    pub(super) async fn check_passkey(
        &self,
        ceremony: Option<&str>,
        credential: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let user_id = self
            .mfa
            .passkeys()
            .sign_in_finish(ceremony, credential)
            .await?;
        let user = self.db.user_by_id(&user_id).await?;
        let user = user.ok_or(ErrorCode::InvalidCredentials)?;
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }
        if self.unverified_refused(&user) {
            self.send_verification_later(&user);
            return Err(ErrorCode::EmailUnverified.into());
        }
        let known_device = device.is_some_and(|token| {
            self.devices
                .device_of(token, &user.id, &user.password_hash)
                .is_some()
        });
        let issued = self
            .complete_sign_in(
                &user,
                SessionKind::Browser,
                SignInMethod::Passkey,
                known_device,
                None,
                client,
            )
            .await?;
        Ok((user, issued))
    }
}
