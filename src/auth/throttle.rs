//! Failed sign-in throttling (OWASP Authentication Cheat Sheet, "Protect
//! against automated attacks"; ASVS V2.2.1): exponential backoff, never a
//! permanent lock-out, kept in the database so a restart does not reset it,
//! and counted the same way whether or not the account exists.

use crate::{clock::Millis, error::AppError, store::ThrottleEntry};

/// Failures allowed per (account, client address) before backoff starts.
const FREE_PER_ACCOUNT_AND_CLIENT: i64 = 5;
/// Failures allowed per client address (any account) before backoff starts.
const FREE_PER_CLIENT: i64 = 20;
/// Consecutive failures allowed per account (any client) before backoff starts.
const FREE_PER_ACCOUNT: i64 = 100;
/// The longest backoff.
const MAX_BLOCK_MS: Millis = 15 * 60 * 1000;

/// The throttle keys one sign-in attempt is counted under.
pub struct ThrottleKeys {
    account_and_client: String,
    client: String,
    account: String,
}

impl ThrottleKeys {
    /// `email` is the normalized address as typed, whether or not it exists.
    pub fn new(email: &str, client_ip: Option<&str>) -> Self {
        let ip = client_ip.unwrap_or("unknown");
        Self {
            account_and_client: format!("acct-ip:{email}|{ip}"),
            client: format!("ip:{ip}"),
            account: format!("acct:{email}"),
        }
    }

    pub fn all(&self) -> [&str; 3] {
        [&self.account_and_client, &self.client, &self.account]
    }

    /// Each key with the failures it allows before backoff starts.
    pub fn with_allowances(&self) -> [(&str, i64); 3] {
        [
            (&self.account_and_client, FREE_PER_ACCOUNT_AND_CLIENT),
            (&self.client, FREE_PER_CLIENT),
            (&self.account, FREE_PER_ACCOUNT),
        ]
    }

    /// The keys a correct password clears: the account's streaks, not the
    /// client's address-wide counter (one valid account cannot launder
    /// guesses against others).
    pub fn cleared_by_success(&self) -> [&str; 2] {
        [&self.account_and_client, &self.account]
    }
}

/// How long to refuse attempts after `failures` failures, given `free` of them
/// go unpunished: 1 s, 2 s, 4 s … up to [`MAX_BLOCK_MS`].
pub fn backoff(failures: i64, free: i64) -> Millis {
    if failures < free {
        return 0;
    }
    let exponent = (failures - free).min(20) as u32;
    (1000_i64 << exponent).min(MAX_BLOCK_MS)
}

/// `Err(throttled)` with the seconds to wait if any entry is in backoff.
pub fn refuse_if_blocked(entries: &[ThrottleEntry], now: Millis) -> Result<(), AppError> {
    let wait_ms = entries
        .iter()
        .map(|entry| entry.blocked_until - now)
        .max()
        .unwrap_or(0);
    if wait_ms > 0 {
        tracing::warn!(retry_after_ms = wait_ms, "sign-in throttled");
        return Err(AppError::throttled(((wait_ms + 999) / 1000) as u64));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        assert_eq!(backoff(4, 5), 0);
        assert_eq!(backoff(5, 5), 1000);
        assert_eq!(backoff(6, 5), 2000);
        assert_eq!(backoff(9, 5), 16_000);
        assert_eq!(backoff(60, 5), MAX_BLOCK_MS);
        assert_eq!(backoff(99, 100), 0);
        assert_eq!(backoff(100, 100), 1000);
    }
}
