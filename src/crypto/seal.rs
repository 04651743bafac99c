//! Secrets kept in the database (private signing keys, later authenticator
//! secrets) are sealed with XChaCha20-Poly1305 under a key derived from the
//! master secret with HKDF under the purpose's own label, and bound to the
//! row they belong to (associated data), so a sealed value copied to
//! another row does not open (OWASP Cryptographic Storage Cheat Sheet,
//! "Algorithms" and "Key Management").

use crate::{config::MasterSecret, crypto::derive_key};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use rand::RngCore as _;
use zeroize::Zeroizing;

const NONCE_BYTES: usize = 24;

/// Seals and opens values for one purpose.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer whose key is derived from `secret` under `label`.
    pub fn new(secret: &MasterSecret, label: &str) -> Self {
        let key = derive_key(secret.bytes(), label);
        Self {
            cipher: XChaCha20Poly1305::new_from_slice(key.as_ref())
                .expect("a 32-byte key fits XChaCha20-Poly1305"),
        }
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext`, bound to `context`. The
    /// 192-bit nonce is random, so random nonces never collide in practice.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("encrypting in memory does not fail");
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext, or `None` if `sealed` was altered, belongs to another
    /// context, or was sealed under another key.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(secret: &str, label: &str) -> Sealer {
        Sealer::new(&MasterSecret::new(secret.as_bytes().to_vec()), label)
    }

    #[test]
    fn sealed_values_open_only_with_their_key_label_and_context() {
        let a = sealer(&"s".repeat(40), "purpose a");
        let sealed = a.seal(b"private", b"row-1");
        assert!(
            !sealed.windows(7).any(|w| w == b"private"),
            "not in the clear"
        );
        assert_eq!(
            a.open(&sealed, b"row-1").as_deref().map(Vec::as_slice),
            Some(&b"private"[..])
        );
        assert_ne!(
            a.seal(b"private", b"row-1"),
            sealed,
            "a fresh nonce each time"
        );
        assert!(a.open(&sealed, b"row-2").is_none(), "bound to its row");
        assert!(sealer(&"s".repeat(40), "purpose b")
            .open(&sealed, b"row-1")
            .is_none());
        assert!(sealer(&"t".repeat(40), "purpose a")
            .open(&sealed, b"row-1")
            .is_none());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(a.open(&altered, b"row-1").is_none());
        assert!(a.open(&sealed[..10], b"row-1").is_none());
    }
}
