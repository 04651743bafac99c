//! Email addresses as accounts are keyed by: trimmed, lower-cased, and only
//! what a plain `local@domain` needs.

use crate::error::AppError;

/// What a new password may not be built from: the account's email.
pub(super) fn guessable_inputs(email: &str) -> [&str; 3] {
    let local_part = email.split('@').next().unwrap_or_default();
    [email, local_part, "gatehouse"]
}

/// Trims and lower-cases an email and checks its shape.
pub fn normalize_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let invalid = || AppError::invalid_input("Enter a valid email address, like name@example.com.");
    if email.len() > 254
        || email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
    {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    // Only what a plain `local@domain` address needs: no quoting, angle
    // brackets, commas or comments that a mail header would read as a
    // second address.
    let plain = |part: &str| {
        !part.chars().any(|c| {
            matches!(
                c,
                '<' | '>' | '"' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '\\'
            )
        })
    };
    if local.is_empty() || local.len() > 64 || !domain_ok || !plain(local) || !plain(domain) {
        return Err(invalid());
    }
    Ok(email)
}

/// Unicode format characters that render as nothing (zero-width spaces and
/// joiners, direction overrides, soft hyphen, byte-order mark): an address
/// containing one would look exactly like another account's.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_validated() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.example.com",
            "ada@example..com",
            "a\u{200B}da@example.com",
            "ada@exa\u{AD}mple.com",
            "\u{FEFF}ada@example.com",
            "a\u{202E}da@example.com",
            "a<victim@corp.com>@example.com",
            "\"a,b\"@example.com",
            "ada@exa(mple).com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be refused");
        }
    }
}
