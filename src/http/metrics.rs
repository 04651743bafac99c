//! Metrics over HTTP: a layer that times every answer by its matched route,
//! and the Prometheus exposition on a listener of its own
//! (`GATEHOUSE_METRICS_ADDR`), never on the public port, so it needs no
//! authentication and tells visitors nothing.

use crate::{state::AppState, telemetry};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use metrics_exporter_prometheus::PrometheusHandle;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// The route label of a request no route matched (assets, the fallback):
/// never its path, which the client chooses.
const UNMATCHED: &str = "unmatched";

/// Counts and times the answer under the route's template (`/api/login`,
/// `/pkg/{*path}`), or [`UNMATCHED`].
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    telemetry::http_request(&route, res.status().as_u16(), started.elapsed());
    res
}

/// Binds `GATEHOUSE_METRICS_ADDR` for the Prometheus exposition. An address
/// that cannot be bound (another instance on this host holds it) is
/// reported and leaves this instance without metrics rather than down.
pub async fn listener(state: &AppState) -> Option<(TcpListener, Router)> {
    let addr = state.config.metrics_addr?;
    let handle = telemetry::install();
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            if let Ok(bound) = listener.local_addr() {
                tracing::info!("metrics at http://{bound}/metrics");
            }
            Some((listener, router(state.clone(), handle)))
        }
        Err(err) => {
            tracing::error!(%addr, error = %err, "could not listen for metrics (GATEHOUSE_METRICS_ADDR); serving without them");
            None
        }
    }
}

/// The metrics listener's one route, `GET /metrics` (anything else is a
/// plain `404`).
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |State(state): State<AppState>| {
                let handle = handle.clone();
                async move { exposition(&state, &handle).await }
            }),
        )
        .with_state(state)
}

/// Samples the gauges read at scrape time, then renders every family.
async fn exposition(state: &AppState, handle: &PrometheusHandle) -> Response {
    sample(state).await;
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            // The Prometheus text format, version 0.0.4.
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// How long sampling may wait on the database before the scrape answers
/// with what it has.
const SAMPLE_DEADLINE: Duration = Duration::from_secs(2);

async fn sample(state: &AppState) {
    let (waiting, running) = state.passwords.load();
    telemetry::password_work(waiting, running);
    let (letters, oldest) = state.mailer.backlog();
    telemetry::mail_backlog(letters, oldest);
    let database = async {
        let pool = state.sessions.pool_probe().await;
        telemetry::pool(pool.size, pool.idle, pool.wait);
        match state.signing.schedule().await {
            Ok(Some((age, due_in))) => telemetry::signing_key(millis(age), due_in.map(millis)),
            Ok(None) => {}
            Err(err) => tracing::debug!(error = %err, "metrics: could not read the signing keys"),
        }
    };
    if tokio::time::timeout(SAMPLE_DEADLINE, database)
        .await
        .is_err()
    {
        tracing::debug!("metrics: the database did not answer in time");
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}
