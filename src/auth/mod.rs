//! The auth capability: passwords, throttling, sign-in decisions and access
//! tokens, and the answers its server functions ([`server_fns`]) give.

use crate::vocab::Role;
use serde::{Deserialize, Serialize};

pub mod server_fns;

server_only! {
    pub mod cookies;
    pub mod extract;
    pub mod hash_workers;
    pub mod passwords;
    pub mod refresh_layer;
    pub mod service;
    pub mod throttle;
}

/// An account, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
}

/// The signed-in person, for rendering and for the client's refresh timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    /// `false` for an account opened through a provider that has not set
    /// a password yet ("Set a password" instead of "Change password").
    pub has_password: bool,
    pub role: Role,
    /// When the access token expires, unix seconds; lets the page refresh in
    /// time without reading the HttpOnly cookie.
    pub access_expires_at: i64,
}

/// The answer to a refresh: when the new access token expires (RFC 3339 UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refreshed {
    pub expires_at: String,
}

/// The answer to a correct password: signed in, or (for an account with a
/// second factor) `{"mfa_required": true, "methods": [...]}` and a second
/// step to complete with a code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LoginAnswer {
    SecondStep {
        mfa_required: bool,
        methods: Vec<String>,
    },
    SignedIn(UserInfo),
}

/// An empty JSON object, `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}
