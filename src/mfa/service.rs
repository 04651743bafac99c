//! What the second factor does: enrolment and removal of an authenticator
//! app, recovery codes, checking a code, and the second step of a sign-in.
//! It owns these writes and their security events; throttling of codes and
//! opening sessions stay with the auth service, which calls in here.

use super::{
    passkeys::PasskeyService,
    recovery_codes::RecoveryCodes,
    totp::{self, Enrollment},
    FactorStatus,
};
use crate::{
    clock::now_ms,
    config::Config,
    crypto::{derive_key, seal::Sealer},
    error::{AppError, ErrorCode},
    ids::UserId,
    recovery::{letters, links::Links},
    request::{AuthedUser, ClientInfo},
    sessions::service::SessionService,
    store::{
        factors::{ChallengeRow, NewChallenge, TotpRow},
        Db, User,
    },
    vocab::{EventKind, SessionKind, SignInMethod},
};
use std::sync::Arc;

/// A second-step token: 256 random bits, base64url.
const CHALLENGE_BYTES: usize = 32;
const CHALLENGE_CHARS: usize = 43;

/// The stored form of a presented second-step token; `None` for anything
/// that cannot be one (no database work for garbage).
fn challenge_hash(token: &str) -> Option<String> {
    crate::crypto::token_hash(token, CHALLENGE_CHARS)
}

/// The second step was not found: expired, used, or never issued.
fn step_gone() -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        "This sign-in has expired. Please enter your email and password again.",
    )
}

/// A first authenticator code found right for an enrolment: the sealed
/// secret it matched and its time step.
pub struct FirstCode {
    sealed: Vec<u8>,
    step: i64,
}

#[derive(Clone)]
pub struct MfaService {
    db: Db,
    sealer: Sealer,
    codes: RecoveryCodes,
    sessions: Arc<SessionService>,
    links: Arc<Links>,
    passkeys: PasskeyService,
}

impl MfaService {
    pub fn new(db: Db, config: &Config, sessions: Arc<SessionService>, links: Arc<Links>) -> Self {
        Self {
            sealer: Sealer::new(&config.secret, "gatehouse totp secret v1"),
            codes: RecoveryCodes::new(derive_key(
                config.secret.bytes(),
                "gatehouse recovery codes v1",
            )),
            passkeys: PasskeyService::new(db.clone(), config, sessions.clone()),
            db,
            sessions,
            links,
        }
    }

    /// Passkeys: adding, listing and removing them, and checking a
    /// passkey sign-in.
    pub fn passkeys(&self) -> &PasskeyService {
        &self.passkeys
    }

    /// The account's confirmed authenticator, if any.
    async fn confirmed(&self, user_id: &UserId) -> Result<Option<TotpRow>, AppError> {
        let row = self.db.totp_factor(user_id).await?;
        Ok(row.filter(|r| r.confirmed_at.is_some()))
    }

