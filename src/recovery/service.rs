//! The recovery capability: password reset by email, address verification,
//! address change, and "this wasn't me". It owns these writes and their
//! security events; sessions are opened and ended through the auth and
//! sessions services.

use super::{
    letters,
    links::{Links, Purpose},
};
use crate::{
    auth::{
        passwords::Password,
        service::{normalize_email, AuthService},
        throttle::{per_address_limits, refuse_if_blocked},
    },
    clock::{now_ms, Millis},
    error::{AppError, ErrorCode},
    ids::UserId,
    request::{AuthedUser, ClientInfo},
    sessions::service::SessionService,
    store::Db,
    vocab::EventKind,
};
use std::sync::Arc;

/// Reset requests allowed per client address per window (more for the
/// wider IPv6 scopes, see `auth::throttle::address_scopes`).
const RESET_REQUESTS: i64 = 30;
const RESET_WINDOW_MS: Millis = 3_600_000;
/// Address changes one account may start per window.
const CHANGE_REQUESTS: i64 = 5;

#[derive(Clone)]
pub struct RecoveryService {
    db: Db,
    auth: Arc<AuthService>,
    sessions: Arc<SessionService>,
    links: Arc<Links>,
}

fn link_gone() -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        "This link is not valid any more: the account or its address changed. Ask for a new one.",
    )
}

impl RecoveryService {
    pub fn new(
        db: Db,
        auth: Arc<AuthService>,
        sessions: Arc<SessionService>,
        links: Arc<Links>,
    ) -> Self {
        Self {
            db,
            auth,
            sessions,
            links,
        }
    }

    /// Asks for a reset link. The answer is the same, in the same time,
    /// whether or not the account exists: everything that depends on it
    /// happens after the answer has left (OWASP Forgot Password Cheat Sheet,
    /// "Forgot Password Request"). Only the client's own rate is refused.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let email = normalize_email(email)?;
        let limits = per_address_limits("reset", client.ip.as_deref(), RESET_REQUESTS);
        let reservation = self.db.reserve_in_windows(&limits, RESET_WINDOW_MS).await?;
        if let Err(throttled) = refuse_if_blocked(reservation) {
            tracing::warn!(
                ip = client.ip.as_deref().unwrap_or("unknown"),
                "reset requests throttled"
            );
            return Err(throttled);
        }
        crate::telemetry::reset(crate::telemetry::ResetStage::Requested);
        let (this, client) = (self.clone(), client.clone());
        tokio::spawn(async move {
            if let Err(err) = this.send_reset(&email, &client).await {
                tracing::warn!(error = %err, "could not send a reset link");
            }
        });
        Ok(())
    }

    async fn send_reset(&self, email: &str, client: &ClientInfo) -> Result<(), AppError> {
        let Some(user) = self.db.user_by_email(email).await? else {
            return Ok(());
        };
        if user.disabled || !self.links.may_mail(Purpose::ResetPassword, email).await? {
            return Ok(());
        }
        let url = self
            .links
            .issue(Purpose::ResetPassword, &user.id, Some(email), None)
            .await?;
        self.links.mail(letters::password_reset(email, &url));
        tracing::info!(user_id = %user.id, "reset link sent");
        self.sessions
            .record_event(
                &user.id,
                EventKind::PasswordResetRequested,
                client,
                "A password reset link was sent",
            )
            .await;
        Ok(())
    }

    async fn refuse_disabled(&self, user_id: &UserId) -> Result<(), AppError> {
        match self.db.user_by_id(user_id).await? {
            Some(user) if user.disabled => Err(ErrorCode::AccountDisabled.into()),
            Some(_) => Ok(()),
            None => Err(link_gone()),
        }
    }

    /// Mails a new verification link to the signed-in person's address.
    pub async fn send_verification(&self, me: &AuthedUser) -> Result<(), AppError> {
        let user = self
            .db
            .user_by_id(&me.user_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        if !self.links.send_verification(&user).await? {
            return Err(AppError {
                message: "A link was sent less than a minute ago. Please check your inbox, or try again in a minute.".into(),
                ..AppError::throttled(60)
            });
        }
        Ok(())
    }

    /// Marks an address as proved.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<(), AppError> {
        let link = self.links.take(token, Purpose::VerifyEmail).await?;
        self.refuse_disabled(&link.user_id).await?;
        let email = link.email.ok_or_else(link_gone)?;
        if !self
            .db
            .mark_email_verified(&link.user_id, &email, now_ms())
            .await?
        {
            return Err(link_gone());
        }
        self.sessions.account_changed(&link.user_id);
        tracing::info!(user_id = %link.user_id, "email verified");
        self.sessions
            .record_event(
                &link.user_id,
                EventKind::EmailVerified,
                client,
                "Email address confirmed",
            )
            .await;
        Ok(())
    }

    /// Starts an address change: a confirmation link to the new address and
    /// a notice to the old one. The current password is required.
    pub async fn change_email(
        &self,
        me: &AuthedUser,
        new_email: &str,
        password: Password,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let new = normalize_email(new_email)?;
        let user = self.auth.confirm_owner(me, password, client).await?;
        if new == user.email {
            return Err(AppError::invalid_input("That is already your address."));
        }
        // Each request mails two addresses: a few an hour per account.
        let key = format!("change-email:{}", user.id);
        refuse_if_blocked(
            self.db
                .reserve_in_window(&key, CHANGE_REQUESTS, RESET_WINDOW_MS)
                .await?,
        )?;
        if self.db.user_by_email(&new).await?.is_some() {
            return Err(ErrorCode::EmailTaken.into());
        }
        if !self.links.may_mail(Purpose::ChangeEmail, &new).await? {
            return Err(AppError::throttled(60));
        }
        let url = self
            .links
            .issue(Purpose::ChangeEmail, &user.id, Some(&new), None)
            .await?;
        self.links.mail(letters::email_change(&new, &url));
        self.links.mail(letters::email_change_notice(
            &user.email,
            &new,
            &self.links.forgot_url(),
        ));
        tracing::info!(user_id = %user.id, "email change requested");
        self.sessions
            .record_event(
                &user.id,
                EventKind::EmailChangeRequested,
                client,
                "A link to confirm a new address was sent",
            )
            .await;
        Ok(())
    }
}
