//! Authenticator apps: TOTP (RFC 6238) with SHA-1, 6 digits, 30-second
//! steps and one step of tolerance either way, which is what every common
//! app implements. The secret is 160 bits (RFC 4226 §4, R6). Whether a
//! step was already used is the store's business (RFC 6238 §5.2).

use qrcodegen::{QrCode, QrCodeEcc};
use rand::RngCore as _;
use std::fmt::Write as _;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

/// Secret length in bytes: 160 bits.
pub const SECRET_BYTES: usize = 20;
const DIGITS: u8 = 6;
const STEP_SECS: u64 = 30;
/// The name the app shows above the code.
const ISSUER: &str = "gatehouse";

/// A fresh random secret.
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account: &str) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_skew(1)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .expect("a 160-bit secret and an address without ':' make a valid TOTP")
}

/// What a person needs to add the secret to their app.
pub struct Enrollment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/…` (the QR code's content).
    pub otpauth_url: String,
    /// The URL as an inline SVG QR code (no image request, no script).
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment(<redacted>)")
    }
}

/// The enrolment details for `secret`, labelled with the account's address.
pub fn enrollment(secret: &[u8], account: &str) -> Enrollment {
    let totp = totp(secret, account);
    let otpauth_url = totp
        .to_url()
        .expect("the account name is set and has no ':'");
    Enrollment {
        secret: totp.secret().to_base32(),
        qr_svg: qr_svg(&otpauth_url),
        otpauth_url,
    }
}

/// Whether `code` has the shape of an authenticator code (six digits,
/// spaces allowed), as opposed to a recovery code.
pub fn looks_like_code(code: &str) -> bool {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The time step whose code `code` is, within one step of `now_secs`.
/// The comparison is constant-time (totp-rs).
pub fn matched_step(secret: &[u8], code: &str, now_secs: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret, ISSUER)
        .check(&code, now_secs)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code for `secret` at `at_secs` (tests compute codes as an app would).
pub fn code_at(secret: &[u8], at_secs: u64) -> String {
    totp(secret, ISSUER).generate(at_secs).to_string()
}

/// A QR code as an SVG: one path of unit squares with a four-module quiet
/// zone, black on white whatever the page's colours.
pub fn qr_svg(text: &str) -> String {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).expect("an otpauth URL fits a QR code");
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code for the authenticator app\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 Appendix B, SHA-1 at T = 59 s, truncated to 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(matched_step(secret, "287082", 59), Some(1));
        assert_eq!(
            matched_step(secret, "287 082", 59 + 30),
            Some(1),
            "one step late"
        );
        assert_eq!(
            matched_step(secret, "287082", 59 + 60),
            None,
            "two steps late"
        );
        assert_eq!(matched_step(secret, "28708", 59), None);
    }

    #[test]
    fn enrollment_has_the_secret_and_a_qr_code() {
        let secret = new_secret();
        let e = enrollment(&secret, "ada@example.com");
        assert_eq!(e.secret.len(), 32, "160 bits in base32");
        assert!(e.otpauth_url.starts_with("otpauth://totp/"));
        assert!(e.otpauth_url.contains(&format!("secret={}", e.secret)));
        assert!(e.otpauth_url.contains("issuer=gatehouse"));
        assert!(e.qr_svg.starts_with("<svg") && e.qr_svg.contains("<path d=\"M"));
        assert!(looks_like_code("123 456") && !looks_like_code("abcd-efgh-jkmn"));
    }
}
