//! Refuses state-changing requests from other sites (OWASP CSRF Prevention
//! Cheat Sheet: "Fetch Metadata headers" and "Verifying Origin With Standard
//! Headers"). GET and HEAD never change state, so they pass.

use crate::{
    config::Config,
    error::{AppError, ErrorCode},
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// Whether `origin` is this site's origin: `GATEHOUSE_PUBLIC_URL`, else the
/// request's own `Host`.
pub fn same_origin(config: &Config, headers: &HeaderMap, origin: &str) -> bool {
    match &config.public_url {
        Some(public) => origin.eq_ignore_ascii_case(public),
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
        }
    }
}

pub async fn refuse_cross_site(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    // Every Origin value must match (a request with two is not let through
    // on the first alone).
    let foreign_origin = headers.get_all(header::ORIGIN).iter().any(|o| {
        o.to_str()
            .map_or(true, |o| !same_origin(&config, headers, o))
    });
    let cross = fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) || foreign_origin;
    if cross {
        tracing::warn!(path = %req.uri().path(), "cross-site request refused");
        return AppError::from(ErrorCode::CrossSite).into_response();
    }
    next.run(req).await
}
