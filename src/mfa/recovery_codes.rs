//! Recovery codes: ten per account, 60 random bits each, written in a
//! 32-letter alphabet without look-alikes and grouped in fours for reading
//! (`7kq2-mx9d-4hrt`). Only a keyed hash is stored (HMAC-SHA-256 under a key
//! derived from the master secret, bound to the account), so a copy of the
//! database alone cannot be searched for them (OWASP Multifactor
//! Authentication Cheat Sheet, "Recovery codes"; NIST SP 800-63B §5.1.2).

use crate::{crypto::hex, ids::UserId};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;
use zeroize::Zeroizing;

/// How many codes an account has after enrolment or regeneration.
pub const COUNT: usize = 10;
/// Symbols per code: 12 × 5 bits = 60 bits.
const SYMBOLS: usize = 12;
/// Crockford's base32 alphabet: no i, l, o, u.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Makes and recognises recovery codes.
#[derive(Clone)]
pub struct RecoveryCodes {
    key: Zeroizing<[u8; 32]>,
}

impl RecoveryCodes {
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Self { key }
    }

    /// `COUNT` new codes, as shown to the person, and their stored hashes.
    pub fn generate(&self, user_id: &UserId) -> (Vec<String>, Vec<String>) {
        let mut rng = rand::rngs::OsRng;
        let codes: Vec<String> = (0..COUNT)
            .map(|_| {
                let symbols: String = (0..SYMBOLS)
                    .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                    .collect();
                format!("{}-{}-{}", &symbols[..4], &symbols[4..8], &symbols[8..])
            })
            .collect();
        let hashes = codes
            .iter()
            .map(|code| {
                self.hash(
                    user_id,
                    &normalize(code).expect("a new code is well formed"),
                )
            })
            .collect();
        (codes, hashes)
    }

    /// The stored hash of a presented code, or `None` if it cannot be one.
    pub fn hash_of(&self, user_id: &UserId, presented: &str) -> Option<String> {
        normalize(presented).map(|code| self.hash(user_id, &code))
    }

    fn hash(&self, user_id: &UserId, code: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.as_ref()).expect("any key length works");
        mac.update(user_id.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// The code's symbols, lower-case, without dashes or spaces, with the
/// look-alikes a person may type read as Crockford's base32 does; `None`
/// if it is not twelve symbols of the alphabet.
fn normalize(code: &str) -> Option<String> {
    let symbols: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    let valid = symbols.len() == SYMBOLS && symbols.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(symbols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_distinct_and_recognised_loosely() {
        let codes = RecoveryCodes::new(Zeroizing::new([7; 32]));
        let user = UserId::new("u1");
        let (shown, hashes) = codes.generate(&user);
        assert_eq!(shown.len(), COUNT);
        assert_eq!(shown[0].len(), 14);
        let mut unique = hashes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        let typed = shown[3].to_uppercase().replace('-', " ");
        assert_eq!(codes.hash_of(&user, &typed).as_ref(), Some(&hashes[3]));
        assert_ne!(
            codes.hash_of(&UserId::new("u2"), &shown[3]).as_ref(),
            Some(&hashes[3])
        );
        assert_eq!(codes.hash_of(&user, "123456"), None);
        assert_eq!(codes.hash_of(&user, "uuuu-uuuu-uuuu"), None);
    }
}
