//! What each message says. Every letter has the same shape: a few
//! paragraphs, at most one link to act on, and what to do if the reader did
//! not ask for it. Outside text (a browser's name, an address) is made
//! ASCII and escaped before it goes in.

use super::mail::{ascii, html_escape, Letter};

/// One letter: `paragraphs`, then the `action` link (label, address).
fn letter(
    kind: &'static str,
    to: &str,
    subject: &str,
    paragraphs: &[String],
    action: Option<(&str, &str)>,
    footer: &str,
) -> Letter {
    let mut text = String::new();
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><body style=\"font-family:sans-serif;line-height:1.5;color:#1a1a1a\">\n",
    );
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>\n", html_escape(p)));
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("{label}:\n{url}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{url}\" style=\"background:#1d4ed8;color:#ffffff;padding:8px 14px;border-radius:4px;text-decoration:none\">{label}</a></p>\n<p style=\"font-size:90%\">Or open this address:<br>\n{url}</p>\n",
            url = html_escape(url),
            label = html_escape(label),
        ));
    }
    text.push_str(footer);
    text.push('\n');
    html.push_str(&format!(
        "<p style=\"font-size:90%;color:#4a4a4a\">{}</p>\n</body></html>\n",
        html_escape(footer)
    ));
    Letter {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
        kind,
    }
}

pub fn verification(to: &str, url: &str) -> Letter {
    letter(
        "verify_email",
        to,
        "Confirm your email address",
        &[format!(
            "Please confirm that {} is your address. The link works once, for 24 hours.",
            ascii(to, 254)
        )],
        Some(("Confirm my address", url)),
        "If you did not create a gatehouse account, ignore this message.",
    )
}

pub fn password_reset(to: &str, url: &str) -> Letter {
    letter(
        "reset_password",
        to,
        "Reset your password",
        &[
            "Somebody (hopefully you) asked to reset the password of your gatehouse account. \
           The link works once, for 30 minutes; asking again makes this one stop working."
                .to_owned(),
        ],
        Some(("Choose a new password", url)),
        "If you did not ask for this, ignore this message: your password stays as it is.",
    )
}

pub fn email_change(to_new: &str, url: &str) -> Letter {
    letter(
        "change_email",
        to_new,
        "Confirm your new email address",
        &[format!(
            "Please confirm that your gatehouse account should use {} from now on. \
             The link works once, for an hour.",
            ascii(to_new, 254)
        )],
        Some(("Use this address", url)),
        "If you did not ask for this, ignore this message: nothing changes.",
    )
}

