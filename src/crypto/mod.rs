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

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
