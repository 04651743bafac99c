//! Password policy and hashing.
//!
//! Policy follows NIST SP 800-63B §5.1.1.2 and the OWASP Authentication Cheat
//! Sheet: at least 8 characters, long passphrases allowed, no composition
//! rules, no truncation, and a check against guessable passwords.
//! Hashing is argon2id at OWASP's minimum parameters
//! (<https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id>).

use super::hash_workers::HashWorkers;
use crate::error::{AppError, ErrorCode};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::{fmt, sync::Arc};
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 8;
/// Generous enough for any passphrase; a cap keeps hashing cost bounded.
pub const MAX_CHARS: usize = 256;
pub const MAX_BYTES: usize = 1024;
/// How much of a password the strength estimate looks at.
const ZXCVBN_MAX_CHARS: usize = 100;
/// Password jobs allowed to wait for a worker; beyond it, `429` at once
/// rather than a queue that grows without bound.
const MAX_WAITING: usize = 64;

/// OWASP's argon2id minimum: m=19456 KiB, t=2, p=1.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// A password as typed. Its `Debug` never shows it.
pub struct Password(String);

impl Password {
    pub fn new(raw: String) -> Self {
        Self(raw)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The length rules, checked before any costly work.
fn check_length(raw: &str) -> Result<(), AppError> {
    if raw.len() > MAX_BYTES {
        return Err(AppError::invalid_input(format!(
            "Passwords can be at most {MAX_CHARS} characters."
        )));
    }
    let chars = raw.chars().count();
    if chars < MIN_CHARS {
        return Err(AppError::new(
            ErrorCode::WeakPassword,
            format!("Use at least {MIN_CHARS} characters."),
        ));
    }
    if chars > MAX_CHARS {
        return Err(AppError::invalid_input(format!(
            "Passwords can be at most {MAX_CHARS} characters."
        )));
    }
    Ok(())
}

/// Checks a new password against the policy; `user_inputs` (e.g. the email)
/// are counted as guessable. Costs up to a few hundred milliseconds of CPU
/// on crafted input: call it through [`PasswordHasherPool::check_new`].
pub fn check_new_password(password: &Password, user_inputs: &[&str]) -> Result<(), AppError> {
    let raw = password.expose();
    check_length(raw)?;
    // zxcvbn's matching cost grows steeply with length; its authors judge
    // only the first 100 characters, and a strong prefix keeps the whole
    // password strong.
    let sample: String = raw.chars().take(ZXCVBN_MAX_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&sample, user_inputs);
    if u8::from(estimate.score()) < 3 {
        let mut message = String::from("That password is too easy to guess.");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                message.push(' ');
                message.push_str(&warning.to_string());
            }
            if let Some(suggestion) = feedback.suggestions().first() {
                message.push(' ');
                message.push_str(&suggestion.to_string());
            }
        }
        return Err(AppError::new(ErrorCode::WeakPassword, message));
    }
    Ok(())
}

