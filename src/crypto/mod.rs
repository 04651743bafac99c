//! Small cryptographic helpers every floor may use: random identifiers,
//! hexadecimal, HKDF sub-keys, and sealing secrets at rest ([`seal`]).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore as _;
use sha2::Sha256;
use zeroize::Zeroizing;

pub mod seal;

/// Derives a sub-key from the configured secret with HKDF-SHA256 (RFC 5869),
/// one label per purpose, so no two uses share a key.
pub fn derive_key(secret: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<Sha256>::new(Some(b"gatehouse"), secret)
        .expand(label.as_bytes(), out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// `bytes` random bytes from the OS, base64url-encoded.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The stored form of a presented random token of `chars` base64url
/// characters: its SHA-256, hex. `None` for anything that cannot be one,
/// so garbage costs no database work.
pub fn token_hash(token: &str, chars: usize) -> Option<String> {
    use sha2::Digest as _;
    let well_formed = token.len() == chars
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| hex(&sha2::Sha256::digest(token.as_bytes())))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
