//! Problem details (RFC 9457, <https://www.rfc-editor.org/rfc/rfc9457>)
//! for the token API: its error answers keep `error` and `message` and add
//! `type`, `title`, `status` and `detail`, as `application/problem+json`, so
//! existing clients keep working and generic ones understand the rest. The
//! browser's server functions keep the plain `{"error","message"}` JSON.
//! Also the error answers the OpenAPI document names, by kind of request.

use crate::error::{AppError, ErrorCode};
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use serde::Serialize;

/// The media type of a problem document (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where problem type URIs start. They identify a code and are not meant to
/// be fetched: `.invalid` (RFC 2606) never resolves, so no client mistakes
/// them for documentation; the codes are described in the OpenAPI document.
pub const PROBLEM_TYPE_BASE: &str = "https://gatehouse.invalid/problems/";

/// An error answer of the token API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The problem type: `https://gatehouse.invalid/problems/<error>`, an
    /// identifier (not dereferenceable).
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub problem_type: String,
    /// A short summary, the same for every occurrence of the code.
    pub title: &'static str,
    /// The HTTP status of this answer.
    pub status: u16,
    /// What went wrong, for a person (the same text as `message`).
    pub detail: String,
    /// The machine-readable code (kept from before RFC 9457).
    pub error: ErrorCode,
    /// What went wrong, for a person (kept from before RFC 9457).
    pub message: String,
}

impl Problem {
    pub fn new(error: ErrorCode, message: &str, status: StatusCode) -> Self {
        Self {
            problem_type: format!("{PROBLEM_TYPE_BASE}{error}"),
            title: error.title(),
            status: status.as_u16(),
            detail: message.to_owned(),
            error,
            message: message.to_owned(),
        }
    }
}

/// Whether `path` belongs to the token API (and `/healthz`, listed with it
/// in the contract), whose errors are problem documents.
pub fn is_token_api(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/") || path == "/healthz"
}

/// Rewrites the token API's error answers as problem documents: those made
/// from an [`AppError`], and bare ones (axum's `405` has no body). Answers
/// already in shape, or with a body of their own, pass unchanged.
pub async fn problem_details(req: Request, next: Next) -> Response {
    if !is_token_api(req.uri().path()) {
        return next.run(req).await;
    }
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let error = match res.extensions_mut().remove::<AppError>() {
        Some(error) => error,
        None if !res.headers().contains_key(header::CONTENT_TYPE) => {
            AppError::from(code_of_status(status))
        }
        None => return res,
    };
    let (mut parts, _) = res.into_parts();
    let problem = Problem::new(error.error, &error.message, status);
    let headers = &mut parts.headers;
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 §3: a protected resource names its scheme on 401.
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    let body = serde_json::to_vec(&problem).expect("a problem serializes");
    Response::from_parts(parts, Body::from(body))
}

/// The code of an answer that came without one: the first code declared
/// with its status.
fn code_of_status(status: StatusCode) -> ErrorCode {
    ErrorCode::ALL
        .iter()
        .copied()
        .find(|code| code.status() == status.as_u16())
        .unwrap_or(if status.is_server_error() {
            ErrorCode::Internal
        } else {
            ErrorCode::InvalidInput
        })
}

/// The refusals of a JSON `POST` of the token API, as documented.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub enum JsonPostRefusals {
    /// `invalid_input`: the body is not JSON, or a field is missing or has
    /// the wrong type; `invalid_token` (second step): the `mfa_token` is
    /// unknown, used or expired (RFC 6749 §5.2 answers a grant it does not
    /// accept with 400).
    #[response(status = 400, content_type = "application/problem+json")]
    InvalidInput(Problem),
    /// `invalid_credentials`, `invalid_code`, `unauthenticated`,
    /// `session_expired`, `session_revoked`, `reuse_detected`: the
    /// credential presented is not (or no longer) good.
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer` (RFC 6750 §3)"))
    )]
    Unauthorized(Problem),
    /// `account_disabled`, `email_unverified` (only after a correct
    /// password), or `cross_site` (an `Origin` of another site).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// `too_large`: the body is over 16 KiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// `unsupported_media_type`: the body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// `throttled`: too many attempts; try again after `Retry-After`.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))
    )]
    Throttled(Problem),
    /// `unavailable`: the database does not answer; nothing was changed.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// The refusals of a request authenticated by a Bearer access token.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub enum BearerRefusals {
    /// `unauthenticated` (no token, or not a valid one), `token_expired`,
    /// `session_expired`, `session_revoked`, `reuse_detected`.
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer` (RFC 6750 §3)"))
    )]
    Unauthorized(Problem),
    /// `unavailable`: the database does not answer.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// A refused sign-in (a problem document, RFC 9457). With `mfa_required`
/// it also carries the token that the second step completes, and the
/// methods that can complete it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInRefused {
    #[serde(flatten)]
    pub problem: Problem,
    /// With `mfa_required` only: send it to `/api/v1/token/mfa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    /// With `mfa_required` only: `totp`, `recovery_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
}

/// The refusals of a sign-in: those of every JSON `POST`, but a `403` may
/// ask for the second step.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub enum SignInRefusals {
    /// `invalid_input`: the body is not JSON, or a field is missing or has
    /// the wrong type.
    #[response(status = 400, content_type = "application/problem+json")]
    InvalidInput(Problem),
    /// `invalid_credentials`: the email or password is not right (the same
    /// answer whether or not the account exists).
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer` (RFC 6750 §3)"))
    )]
    Unauthorized(Problem),
    /// `mfa_required` (with `mfa_token`), or, only after a correct
    /// password, `account_disabled` or `email_unverified`; `cross_site` for
    /// an `Origin` of another site.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(SignInRefused),
    /// `too_large`: the body is over 16 KiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// `unsupported_media_type`: the body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// `throttled`: too many attempts; try again after `Retry-After`.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))
    )]
    Throttled(Problem),
    /// `unavailable`: the database does not answer; nothing was changed.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_keeps_the_old_fields_and_adds_rfc_9457s() {
        let code = ErrorCode::Throttled;
        let problem = Problem::new(code, code.default_message(), StatusCode::TOO_MANY_REQUESTS);
        let body = serde_json::to_value(problem).unwrap();
        assert_eq!(body["type"], "https://gatehouse.invalid/problems/throttled");
        assert_eq!(body["title"], "Too many requests");
        assert_eq!(body["status"], 429);
        assert_eq!(body["detail"], body["message"]);
        assert_eq!(body["error"], "throttled");
    }

    #[test]
    fn only_the_token_api_speaks_problem_json() {
        assert!(is_token_api("/api/v1/token"));
        assert!(is_token_api("/healthz"));
        assert!(!is_token_api("/api/login"));
        assert!(!is_token_api("/api/v1token"));
    }
}
