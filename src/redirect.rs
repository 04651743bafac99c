//! Where to send a person after signing in: the one same-origin check for a
//! `next` value, compiled for the server and the browser alike, and the one
//! builder of sign-in URLs (OWASP Unvalidated Redirects and Forwards Cheat
//! Sheet: only same-origin paths are followed).

use crate::error::ErrorCode;

/// Longest `next` accepted.
const MAX_NEXT: usize = 512;

/// `next` if it is a same-origin path, else `None`.
///
/// A path starts with exactly one `/`; control characters (a tab or newline
/// that a URL parser would silently drop, turning `/\t/evil.example` into
/// `//evil.example`) and backslashes (which browsers read as `/`) are refused
/// anywhere, as is everything that is not printable ASCII.
pub fn safe_next(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && next.len() <= MAX_NEXT
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\');
    ok.then_some(next)
}

/// The sign-in page, coming back to `next` (if it is a safe path other than
/// the start page or the sign-in page itself) and saying why the person is
/// there (unless it is only "please sign in").
pub fn login_url(next: Option<&str>, reason: Option<ErrorCode>) -> String {
    let mut url = String::from("/login");
    let mut sep = '?';
    if let Some(next) = next
        .and_then(safe_next)
        .filter(|n| *n != "/" && !n.starts_with("/login"))
    {
        url.push(sep);
        url.push_str("next=");
        url.push_str(&encode_component(next));
        sep = '&';
    }
    if let Some(code) = reason.filter(|c| c.explains_sign_out()) {
        url.push(sep);
        url.push_str("error=");
        url.push_str(code.as_str());
    }
    url
}

/// The second step of a sign-in (a code), coming back to `next` afterwards.
pub fn second_step_url(next: Option<&str>) -> String {
    match next.and_then(safe_next).filter(|n| !n.is_empty()) {
        Some(next) => format!("/login/code?next={}", encode_component(next)),
        None => "/login/code".to_owned(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_same_origin_path() {
        assert_eq!(safe_next("/sessions?x=1"), Some("/sessions?x=1"));
        assert_eq!(safe_next("/a%09b"), Some("/a%09b"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example\n",
            "sessions",
            "/a\nb",
            "/a b",
            "/é",
            "",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn login_urls_come_back_and_say_why() {
        assert_eq!(login_url(None, None), "/login");
        assert_eq!(
            login_url(Some("/sessions"), Some(ErrorCode::SessionRevoked)),
            "/login?next=%2Fsessions&error=session_revoked"
        );
        assert_eq!(
            login_url(Some("/"), Some(ErrorCode::Unauthenticated)),
            "/login"
        );
        assert_eq!(login_url(Some("//evil.example"), None), "/login");
    }
}
