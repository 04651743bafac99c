//! The admin capability: the console's view of users, and the answers its
//! server functions ([`server_fns`]) give.

use crate::vocab::Role;
use serde::{Deserialize, Serialize};

pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

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
}
