//! Sign-up, sign-in, refresh-token rotation and sign-out, shared by the
//! browser server functions and the Bearer token API.

use super::{
    passwords::{check_new_password, Password},
    throttle::{self, ThrottleKeys},
    tokens::{self, AccessToken, RefreshToken},
};
use crate::{
    db::{now_ms, Millis, NewSession, Session, User},
    error::{AppError, ErrorCode},
    sessions::device::device_name,
    state::AppState,
};
use std::time::Duration;

/// Who is calling, as far as the server can tell.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: String,
}

/// Browser (cookies) or a non-browser client (Bearer token API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Api,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Api => "api",
        }
    }
}

/// A fresh pair of tokens for one session.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub user_id: String,
    pub session_id: String,
    pub access: AccessToken,
    pub refresh: RefreshToken,
    /// When the refresh token stops working if unused (unix ms).
    pub refresh_expires_at: Millis,
}

/// Trims and lower-cases an email and checks its shape.
pub fn normalize_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let invalid = || AppError::invalid_input("Enter a valid email address, like name@example.com.");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

fn secs(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

fn millis(d: Duration) -> Millis {
    d.as_millis() as Millis
}

impl AppState {
    /// Records an event in the user's security log; a failure to record is
    /// logged but never fails the request that caused it.
    pub async fn record_event(&self, user_id: &str, kind: &str, client: &ClientInfo, detail: &str) {
        let device = device_name(&client.user_agent);
        if let Err(err) = self
            .db
            .record_event(
                user_id,
                kind,
                now_ms(),
                Some(&device),
                client.ip.as_deref(),
                detail,
            )
            .await
        {
            tracing::warn!(error = %err, kind, "could not record security event");
        }
    }

    /// Creates an account and signs it in.
    pub async fn register(
        &self,
        email: &str,
        password: Password,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let email = normalize_email(email)?;
        let local_part = email.split('@').next().unwrap_or_default();
        check_new_password(&password, &[&email, local_part, "gatehouse"])?;
        if self.db.user_by_email(&email).await?.is_some() {
            return Err(ErrorCode::EmailTaken.into());
        }
        let hash = self.passwords.hash(&password).await?;
        let user = self
            .db
            .create_user(&tokens::random_id(16), &email, &hash, now_ms())
            .await?;
        tracing::info!(user_id = %user.id, "account registered");
        let issued = self
            .start_session(&user, SessionKind::Browser, client)
            .await?;
        self.record_event(&user.id, "registered", client, "Account created")
            .await;
        Ok((user, issued))
    }

    /// Checks an email and password and opens a session.
    ///
    /// Unknown email and wrong password answer identically, in status, body
    /// and time (OWASP Authentication Cheat Sheet, "Authentication and Error
    /// Messages"); throttling is counted the same way for both.
    pub async fn login(
        &self,
        email: &str,
        password: Password,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<(User, IssuedTokens), AppError> {
        let email =
            normalize_email(email).map_err(|_| AppError::from(ErrorCode::InvalidCredentials))?;
        if password.expose().is_empty() || password.expose().len() > super::passwords::MAX_BYTES {
            return Err(ErrorCode::InvalidCredentials.into());
        }
        let now = now_ms();
        let keys = ThrottleKeys::new(&email, client.ip.as_deref());
        let user = self.db.user_by_email(&email).await?;
        if let Err(throttled) = throttle::check(&self.db, &keys, now).await {
            if let Some(user) = &user {
                self.record_event(
                    &user.id,
                    "sign_in_throttled",
                    client,
                    "Too many failed attempts",
                )
                .await;
            }
            return Err(throttled);
        }
        let verified = self
            .passwords
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let user = match user {
            Some(user) if verified.matches => user,
            other => {
                throttle::record_failure(&self.db, &keys, now).await?;
                if let Some(user) = other {
                    self.record_event(&user.id, "sign_in_failed", client, "Wrong password")
                        .await;
                }
                tracing::info!("sign-in failed");
                return Err(ErrorCode::InvalidCredentials.into());
            }
        };
        throttle::record_success(&self.db, &keys).await?;
        if user.disabled {
            tracing::info!(user_id = %user.id, "sign-in refused: account disabled");
            return Err(ErrorCode::AccountDisabled.into());
        }
        if verified.needs_rehash {
            let hash = self.passwords.hash(&password).await?;
            self.db.set_password_hash(&user.id, &hash).await?;
            tracing::info!(user_id = %user.id, "password rehashed with current parameters");
        }
        let issued = self.start_session(&user, kind, client).await?;
        tracing::info!(user_id = %user.id, session_id = %issued.session_id, kind = kind.as_str(), "signed in");
        self.record_event(
            &user.id,
            "sign_in",
            client,
            &format!("Signed in ({})", kind.as_str()),
        )
        .await;
        Ok((user, issued))
    }

    /// Opens a new session (a refresh-token family) for `user`.
    pub async fn start_session(
        &self,
        user: &User,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let now = now_ms();
        let session_id = tokens::new_session_id();
        let secret = tokens::new_session_secret();
        let absolute = now + millis(self.config.session_max_age);
        let idle = (now + millis(self.config.refresh_idle_ttl)).min(absolute);
        self.db
            .insert_session(NewSession {
                id: &session_id,
                user_id: &user.id,
                kind: kind.as_str(),
                secret: &secret,
                now,
                idle_expires_at: idle,
                absolute_expires_at: absolute,
                user_agent: truncate(&client.user_agent, 512),
                ip: client.ip.as_deref(),
            })
            .await?;
        Ok(IssuedTokens {
            user_id: user.id.clone(),
            access: self.keys.issue_access(
                &user.id,
                &session_id,
                secs(now),
                self.config.access_ttl,
            ),
            refresh: self.keys.refresh_token(&session_id, 0, &secret),
            session_id,
            refresh_expires_at: idle,
        })
    }

    /// Exchanges a refresh token for a new pair (RFC 9700 §4.14.2).
    ///
    /// - The current token rotates the session, once: of concurrent callers,
    ///   one wins the compare-and-swap and the rest find themselves holding
    ///   the immediate predecessor.
    /// - The immediate predecessor, within `GATEHOUSE_REFRESH_GRACE` of the
    ///   rotation, is answered with the same current successor, so racing
    ///   tabs and a retry after a lost response all succeed identically.
    /// - Any other earlier token is a replay: the whole session is revoked.
    pub async fn refresh(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let parsed = tokens::parse_refresh_token(presented).ok_or(ErrorCode::Unauthenticated)?;
        let session = self
            .db
            .session(&parsed.session_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        if !self
            .keys
            .refresh_token_is_authentic(&parsed, &session.secret)
        {
            return Err(ErrorCode::Unauthenticated.into());
        }
        let now = now_ms();
        check_session_usable(&session, now)?;
        let user = self
            .db
            .user_by_id(&session.user_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }

        let current = if parsed.generation == session.generation {
            let idle =
                (now + millis(self.config.refresh_idle_ttl)).min(session.absolute_expires_at);
            let user_agent = truncate(&client.user_agent, 512);
            let rotated = self
                .db
                .rotate_session(
                    &session.id,
                    parsed.generation,
                    now,
                    idle,
                    user_agent,
                    client.ip.as_deref(),
                )
                .await?;
            if rotated {
                self.notice_new_device(&session, client).await;
                Session {
                    generation: session.generation + 1,
                    rotated_at: Some(now),
                    idle_expires_at: idle,
                    ..session
                }
            } else {
                // Another request rotated it first; re-read and answer as the
                // predecessor.
                let latest = self
                    .db
                    .session(&session.id)
                    .await?
                    .ok_or(ErrorCode::Unauthenticated)?;
                check_session_usable(&latest, now)?;
                self.accept_predecessor(latest, parsed.generation, now)
                    .await?
            }
        } else {
            self.accept_predecessor(session, parsed.generation, now)
                .await?
        };

        Ok(IssuedTokens {
            user_id: current.user_id.clone(),
            access: self.keys.issue_access(
                &current.user_id,
                &current.id,
                secs(now),
                self.config.access_ttl,
            ),
            refresh: self
                .keys
                .refresh_token(&current.id, current.generation, &current.secret),
            session_id: current.id,
            refresh_expires_at: current.idle_expires_at,
        })
    }

    /// `session` is at a later generation than the presented token: accept
    /// the immediate predecessor within the grace window, else revoke.
    async fn accept_predecessor(
        &self,
        session: Session,
        presented: i64,
        now: Millis,
    ) -> Result<Session, AppError> {
        let in_grace = presented + 1 == session.generation
            && session
                .rotated_at
                .is_some_and(|at| now - at <= millis(self.config.refresh_grace));
        if in_grace {
            return Ok(session);
        }
        // RFC 9700 §4.14.2: a replayed refresh token invalidates the family.
        if self.db.revoke_session(&session.id, "reuse", now).await? {
            self.revocations.insert(&session.id, now, "reuse");
        }
        tracing::warn!(user_id = %session.user_id, session_id = %session.id, "refresh token reuse detected; session revoked");
        let client = ClientInfo {
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
        };
        self.record_event(
            &session.user_id,
            "reuse_detected",
            &client,
            "An old sign-in token was used again; that session was ended",
        )
        .await;
        Err(ErrorCode::ReuseDetected.into())
    }

    /// "New device or address" notice when a session's refresh comes from a
    /// different address or browser family than it had.
    async fn notice_new_device(&self, session: &Session, client: &ClientInfo) {
        let before = device_name(&session.user_agent);
        let now_device = device_name(&client.user_agent);
        let ip_changed = session.ip.is_some() && client.ip.is_some() && session.ip != client.ip;
        if ip_changed || before != now_device {
            let detail = format!(
                "Session continued from {} at {} (was {} at {})",
                now_device,
                client.ip.as_deref().unwrap_or("unknown address"),
                before,
                session.ip.as_deref().unwrap_or("unknown address"),
            );
            self.record_event(&session.user_id, "new_device", client, &detail)
                .await;
        }
    }

    /// Ends a session (sign-out or revocation) and makes its access tokens
    /// stop working at once. Returns whether it was active.
    pub async fn end_session(&self, session_id: &str, reason: &str) -> Result<bool, AppError> {
        let now = now_ms();
        let ended = self.db.revoke_session(session_id, reason, now).await?;
        if ended {
            self.revocations.insert(session_id, now, reason);
        }
        Ok(ended)
    }

    /// Ends every session of a user but `keep`; returns how many ended.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
    ) -> Result<usize, AppError> {
        let now = now_ms();
        let ids = self
            .db
            .revoke_user_sessions(user_id, keep, reason, now)
            .await?;
        self.revocations.insert_all(&ids, now, reason);
        Ok(ids.len())
    }

    /// Revokes the session a refresh token belongs to, if the token is
    /// authentic (RFC 7009: unknown tokens are not an error).
    pub async fn revoke_refresh_token(&self, presented: &str) -> Result<(), AppError> {
        let Some(parsed) = tokens::parse_refresh_token(presented) else {
            return Ok(());
        };
        let Some(session) = self.db.session(&parsed.session_id).await? else {
            return Ok(());
        };
        if self
            .keys
            .refresh_token_is_authentic(&parsed, &session.secret)
            && self.end_session(&session.id, "signed_out").await?
        {
            tracing::info!(user_id = %session.user_id, session_id = %session.id, "session revoked by its refresh token");
        }
        Ok(())
    }
}

impl AppState {
    /// Checks the password of a signed-in user (before a sensitive change),
    /// throttled like sign-in.
    pub async fn verify_password_of(
        &self,
        user_id: &str,
        password: Password,
        client: &ClientInfo,
    ) -> Result<User, AppError> {
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        let now = now_ms();
        let keys = ThrottleKeys::new(&user.email, client.ip.as_deref());
        throttle::check(&self.db, &keys, now).await?;
        if !self
            .passwords
            .verify(&password, Some(&user.password_hash))
            .await?
            .matches
        {
            throttle::record_failure(&self.db, &keys, now).await?;
            self.record_event(
                &user.id,
                "password_check_failed",
                client,
                "Wrong current password",
            )
            .await;
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "The current password is not right.",
            ));
        }
        throttle::record_success(&self.db, &keys).await?;
        Ok(user)
    }

    /// Rotates a session the caller already proved to hold (e.g. after a
    /// password change) and issues a fresh pair for it.
    pub async fn reissue(
        &self,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let session = self
            .db
            .session(session_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        check_session_usable(&session, now_ms())?;
        // A concurrent rotation makes this token the immediate predecessor,
        // which the grace window answers with the same successor.
        let current = self
            .keys
            .refresh_token(&session.id, session.generation, &session.secret);
        self.refresh(current.expose(), client).await
    }
}

/// A session that is revoked or expired cannot be refreshed.
fn check_session_usable(session: &Session, now: Millis) -> Result<(), AppError> {
    if session.revoked_at.is_some() {
        return Err(crate::state::refusal_for(
            session.revoked_reason.as_deref().unwrap_or_default(),
        )
        .into());
    }
    if now >= session.idle_expires_at || now >= session.absolute_expires_at {
        return Err(ErrorCode::SessionExpired.into());
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_validated() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.example.com",
            "ada@example..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be refused");
        }
    }
}
