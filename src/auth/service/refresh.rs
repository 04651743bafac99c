//! Refresh-token rotation with reuse detection (RFC 9700 §4.14.2), sign-out
//! and token revocation.

use super::AuthService;
use crate::{
    clock::{millis, now_ms, secs, Millis},
    error::{AppError, ErrorCode},
    ids::SessionId,
    request::{AuthedUser, ClientInfo},
    sessions::{
        device::device_name,
        records::truncate,
        tokens::{self, IssuedTokens},
    },
    store::{sessions::Rotation, Session},
    telemetry::{self, RefreshOutcome},
    vocab::{EventKind, RevokeReason},
};

/// A session that is revoked or expired cannot be refreshed.
fn check_session_usable(session: &Session, now: Millis) -> Result<(), AppError> {
    if let Some(reason) = session.revoke_reason() {
        return Err(ErrorCode::from(reason).into());
    }
    if now >= session.idle_expires_at || now >= session.absolute_expires_at {
        return Err(ErrorCode::SessionExpired.into());
    }
    Ok(())
}

impl AuthService {
    /// The session a refresh token belongs to, if the token is authentic.
    async fn session_of(&self, presented: &str) -> Result<Option<(Session, i64)>, AppError> {
        let Some(parsed) = tokens::parse_refresh_token(presented) else {
            return Ok(None);
        };
        let session = self
            .db
            .session(&parsed.session_id)
            .await?
            .filter(|s| self.keys.refresh_token_is_authentic(&parsed, &s.secret));
        Ok(session.map(|s| (s, parsed.generation)))
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
        let result = match self.session_of(presented).await {
            Ok(Some((session, generation))) => self.rotate(session, generation, client).await,
            Ok(None) => Err(ErrorCode::Unauthenticated.into()),
            Err(err) => Err(err),
        };
        if let Err(err) = &result {
            telemetry::refresh(match err.error {
                ErrorCode::ReuseDetected => RefreshOutcome::ReuseDetected,
                ErrorCode::SessionExpired => RefreshOutcome::Expired,
                ErrorCode::SessionRevoked => RefreshOutcome::Revoked,
                ErrorCode::AccountDisabled | ErrorCode::EmailUnverified => RefreshOutcome::Refused,
                ErrorCode::Unavailable | ErrorCode::Internal => RefreshOutcome::Error,
                _ => RefreshOutcome::Invalid,
            });
        }
        result
    }

    /// Rotates a session the caller already proved to hold (e.g. after a
    /// password change) and issues a fresh pair for it.
    pub async fn reissue(
        &self,
        session_id: &SessionId,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let session = self.sessions.find(session_id).await?;
        let session = session.ok_or(ErrorCode::Unauthenticated)?;
        let generation = session.generation;
        self.rotate(session, generation, client).await
    }

    /// Rotates `session`, presented at `generation`.
    async fn rotate(
        &self,
        session: Session,
        generation: i64,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
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
        // Turning GATEHOUSE_REQUIRE_VERIFIED_EMAIL on reaches sessions opened
        // before it: they cannot be renewed until the address is proved.
        if self.unverified_refused(&user) {
            return Err(ErrorCode::EmailUnverified.into());
        }

        let current = if generation == session.generation {
            let idle =
                (now + millis(self.config.lifetimes.refresh_idle)).min(session.absolute_expires_at);
            let rotated = self
                .db
                .rotate_session(Rotation {
                    id: &session.id,
                    expected_generation: generation,
                    now,
                    idle_expires_at: idle,
                    user_agent: truncate(&client.user_agent, 512),
                    ip: client.ip.as_deref(),
                })
                .await?;
            if rotated {
                telemetry::refresh(RefreshOutcome::Rotated);
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
                self.accept_predecessor(latest, generation).await?
            }
        } else {
            self.accept_predecessor(session, generation).await?
        };

        let amr = current.amr();
        Ok(IssuedTokens {
            user_id: current.user_id.clone(),
            access: self.keys.issue_access(
                &current.user_id,
                &current.id,
                secs(now),
                self.config.lifetimes.access,
                amr,
            )?,
            refresh: self
                .keys
                .refresh_token(&current.id, current.generation, &current.secret),
            session_id: current.id,
            refresh_expires_at: current.idle_expires_at,
            device: None,
        })
    }

    /// `session` is at a later generation than the presented token: accept
    /// the immediate predecessor within the grace window, else revoke.
    async fn accept_predecessor(
        &self,
        session: Session,
        presented: i64,
    ) -> Result<Session, AppError> {
        // Both times are the database's: another instance's rotation is
        // judged by the same clock that stamped it.
        let in_grace = presented + 1 == session.generation
            && session.rotated_at.is_some_and(|at| {
                session.db_now - at <= millis(self.config.lifetimes.refresh_grace)
            });
        if in_grace {
            telemetry::refresh(RefreshOutcome::Grace);
            return Ok(session);
        }
        // RFC 9700 §4.14.2: a replayed refresh token invalidates the family.
        self.sessions.end(&session.id, RevokeReason::Reuse).await?;
        tracing::warn!(user_id = %session.user_id, session_id = %session.id, "refresh token reuse detected; session revoked");
        let client = ClientInfo {
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
        };
        self.sessions
            .record_event(
                &session.user_id,
                EventKind::ReuseDetected,
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
            self.sessions
                .record_event(&session.user_id, EventKind::NewDevice, client, &detail)
                .await;
        }
    }

    /// Ends the caller's session: the one its refresh token names if that
    /// token is authentic, else the one its access token names. Safe to
    /// repeat.
    pub async fn logout(
        &self,
        refresh_token: Option<&str>,
        signed_in: Option<&AuthedUser>,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let by_refresh = match refresh_token {
            Some(token) => self.session_of(token).await?.map(|(s, _)| s),
            None => None,
        };
        let session = match (by_refresh, signed_in) {
            (Some(session), _) => Some(session),
            (None, Some(me)) => self.db.session(&me.session_id).await?,
            (None, None) => None,
        };
        if let Some(session) = session {
            if self
                .sessions
                .end(&session.id, RevokeReason::SignedOut)
                .await?
            {
                tracing::info!(user_id = %session.user_id, session_id = %session.id, "signed out");
                self.sessions
                    .record_event(&session.user_id, EventKind::SignedOut, client, "Signed out")
                    .await;
            }
        }
        Ok(())
    }

    /// Revokes the session a refresh token belongs to, if the token is
    /// authentic (RFC 7009: unknown tokens are not an error).
    pub async fn revoke_refresh_token(&self, presented: &str) -> Result<(), AppError> {
        if let Some((session, _)) = self.session_of(presented).await? {
            if self
                .sessions
                .end(&session.id, RevokeReason::SignedOut)
                .await?
            {
                tracing::info!(user_id = %session.user_id, session_id = %session.id, "session revoked by its refresh token");
            }
        }
        Ok(())
    }
}
