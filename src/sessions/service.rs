//! The sessions capability: opening and ending sessions (and making an ended
//! session's access tokens fail at once), listing a person's devices, and
//! the security log. It owns those writes and their events.

use super::{
    records::{event_info, session_info, truncate, write_event},
    revocations::{self, Revocations, TokenLifetimes},
    tokens::{self, IssuedTokens, TokenKeys},
    user_cache::UserCache,
    SecurityEventInfo, SessionInfo, EVENT_RETENTION_DAYS,
};
use crate::{
    clock::{millis, now_ms, secs, Millis},
    config::Config,
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    request::{AuthedUser, ClientInfo},
    store::{
        purge::Expired,
        revocation_log::{LogEntry, RevocationNotices},
        Db, NewSession, PoolProbe, SecurityEvent, Session, StoreError, User,
    },
    telemetry,
    vocab::{EventKind, RevokeReason, SessionKind, SignInMethod},
};
use std::sync::Arc;

const DAY_MS: Millis = 24 * 3_600_000;

/// Rows the first purge statement of each table deletes. Later ones delete
/// more or fewer, so that each takes about [`PURGE_STATEMENT`]: a
/// statement holds SQLite's write lock (PostgreSQL's row locks) while it
/// runs, and a sign-in waiting to write must not wait long.
pub const PURGE_BATCH: i64 = 100;
/// The bounds on the rows of one purge statement.
pub const PURGE_BATCH_RANGE: std::ops::RangeInclusive<i64> = 20..=5000;
/// How long one purge statement should take.
const PURGE_STATEMENT: std::time::Duration = std::time::Duration::from_millis(10);
/// The least pause between two purge statements. The pause is twice the
/// statement before it, plus this: a writer that began waiting during the
/// statement (SQLite's busy handler sleeps 1, 2, 5, 10, 15… ms between
/// tries) wakes within the pause and writes first.
const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// What one purge deleted, and how long its longest statement took.
#[derive(Clone, Copy, Debug, Default)]
pub struct PurgeReport {
    pub sessions: u64,
    pub events: u64,
    /// Revocation-log rows, throttle counters, links, second steps,
    /// ceremonies and round trips.
    pub other: u64,
    pub batches: u64,
    /// The most rows one statement deleted.
    pub largest_batch: u64,
    pub longest_batch: std::time::Duration,
    pub took: std::time::Duration,
}

/// What a session opened by a provider sign-in keeps: the provider's name
/// and the authentication methods to carry in its access tokens' `amr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Federated {
    pub provider: String,
    pub amr: Vec<String>,
    /// When the person last proved a factor: the provider's `auth_time`
    /// (a single sign-on may reuse a login of days ago), or now when
    /// gatehouse itself just checked a code. Unknown counts as long ago,
    /// so sensitive actions ask for a fresh login first.
    pub authenticated_at: Option<Millis>,
}

#[derive(Clone)]
pub struct SessionService {
    db: Db,
    config: Arc<Config>,
    keys: Arc<TokenKeys>,
    revocations: Revocations,
    /// Accounts read recently; forgotten on every account change this
    /// instance makes or learns of with the revocations.
    users: UserCache,
}

