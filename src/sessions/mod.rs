//! The sessions capability: sessions, rotation, revocations and the
//! security log, and the answers its server functions ([`server_fns`])
//! give.

use serde::{Deserialize, Serialize};

pub mod server_fns;

server_only! {
    pub mod device;
    pub mod device_credential;
    pub mod records;
    pub mod revocations;
    pub mod service;
    pub mod tokens;
    pub mod user_cache;
}

use crate::vocab::{EventKind, SessionKind};

/// One active session, as the sessions page shows it. Carries no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub device: String,
    pub kind: SessionKind,
    /// How it signed in: `password`, `password+totp`, `recovery_code`,
    /// `passkey`, or `oidc:<provider>`.
    pub method: String,
    /// The same, as the sessions page says it ("Password", "Google").
    pub method_title: String,
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub current: bool,
}

/// One entry of the security log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventInfo {
    pub kind: EventKind,
    pub at: String,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked: usize,
}

/// How long security events are kept.
pub const EVENT_RETENTION_DAYS: i64 = 90;
