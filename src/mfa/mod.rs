//! The second factor: authenticator apps, recovery codes and passkeys, and
//! the answers its server functions ([`server_fns`]) give.

use serde::{Deserialize, Serialize};

pub mod server_fns;

server_only! {
    pub mod passkeys;
    pub mod recovery_codes;
    pub mod service;
    pub mod totp;
}

/// The account's second factor, as the security page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorStatus {
    /// Whether an authenticator app is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// A new authenticator secret, not active until confirmed with a code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// Recovery codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesAnswer {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodesAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodesAnswer(<redacted>)")
    }
}

/// A passkey, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
}
