//! The one error type every boundary speaks: a stable machine-readable `code`
//! and a `message` a person can act on. It travels as the JSON body
//! `{"error": "<code>", "message": "…"}` from server functions and from the
//! token API alike, so the hydrated client and scripts read the same thing.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, ServerFnErrorErr};
use std::fmt;

mod server_fn_error {
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

/// Every failure the contract names, plus `internal` for the unexpected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    WeakPassword,
    InvalidCredentials,
    TokenExpired,
    SessionExpired,
    SessionRevoked,
    ReuseDetected,
    Unauthenticated,
    CrossSite,
    Forbidden,
    AccountDisabled,
    NotFound,
    EmailTaken,
    TooLarge,
    UnsupportedMediaType,
    Throttled,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidInput | WeakPassword => 400,
            InvalidCredentials | TokenExpired | SessionExpired | SessionRevoked | ReuseDetected
            | Unauthenticated => 401,
            CrossSite | Forbidden | AccountDisabled => 403,
            NotFound => 404,
            EmailTaken => 409,
            TooLarge => 413,
            UnsupportedMediaType => 415,
            Throttled => 429,
            Unavailable => 503,
            Internal => 500,
        }
    }

    /// The code as it appears on the wire and in `?error=` query strings.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidInput => "invalid_input",
            WeakPassword => "weak_password",
            InvalidCredentials => "invalid_credentials",
            TokenExpired => "token_expired",
            SessionExpired => "session_expired",
            SessionRevoked => "session_revoked",
            ReuseDetected => "reuse_detected",
            Unauthenticated => "unauthenticated",
            CrossSite => "cross_site",
            Forbidden => "forbidden",
            AccountDisabled => "account_disabled",
            NotFound => "not_found",
            EmailTaken => "email_taken",
            TooLarge => "too_large",
            UnsupportedMediaType => "unsupported_media_type",
            Throttled => "throttled",
            Unavailable => "unavailable",
            Internal => "internal",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        use ErrorCode::*;
        [
            InvalidInput,
            WeakPassword,
            InvalidCredentials,
            TokenExpired,
            SessionExpired,
            SessionRevoked,
            ReuseDetected,
            Unauthenticated,
            CrossSite,
            Forbidden,
            AccountDisabled,
            NotFound,
            EmailTaken,
            TooLarge,
            UnsupportedMediaType,
            Throttled,
            Unavailable,
            Internal,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
    }

    /// A default message for a person; used when an error arrives only as a
    /// code (a `?error=` query after a form post without JavaScript).
    pub fn default_message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidInput => "Please check the form: something is missing or malformed.",
            WeakPassword => "That password is too easy to guess. Please choose a stronger one.",
            InvalidCredentials => "The email or password is not right.",
            TokenExpired => "Your sign-in needs to be renewed.",
            SessionExpired => "Your session has expired. Please sign in again.",
            SessionRevoked => "This device was signed out from another device.",
            ReuseDetected => {
                "For your safety this session was ended: a sign-in token was used twice. Please sign in again."
            }
            Unauthenticated => "Please sign in to continue.",
            CrossSite => "This request came from another site and was refused.",
            Forbidden => "You are not allowed to do that.",
            AccountDisabled => "This account has been disabled. Contact an administrator.",
            NotFound => "That was not found.",
            EmailTaken => "An account with this email already exists. Try signing in.",
            TooLarge => "The request is too large.",
            UnsupportedMediaType => "The request has an unsupported content type.",
            Throttled => "Too many attempts. Please wait a moment and try again.",
            Unavailable => "The service is briefly unavailable. Please try again.",
            Internal => "Something went wrong on our side. Please try again.",
        }
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
}

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
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // The database is unreachable or overloaded: nothing was changed,
            // and the caller's credentials stay valid.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %err, "database unavailable");
                Self::from(ErrorCode::Unavailable)
            }
            // PostgreSQL shutting down (57…) or a broken connection (08…).
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57") || c.starts_with("08")) =>
            {
                tracing::warn!(error = %err, "database unavailable");
                Self::from(ErrorCode::Unavailable)
            }
            other => Self::internal(other),
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
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
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
    fn codes_round_trip_through_their_names() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::ReuseDetected,
            ErrorCode::Throttled,
        ] {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
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