pub fn email_change_notice(to_old: &str, new: &str, forgot_url: &str) -> Letter {
    letter(
        "change_email_notice",
        to_old,
        "Your email address is being changed",
        &[format!(
            "Somebody signed in to your gatehouse account asked to change its address to {}. \
             It changes when the link sent there is followed.",
            ascii(new, 254)
        )],
        Some(("If this wasn't you, reset your password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// A sign-in from a device or address new to the account.
pub fn sign_in_alert(to: &str, device: &str, ip: &str, how: &str, at: &str, url: &str) -> Letter {
    letter(
        "not_me",
        to,
        "New sign-in to your account",
        &[
            "Your gatehouse account was just signed in to from a device or address it has not used before."
                .to_owned(),
            format!(
                "Device: {}. Address: {}. Signed in with: {}. Time: {}.",
                ascii(device, 80),
                ascii(ip, 64),
                ascii(how, 60),
                at
            ),
            "If this wasn't you, the link below signs that device out at once (it works for 7 days), \
             and then helps you choose a new password."
                .to_owned(),
        ],
        Some(("This wasn't me", url)),
        "If it was you, there is nothing to do.",
    )
}

/// A recovery code was used to sign in or confirm a sensitive action.
pub fn recovery_code_used(to: &str, left: i64, forgot_url: &str) -> Letter {
    letter(
        "recovery_code_used",
        to,
        "A recovery code was used on your account",
        &[
            "One of your gatehouse recovery codes was just used. Each code works once.".to_owned(),
            format!("Codes left: {left}. You can make a new set on the security page."),
        ],
        Some(("If this wasn't you, reset your password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// An administrator removed the account's second factor.
pub fn second_factor_reset(to: &str, forgot_url: &str) -> Letter {
    letter(
        "second_factor_reset",
        to,
        "Your second factor was reset",
        &[
            "An administrator removed the authenticator app and recovery codes from your gatehouse \
             account. Signing in now takes only your password; set up a new authenticator app on \
             the security page."
                .to_owned(),
        ],
        Some(("If you did not ask for this, reset your password", forgot_url)),
        "If you asked for it, there is nothing else to do.",
    )
}

/// A passkey was added to the account.
pub fn passkey_added(to: &str, name: &str, forgot_url: &str) -> Letter {
    letter(
        "passkey_added",
        to,
        "A passkey was added to your account",
        &[
            format!(
                "A passkey named \"{}\" was just added to your gatehouse account. It can sign in without your password.",
                ascii(name, 64)
            ),
            "If this wasn't you, sign in, remove it on the security page, and reset your password."
                .to_owned(),
        ],
        Some(("Reset your password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// The right password was followed by a wrong second-factor code.
pub fn wrong_code(to: &str, device: &str, ip: &str, forgot_url: &str) -> Letter {
    letter(
        "wrong_code",
        to,
        "Your password was used with a wrong code",
        &[
            "Someone just entered the right password for your gatehouse account, then a wrong code \
             from your authenticator app. Your second factor kept them out."
                .to_owned(),
            format!("Device: {}. Address: {}.", ascii(device, 80), ascii(ip, 64)),
            "If this wasn't you, your password is known to someone else: choose a new one."
                .to_owned(),
        ],
        Some(("Choose a new password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// An authenticator app was turned on for the account.
pub fn totp_enabled(to: &str, forgot_url: &str) -> Letter {
    letter(
        "totp_enabled",
        to,
        "An authenticator app was set up on your account",
        &[
            "An authenticator app was just turned on for your gatehouse account: signing in now \
             asks for its code after your password."
                .to_owned(),
            "If this wasn't you, someone else can sign in to your account: reset your password, \
             then turn the app off on the security page."
                .to_owned(),
        ],
        Some(("Reset your password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// New recovery codes were made; the old ones stopped working.
pub fn recovery_codes_made(to: &str, forgot_url: &str) -> Letter {
    letter(
        "recovery_codes",
        to,
        "New recovery codes were made for your account",
        &[
            "New recovery codes were just made for your gatehouse account; the old ones no longer work."
                .to_owned(),
            "If this wasn't you, someone else is signed in to your account: reset your password."
                .to_owned(),
        ],
        Some(("Reset your password", forgot_url)),
        "If it was you, keep the new codes somewhere safe.",
    )
}

/// Second factors someone else may have added were removed.
pub fn factors_removed(to: &str, names: &[String], forgot_url: &str) -> Letter {
    letter(
        "factors_removed",
        to,
        "Second factors were removed from your account",
        &[
            format!(
                "To make sure only you can sign in, we removed {} from your gatehouse account: \
                 it was added before your address was confirmed, or by a sign-in you reported \
                 as not yours.",
                ascii(&names.join(", "), 300)
            ),
            "You can add your own passkey or authenticator app again on the security page."
                .to_owned(),
        ],
        Some(("If you did not do this, reset your password", forgot_url)),
        "If it was you, there is nothing else to do.",
    )
}

/// A sign-in provider was linked to the account.
pub fn provider_linked(to: &str, provider: &str, forgot_url: &str) -> Letter {
    letter(
        "provider_linked",
        to,
        "A sign-in provider was linked to your account",
        &[
            format!(
                "Your gatehouse account can now be signed in to with {}.",
                ascii(provider, 40)
            ),
            "If this wasn't you, sign in, unlink it on the security page, and reset your password."
                .to_owned(),
        ],
        Some(("Reset your password", forgot_url)),
        "If it was you, there is nothing to do.",
    )
}

/// An account whose address was never confirmed was claimed by the owner
/// of the address, through a provider that vouched for it: whatever was set
/// up before the address was proved is gone.
pub fn account_claimed(to: &str, provider: &str, removed: &[String]) -> Letter {
    let mut paragraphs = vec![format!(
        "You signed in with {} using this address, which proves it is yours. An account had been opened with this address before, but the address was never confirmed.",
        ascii(provider, 40)
    )];
    paragraphs.push(
        "To keep it yours, its password was removed and every session it had was ended. You can set a new password on the security page."
            .to_owned(),
    );
    if !removed.is_empty() {
        paragraphs.push(format!("Also removed: {}.", removed.join(", ")));
    }
    letter(
        "account_claimed",
        to,
        "Your address was confirmed and the account secured",
        &paragraphs,
        None,
        "If you did not just sign in, sign in and check the security page.",
    )
}
