//! Request bodies: the 16 KiB limit (the contract), and a JSON extractor
//! whose every rejection is an [`AppError`] with the contract's status.

use crate::error::{AppError, ErrorCode};
use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, Request},
    http::{header, HeaderMap},
};
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;

/// Largest request body accepted (the contract: 16 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole request body, or `413 too_large` past [`MAX_BODY_BYTES`].
pub async fn collect_limited(body: Body) -> Result<Bytes, AppError> {
    http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| ErrorCode::TooLarge.into())
}

/// Whether the request's content type is `essence` (parameters ignored);
/// `None` when it has none.
pub fn content_type_is(headers: &HeaderMap, essence: &str) -> Option<bool> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let found = ct.split(';').next().unwrap_or_default().trim();
    Some(found.eq_ignore_ascii_case(essence))
}

/// A JSON body: `415` unless it says JSON, `413` over 16 KiB, `400` when it
/// does not parse or lacks a field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if content_type_is(req.headers(), "application/json") != Some(true) {
            return Err(AppError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as application/json.",
            ));
        }
        let bytes = collect_limited(req.into_body()).await?;
        // Every body of the token API is an object. Serde would also read a
        // struct from an array of its fields in order (`["…"]`), which the
        // published schema does not allow: refuse it before it can.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::invalid_input(
                "The JSON body must be an object, such as {\"refresh_token\": \"…\"}.",
            ));
        }
        serde_json::from_slice(&bytes).map(Json).map_err(|err| {
            AppError::invalid_input(format!(
                "The JSON body is malformed or incomplete ({}).",
                json_problem(&err)
            ))
        })
    }
}

/// Says, without echoing the input, what is wrong with a JSON body.
fn json_problem(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "it ends too early",
        _ => "it is not valid JSON",
    }
}
