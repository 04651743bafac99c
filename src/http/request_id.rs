//! Request ids: every answer carries `X-Request-Id`, so a person reporting
//! a problem and the operator reading the log speak of the same request.
//! The id of a trusted proxy (`GATEHOUSE_TRUSTED_PROXIES`) is kept when it
//! is a plain token; anyone else's is replaced, since a client could
//! otherwise write into the log lines of its own requests (OWASP Logging
//! Cheat Sheet, "Event data sources").

use crate::{
    config::{Config, LogFormat},
    crypto::random_id,
    request::is_trusted_proxy,
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use std::sync::Arc;
use std::{net::SocketAddr, time::Instant};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, for handlers and logs.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

/// Whether a proxy's id may be kept: 1 to 128 characters of a safe set.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len())
        && bytes.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        })
}

/// Gives the request its id (the trusted proxy's, or a new random one) and
/// answers it in `X-Request-Id`.
pub async fn request_id(
    State(config): State<Arc<Config>>,
    mut req: Request,
    next: Next,
) -> Response {
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| is_trusted_proxy(c.0.ip(), &config.trusted_proxies));
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| from_proxy && acceptable(v))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&random_id(12)).expect("a random id is a header value")
        });
    req.headers_mut().insert(X_REQUEST_ID.clone(), id.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    // With JSON logs, one line per answer for the log shipper. The path
    // only: a query string may carry a link's token (OWASP Logging Cheat
    // Sheet, "Data to exclude").
    let access = (config.log_format == LogFormat::Json).then(|| {
        let path: String = req.uri().path().chars().take(200).collect();
        (req.method().clone(), path, Instant::now())
    });
    let mut res = next.run(req).await;
    if let Some((method, route, started)) = access {
        tracing::info!(
            target: "gatehouse::access",
            request_id = id.to_str().unwrap_or_default(),
            method = %method,
            route = %route,
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        );
    }
    res.headers_mut().insert(X_REQUEST_ID.clone(), id);
    res
}

#[cfg(test)]
mod tests {
    use super::acceptable;
    use axum::http::HeaderValue;

    #[test]
    fn a_proxy_id_is_kept_only_when_it_is_a_plain_token() {
        for good in [
            "abc-123",
            "1f0e2d3c-aaaa-bbbb-cccc-000011112222",
            "Root=1-5e1b4151",
        ] {
            assert!(acceptable(&HeaderValue::from_static(good)), "{good}");
        }
        let long = "a".repeat(129);
        for bad in ["", "two words", "new\"line", long.as_str()] {
            assert!(!acceptable(&HeaderValue::from_str(bad).unwrap()), "{bad}");
        }
    }
}
