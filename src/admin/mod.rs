//! The admin capability: the console's view of users, and the answers its
//! server functions ([`server_fns`]) give.

use crate::vocab::Role;
use serde::{Deserialize, Serialize};

pub mod server_fns;
server_only! {
    pub mod dashboard;
    pub mod service;
}

/// A user as the admin console lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub sessions: i64,
    /// Whether an authenticator app is on.
    pub second_factor: bool,
    /// The sign-in providers linked to it, by name.
    pub providers: Vec<String>,
}

/// The security dashboard: what happened to every account lately, counted
/// by the database, and who is guessing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// One bucket per hour of the last 24 (UTC), oldest first; the last is
    /// the hour under way.
    pub hourly: Vec<BucketCounts>,
    /// One bucket per day of the last 30 (UTC), oldest first; the last is
    /// today.
    pub daily: Vec<BucketCounts>,
    /// The accounts with the most failed or throttled sign-ins in the last
    /// hour, most first (at most ten).
    pub guessed_accounts: Vec<GuessedAccount>,
    /// The client networks with the most sign-in attempts or sign-ups
    /// counted in the last hour, most first (at most ten).
    pub busy_networks: Vec<BusyNetwork>,
}

/// The events of one time bucket, by what happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketCounts {
    /// The bucket's start, RFC 3339 UTC.
    pub start: String,
    /// Successful sign-ins.
    pub sign_in: i64,
    /// Wrong passwords.
    pub sign_in_failed: i64,
    /// Attempts refused by the throttle.
    pub sign_in_throttled: i64,
    /// Sign-ups.
    pub registered: i64,
    /// Passwords reset by mail.
    pub password_reset: i64,
    /// Sessions ended by their owner on another device or by an administrator.
    pub revoked: i64,
}

/// An account that failed sign-ins were aimed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuessedAccount {
    pub email: String,
    pub failed: i64,
    pub throttled: i64,
}

/// A block of client addresses as the throttle counts it: an IPv4 address,
/// or an IPv6 /64, /56 or /48. Never a single IPv6 address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyNetwork {
    pub network: String,
    /// What was counted: `sign_in` (attempts, before any password check)
    /// or `sign_up`.
    pub counted: String,
    pub attempts: i64,
    /// Whether it is refused for now.
    pub blocked: bool,
}

/// A page of everyone's security events, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<AccountEventInfo>,
    /// The `before` of the next (older) page, if there is one.
    pub next: Option<String>,
}

/// An entry of some account's security log, as the dashboard lists it: the
/// client by its network (as the throttle counts it), not its address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEventInfo {
    pub kind: crate::vocab::EventKind,
    pub at: String,
    pub email: String,
    pub device: Option<String>,
    pub network: Option<String>,
    pub detail: String,
}
