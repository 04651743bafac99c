//! The vocabulary every floor shares: what can happen to an account (the
//! security log), how a session signed in, why it can end, what kind of
//! client holds it, an account's role, a signing key's state, a link's
//! purpose. Stored by their names through `sqlx::Type` (rows carry these
//! enums, never strings) and sent by the same names; compiled for the
//! browser too, so the log page titles each kind from the same table.

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

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Stored as its name in a text column on either engine; a name this
        // build does not know is a decoding error, never a silent default.
        #[cfg(feature = "ssr")]
        impl<DB: ::sqlx::Database> ::sqlx::Type<DB> for $name
        where
            str: ::sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as ::sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as ::sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'q, DB: ::sqlx::Database> ::sqlx::Encode<'q, DB> for $name
        where
            &'q str: ::sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                let name: &'q str = self.as_str();
                <&'q str as ::sqlx::Encode<'q, DB>>::encode_by_ref(&name, buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r, DB: ::sqlx::Database> ::sqlx::Decode<'r, DB> for $name
        where
            &'r str: ::sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as ::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let name = <&'r str as ::sqlx::Decode<'r, DB>>::decode(value)?;
                Self::parse(name).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), name).into()
                })
            }
        }
    };
}

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
    ProviderLinked = "provider_linked",
    ProviderUnlinked = "provider_unlinked",
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
            ProviderLinked => "Sign-in provider linked",
            ProviderUnlinked => "Sign-in provider unlinked",
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
    Provider = "oidc",
}

impl SignInMethod {
    /// The access token's `amr` claim (RFC 8176 §2).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            SignInMethod::Password => &["pwd"],
            SignInMethod::PasswordTotp => &["pwd", "otp", "mfa"],
            SignInMethod::RecoveryCode => &["pwd", "otp", "mfa"],
            SignInMethod::Passkey => &["hwk", "user", "mfa"],
            // The session keeps what the provider reported.
            SignInMethod::Provider => &[],
        }
    }

    /// How the sessions page says it.
    pub fn title(self) -> &'static str {
        match self {
            SignInMethod::Password => "Password",
            SignInMethod::PasswordTotp => "Password and authenticator app",
            SignInMethod::RecoveryCode => "Password and recovery code",
            SignInMethod::Passkey => "Passkey",
            SignInMethod::Provider => "Identity provider",
        }
    }
}

impl From<RevokeReason> for ErrorCode {
    /// The error a revoked session's requests are refused with.
    /// Every reason is named, so a new one cannot be forgotten here.
    fn from(reason: RevokeReason) -> Self {
        use RevokeReason::*;
        match reason {
            Reuse => ErrorCode::ReuseDetected,
            AccountDisabled => ErrorCode::AccountDisabled,
            SignedOut | Revoked | AdminRevoked | PasswordChanged | AccountDeleted
            | EmailChanged | NotMe | SecondFactorRemoved => ErrorCode::SessionRevoked,
        }
    }
}

named_enum! {
    /// Browser (cookies) or a non-browser client (Bearer token API).
    SessionKind;
    Browser = "browser",
    Api = "api",
}

named_enum! {
    /// What an account may do: everyone is a `user`; an `admin` also runs
    /// the console.
    Role;
    User = "user",
    Admin = "admin",
}

named_enum! {
    /// Where a signing key is in its life: `standby` (published, not yet
    /// signing), `current` (signing; exactly one key), `previous` (no longer
    /// signing; verifies until the tokens it signed have expired), `retired`
    /// (gone after that), `revoked` (taken out of the set at once).
    KeyState;
    Standby = "standby",
    Current = "current",
    Previous = "previous",
    Retired = "retired",
    Revoked = "revoked",
}

impl KeyState {
    /// Whether tokens signed by a key in this state are accepted (the keys
    /// published in the JWKS).
    pub fn verifies(self) -> bool {
        matches!(
            self,
            KeyState::Standby | KeyState::Current | KeyState::Previous
        )
    }
}

named_enum! {
    /// What a mailed link may be used for.
    Purpose;
    VerifyEmail = "verify_email",
    ResetPassword = "reset_password",
    ChangeEmail = "change_email",
    NotMe = "not_me",
}

named_enum! {
    /// Which WebAuthn ceremony a stored challenge belongs to.
    CeremonyKind;
    Register = "register",
    SignIn = "sign_in",
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
        names_round_trip(SessionKind::ALL, SessionKind::as_str, SessionKind::parse);
        names_round_trip(Role::ALL, Role::as_str, Role::parse);
        names_round_trip(KeyState::ALL, KeyState::as_str, KeyState::parse);
        names_round_trip(Purpose::ALL, Purpose::as_str, Purpose::parse);
        names_round_trip(CeremonyKind::ALL, CeremonyKind::as_str, CeremonyKind::parse);
        assert_eq!(EventKind::parse("nope"), None);
        assert_eq!(
            ErrorCode::from(RevokeReason::Reuse),
            ErrorCode::ReuseDetected
        );
    }
}
