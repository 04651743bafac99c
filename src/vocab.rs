//! The vocabulary every floor shares: what can happen to an account (the
//! security log), how a session signed in, why it can end, and what kind of
//! client holds it. Stored and sent by their names; compiled for the browser
//! too, so the log page titles each kind from the same table.

use crate::error::ErrorCode;

/// Declares a string-backed enum once: each variant with its stored name.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident; $($variant:ident = $wire:literal,)*) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }

            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }
    };
}
#[cfg(feature = "ssr")]
pub(crate) use named_enum;

named_enum! {
    /// An entry kind of the security log.
    EventKind;
    Registered = "registered",
    SignIn = "sign_in",
    SignInFailed = "sign_in_failed",
    SignInThrottled = "sign_in_throttled",
    SignedOut = "signed_out",
    SessionRevoked = "session_revoked",
    ReuseDetected = "reuse_detected",
    PasswordChanged = "password_changed",
    PasswordCheckFailed = "password_check_failed",
    NewDevice = "new_device",
    AccountDisabled = "account_disabled",
    AccountEnabled = "account_enabled",
    AdminRevokedSession = "admin_revoked_session",
    PasswordResetRequested = "password_reset_requested",
    PasswordReset = "password_reset",
    EmailVerified = "email_verified",
    EmailChangeRequested = "email_change_requested",
    EmailChanged = "email_changed",
    NotMe = "not_me",
    SecondFactorEnabled = "totp_enabled",
    SecondFactorDisabled = "totp_disabled",
    SecondFactorFailed = "second_factor_failed",
    RecoveryCodeUsed = "recovery_code_used",
    RecoveryCodesRegenerated = "recovery_codes_regenerated",
    SecondFactorReset = "second_factor_reset",
    SecondStepStarted = "second_step",
    PasskeyAdded = "passkey_added",
    PasskeyRemoved = "passkey_removed",
}

impl EventKind {
    /// The title the security log shows.
    pub fn title(self) -> &'static str {
        use EventKind::*;
        match self {
            Registered => "Account created",
            SignIn => "Signed in",
            SignInFailed => "Failed sign-in",
            SignInThrottled => "Sign-in attempts throttled",
            SignedOut => "Signed out",
            SessionRevoked => "Device signed out",
            ReuseDetected => "Token reuse detected",
            PasswordChanged => "Password changed",
            PasswordCheckFailed => "Wrong current password",
            NewDevice => "New device or address",
            AccountDisabled => "Account disabled by an administrator",
            AccountEnabled => "Account enabled by an administrator",
            AdminRevokedSession => "Session ended by an administrator",
            PasswordResetRequested => "Password reset requested",
            PasswordReset => "Password reset by email",
            EmailVerified => "Email address confirmed",
            EmailChangeRequested => "Email change requested",
            EmailChanged => "Email address changed",
            NotMe => "Sign-in reported as not you",
            SecondFactorEnabled => "Authenticator app turned on",
            SecondFactorDisabled => "Authenticator app turned off",
            SecondFactorFailed => "Wrong authenticator or recovery code",
            RecoveryCodeUsed => "Recovery code used",
            RecoveryCodesRegenerated => "New recovery codes made",
            SecondFactorReset => "Second factor reset by an administrator",
            SecondStepStarted => "Password accepted; waiting for the second factor",
            PasskeyAdded => "Passkey added",
            PasskeyRemoved => "Passkey removed",
        }
    }
}

named_enum! {
    /// Why a session ended before its time.
    RevokeReason;
    SignedOut = "signed_out",
    Revoked = "revoked",
    AdminRevoked = "admin_revoked",
    Reuse = "reuse",
    PasswordChanged = "password_changed",
    AccountDisabled = "account_disabled",
    AccountDeleted = "account_deleted",
    EmailChanged = "email_changed",
    NotMe = "not_me",
    SecondFactorRemoved = "second_factor_removed",
}

named_enum! {
    /// How a session signed in.
    SignInMethod;
    Password = "password",
    PasswordTotp = "password+totp",
    RecoveryCode = "recovery_code",
    Passkey = "passkey",
}

impl SignInMethod {
    /// The access token's `amr` claim (RFC 8176 §2).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            SignInMethod::Password => &["pwd"],
            SignInMethod::PasswordTotp => &["pwd", "otp", "mfa"],
            SignInMethod::RecoveryCode => &["pwd", "otp", "mfa"],
            SignInMethod::Passkey => &["hwk", "user", "mfa"],
        }
    }

    /// How the sessions page says it.
    pub fn title(self) -> &'static str {
        match self {
            SignInMethod::Password => "Password",
            SignInMethod::PasswordTotp => "Password and authenticator app",
            SignInMethod::RecoveryCode => "Password and recovery code",
            SignInMethod::Passkey => "Passkey",
        }
    }
}

impl From<RevokeReason> for ErrorCode {
    /// The error a revoked session's requests are refused with.
    fn from(reason: RevokeReason) -> Self {
        match reason {
            RevokeReason::Reuse => ErrorCode::ReuseDetected,
            RevokeReason::AccountDisabled => ErrorCode::AccountDisabled,
            _ => ErrorCode::SessionRevoked,
        }
    }
}

/// Browser (cookies) or a non-browser client (Bearer token API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Api,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Api => "api",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value survives its stored name, which is also its serde name.
    fn names_round_trip<T>(all: &[T], name: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
    {
        for &value in all {
            assert_eq!(parse(name(value)), Some(value));
            assert_eq!(serde_json::to_value(value).unwrap(), name(value));
        }
    }

    #[test]
    fn stored_names_round_trip() {
        names_round_trip(EventKind::ALL, EventKind::as_str, EventKind::parse);
        names_round_trip(RevokeReason::ALL, RevokeReason::as_str, RevokeReason::parse);
        names_round_trip(SignInMethod::ALL, SignInMethod::as_str, SignInMethod::parse);
        names_round_trip(ErrorCode::ALL, ErrorCode::as_str, ErrorCode::parse);
        assert_eq!(EventKind::parse("nope"), None);
        assert_eq!(
            ErrorCode::from(RevokeReason::Reuse),
            ErrorCode::ReuseDetected
        );
    }
}
