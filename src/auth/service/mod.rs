//! The auth capability: accounts and credentials. Sign-up, sign-in with
//! throttling, password checks and changes, account deletion; refresh-token
//! rotation lives in [`refresh`]. Shared by the browser server functions,
//! the Bearer token API and the page layer; it owns these writes and their
//! security events.

mod attempts;
mod email;
mod outcomes;
mod refresh;
mod second_step;

pub use email::normalize_email;
pub use second_step::SignIn;

use super::{
    passwords::{Password, PasswordHasherPool},
    throttle::{self, ThrottleKeys},
};
use crate::{
    clock::now_ms,
    config::Config,
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    mfa::service::MfaService,
    recovery::links::Links,
    request::{AuthedUser, ClientInfo},
    sessions::{
        device_credential::DeviceKeys,
        service::{Federated, SessionService},
        tokens::{IssuedTokens, TokenKeys},
    },
    store::{Db, User},
    vocab::{EventKind, SessionKind, SignInMethod},
};
use std::sync::Arc;

#[derive(Clone)]
pub struct AuthService {
    db: Db,
    config: Arc<Config>,
    keys: Arc<TokenKeys>,
    devices: DeviceKeys,
    passwords: PasswordHasherPool,
    sessions: Arc<SessionService>,
    links: Arc<Links>,
    mfa: Arc<MfaService>,
}

