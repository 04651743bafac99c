//! Device credentials (OWASP "Slow down online guessing attacks with device
//! cookies"): a successful sign-in leaves the client a signed credential
//! naming the account and a random device nonce. Attempts that present a
//! valid one are throttled on their own, so strangers' guesses never lock
//! the owner's known devices out.

use crate::{config::MasterSecret, crypto::derive_key, ids::UserId};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

const MAC_BYTES: usize = 32;

/// A device credential as handed to a client. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(<redacted>)")
    }
}

/// Issues and checks device credentials, under a key derived from the
/// master secret.
#[derive(Clone)]
pub struct DeviceKeys {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKeys(<redacted>)")
    }
}

impl DeviceKeys {
    pub fn new(secret: &MasterSecret) -> Self {
        Self {
            key: derive_key(secret.bytes(), "gatehouse device credential v1"),
        }
    }

    /// The MAC over a credential's payload and the account's current
    /// password hash: changing the password invalidates every device
    /// credential earned with the old one.
    fn device_mac(&self, payload: &[u8], epoch: &str) -> [u8; MAC_BYTES] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.as_ref()).expect("any key length works");
        mac.update(payload);
        mac.update(epoch.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A new device credential for `user_id` (OWASP "Slow down online
    /// guessing attacks with device cookies"): the account it was earned
    /// for, a random nonce that names the device, and a MAC.
    pub fn device_token(&self, user_id: &UserId, epoch: &str) -> DeviceToken {
        let id = user_id.as_str().as_bytes();
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut payload = Vec::with_capacity(1 + id.len() + 16 + MAC_BYTES);
        payload.push(id.len().min(255) as u8);
        payload.extend_from_slice(&id[..id.len().min(255)]);
        payload.extend_from_slice(&nonce);
        let mac = self.device_mac(&payload, epoch);
        payload.extend_from_slice(&mac);
        DeviceToken(URL_SAFE_NO_PAD.encode(payload))
    }

    /// The device a credential names, if it is authentic and was earned for
    /// `user_id`.
    pub fn device_of(&self, token: &str, user_id: &UserId, epoch: &str) -> Option<String> {
        use subtle::ConstantTimeEq as _;
        if token.len() > 256 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        let (&len, rest) = bytes.split_first()?;
        let len = len as usize;
        if rest.len() != len + 16 + MAC_BYTES {
            return None;
        }
        let (signed, mac) = bytes.split_at(1 + len + 16);
        if !bool::from(self.device_mac(signed, epoch).ct_eq(mac)) {
            return None;
        }
        let (id, nonce) = rest[..len + 16].split_at(len);
        (id == user_id.as_str().as_bytes()).then(|| URL_SAFE_NO_PAD.encode(nonce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> DeviceKeys {
        DeviceKeys::new(&MasterSecret::new("k".repeat(40).into_bytes()))
    }

    #[test]
    fn device_tokens_name_their_account_and_are_signed() {
        let keys = keys();
        let ada = UserId::new("ada-id");
        let token = keys.device_token(&ada, "hash-1");
        let device = keys
            .device_of(token.expose(), &ada, "hash-1")
            .expect("authentic");
        assert_ne!(
            keys.device_token(&ada, "hash-1"),
            token,
            "a new device each time"
        );
        assert_eq!(
            keys.device_of(token.expose(), &UserId::new("bob-id"), "hash-1"),
            None
        );
        assert_eq!(
            keys.device_of(token.expose(), &ada, "hash-2"),
            None,
            "a password change ends every device credential"
        );
        let mut forged = token.expose().to_owned();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(keys.device_of(&forged, &ada, "hash-1"), None);
        assert_eq!(keys.device_of("", &ada, "hash-1"), None);
        assert_eq!(device.len(), 22);
    }
}
