//! The server-function adapter:
//! - bodies over 16 KiB → `413 too_large`; other than form-encoded → `415`;
//! - a failing server function answers with its error code's status, through
//!   [`AppError`]'s one `IntoResponse` (Leptos answers 500 for every error,
//!   including arguments that fail to parse before the function body runs);
//! - a plain form post from a browser without JavaScript (`Accept: text/html`)
//!   gets a `303` to the `next` field the form carries, or back to the form
//!   (its Referer) with `?error=<code>` that the page shows as a readable
//!   message. No page or route is named here: forms carry their own `next`.
//!   A successful answer that is a file to save (a data export) is given
//!   as it is.

use super::{
    body::{collect_limited, content_type_is},
    cross_site::same_origin,
};
use crate::{
    config::Config,
    error::{AppError, ErrorCode},
    redirect::{login_url, safe_next},
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt as _;
use std::sync::Arc;

/// A header a server function sets to send a form post without JavaScript
/// somewhere other than its `next` field (a sign-in that needs its second
/// step); the adapter takes it off every answer.
pub static FORM_NEXT: header::HeaderName = header::HeaderName::from_static("gatehouse-form-next");

/// A call to a server function: a POST under `/api/`, outside the Bearer
/// token API (`/api/v1/`).
pub fn is_server_fn_call(method: &Method, path: &str) -> bool {
    method == Method::POST && path.starts_with("/api/") && !path.starts_with("/api/v1/")
}

/// Whether a request asks for a page back: a form posted by a browser
/// without JavaScript (the hydrated client asks for JSON).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub async fn server_fn_adapter(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !is_server_fn_call(req.method(), path) {
        return next.run(req).await;
    }
    let is_login = path == "/api/login";
    let wants_html = wants_html(req.headers());
    let form_origin = wants_html.then(|| referer_path(&config, req.headers()));

    let (mut parts, body) = req.into_parts();
    let result = collect_limited(body).await.and_then(|bytes| {
        match content_type_is(&parts.headers, "application/x-www-form-urlencoded") {
            Some(false) => Err(AppError::from(ErrorCode::UnsupportedMediaType)),
            None if !bytes.is_empty() => Err(AppError::from(ErrorCode::UnsupportedMediaType)),
            _ => Ok(bytes),
        }
    });
    let (res, next_field) = match result {
        Err(err) => (err.into_response(), None),
        Ok(bytes) => {
            let next_field = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned());
            if wants_html {
                // Leptos would redirect on its own with the raw error in the
                // URL; ask it for JSON and do the redirect here instead.
                parts
                    .headers
                    .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            }
            let mut res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            // Server functions answer with tokens or account data; none of
            // it may be cached.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            let form_next = res.headers_mut().remove(&FORM_NEXT);
            let next_field = form_next
                .and_then(|v| v.to_str().ok().map(str::to_owned))
                .or(next_field);
            (with_error_status(res).await, next_field)
        }
    };
    match form_origin {
        None => res,
        // A file to save is the answer the form asked for: the browser
        // keeps it and stays on the page.
        Some(_) if res.status().is_success() && is_download(&res) => res,
        Some(referer) => form_redirect(is_login, res, referer, next_field).await,
    }
}

/// Whether an answer is a file to save (`Content-Disposition: attachment`).
fn is_download(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("attachment"))
}

/// The same-origin path and query of the Referer, if there is one.
fn referer_path(config: &Config, headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    if !same_origin(config, headers, &url.origin().ascii_serialization()) {
        return None;
    }
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// Re-answers a failed server function through [`AppError`]'s response, so
/// its status, `Retry-After` and `WWW-Authenticate` are the same as anywhere
/// else; cookies the function set or cleared are kept.
async fn with_error_status(res: Response) -> Response {
    if !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut error: AppError =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorCode::Internal.into());
    error.retry_after = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let mut answer = error.into_response();
    for value in parts.headers.get_all(header::SET_COOKIE) {
        answer
            .headers_mut()
            .append(header::SET_COOKIE, value.clone());
    }
    if let Some(value) = parts.headers.get(header::CACHE_CONTROL) {
        answer
            .headers_mut()
            .insert(header::CACHE_CONTROL, value.clone());
    }
    answer
}

async fn form_redirect(
    is_login: bool,
    res: Response,
    referer: Option<String>,
    next_field: Option<String>,
) -> Response {
    let status = res.status();
    let (parts, body) = res.into_parts();
    let location = if status.is_success() || status.is_redirection() {
        next_field
            .as_deref()
            .and_then(safe_next)
            .unwrap_or("/")
            .to_owned()
    } else {
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let code = serde_json::from_slice::<AppError>(&bytes)
            .map(|e| e.error)
            .unwrap_or(ErrorCode::Internal);
        if code.ends_sign_in() && !is_login {
            login_url(None, Some(code))
        } else {
            // The Referer is same-origin, but its path still has to pass the
            // redirect check (`https://host//evil.example/` is same-origin).
            let back = referer
                .as_deref()
                .and_then(safe_next)
                .unwrap_or("/")
                .to_owned();
            // A refusal closes the confirm step, except one that asks for
            // a recent sign-in first: the page asks for it in place and
            // returns to that step.
            let closed: &[&str] = if code == ErrorCode::ReauthRequired {
                &["error", "done", "sent"]
            } else {
                &["error", "confirm", "done", "sent"]
            };
            rewrite_query(&back, closed, Some(("error", code.as_str())))
        }
    };
    let mut redirect = see_other(&location);
    for (name, value) in parts.headers.iter() {
        if name == header::SET_COOKIE
            || name == header::CACHE_CONTROL
            || name == header::RETRY_AFTER
        {
            redirect.headers_mut().append(name, value.clone());
        }
    }
    redirect
}

/// A `303 See Other` to a same-origin location.
pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
    );
    res
}

/// `path` with the query parameters `remove` dropped and `add` appended.
fn rewrite_query(path: &str, remove: &[&str], add: Option<(&str, &str)>) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !remove.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some((k, v)) = add {
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if pairs.is_empty() {
        return base.to_owned();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_rewriting_replaces_the_error() {
        assert_eq!(
            rewrite_query(
                "/login?next=%2Fsessions&error=throttled",
                &["error"],
                Some(("error", "invalid_credentials"))
            ),
            "/login?next=%2Fsessions&error=invalid_credentials"
        );
        assert_eq!(
            rewrite_query("/sessions?confirm=abc", &["confirm"], None),
            "/sessions"
        );
    }
}
