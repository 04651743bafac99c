//! Sign-in through OpenID Connect providers: the providers configured, the
//! round trip to one of them (discovery, PKCE, state and nonce, the code
//! exchange and the ID token's checks) and the answers its server functions
//! ([`server_fns`]) give. Which account a provider's identity opens — and
//! linking it to one — is decided in `account/`, above this floor.

use serde::{Deserialize, Serialize};

pub mod server_fns;

server_only! {
    pub mod provider;
    pub mod registry;
    pub mod service;
}

/// A configured provider, as the sign-in page offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderButton {
    /// The lower-case name in `/auth/oidc/<name>/start`.
    pub name: String,
    /// "Google": the button says "Continue with Google".
    pub label: String,
    /// Whether its discovery document and keys are loaded.
    pub available: bool,
}

/// A provider identity linked to the signed-in account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityInfo {
    pub provider: String,
    /// The address the provider gave, when it gave one.
    pub email: Option<String>,
    /// RFC 3339 UTC.
    pub linked_at: String,
    pub last_used_at: Option<String>,
}
