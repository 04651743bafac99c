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
use serde::Serialize;
use std::time::Duration;

/// How long the database may take to answer before this instance counts
/// as not ready.
const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

/// Whether this instance can serve now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// The parts that fail (only when not ready).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<Part>,
}

/// A part an instance needs to serve.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Unreachable within the deadline, or a migration of this build missing.
    Database,
    /// None loaded to sign with.
    SigningKeys,
}

/// Readiness: `200 {"ready": true}`, or `503 {"ready": false, "failing":
/// [...]}` naming `database` (unreachable within the deadline, or a
/// migration of this build missing) and `signing_keys` (none loaded to sign
/// with).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (
            status = 200,
            description = "Ready",
            body = Readiness,
            headers(("Cache-Control" = String, description = "`no-store`")),
            example = json!({"ready": true})
        ),
        (
            status = 503,
            description = "Not ready; try again after `Retry-After`",
            body = Readiness,
            headers(("Retry-After" = u64, description = "Seconds")),
            example = json!({"ready": false, "failing": ["database"]})
        )
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut failing = Vec::new();
    let database = tokio::time::timeout(DATABASE_DEADLINE, state.sessions.storage_ready()).await;
    if !matches!(database, Ok(true)) {
        failing.push(Part::Database);
    }
    if state.keys.ring().signing_kid().is_none() {
        failing.push(Part::SigningKeys);
    }
    // Mail: production refuses to start without GATEHOUSE_SMTP_URL and
    // development writes to the outbox, so a running instance always has a
    // transport; its deliveries are retried and logged on their own.
    let ready = failing.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut res = (status, Json(Readiness { ready, failing })).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status != StatusCode::OK {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}
