//! The security dashboard's queries: events of every account counted per
//! hour and per day, the accounts guesses are aimed at, the busiest client
//! networks, and everyone's security log page by page. The charts read the
//! per-hour counts a database trigger keeps as events are written (one
//! grouped statement per chart over at most 720 rows a kind, four times
//! that on PostgreSQL, whatever the size of the log); this file only shapes
//! the answer.

use super::{
    service::AdminService, AccountEventInfo, BucketCounts, BusyNetwork, Dashboard, EventPage,
    GuessedAccount,
};
use crate::{
    auth::throttle::address_scope,
    clock::{now_ms, rfc3339, Millis},
    error::AppError,
    store::events::EventFilter,
    vocab::EventKind,
};

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 24 * HOUR_MS;
/// Rows of the "most guessed-at" and "busiest networks" lists.
const TOP: i64 = 10;
/// Events on one page of the log.
pub const EVENTS_PER_PAGE: i64 = 25;
/// The longest email fragment a filter takes (an address's longest).
const MAX_EMAIL_FILTER: usize = 320;

/// The kinds the charts count.
pub const CHARTED: &[EventKind] = &[
    EventKind::SignIn,
    EventKind::SignInFailed,
    EventKind::SignInThrottled,
    EventKind::Registered,
    EventKind::PasswordReset,
    EventKind::SessionRevoked,
    EventKind::AdminRevokedSession,
];

/// Throttle key prefixes of the busiest-networks list, and what each counts
/// (see `auth::throttle`: sign-in attempts per address scope, and sign-ups).
const NETWORK_COUNTERS: &[(&str, &str)] = &[("ip:", "sign_in"), ("register:", "sign_up")];

impl AdminService {
    /// The dashboard as of now.
    pub async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let now = now_ms();
        let hourly = self.buckets(now, HOUR_MS, 24).await?;
        let daily = self.buckets(now, DAY_MS, 30).await?;
        let guessed_accounts = self
            .db
            .most_guessed_accounts(now - HOUR_MS, TOP)
            .await?
            .into_iter()
            .map(|(email, failed, throttled)| GuessedAccount {
                email,
                failed,
                throttled,
            })
            .collect();
        let prefixes: Vec<&str> = NETWORK_COUNTERS.iter().map(|(p, _)| *p).collect();
        let busy_networks = self
            .db
            .busiest_keys(&prefixes, HOUR_MS, TOP)
            .await?
            .into_iter()
            .filter_map(|(key, attempts, backoff_left)| {
                let (prefix, counted) =
                    NETWORK_COUNTERS.iter().find(|(p, _)| key.starts_with(p))?;
                Some(BusyNetwork {
                    network: network_of(&key[prefix.len()..]),
                    counted: (*counted).to_owned(),
                    attempts,
                    blocked: backoff_left > 0,
                })
            })
            .collect();
        Ok(Dashboard {
            hourly,
            daily,
            guessed_accounts,
            busy_networks,
        })
    }

    /// `count` buckets of `size` ms up to the one holding `now`, oldest
    /// first, every one present (zero when nothing happened).
    async fn buckets(
        &self,
        now: Millis,
        size: Millis,
        count: i64,
    ) -> Result<Vec<BucketCounts>, AppError> {
        let first = now.div_euclid(size) - (count - 1);
        let mut buckets: Vec<BucketCounts> = (first..first + count)
            .map(|n| BucketCounts {
                start: rfc3339(n * size),
                ..BucketCounts::default()
            })
            .collect();
        for (kind, bucket, n) in self.db.event_counts(CHARTED, first * size, size).await? {
            let Some(counts) = usize::try_from(bucket - first)
                .ok()
                .and_then(|i| buckets.get_mut(i))
            else {
                continue; // an event stamped in the future
            };
            let field = match kind {
                EventKind::SignIn => &mut counts.sign_in,
                EventKind::SignInFailed => &mut counts.sign_in_failed,
                EventKind::SignInThrottled => &mut counts.sign_in_throttled,
                EventKind::Registered => &mut counts.registered,
                EventKind::PasswordReset => &mut counts.password_reset,
                _ => &mut counts.revoked,
            };
            *field += n;
        }
        Ok(buckets)
    }

    /// A page of everyone's security log, newest first: of one `kind` (its
    /// stored name) and of accounts whose email contains `email` when
    /// given, older than the event `before` names (a page's `next`).
    pub async fn events(
        &self,
        kind: Option<&str>,
        email: Option<&str>,
        before: Option<&str>,
    ) -> Result<EventPage, AppError> {
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            Some(name) => Some(
                EventKind::parse(name)
                    .ok_or_else(|| AppError::invalid_input("No such kind of event."))?,
            ),
            None => None,
        };
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        if email.as_ref().is_some_and(|e| e.len() > MAX_EMAIL_FILTER) {
            return Err(AppError::invalid_input("That email filter is too long."));
        }
        let before = match before.map(str::trim).filter(|b| !b.is_empty()) {
            Some(cursor) => Some(
                parse_cursor(cursor)
                    .ok_or_else(|| AppError::invalid_input("That page does not exist."))?,
            ),
            None => None,
        };
        let filter = EventFilter {
            kind,
            email_part: email.as_deref(),
        };
        let mut rows = self
            .db
            .all_events(&filter, before, EVENTS_PER_PAGE + 1)
            .await?;
        let more = rows.len() as i64 > EVENTS_PER_PAGE;
        rows.truncate(EVENTS_PER_PAGE as usize);
        let next = more
            .then(|| rows.last().map(|e| format!("{}.{}", e.at, e.id)))
            .flatten();
        let events = rows
            .into_iter()
            .map(|e| AccountEventInfo {
                kind: e.kind,
                at: rfc3339(e.at),
                email: e.email,
                device: e.device,
                network: e.ip.as_deref().map(network_of),
                detail: e.detail,
            })
            .collect();
        Ok(EventPage { events, next })
    }
}

/// The `(at, id)` of the event a page's `next` names.
fn parse_cursor(cursor: &str) -> Option<(Millis, i64)> {
    let (at, id) = cursor.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

/// The network a client address or throttle scope belongs to, as the
/// throttle counts it: an IPv4 address stays, a scope (`…/64`, `…/48`)
/// stays, a single IPv6 address becomes its /64 — the dashboard shows where
/// traffic comes from without listing people's addresses.
fn network_of(address_or_scope: &str) -> String {
    match address_or_scope.parse::<std::net::IpAddr>() {
        Ok(ip) => address_scope(Some(&ip.to_string())),
        Err(_) => address_or_scope.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{network_of, parse_cursor};

    #[test]
    fn networks_never_name_a_single_ipv6_address() {
        assert_eq!(network_of("2001:db8:aa:bb01::7"), "2001:db8:aa:bb01::/64");
        assert_eq!(network_of("2001:db8:aa::/48"), "2001:db8:aa::/48");
        assert_eq!(network_of("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(network_of("192.0.2.7"), "192.0.2.7");
        assert_eq!(network_of("unknown"), "unknown");
    }

    #[test]
    fn cursors_name_a_time_and_an_id() {
        assert_eq!(
            parse_cursor("1765000000000.42"),
            Some((1_765_000_000_000, 42))
        );
        assert_eq!(parse_cursor("42"), None);
        assert_eq!(parse_cursor("a.b"), None);
    }
}