impl AuthService {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        keys: Arc<TokenKeys>,
        passwords: PasswordHasherPool,
        sessions: Arc<SessionService>,
        links: Arc<Links>,
        mfa: Arc<MfaService>,
    ) -> Self {
        Self {
            db,
            devices: DeviceKeys::new(&config.secret),
            config,
            keys,
            passwords,
            sessions,
            links,
            mfa,
        }
    }

    /// Checks a new password for the account with `email` against the
    /// strength rules.
    pub async fn check_new_password(
        &self,
        password: &Password,
        email: &str,
    ) -> Result<(), AppError> {
        self.passwords
            .check_new(password, &email::guessable_inputs(email))
            .await
    }

    pub async fn hash_password(&self, password: &Password) -> Result<String, AppError> {
        self.passwords.hash(password).await
    }

    /// Signs in a person who proved who they are with an emailed link (and
    /// just chose a new password), with a new device credential; an
    /// account with a second factor still asks for it. A mailbox alone
    /// must not be worth more than the password: whoever controls it could
    /// otherwise take the account, factor and all (OWASP Forgot Password
    /// Cheat Sheet, "Do not log the user in"; Multifactor Authentication
    /// Cheat Sheet, "Resetting MFA").
    pub async fn sign_in_after_link(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let methods = self.mfa.methods(&user.id).await?;
        if !methods.is_empty() {
            return self
                .second_step(user, SessionKind::Browser, methods, false, None, client)
                .await;
        }
        let issued = self
            .signed_in(user, SessionKind::Browser, SignInMethod::Password, client)
            .await?;
        Ok(SignIn::Done(user.clone(), issued))
    }

    /// The decisions of a provider sign-in (see `sign_in_federated`).
    async fn check_federated(
        &self,
        user: &User,
        federated: &Federated,
        second_factor_done: bool,
        known_device: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        if user.disabled {
            tracing::info!(user_id = %user.id, "provider sign-in refused: account disabled");
            return Err(ErrorCode::AccountDisabled.into());
        }
        let methods = self.mfa.methods(&user.id).await?;
        if !methods.is_empty() && !second_factor_done {
            return self
                .second_step(
                    user,
                    SessionKind::Browser,
                    methods,
                    known_device,
                    Some(federated),
                    client,
                )
                .await;
        }
        let issued = self
            .complete_sign_in(
                user,
                SessionKind::Browser,
                SignInMethod::Provider,
                known_device,
                Some(federated),
                client,
            )
            .await?;
        Ok(SignIn::Done(user.clone(), issued))
    }

    /// Whether `device` is this browser's device credential for `user`,
    /// from an earlier sign-in (a sign-in from it raises no alert).
    pub fn knows_device(&self, user: &User, device: Option<&str>) -> bool {
        device.is_some_and(|token| {
            self.devices
                .device_of(token, &user.id, &user.password_hash)
                .is_some()
        })
    }

    /// Mails a verification link after the answer has left.
    pub(super) fn send_verification_later(&self, user: &User) {
        let (links, user) = (self.links.clone(), user.clone());
        tokio::spawn(async move {
            if let Err(err) = links.send_verification(&user).await {
                tracing::warn!(user_id = %user.id, error = %err, "could not send a verification link");
            }
        });
    }

    /// Whether the configuration refuses this account a session until its
    /// address is proved.
    pub(super) fn unverified_refused(&self, user: &User) -> bool {
        self.config.mail.require_verified && user.email_verified_at.is_none()
    }

    /// An account by id, from the cache when it holds it (for showing who
    /// is signed in; decisions read the database).
    pub async fn user(&self, id: &UserId) -> Result<Option<User>, AppError> {
        let cache = self.sessions.users();
        let now = now_ms();
        if let Some(user) = cache.get(id, now) {
            return Ok(Some(user));
        }
        let generation = cache.generation();
        let user = self.db.user_by_id(id).await?;
        if let Some(user) = &user {
            cache.put(user.clone(), generation, now);
        }
        Ok(user)
    }

    /// Creates an account and signs it in.
    pub async fn register(
        &self,
        email: &str,
        password: Password,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let email = normalize_email(email)?;
        // Sign-ups per client address are limited before any work is done:
        // account spam, bulk `email_taken` probing and a CPU sink.
        let limits = throttle::per_address_limits(
            "register",
            client.ip.as_deref(),
            self.config.register_limit,
        );
        let reservation = self
            .db
            .reserve_in_windows(&limits, throttle::REGISTER_WINDOW_MS)
            .await?;
        if let Err(throttled) = throttle::refuse_if_blocked(reservation) {
            tracing::warn!(
                ip = client.ip.as_deref().unwrap_or("unknown"),
                "sign-up throttled"
            );
            return Err(throttled);
        }
        self.passwords
            .check_new(&password, &email::guessable_inputs(&email))
            .await?;
        if self.db.user_by_email(&email).await?.is_some() {
            return Err(ErrorCode::EmailTaken.into());
        }
        let hash = self.passwords.hash(&password).await?;
        let id = UserId::new(crate::crypto::random_id(16));
        let user = self
            .db
            .create_user(&id, &email, &hash, now_ms())
            .await?
            .ok_or(ErrorCode::EmailTaken)?;
        crate::telemetry::sign_up();
        tracing::info!(user_id = %user.id, "account registered");
        self.send_verification_later(&user);
        if self.unverified_refused(&user) {
            self.sessions
                .record_event(&user.id, EventKind::Registered, client, "Account created")
                .await;
            return Err(AppError::new(
                ErrorCode::EmailUnverified,
                "Account created. Confirm your email address with the link we sent, then sign in.",
            ));
        }
        let issued = self
            .signed_in(&user, SessionKind::Browser, SignInMethod::Password, client)
            .await?;
        self.sessions
            .record_event(&user.id, EventKind::Registered, client, "Account created")
            .await;
        Ok((user, issued))
    }

    /// Checks an email and password and opens a session, or, for an
    /// account with a second factor, the second step of the sign-in.
    ///
    /// Unknown email and wrong password answer identically, in status, body
    /// and time (OWASP Authentication Cheat Sheet, "Authentication and Error
    /// Messages"); throttling is counted the same way for both.
    ///
    /// `device` is a device credential from an earlier sign-in; a valid one
    /// for this account is throttled on its own (see [`throttle::device_key`]).
    async fn check_password(
        &self,
        email: &str,
        password: Password,
        kind: SessionKind,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignIn, AppError> {
        let email =
            normalize_email(email).map_err(|_| AppError::from(ErrorCode::InvalidCredentials))?;
        if password.expose().is_empty() || password.expose().len() > super::passwords::MAX_BYTES {
            return Err(ErrorCode::InvalidCredentials.into());
        }
        let keys = ThrottleKeys::new(&email, client.ip.as_deref());
        let user = self.db.user_by_email(&email).await?;
        // Known and unknown addresses do the same work before answering: the
        // log entry for a known one is written after the answer has left.
        let later = |kind, detail: &'static str| {
            if let Some(user) = &user {
                self.sessions
                    .record_event_later(&user.id, kind, client, detail);
            }
        };
        let device_key = match (&user, device) {
            (Some(user), Some(token)) => self
                .devices
                .device_of(token, &user.id, &user.password_hash)
                .map(|d| throttle::device_key(&d)),
            _ => None,
        };
        let reserved = self.reserve_for(device_key.as_deref(), &keys, &email).await;
        if let Err(throttled) = reserved {
            tracing::warn!(account = %self.keys.log_ref(&email), ip = client.ip.as_deref().unwrap_or("unknown"), "sign-in throttled");
            later(EventKind::SignInThrottled, "Too many failed attempts");
            return Err(throttled);
        }
        let verified = self
            .passwords
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let mut user = match user {
            Some(ref user) if verified.matches => user.clone(),
            _ => {
                tracing::info!(account = %self.keys.log_ref(&email), ip = client.ip.as_deref().unwrap_or("unknown"), "sign-in failed");
                later(EventKind::SignInFailed, "Wrong password");
                return Err(ErrorCode::InvalidCredentials.into());
            }
        };
        self.release_for(device_key.as_deref(), &keys, &email)
            .await?;
        if user.disabled {
            tracing::info!(user_id = %user.id, "sign-in refused: account disabled");
            return Err(ErrorCode::AccountDisabled.into());
        }
        if self.unverified_refused(&user) {
            // A fresh link, so a person whose old one expired can get in.
            self.send_verification_later(&user);
            tracing::info!(user_id = %user.id, "sign-in refused: email not verified");
            return Err(ErrorCode::EmailUnverified.into());
        }
        if verified.needs_rehash {
            let hash = self.passwords.hash(&password).await?;
            self.db.set_password_hash(&user.id, &hash).await?;
            self.sessions.account_changed(&user.id);
            tracing::info!(user_id = %user.id, "password rehashed with current parameters");
            user.password_hash = hash;
        }
        let methods = self.mfa.methods(&user.id).await?;
        if !methods.is_empty() {
            return self
                .second_step(&user, kind, methods, device_key.is_some(), None, client)
                .await;
        }
        let issued = self
            .complete_sign_in(
                &user,
                kind,
                SignInMethod::Password,
                device_key.is_some(),
                None,
                client,
            )
            .await?;
        Ok(SignIn::Done(user, issued))
    }

    /// Opens the session of a sign-in whose every step is done, alerts the
    /// owner if it came from somewhere new, and logs it.
    async fn complete_sign_in(
        &self,
        user: &User,
        kind: SessionKind,
        method: SignInMethod,
        known_device: bool,
        federated: Option<&Federated>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let issued = self
            .signed_in_with(user, kind, method, federated, client)
            .await?;
        let provider = federated.map(|f| f.provider.as_str());
        tracing::info!(user_id = %user.id, session_id = %issued.session_id, kind = kind.as_str(), method = method.as_str(), provider, "signed in");
        let how = match provider {
            Some(name) => self.config.provider_label(name),
            None => method.title().to_owned(),
        };
        self.links
            .alert_sign_in_later(user, &issued.session_id, client, known_device, &how);
        let detail = format!("Signed in ({}, {how})", kind.as_str());
        self.sessions
            .record_event(&user.id, EventKind::SignIn, client, &detail)
            .await;
        Ok(issued)
    }

    /// Opens a session for a person who just proved who they are, with a
    /// new device credential.
    async fn signed_in(
        &self,
        user: &User,
        kind: SessionKind,
        method: SignInMethod,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        self.signed_in_with(user, kind, method, None, client).await
    }

    async fn signed_in_with(
        &self,
        user: &User,
        kind: SessionKind,
        method: SignInMethod,
        federated: Option<&Federated>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let mut issued = self
            .sessions
            .start_with(user, kind, method, federated, client)
            .await?;
        issued.device = Some(self.devices.device_token(&user.id, &user.password_hash));
        Ok(issued)
    }

    /// Proves a factor again (the password, or a code of the second
    /// factor), so sensitive actions are allowed for the next
    /// `GATEHOUSE_REAUTH_WINDOW`.
    pub async fn reauthenticate(
        &self,
        me: &AuthedUser,
        password: Option<Password>,
        code: Option<&str>,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        match (password, code) {
            (Some(password), _) if !password.expose().is_empty() => {
                self.verify_password_of(&me.user_id, password, client)
                    .await?;
            }
            (_, Some(code)) if !code.trim().is_empty() => {
                let user = self.db.user_by_id(&me.user_id).await?;
                let user = user.ok_or(ErrorCode::Unauthenticated)?;
                self.check_code(&user, code, device, client).await?;
            }
            _ => return Err(AppError::invalid_input("Enter your password.")),
        }
        self.sessions.mark_proved(&me.session_id).await
    }

    /// Proves the signed-in person is the account's owner before a
    /// sensitive change: the current password (which then counts as a
    /// recent sign-in), or, for an account without one (opened through a
    /// provider), a recent sign-in itself — which the provider gives again
    /// with `prompt=login`. A missing password never waves a change through,
    /// and checking nothing never extends the recent sign-in.
    pub async fn confirm_owner(
        &self,
        me: &AuthedUser,
        password: Password,
        client: &ClientInfo,
    ) -> Result<User, AppError> {
        let user = self.db.user_by_id(&me.user_id).await?;
        let user = user.ok_or(ErrorCode::Unauthenticated)?;
        if !user.has_password() {
            self.sessions.require_recent_proof(me).await?;
            return Ok(user);
        }
        let user = self
            .verify_password_of(&me.user_id, password, client)
            .await?;
        self.sessions.mark_proved(&me.session_id).await?;
        Ok(user)
    }

    /// Checks the password of a signed-in user (before a sensitive change),
    /// throttled like sign-in.
    pub async fn verify_password_of(
        &self,
        user_id: &UserId,
        password: Password,
        client: &ClientInfo,
    ) -> Result<User, AppError> {
        // The stored row, never the cache: a password changed a moment ago
        // on another instance must be the one checked.
        let user = self.db.user_by_id(user_id).await?;
        let user = user.ok_or(ErrorCode::Unauthenticated)?;
        let keys = ThrottleKeys::new(&user.email, client.ip.as_deref());
        self.reserve_attempt(&keys).await?;
        if !self
            .passwords
            .verify(&password, Some(&user.password_hash))
            .await?
            .matches
        {
            self.sessions
                .record_event(
                    &user.id,
                    EventKind::PasswordCheckFailed,
                    client,
                    "Wrong current password",
                )
                .await;
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "The current password is not right.",
            ));
        }
        self.record_success(&keys).await?;
        Ok(user)
    }

    /// After a password change: this session continues with rotated
    /// tokens and, since every device credential was bound to the old
    /// password, a fresh credential for this device, which just proved the
    /// new one.
    pub async fn reissue_after_password_change(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        new_hash: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let mut issued = self.reissue(session_id, client).await?;
        issued.device = Some(self.devices.device_token(user_id, new_hash));
        Ok(issued)
    }
}
