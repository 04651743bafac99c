//! The one error type every boundary speaks: a stable machine-readable `code`
//! and a `message` a person can act on. It travels as the JSON body
//! `{"error": "<code>", "message": "…"}` from server functions and from the
//! token API alike, so the hydrated client and scripts read the same thing.
//! [`AppError`]'s `IntoResponse` is the one place an error becomes a response.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, ServerFnErrorErr};
use std::fmt;

mod server_fn_error {
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

/// Declares the error codes once: variant, wire name, HTTP status, a short
/// title (RFC 9457's `title`: the same for every occurrence of the code) and
/// the default message for a person.
macro_rules! error_codes {
    ($($variant:ident = $name:literal, $status:literal, $title:literal, $message:literal;)*) => {
        /// Every failure the contract names, plus `internal` for the unexpected.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The HTTP status this code is answered with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The code as it appears on the wire and in `?error=` query strings.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// A short summary of the problem type, fixed per code (RFC 9457
            /// §3.1.3).
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }

            /// A default message for a person; used when an error arrives only
            /// as a code (a `?error=` query after a form post without JavaScript).
            pub fn default_message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message,)* }
            }
        }
    };
}

error_codes! {
    InvalidInput = "invalid_input", 400, "Invalid input", "Please check the form: something is missing or malformed.";
    WeakPassword = "weak_password", 400, "Weak password", "That password is too easy to guess. Please choose a stronger one.";
    InvalidToken = "invalid_token", 400, "Invalid link token", "This link is not valid any more: it was used, it expired, or a newer one was sent. Ask for a new one.";
    InvalidCredentials = "invalid_credentials", 401, "Invalid credentials", "The email or password is not right.";
    TokenExpired = "token_expired", 401, "Access token expired", "Your sign-in needs to be renewed.";
    SessionExpired = "session_expired", 401, "Session expired", "Your session has expired. Please sign in again.";
    SessionRevoked = "session_revoked", 401, "Session revoked", "This device was signed out from another device.";
    ReuseDetected = "reuse_detected", 401, "Refresh token reuse detected", "For your safety this session was ended: a sign-in token was used twice. Please sign in again.";
    Unauthenticated = "unauthenticated", 401, "Not signed in", "Please sign in to continue.";
    ReauthRequired = "reauth_required", 401, "Recent sign-in required", "For your safety, please confirm it's you: enter your password again.";
    InvalidCode = "invalid_code", 401, "Invalid code", "That code is not right.";
    CrossSite = "cross_site", 403, "Cross-site request refused", "This request came from another site and was refused.";
    Forbidden = "forbidden", 403, "Forbidden", "You are not allowed to do that.";
    AccountDisabled = "account_disabled", 403, "Account disabled", "This account has been disabled. Contact an administrator.";
    EmailUnverified = "email_unverified", 403, "Email address not verified", "Please confirm your email address first: we sent a link to it.";
    MfaRequired = "mfa_required", 403, "Second factor required", "Enter the code from your authenticator app (or a recovery code) to finish signing in.";
    NotFound = "not_found", 404, "Not found", "That was not found.";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed", "This endpoint does not answer to that method.";
    LastSignInMethod = "last_sign_in_method", 409, "Last way to sign in", "This is the only way left to sign in to this account. Set a password or add a passkey first.";
    OidcFailed = "oidc_failed", 400, "Provider sign-in failed", "Signing in with that provider did not work (it was cancelled, or its answer could not be checked). Nothing was changed. Try again, or sign in another way.";
    OidcState = "oidc_state", 400, "Provider sign-in expired", "That sign-in with a provider was already used, expired, or was started in another browser. Start again.";
    ProviderUnavailable = "provider_unavailable", 503, "Provider unavailable", "That sign-in provider cannot be reached right now. Try again in a moment, or sign in another way.";
    EmailTaken = "email_taken", 409, "Email address taken", "An account with this email already exists. Try signing in.";
    MisdirectedRequest = "misdirected_request", 421, "Misdirected request", "This server does not answer to that address. Open the site at its own address.";
    TooLarge = "too_large", 413, "Request too large", "The request is too large.";
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type", "The request has an unsupported content type.";
    Throttled = "throttled", 429, "Too many requests", "Too many attempts. Please wait a moment and try again.";
    Unavailable = "unavailable", 503, "Service unavailable", "The service is briefly unavailable. Please try again.";
    Internal = "internal", 500, "Internal error", "Something went wrong on our side. Please try again.";
}

impl ErrorCode {
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Whether this failure means the browser's sign-in is gone for good and
    /// the person has to sign in again.
    pub fn ends_sign_in(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            SessionExpired | SessionRevoked | ReuseDetected | Unauthenticated | AccountDisabled
        )
    }

    /// Whether a refused renewal (or sign-in) ends the sign-in: the codes
    /// above, and an address that must be proved first
    /// (`GATEHOUSE_REQUIRE_VERIFIED_EMAIL`). Elsewhere `email_unverified`
    /// only refuses one action (adding a factor), and the sign-in goes on.
    pub fn ends_renewal(self) -> bool {
        self.ends_sign_in() || self == ErrorCode::EmailUnverified
    }

    /// Whether the person should be told why they were signed out (every
    /// sign-in-ending code but a plain "not signed in").
    pub fn explains_sign_out(self) -> bool {
        self.ends_renewal() && self != ErrorCode::Unauthenticated
    }
}

/// The codes as the OpenAPI document enumerates them: their wire names,
/// from the same list that serializes them (a derive would not see the
/// renames this file's macro writes).
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "The machine-readable code of an error; its status and meaning are fixed.",
            ))
            .enum_values(Some(Self::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for ErrorCode {}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with its code and a message for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub error: ErrorCode,
    pub message: String,
    /// Seconds for `Retry-After` (throttling); sent as a header, not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn throttled(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::from(ErrorCode::Throttled)
        }
    }

    /// An unexpected failure: logged once with its cause, answered opaquely.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::from(ErrorCode::Internal)
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }
}

impl FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::invalid_input("A required field is missing or malformed.")
            }
            ServerFnErrorErr::Request(_) => Self::new(
                ErrorCode::Unavailable,
                "Could not reach the server. Check your connection and try again.",
            ),
            _ => Self::from(ErrorCode::Internal),
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{header, HeaderValue, StatusCode};
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let retry_after = self.retry_after;
        // For `http::problem`, which gives the token API's errors the
        // RFC 9457 shape.
        response.extensions_mut().insert(self);
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a protected resource names its scheme on 401.
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_message() {
        for &code in ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(code.default_message().ends_with('.'), "{code}");
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    #[test]
    fn body_has_exactly_error_and_message() {
        let body = serde_json::to_value(AppError::throttled(5)).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 2);
        assert_eq!(body["error"], "throttled");
    }
}
