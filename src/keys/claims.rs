//! What an access token says and why one is refused: the claims the key
//! ring signs and verifies.

use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// The audience every gatehouse access token is for.
pub const AUDIENCE: &str = "gatehouse";
/// Clock leeway when checking `exp` (the contract allows at most 5 s).
pub const LEEWAY_SECS: u64 = 5;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// How the session signed in (RFC 8176 method names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessError {
    Expired,
    Invalid,
}

impl From<AccessError> for ErrorCode {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Expired => ErrorCode::TokenExpired,
            AccessError::Invalid => ErrorCode::Unauthenticated,
        }
    }
}
