//! Counting sign-in attempts before a password is checked, and taking a
//! success back from the counts (policy in `auth::throttle`).

use super::AuthService;
use crate::{
    auth::throttle::{self, ThrottleKeys},
    error::AppError,
};

impl AuthService {
    /// Counts a trusted device's attempt under its own key and under the
    /// account's key for all its devices (so many credentials collected
    /// with a once-known password do not multiply the allowance).
    pub(super) async fn reserve_device_attempt(
        &self,
        device_key: &str,
        email: &str,
    ) -> Result<(), AppError> {
        let all_devices = throttle::account_devices_key(email);
        for attempt in [
            throttle::device_attempt(device_key),
            throttle::account_devices_attempt(&all_devices),
        ] {
            throttle::refuse_if_blocked(self.db.reserve_attempt(attempt).await?)?;
        }
        Ok(())
    }

    /// Counts a password attempt under every key before the password is
    /// checked; `Err(throttled)` with the seconds to wait if a key is in
    /// backoff.
    pub(super) async fn reserve_attempt(&self, keys: &ThrottleKeys) -> Result<(), AppError> {
        for attempt in keys.attempts() {
            throttle::refuse_if_blocked(self.db.reserve_attempt(attempt).await?)?;
        }
        Ok(())
    }

    /// Counts an attempt (a password or a code) before it is checked: under
    /// the trusted device's keys if `device_key` is one, else under the
    /// account's and the client's.
    pub(super) async fn reserve_for(
        &self,
        device_key: Option<&str>,
        keys: &ThrottleKeys,
        email: &str,
    ) -> Result<(), AppError> {
        match device_key {
            Some(key) => self.reserve_device_attempt(key, email).await,
            None => self.reserve_attempt(keys).await,
        }
    }

    /// Takes a correct attempt back from the counts [`Self::reserve_for`]
    /// added to.
    pub(super) async fn release_for(
        &self,
        device_key: Option<&str>,
        keys: &ThrottleKeys,
        email: &str,
    ) -> Result<(), AppError> {
        match device_key {
            Some(key) => {
                self.db.clear_failures(&[key]).await?;
                self.db
                    .release_attempt(&throttle::account_devices_key(email))
                    .await?;
                Ok(())
            }
            None => self.record_success(keys).await,
        }
    }

    /// A correct password ends this client's streak on the account and takes
    /// the attempt back from the account-wide and address-wide counts; it
    /// does not erase strangers' failures there (else every sign-in of the
    /// owner would hand a distributed guesser a fresh allowance).
    pub(super) async fn record_success(&self, keys: &ThrottleKeys) -> Result<(), AppError> {
        self.db.clear_failures(&[keys.account_and_client()]).await?;
        for key in keys.released_by_success() {
            self.db.release_attempt(key).await?;
        }
        Ok(())
    }
}
