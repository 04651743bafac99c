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
    store::throttle::{Attempt, Reservation, WindowLimit},
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
/// The sign-up window: `GATEHOUSE_REGISTER_LIMIT` per client address per
/// hour (more for the wider IPv6 scopes, see [`address_scopes`]).
pub const REGISTER_WINDOW_MS: Millis = 3_600_000;

/// The throttle keys one sign-in attempt is counted under.
pub struct ThrottleKeys {
    /// This client's streak on the account; per /64 for IPv6 (the account's
    /// own counter already caps guesses spread over many clients).
    account_and_client: String,
    /// One key per address scope of the client, narrowest first, with its
    /// allowance.
    client: Vec<(String, i64)>,
    account: String,
}

impl ThrottleKeys {
    /// `email` is the normalized address as typed, whether or not it exists.
    pub fn new(email: &str, client_ip: Option<&str>) -> Self {
        let scopes = address_scopes(client_ip);
        Self {
            account_and_client: format!("acct-ip:{email}|{}", scopes[0].prefix),
            client: scopes
                .into_iter()
                .map(|s| (format!("ip:{}", s.prefix), FREE_PER_CLIENT * s.share))
                .collect(),
            account: format!("acct:{email}"),
        }
    }

    /// The attempts to reserve, narrowest first: a client already in
    /// backoff is refused before its wider scopes count the attempt, so
    /// one /64 cannot spend its /48's allowance by itself.
    pub fn attempts(&self) -> Vec<Attempt<'_>> {
        fn attempt(key: &str, free: i64, window_ms: Millis) -> Attempt<'_> {
            Attempt {
                key,
                free,
                window_ms,
                max_block_ms: MAX_BLOCK_MS,
            }
        }
        let mut attempts = vec![attempt(
            &self.account_and_client,
            FREE_PER_ACCOUNT_AND_CLIENT,
            ACCOUNT_WINDOW_MS,
        )];
        attempts.extend(
            self.client
                .iter()
                .map(|(key, free)| attempt(key, *free, CLIENT_WINDOW_MS)),
        );
        attempts.push(attempt(&self.account, FREE_PER_ACCOUNT, ACCOUNT_WINDOW_MS));
        attempts
    }

    /// The key a correct password clears: this client's streak on the account.
    pub fn account_and_client(&self) -> &str {
        &self.account_and_client
    }

    /// The keys a correct password takes its own attempt back from, without
    /// clearing them: one valid account cannot launder guesses against
    /// others, and the owner's sign-ins do not reset a distributed guesser.
    pub fn released_by_success(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.client.iter().map(|(key, _)| key.as_str()).collect();
        keys.push(&self.account);
        keys
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

/// How many times one client's allowance the /56 around an IPv6 client gets.
const SHARE_OF_56: i64 = 4;
/// How many times one client's allowance the /48 around an IPv6 client gets.
const SHARE_OF_48: i64 = 16;

/// One block of client addresses counted together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressScope {
    /// The block as it appears in throttle keys: `192.0.2.7`,
    /// `2001:db8:aa:bb00::/64`, `2001:db8:aa::/48`.
    pub prefix: String,
    /// Its allowance, in multiples of one client's.
    pub share: i64,
}

/// The blocks a client address is counted in, narrowest first, each with
/// its share of the allowance.
///
/// IPv4 (and IPv4-mapped IPv6) is one address, one share. IPv6 is counted
/// in the /64, its /56 and its /48: counting single addresses would give an
/// attacker 2^64 fresh counters, and counting only the /64 still gives
/// whoever holds a /48 (a site's usual assignment, free from tunnel
/// brokers) 65,536 of them. The sizes are the usual assignments (RFC 6177,
/// <https://www.rfc-editor.org/rfc/rfc6177>; RIPE-690,
/// <https://www.ripe.net/publications/docs/ripe-690/>): a /64 is one LAN,
/// a home gets a /56, a site a /48. A /56 gets 4 shares (a home with a few
/// LANs, or a provider's neighbouring customers), a /48 16: an attacker
/// holding a /48 gets 16 clients' allowance instead of 65,536, without
/// which the per-address throttling of guesses and sign-ups (OWASP
/// Authentication Cheat Sheet, "Protect Against Automated Attacks",
/// <https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html>)
/// would mean little over IPv6. The wider counters decay like the others,
/// so a spent /48 is free again after the same window; its neighbours feel
/// it only while 16 clients' worth of attempts come from it.
pub fn address_scopes(client_ip: Option<&str>) -> Vec<AddressScope> {
    let scope = |prefix: String, share: i64| AddressScope { prefix, share };
    match client_ip.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            vec![
                scope(
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]),
                    1,
                ),
                scope(
                    format!("{:x}:{:x}:{:x}:{:x}::/56", s[0], s[1], s[2], s[3] & 0xff00),
                    SHARE_OF_56,
                ),
                scope(
                    format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]),
                    SHARE_OF_48,
                ),
            ]
        }
        Some(ip) => vec![scope(ip.to_canonical().to_string(), 1)],
        None => vec![scope(client_ip.unwrap_or("unknown").to_owned(), 1)],
    }
}

/// What one client controls: an IPv4 address or an IPv6 /64 (the narrowest
/// of [`address_scopes`]).
pub fn address_scope(client_ip: Option<&str>) -> String {
    address_scopes(client_ip).swap_remove(0).prefix
}