/// Hashes and verifies passwords off the async runtime, a bounded number at
/// a time so a burst of sign-ins cannot exhaust memory (19 MiB per hash).
#[derive(Clone)]
pub struct PasswordHasherPool {
    /// One per worker: at most this many hashes run at once.
    permits: Arc<Semaphore>,
    /// Workers plus the bounded queue: beyond it, `429` at once.
    admitted: Arc<Semaphore>,
    /// Low-priority threads of their own.
    workers: HashWorkers,
    /// Verified against when the email is unknown, so that an unknown email
    /// costs the same time as a wrong password (OWASP Authentication Cheat
    /// Sheet, "Authentication Responses").
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

impl PasswordHasherPool {
    pub fn new() -> Self {
        // Leave a core for everything else: on two cores, one hash at a time.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = hash_blocking("gatehouse dummy password").expect("hashing works");
        let workers = cores.saturating_sub(1).max(1);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + MAX_WAITING)),
            workers: HashWorkers::start(workers),
            dummy_hash: dummy.into(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        // Both permits are owned and released on drop, also when the request
        // is cancelled while it waits (a client that hangs up); the worker
        // permit moves into the worker's job, which runs to its end even
        // then, so the bound on concurrent hashes always holds.
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            tracing::warn!("password workers saturated; attempt refused");
            crate::telemetry::password_queue_refused();
            return Err(AppError::throttled(1));
        };
        let worker = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        self.workers
            .run(move || {
                let _permits = (admitted, worker);
                job()
            })
            .await
            .ok_or_else(|| AppError::internal("the password workers stopped"))
    }

    /// Checks a new password against the policy off the async runtime, so
    /// crafted inputs cannot stall other requests.
    pub async fn check_new(
        &self,
        password: &Password,
        user_inputs: &[&str],
    ) -> Result<(), AppError> {
        check_length(password.expose())?;
        let raw = Password::new(password.expose().to_owned());
        let inputs: Vec<String> = user_inputs.iter().map(|s| (*s).to_owned()).collect();
        self.run(move || {
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            check_new_password(&raw, &inputs)
        })
        .await?
    }

    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let raw = password.expose().to_owned();
        self.run(move || hash_blocking(&raw))
            .await?
            .map_err(AppError::internal)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there
    /// is no account. Returns whether it matched and whether the stored hash
    /// uses older parameters and should be replaced.
    pub async fn verify(
        &self,
        password: &Password,
        hash: Option<&str>,
    ) -> Result<Verified, AppError> {
        // An account without a password (opened through a provider) costs
        // the same work as an unknown one, and matches nothing.
        let hash = hash.filter(|h| !h.starts_with(crate::store::users::NO_PASSWORD_PREFIX));
        let real = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let raw = password.expose().to_owned();
        let started = std::time::Instant::now();
        let verified = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&hash) else {
                    return Verified::default();
                };
                let matches = argon2().verify_password(raw.as_bytes(), &parsed).is_ok() && real;
                Verified {
                    matches,
                    needs_rehash: matches && !uses_current_params(&parsed),
                }
            })
            .await;
        if verified.is_ok() {
            crate::telemetry::password_checked(started.elapsed());
        }
        verified
    }

    /// Password work waiting for a worker, and running now.
    pub fn load(&self) -> (usize, usize) {
        let workers = self.workers.count();
        let running = workers.saturating_sub(self.permits.available_permits());
        let admitted = (workers + MAX_WAITING).saturating_sub(self.admitted.available_permits());
        (admitted.saturating_sub(running), running)
    }
}

impl Default for PasswordHasherPool {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Verified {
    pub matches: bool,
    pub needs_rehash: bool,
}

fn uses_current_params(hash: &PasswordHash<'_>) -> bool {
    let param = |name: &str| hash.params.get_decimal(name);
    hash.algorithm.as_str() == "argon2id"
        && hash.version == Some(0x13)
        && param("m").is_some_and(|m| m >= M_COST)
        && param("t").is_some_and(|t| t >= T_COST)
        && param("p") == Some(P_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_rejects_short_and_guessable_passwords() {
        let err = check_new_password(&Password::new("short".into()), &[]).unwrap_err();
        assert_eq!(err.error, ErrorCode::WeakPassword);
        let err = check_new_password(&Password::new("password123".into()), &[]).unwrap_err();
        assert_eq!(err.error, ErrorCode::WeakPassword);
        assert!(err.message.len() > "That password is too easy to guess.".len());
        let err = check_new_password(&Password::new("x".repeat(300)), &[]).unwrap_err();
        assert_eq!(err.error, ErrorCode::InvalidInput);
        assert!(check_new_password(
            &Password::new("correct horse battery staple 42".into()),
            &[]
        )
        .is_ok());
        // Long passphrases are welcome; no composition rules.
        assert!(check_new_password(
            &Password::new("a quiet lighthouse hums over grey water ".repeat(5)),
            &[]
        )
        .is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_old_parameters_ask_for_rehash() {
        let pool = PasswordHasherPool::new();
        let password = Password::new("correct horse battery staple".into());
        let hash = pool.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let ok = pool.verify(&password, Some(&hash)).await.unwrap();
        assert!(ok.matches && !ok.needs_rehash);
        let wrong = pool
            .verify(&Password::new("nope nope nope".into()), Some(&hash))
            .await
            .unwrap();
        assert!(!wrong.matches);
        // Unknown account: the dummy hash is checked, and never matches.
        let dummy = pool
            .verify(&Password::new("gatehouse dummy password".into()), None)
            .await
            .unwrap();
        assert!(!dummy.matches);

        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let old = weak
            .hash_password(password.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        let verified = pool.verify(&password, Some(&old)).await.unwrap();
        assert!(verified.matches && verified.needs_rehash);
    }
}
