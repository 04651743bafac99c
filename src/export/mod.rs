//! "Download my data": everything gatehouse keeps about an account, as one
//! JSON document for its owner (`/api/export_data`, [`server_fns`]) or an
//! administrator (`gatehouse export-user EMAIL`). The answer types are
//! here; `account/export.rs` assembles them.
//!
//! What an account's owner may read, and nothing that would let anyone
//! sign in as them: no password hash, session key, link or challenge
//! token, authenticator secret, recovery-code hash or passkey credential
//! (the credential's id and public key identify the authenticator to any
//! site that sees them, so they stay out too). OWASP ASVS 4.0 V8.3.2:
//! "users have a method to remove or export their data on demand".

use crate::{
    mfa::PasskeyInfo,
    sessions::SecurityEventInfo,
    vocab::{RevokeReason, Role, SessionKind, SignInMethod},
};
use serde::{Deserialize, Serialize};

pub mod server_fns;

/// The document's format, so a reader can tell later versions apart.
pub const FORMAT: &str = "gatehouse-data-export/1";

/// The file name a browser saves the document under.
pub const FILE_NAME: &str = "gatehouse-data.json";

/// The whole document. Times are RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExport {
    pub format: String,
    pub exported_at: String,
    pub account: AccountData,
    /// Every session still kept (ended ones until they are purged), newest first.
    pub sessions: Vec<SessionData>,
    /// The security log, newest first.
    pub security_log: Vec<SecurityEventInfo>,
    /// Second factors other than passkeys: names and dates only.
    pub factors: Vec<FactorData>,
    pub passkeys: Vec<PasskeyInfo>,
    /// Sign-in providers linked to the account.
    pub linked_providers: Vec<LinkedProvider>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountData {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub email_verified_at: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

/// One session: the device, the address and when, never its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    pub id: String,
    pub kind: SessionKind,
    pub method: SignInMethod,
    pub device: String,
    pub user_agent: String,
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    /// When it ends unless used again (or at the latest).
    pub expires_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<RevokeReason>,
}

/// A second factor: what it is and when it was added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorData {
    /// `totp` or `recovery_codes`.
    pub kind: String,
    pub name: String,
    pub added_at: String,
    /// For an authenticator app: when it was turned on (`None`: set up
    /// but never confirmed).
    pub confirmed_at: Option<String>,
    /// For recovery codes: how many were made and how many are unused.
    pub total: Option<usize>,
    pub unused: Option<usize>,
}

/// A sign-in provider linked to the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedProvider {
    pub provider: String,
    pub email: String,
    pub linked_at: String,
    pub last_used_at: Option<String>,
}
