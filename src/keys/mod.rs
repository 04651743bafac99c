//! Signing keys: access tokens are signed with Ed25519 keys that every
//! instance shares through the database, published as a JWKS, and rotated
//! without downtime (standby → current → previous → retired; or revoked).
//! The ring (`ring.rs`) signs and verifies in memory; the service
//! (`service.rs`) moves keys between states; `jwks.rs` writes the document
//! `api.rs` publishes; `claims.rs` says what a token carries.

pub mod cache;
pub mod claims;
pub mod jwks;
pub mod ring;
pub mod service;

use crate::{
    error::{AppError, ErrorCode},
    store::StoreError,
};
pub use ring::Keyring;
pub use service::KeyService;

pub use crate::vocab::KeyState;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key is current")]
    NoSigningKey,
    #[error("signing key {0} cannot be opened with this GATEHOUSE_SECRET")]
    Unusable(String),
    #[error("there is no key {0}")]
    UnknownKey(String),
    #[error("key {0} is already {1}")]
    Ended(String, &'static str),
    #[error("key {0} changed meanwhile; try again")]
    Changed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<KeyError> for AppError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Store(err) => err.into(),
            err => {
                tracing::error!(error = %err, "signing keys");
                ErrorCode::Unavailable.into()
            }
        }
    }
}
