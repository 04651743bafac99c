//! Throttling of guesses and sign-ups (OWASP Authentication Cheat Sheet,
//! "Protect against automated attacks"; ASVS V2.2.1): every attempt is
//! counted before any password is checked, in one statement per key, so a
//! burst of concurrent guesses gets no more password checks than the free
//! allowance. Backoff grows exponentially and never locks for good; the
//! counters live in the database (a restart does not reset them) and are
//! counted the same way whether or not the account exists.

use crate::{
    clock::Millis,
    error::AppError,
    store::throttle::{Attempt, Reservation},
};

/// Attempts allowed per (account, client address) before backoff starts.
const FREE_PER_ACCOUNT_AND_CLIENT: i64 = 5;
/// Attempts allowed per client address (any account) before backoff starts.
const FREE_PER_CLIENT: i64 = 20;
/// Consecutive failures allowed per account (any client) before backoff starts.
const FREE_PER_ACCOUNT: i64 = 100;
/// The longest backoff.
const MAX_BLOCK_MS: Millis = 15 * 60 * 1000;
/// A client address's count decays: an hour without attempts starts it over.
const CLIENT_WINDOW_MS: Millis = 3_600_000;
/// An account's streak starts over after a day without failures.
const ACCOUNT_WINDOW_MS: Millis = 24 * 3_600_000;
/// The sign-up window: `GATEHOUSE_REGISTER_LIMIT` per client address per hour.
pub const REGISTER_WINDOW_MS: Millis = 3_600_000;

/// The throttle keys one sign-in attempt is counted under.
pub struct ThrottleKeys {
    account_and_client: String,
    client: String,
    account: String,
}

impl ThrottleKeys {
    /// `email` is the normalized address as typed, whether or not it exists.
    pub fn new(email: &str, client_ip: Option<&str>) -> Self {
        let ip = address_scope(client_ip);
        Self {
            account_and_client: format!("acct-ip:{email}|{ip}"),
            client: format!("ip:{ip}"),
            account: format!("acct:{email}"),
        }
    }

    /// The attempts to reserve, narrowest first.
    pub fn attempts(&self) -> [Attempt<'_>; 3] {
        fn attempt(key: &str, free: i64, window_ms: Millis) -> Attempt<'_> {
            Attempt {
                key,
                free,
                window_ms,
                max_block_ms: MAX_BLOCK_MS,
            }
        }
        [
            attempt(
                &self.account_and_client,
                FREE_PER_ACCOUNT_AND_CLIENT,
                ACCOUNT_WINDOW_MS,
            ),
            attempt(&self.client, FREE_PER_CLIENT, CLIENT_WINDOW_MS),
            attempt(&self.account, FREE_PER_ACCOUNT, ACCOUNT_WINDOW_MS),
        ]
    }

    /// The key a correct password clears: this client's streak on the account.
    pub fn account_and_client(&self) -> &str {
        &self.account_and_client
    }

    /// The keys a correct password takes its own attempt back from, without
    /// clearing them: one valid account cannot launder guesses against
    /// others, and the owner's sign-ins do not reset a distributed guesser.
    pub fn released_by_success(&self) -> [&str; 2] {
        [&self.client, &self.account]
    }
}

/// Attempts allowed per trusted device before backoff starts.
const FREE_PER_DEVICE: i64 = 10;

/// The attempt of a client that presents a valid device credential for the
/// account: counted on its own, so the account-wide and address-wide locks
/// that strangers' guesses build up never lock the owner out (OWASP "Slow
/// down online guessing attacks with device cookies").
pub fn device_key(device: &str) -> String {
    format!("device:{device}")
}

pub fn device_attempt(key: &str) -> Attempt<'_> {
    Attempt {
        key,
        free: FREE_PER_DEVICE,
        window_ms: ACCOUNT_WINDOW_MS,
        max_block_ms: MAX_BLOCK_MS,
    }
}

/// Attempts allowed from all trusted devices of one account together.
const FREE_PER_ACCOUNT_DEVICES: i64 = 30;

/// The key counting every trusted device's attempts at one account.
pub fn account_devices_key(email: &str) -> String {
    format!("acct-devices:{email}")
}

pub fn account_devices_attempt(key: &str) -> Attempt<'_> {
    Attempt {
        key,
        free: FREE_PER_ACCOUNT_DEVICES,
        window_ms: ACCOUNT_WINDOW_MS,
        max_block_ms: MAX_BLOCK_MS,
    }
}

/// The sign-up key of a client address.
pub fn register_key(client_ip: Option<&str>) -> String {
    format!("register:{}", address_scope(client_ip))
}

/// What one client controls: an IPv4 address, or an IPv6 /64 (one
/// subscriber's prefix; counting single IPv6 addresses would give an
/// attacker 2^64 fresh counters). IPv4-mapped IPv6 counts as IPv4.
pub fn address_scope(client_ip: Option<&str>) -> String {
    match client_ip.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_canonical().to_string(),
        None => client_ip.unwrap_or("unknown").to_owned(),
    }
}

/// `Err(throttled)` with the seconds to wait when a reservation was refused.
pub fn refuse_if_blocked(reservation: Reservation) -> Result<(), AppError> {
    match reservation {
        Reservation::Allowed => Ok(()),
        Reservation::Blocked { retry_after_ms } => Err(AppError::throttled(
            ((retry_after_ms + 999) / 1000) as u64,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::address_scope;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        assert_eq!(address_scope(Some("2001:db8::1")), "2001:db8:0:0::/64");
        assert_eq!(
            address_scope(Some("2001:db8::ffff:1:2")),
            address_scope(Some("2001:db8::9"))
        );
        assert_ne!(
            address_scope(Some("2001:db8:0:1::1")),
            address_scope(Some("2001:db8::1"))
        );
        assert_eq!(address_scope(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(address_scope(Some("192.0.2.7")), "192.0.2.7");
        assert_eq!(address_scope(None), "unknown");
    }
}