    /// The second factors a sign-in of this account must offer (empty if
    /// the password alone signs in).
    pub async fn methods(&self, user_id: &UserId) -> Result<Vec<&'static str>, AppError> {
        Ok(match self.confirmed(user_id).await? {
            Some(_) => vec!["totp", "recovery_code"],
            None => Vec::new(),
        })
    }

    /// What the security page shows.
    pub async fn status(&self, user_id: &UserId) -> Result<FactorStatus, AppError> {
        let totp = self.confirmed(user_id).await?.is_some();
        let recovery_codes_left = if totp {
            self.db.recovery_codes_left(user_id).await?
        } else {
            0
        };
        Ok(FactorStatus {
            totp,
            recovery_codes_left,
        })
    }

    fn open_secret(
        &self,
        user_id: &UserId,
        row: &TotpRow,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, AppError> {
        self.sealer
            .open(&row.secret_sealed, user_id.as_str().as_bytes())
            .ok_or_else(|| AppError::internal("an authenticator secret does not open"))
    }

    /// Starts enrolment: a new secret, not active until confirmed. Needs a
    /// recent sign-in; refused while an authenticator is on.
    pub async fn enroll(&self, me: &AuthedUser, user: &User) -> Result<Enrollment, AppError> {
        self.sessions.require_recent_proof(me).await?;
        let secret = totp::new_secret();
        let sealed = self.sealer.seal(&secret, user.id.as_str().as_bytes());
        if !self.db.begin_totp(&user.id, &sealed, now_ms()).await? {
            return Err(AppError::invalid_input(
                "An authenticator app is already set up. Turn it off first to set up another.",
            ));
        }
        Ok(totp::enrollment(&secret, &user.email))
    }

    /// Checks the first code of an enrolment waiting for one (reads only,
    /// before the caller's transaction opens; the caller checked the recent
    /// sign-in): what [`MfaService::confirm`] then turns on.
    pub async fn first_code(&self, me: &AuthedUser, code: &str) -> Result<FirstCode, AppError> {
        let row = self.db.totp_factor(&me.user_id).await?;
        let row = match row {
            Some(row) if row.confirmed_at.is_none() => row,
            Some(_) => {
                return Err(AppError::invalid_input(
                    "The authenticator app is already on.",
                ))
            }
            None => {
                return Err(AppError::invalid_input(
                    "Start again: choose “Set up an authenticator app”.",
                ))
            }
        };
        let secret = self.open_secret(&me.user_id, &row)?;
        let step = totp::matched_step(&secret, code, now_secs()).ok_or(ErrorCode::InvalidCode)?;
        Ok(FirstCode {
            sealed: row.secret_sealed,
            step,
        })
    }

    /// Turns on the enrolment `first` was checked against, writing through
    /// `tx` (the caller's transaction, which logs it); the new recovery
    /// codes, shown this once. A setup changed meanwhile turns nothing on.
    pub async fn confirm(
        &self,
        tx: &Db,
        me: &AuthedUser,
        first: FirstCode,
    ) -> Result<Vec<String>, AppError> {
        let (shown, hashes) = self.codes.generate(&me.user_id);
        let confirmed = tx
            .confirm_totp(
                &me.user_id,
                &first.sealed,
                first.step,
                &hashes,
                now_ms(),
                &me.session_id,
            )
            .await?;
        if !confirmed {
            return Err(AppError::invalid_input(
                "The setup changed meanwhile (another tab?). Start again.",
            ));
        }
        Ok(shown)
    }

    /// Replaces the recovery codes through `tx` (the caller's transaction,
    /// which logs it; the caller checked the recent sign-in); the old ones
    /// stop working.
    pub async fn regenerate(&self, tx: &Db, me: &AuthedUser) -> Result<Vec<String>, AppError> {
        let (shown, hashes) = self.codes.generate(&me.user_id);
        if !tx
            .replace_recovery_codes(&me.user_id, &hashes, now_ms())
            .await?
        {
            return Err(AppError::invalid_input(
                "Recovery codes come with an authenticator app: set one up first.",
            ));
        }
        Ok(shown)
    }

    /// Checks a code against the account's second factor and spends it:
    /// an authenticator code once per time step, a recovery code once
    /// ever. `None` if it is not right (or was used); throttling is the
    /// caller's.
    pub async fn spend_code(
        &self,
        user: &User,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Option<SignInMethod>, AppError> {
        let Some(row) = self.confirmed(&user.id).await? else {
            return Ok(None);
        };
        if totp::looks_like_code(code) {
            let secret = self.open_secret(&user.id, &row)?;
            let Some(step) = totp::matched_step(&secret, code, now_secs()) else {
                return Ok(None);
            };
            // RFC 6238 §5.2: a code is accepted once; a later step must come.
            let fresh = self.db.use_totp_step(&user.id, step).await?;
            return Ok(fresh.then_some(SignInMethod::PasswordTotp));
        }
        let Some(hash) = self.codes.hash_of(&user.id, code) else {
            return Ok(None);
        };
        if !self.db.use_recovery_code(&user.id, &hash, now_ms()).await? {
            return Ok(None);
        }
        let left = self.db.recovery_codes_left(&user.id).await?;
        tracing::info!(user_id = %user.id, left, "recovery code used");
        let detail = format!("Recovery code used; {left} left");
        self.sessions
            .record_event(&user.id, EventKind::RecoveryCodeUsed, client, &detail)
            .await;
        self.links.mail(letters::recovery_code_used(
            &user.email,
            left,
            &self.links.forgot_url(),
        ));
        Ok(Some(SignInMethod::RecoveryCode))
    }

    /// Opens the second step of a sign-in; its token, for the cookie or
    /// the token API's `mfa_token`.
    pub async fn open_step(
        &self,
        user_id: &UserId,
        kind: SessionKind,
        known_device: bool,
        federated: Option<&crate::sessions::service::Federated>,
    ) -> Result<String, AppError> {
        let token = crate::crypto::random_id(CHALLENGE_BYTES);
        let amr = federated.map(|f| f.amr.join(" "));
        let hash = challenge_hash(&token).expect("a new token is well formed");
        let now = now_ms();
        self.db
            .insert_challenge(NewChallenge {
                token_hash: &hash,
                user_id,
                kind,
                known_device,
                now,
                expires_at: now + crate::auth::cookies::SECOND_STEP_MAX_AGE_SECS * 1000,
                provider: federated.map(|f| f.provider.as_str()),
                amr: amr.as_deref(),
            })
            .await?;
        Ok(token)
    }

    /// The open second step behind `token` (of `kind`), without using it.
    pub async fn find_step(
        &self,
        token: &str,
        kind: SessionKind,
    ) -> Result<ChallengeRow, AppError> {
        let hash = challenge_hash(token.trim()).ok_or_else(step_gone)?;
        let row = self.db.find_challenge(&hash, now_ms()).await?;
        row.filter(|r| r.kind == kind).ok_or_else(step_gone)
    }

    /// Completes the second step: succeeds once, for one caller.
    pub async fn finish_step(&self, token: &str) -> Result<ChallengeRow, AppError> {
        let hash = challenge_hash(token.trim()).ok_or_else(step_gone)?;
        self.db
            .use_challenge(&hash, now_ms())
            .await?
            .ok_or_else(step_gone)
    }
}

fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or_default()
}