/// The fixed-window limits a request from `client_ip` is counted under:
/// `{kind}:{scope}` for each of its [`address_scopes`], narrowest first,
/// `limit` times the scope's share. Reserve them with
/// [`crate::store::Db::reserve_in_windows`].
pub fn per_address_limits(kind: &str, client_ip: Option<&str>, limit: i64) -> Vec<WindowLimit> {
    address_scopes(client_ip)
        .into_iter()
        .map(|s| WindowLimit {
            key: format!("{kind}:{}", s.prefix),
            limit: limit.saturating_mul(s.share),
        })
        .collect()
}

/// `Err(throttled)` with the seconds to wait when a reservation was refused.
pub fn refuse_if_blocked(reservation: Reservation) -> Result<(), AppError> {
    match reservation {
        Reservation::Allowed => Ok(()),
        Reservation::Blocked { retry_after_ms } => {
            Err(AppError::throttled(((retry_after_ms + 999) / 1000) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{address_scope, address_scopes, per_address_limits, ThrottleKeys};

    fn scopes(ip: &str) -> Vec<(String, i64)> {
        address_scopes(Some(ip))
            .into_iter()
            .map(|s| (s.prefix, s.share))
            .collect()
    }

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

    #[test]
    fn ipv6_clients_are_also_counted_in_their_56_and_48() {
        let expected = |p64: &str, p56: &str, p48: &str| {
            vec![
                (p64.to_owned(), 1),
                (p56.to_owned(), 4),
                (p48.to_owned(), 16),
            ]
        };
        assert_eq!(
            scopes("2001:db8:aa:bb00::1"),
            expected(
                "2001:db8:aa:bb00::/64",
                "2001:db8:aa:bb00::/56",
                "2001:db8:aa::/48"
            )
        );
        assert_eq!(
            scopes("2001:db8:aa:bbcc:1:2:3:4"),
            expected(
                "2001:db8:aa:bbcc::/64",
                "2001:db8:aa:bb00::/56",
                "2001:db8:aa::/48"
            )
        );
        assert_eq!(
            scopes("2001:db8::1"),
            expected("2001:db8:0:0::/64", "2001:db8:0:0::/56", "2001:db8:0::/48")
        );
    }

    #[test]
    fn ipv4_clients_are_counted_by_their_address_alone() {
        assert_eq!(scopes("192.0.2.7"), [("192.0.2.7".to_owned(), 1)]);
        assert_eq!(scopes("::ffff:192.0.2.7"), [("192.0.2.7".to_owned(), 1)]);
        assert_eq!(
            address_scopes(None)
                .into_iter()
                .map(|s| (s.prefix, s.share))
                .collect::<Vec<_>>(),
            [("unknown".to_owned(), 1)]
        );
    }

    #[test]
    fn an_ipv6_guess_is_counted_in_each_scope_with_a_larger_allowance() {
        let keys = ThrottleKeys::new("a@example.com", Some("2001:db8:aa:bb01::7"));
        let counted: Vec<_> = keys.attempts().iter().map(|a| (a.key, a.free)).collect();
        assert_eq!(
            counted,
            [
                ("acct-ip:a@example.com|2001:db8:aa:bb01::/64", 5),
                ("ip:2001:db8:aa:bb01::/64", 20),
                ("ip:2001:db8:aa:bb00::/56", 80),
                ("ip:2001:db8:aa::/48", 320),
                ("acct:a@example.com", 100),
            ]
        );
        assert_eq!(
            keys.released_by_success(),
            [
                "ip:2001:db8:aa:bb01::/64",
                "ip:2001:db8:aa:bb00::/56",
                "ip:2001:db8:aa::/48",
                "acct:a@example.com",
            ]
        );
        assert_eq!(
            keys.account_and_client(),
            "acct-ip:a@example.com|2001:db8:aa:bb01::/64"
        );
    }

    #[test]
    fn an_ipv4_guess_is_counted_as_before() {
        let keys = ThrottleKeys::new("a@example.com", Some("192.0.2.7"));
        let counted: Vec<_> = keys.attempts().iter().map(|a| (a.key, a.free)).collect();
        assert_eq!(
            counted,
            [
                ("acct-ip:a@example.com|192.0.2.7", 5),
                ("ip:192.0.2.7", 20),
                ("acct:a@example.com", 100),
            ]
        );
        assert_eq!(
            keys.released_by_success(),
            ["ip:192.0.2.7", "acct:a@example.com"]
        );
    }

    #[test]
    fn per_address_limits_grow_with_the_scope() {
        let limits: Vec<_> = per_address_limits("reset", Some("2001:db8:aa:bb01::7"), 30)
            .into_iter()
            .map(|l| (l.key, l.limit))
            .collect();
        assert_eq!(
            limits,
            [
                ("reset:2001:db8:aa:bb01::/64".to_owned(), 30),
                ("reset:2001:db8:aa:bb00::/56".to_owned(), 120),
                ("reset:2001:db8:aa::/48".to_owned(), 480),
            ]
        );
        let limits: Vec<_> = per_address_limits("register", Some("192.0.2.7"), 30)
            .into_iter()
            .map(|l| (l.key, l.limit))
            .collect();
        assert_eq!(limits, [("register:192.0.2.7".to_owned(), 30)]);
    }
}
