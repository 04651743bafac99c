//! Readiness: `/readyz` says whether this instance can serve now, for a
//! load balancer or an orchestrator's readiness probe; `/healthz` stays the
//! liveness check (the process answers). Each part is named when it fails,
//! and nothing about accounts is revealed.

use crate::state::AppState;
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::time::Duration;

/// How long the database may take to answer before this instance counts
/// as not ready.
const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

/// `200 {"ready": true}`, or `503 {"ready": false, "failing": [...]}` naming
/// `database` (unreachable within the deadline, or a migration of this
/// build missing) and `signing_keys` (none loaded to sign with).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut failing = Vec::new();
    let database = tokio::time::timeout(DATABASE_DEADLINE, state.sessions.storage_ready()).await;
    if !matches!(database, Ok(true)) {
        failing.push("database");
    }
    if state.keys.ring().signing_kid().is_none() {
        failing.push("signing_keys");
    }
    // Mail: production refuses to start without GATEHOUSE_SMTP_URL and
    // development writes to the outbox, so a running instance always has a
    // transport; its deliveries are retried and logged on their own.
    let (status, body) = if failing.is_empty() {
        (StatusCode::OK, serde_json::json!({ "ready": true }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "ready": false, "failing": failing }),
        )
    };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status != StatusCode::OK {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}