impl SessionService {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        keys: Arc<TokenKeys>,
        revocations: Revocations,
    ) -> Self {
        Self {
            db,
            config,
            keys,
            revocations,
            users: UserCache::default(),
        }
    }

    /// The cache of recently read accounts.
    pub fn users(&self) -> &UserCache {
        &self.users
    }

    /// Forgets a cached account after changing it here; other instances
    /// learn of the change from the database's log of account changes.
    pub fn account_changed(&self, user_id: &UserId) {
        self.users.forget(user_id);
    }

    /// Records an event in the user's security log; a failure to record is
    /// logged but never fails the request that caused it.
    pub async fn record_event(
        &self,
        user_id: &UserId,
        kind: EventKind,
        client: &ClientInfo,
        detail: &str,
    ) {
        if let Err(err) = write_event(&self.db, user_id, kind, client, detail).await {
            tracing::warn!(error = %err, kind = kind.as_str(), "could not record security event");
        }
    }

    /// Records an event without making the caller wait for the write (so a
    /// refusal costs the same time whether or not there is an account to
    /// log it for).
    pub fn record_event_later(
        &self,
        user_id: &UserId,
        kind: EventKind,
        client: &ClientInfo,
        detail: &'static str,
    ) {
        let (sessions, user_id, client) = (self.clone(), user_id.clone(), client.clone());
        tokio::spawn(async move { sessions.record_event(&user_id, kind, &client, detail).await });
    }

    /// Opens a new session (a refresh-token family) for `user`.
    pub async fn start(
        &self,
        user: &User,
        kind: SessionKind,
        method: SignInMethod,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        self.start_with(user, kind, method, None, client).await
    }

    /// Opens a session; a provider sign-in keeps its provider and what the
    /// provider reported.
    pub async fn start_with(
        &self,
        user: &User,
        kind: SessionKind,
        method: SignInMethod,
        federated: Option<&Federated>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AppError> {
        let now = now_ms();
        let session_id = SessionId::new(tokens::new_session_id());
        let secret = tokens::new_session_secret();
        let absolute = now + millis(self.config.lifetimes.session_max_age);
        let idle = (now + millis(self.config.lifetimes.refresh_idle)).min(absolute);
        let amr_text = federated.map(|f| f.amr.join(" "));
        let opened = self
            .db
            .insert_session(NewSession {
                id: &session_id,
                user_id: &user.id,
                kind,
                secret: &secret,
                now,
                idle_expires_at: idle,
                absolute_expires_at: absolute,
                user_agent: truncate(&client.user_agent, 512),
                ip: client.ip.as_deref(),
                credential: &user.password_hash,
                method,
                provider: federated.map(|f| f.provider.as_str()),
                amr: amr_text.as_deref(),
                proved_at: federated.map(|f| f.authenticated_at.unwrap_or(0).min(now)),
            })
            .await?;
        if !opened {
            // The password changed or the account was disabled or deleted
            // while this sign-in was being checked.
            return Err(ErrorCode::InvalidCredentials.into());
        }
        let amr = match federated {
            Some(f) => f.amr.clone(),
            None => method.amr().iter().map(|m| (*m).to_owned()).collect(),
        };
        Ok(IssuedTokens {
            user_id: user.id.clone(),
            access: self.keys.issue_access(
                &user.id,
                &session_id,
                secs(now),
                self.config.lifetimes.access,
                amr,
            )?,
            refresh: self.keys.refresh_token(&session_id, 0, &secret),
            session_id,
            refresh_expires_at: idle,
            device: None,
        })
    }

    /// Ends a session (sign-out or revocation) and makes its access tokens
    /// stop working at once. Returns whether it was active.
    pub async fn end(
        &self,
        session_id: &SessionId,
        reason: RevokeReason,
    ) -> Result<bool, AppError> {
        let now = now_ms();
        let ended = self.db.revoke_session(session_id, reason).await?;
        if ended {
            self.revocations
                .insert_all([session_id], now, reason, self.token_lifetimes());
            telemetry::revoked(reason, 1);
        }
        Ok(ended)
    }

    /// Ends every session of a user but `keep`; returns how many ended.
    pub async fn end_all(
        &self,
        user_id: &UserId,
        keep: Option<&SessionId>,
        reason: RevokeReason,
    ) -> Result<usize, AppError> {
        let now = now_ms();
        let ids = end_sessions(&self.db, user_id, keep, reason).await?;
        Ok(self.refuse_ended(&ids, now, reason))
    }

    /// Makes sessions just ended in the database refuse their access
    /// tokens here at once; how many there were.
    pub fn refuse_ended(&self, ids: &[SessionId], now: Millis, reason: RevokeReason) -> usize {
        self.revocations
            .insert_all(ids, now, reason, self.token_lifetimes());
        telemetry::revoked(reason, ids.len());
        ids.len()
    }

    /// Whether this session proved a factor recently enough for a
    /// sensitive action (at its sign-in or since); `reauth_required` if not
    /// (OWASP ASVS 4.0 V3.7.1, "re-authentication before sensitive actions").
    pub async fn require_recent_proof(&self, me: &AuthedUser) -> Result<(), AppError> {
        let session = self
            .db
            .session(&me.session_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        let proved = session.proved_at.unwrap_or(session.created_at);
        if now_ms() - proved > millis(self.config.lifetimes.reauth_window) {
            return Err(ErrorCode::ReauthRequired.into());
        }
        Ok(())
    }

    /// A provider's label ("Google"), for log entries and letters.
    pub fn provider_label(&self, name: &str) -> String {
        self.config.provider_label(name)
    }

    /// Records that this session proved a factor just now.
    pub async fn mark_proved(&self, session_id: &SessionId) -> Result<(), AppError> {
        Ok(self.db.mark_proved(session_id, now_ms()).await?)
    }

    /// A session by id, if it exists.
    pub async fn find(&self, session_id: &SessionId) -> Result<Option<Session>, AppError> {
        Ok(self.db.session(session_id).await?)
    }

    /// The active sessions of `user_id`; `current` is marked and listed first.
    pub async fn list(
        &self,
        user_id: &UserId,
        current: Option<&SessionId>,
    ) -> Result<Vec<SessionInfo>, AppError> {
        let mut sessions: Vec<SessionInfo> = self
            .db
            .active_sessions(user_id, now_ms())
            .await?
            .into_iter()
            .map(|s| session_info(s, current, |name| self.config.provider_label(name)))
            .collect();
        // Stable: the current session first, then most recently used.
        sessions.sort_by_key(|s| !s.current);
        Ok(sessions)
    }

    async fn recent_events(&self, user_id: &UserId) -> Result<Vec<SecurityEvent>, AppError> {
        let since = now_ms() - EVENT_RETENTION_DAYS * DAY_MS;
        Ok(self.db.events(user_id, since).await?)
    }

    /// The user's security log within the retention period, newest first.
    pub async fn events(&self, user_id: &UserId) -> Result<Vec<SecurityEventInfo>, AppError> {
        Ok(self
            .recent_events(user_id)
            .await?
            .into_iter()
            .filter_map(event_info)
            .collect())
    }

    /// "New device or address" notices not yet dismissed, newest first.
    pub async fn notices(&self, user_id: &UserId) -> Result<Vec<SecurityEventInfo>, AppError> {
        Ok(self
            .recent_events(user_id)
            .await?
            .into_iter()
            .filter(|e| !e.dismissed)
            .filter_map(event_info)
            .filter(|e| e.kind == EventKind::NewDevice)
            .collect())
    }

    pub async fn dismiss_notices(&self, user_id: &UserId) -> Result<(), AppError> {
        Ok(self.db.dismiss_notices(user_id).await?)
    }

    /// What bounds how long a revoked session's entry is needed (see
    /// [`revocations`]).
    fn token_lifetimes(&self) -> TokenLifetimes {
        TokenLifetimes {
            access: millis(self.config.lifetimes.access),
            refresh_grace: millis(self.config.lifetimes.refresh_grace),
        }
    }

    /// How far back, by the database's clock, a load reads every revocation
    /// whatever its issue time (those recorded without one rely on it): one
    /// access-token lifetime plus the leeway, and a margin.
    fn revocation_retention(&self) -> Millis {
        millis(self.config.lifetimes.access)
            + (crate::keys::claims::LEEWAY_SECS as Millis + 5) * 1000
    }

    /// Loads revocations made since the last load (by any instance), and
    /// forgets those no access token can verify against any more here.
    pub async fn sync_revocations(&self) -> Result<usize, AppError> {
        let now = now_ms();
        let lifetimes = self.token_lifetimes();
        // A session last given a token at or after this (by its issuer's
        // clock) may have one that still verifies by this instance's clock.
        let issued_since = now - lifetimes.longest_life();
        let rows = self
            .db
            .revocations_after(
                self.revocations.high_water(),
                self.revocation_retention(),
                revocations::OVERLAP_MS,
                issued_since,
            )
            .await?;
        // Account changes travel in the same log.
        let read_up_to = rows.iter().map(LogEntry::seq).max();
        // How late another instance's revocation reaches this one: rows
        // past the last load that this instance did not make itself (the
        // first load, at start-up, reads old history and is not timed).
        let (high_water, timed) = (self.revocations.high_water(), self.revocations.loaded());
        let mut revocations = Vec::with_capacity(rows.len());
        let mut changes = 0;
        for entry in rows {
            match entry {
                LogEntry::Revoked(row) => {
                    if timed && row.seq > high_water && !self.revocations.holds(&row.session_id) {
                        let lag = u64::try_from(now - row.revoked_at).unwrap_or_default();
                        telemetry::revocation_lag(std::time::Duration::from_millis(lag));
                    }
                    revocations.push(row)
                }
                LogEntry::AccountChanged { user_id, .. } => {
                    self.users.forget(&user_id);
                    changes += 1;
                }
            }
        }
        let merged = self.revocations.merge(revocations, now, lifetimes);
        if let Some(seq) = read_up_to {
            self.revocations.advance(seq);
        }
        Ok(merged + changes)
    }

    /// Revocations pushed by the database as they happen (PostgreSQL), if it
    /// can push them.
    pub async fn revocation_notices(&self) -> Result<Option<RevocationNotices>, AppError> {
        Ok(self.db.revocation_notices().await?)
    }

    /// Deletes rows nobody needs any more: sessions ended a week ago, events
    /// past their retention, idle throttle counters, links, second steps,
    /// passkey ceremonies and OpenID round trips a day past their expiry.
    /// In batches, each its own short statement (about [`PURGE_STATEMENT`]),
    /// with a pause between them in which sign-ins waiting to write get in.
    pub async fn purge(&self) -> Result<PurgeReport, AppError> {
        let started = std::time::Instant::now();
        let now = now_ms();
        let mut report = PurgeReport::default();
        let week_ago = now - 7 * DAY_MS;
        let day_ago = now - DAY_MS;
        let steps = [
            (Expired::Revocations, week_ago),
            (Expired::RevokedSessions, week_ago),
            (Expired::IdleSessions, week_ago),
            (Expired::Events, now - EVENT_RETENTION_DAYS * DAY_MS),
            (Expired::EventCounts, now - EVENT_RETENTION_DAYS * DAY_MS),
            // An age by the database's clock, which wrote the counters.
            (Expired::Throttle, DAY_MS),
            (Expired::Links, day_ago),
            (Expired::SecondSteps, day_ago),
            (Expired::Ceremonies, day_ago),
            (Expired::Flows, now),
        ];
        for (what, bound) in steps {
            let mut size = PURGE_BATCH;
            loop {
                let batch = std::time::Instant::now();
                let deleted = self.db.purge_batch(what, bound, size).await?;
                let took = batch.elapsed();
                report.batches += 1;
                report.largest_batch = report.largest_batch.max(deleted);
                report.longest_batch = report.longest_batch.max(took);
                match what {
                    Expired::RevokedSessions | Expired::IdleSessions => report.sessions += deleted,
                    Expired::Events => report.events += deleted,
                    _ => report.other += deleted,
                }
                if deleted < size as u64 {
                    break;
                }
                size = if took > 2 * PURGE_STATEMENT {
                    size / 2
                } else if took < PURGE_STATEMENT / 2 {
                    size * 2
                } else {
                    size
                }
                .clamp(*PURGE_BATCH_RANGE.start(), *PURGE_BATCH_RANGE.end());
                tokio::time::sleep(2 * took + PURGE_PAUSE).await;
            }
        }
        // Counted here, once an hour, never per request.
        let active = self.db.count_active_sessions(now).await?;
        telemetry::active_sessions(u64::try_from(active).unwrap_or_default());
        report.took = started.elapsed();
        Ok(report)
    }

    /// Whether the database answers.
    pub async fn healthy(&self) -> bool {
        self.db.ping().await
    }

    /// Whether the database answers and has every migration of this build.
    pub async fn storage_ready(&self) -> bool {
        matches!(self.db.migrations_applied().await, Ok(true))
    }

    /// The database pool's connections, for the metrics.
    pub async fn pool_probe(&self) -> PoolProbe {
        self.db.pool_probe().await
    }

    /// Closes the database connections (at shutdown).
    pub async fn close(&self) {
        self.db.close().await
    }
}

/// Ends every session of the account but `keep` on `db` (the pool, or the
/// transaction of a larger command), and any sign-in waiting for its second
/// factor, which may have been opened with what just changed; the sessions
/// ended. Refusing their access tokens here is the caller's next step
/// ([`SessionService::refuse_ended`]), after a transaction's commit.
pub async fn end_sessions(
    db: &Db,
    user_id: &UserId,
    keep: Option<&SessionId>,
    reason: RevokeReason,
) -> Result<Vec<SessionId>, StoreError> {
    db.void_second_steps(user_id).await?;
    db.revoke_user_sessions(user_id, keep, reason).await
}
