//! A deadline for answering a GET. Leptos' server rendering has had rare
//! races between resources and `Suspense` that leave a render waiting
//! forever (leptos-rs/leptos#4851, #4578); gatehouse has seen about one
//! such render in a few thousand under parallel test load, even on a
//! release with those fixes. A GET changes nothing, so a render that passes
//! its deadline is dropped and run once more; a second miss answers `503`
//! with `Retry-After` instead of leaving the connection open.

use crate::error::{AppError, ErrorCode};
use axum::{
    body::Body,
    extract::Request,
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::time::Duration;

/// Far above any healthy render (milliseconds), below what a person waits.
const DEADLINE: Duration = Duration::from_secs(10);

pub async fn render_deadline(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    // A GET's body is ignored; its parts are all a render reads.
    let (parts, _) = req.into_parts();
    for attempt in 1..=2 {
        let again = Request::from_parts(parts.clone(), Body::empty());
        match tokio::time::timeout(DEADLINE, next.clone().run(again)).await {
            Ok(res) => return res,
            Err(_) => {
                tracing::warn!(path = %parts.uri.path(), attempt, "a render passed its deadline")
            }
        }
    }
    AppError {
        retry_after: Some(1),
        ..AppError::from(ErrorCode::Unavailable)
    }
    .into_response()
}
