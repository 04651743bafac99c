//! Wiring: configuration, storage, routes and middleware into one server.

use crate::{
    api,
    app::{shell, App},
    auth::refresh_layer,
    config::{Config, Environment, LogFormat},
    error::{AppError, ErrorCode},
    http::{cross_site, forms, headers, host, problem, request_id},
    state::AppState,
    store::{ConnectError, Db},
};
use axum::{
    body::Body, extract::Request, middleware::from_fn_with_state, response::IntoResponse,
    routing::any, serve::ListenerExt as _, Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{future::Future, net::SocketAddr};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] ConnectError),
    #[error("signing keys: {0}")]
    Keys(crate::keys::KeyError),
    #[error("could not load revocations: {0}")]
    Revocations(crate::error::AppError),
    #[error("could not listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// Leptos' options: where the compiled site is and what it is called.
/// cargo-leptos sets these variables when it runs the server; the defaults
/// match `[package.metadata.leptos]` for running the binary directly. Asset
/// names carry content hashes when the build left its `hash.txt` beside the
/// binary (`hash-files`), so they can be cached for good.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let hash_file = var("LEPTOS_HASH_FILE_NAME", "hash.txt");
    // Hashed names only with the list of hashes beside the binary (without
    // it, Leptos could not name the files); a build that hashed but lost the
    // list is said so at start-up.
    let listed = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(&hash_file)))
        .is_some_and(|path| path.exists());
    let wanted = std::env::var("LEPTOS_HASH_FILES").ok();
    if wanted.as_deref() == Some("true") && !listed {
        tracing::error!(
            "LEPTOS_HASH_FILES is set but {hash_file} is not beside the binary: copy it from the build, or pages will name assets that do not exist"
        );
    }
    let hashed = listed && wanted.as_deref() != Some("false");
    LeptosOptions::builder()
        .hash_files(hashed)
        .hash_file(std::sync::Arc::<str>::from(hash_file))
        .output_name(var("LEPTOS_OUTPUT_NAME", "gatehouse"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.site_addr)
        // Under `cargo leptos watch`, the page's live-reload script connects
        // to the port the CSP allows (`LEPTOS_RELOAD_PORT`), not Leptos'
        // default.
        .reload_port(u32::from(config.reload_port.unwrap_or(3001)))
        .env(match config.environment {
            Environment::Production => leptos::config::Env::PROD,
            Environment::Development => leptos::config::Env::DEV,
        })
        .build()
}

/// A built server, bound to its listener but not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The metrics listener and router, unless metrics are off (or their
    /// address could not be bound: reported, and the server serves anyway).
    metrics: Option<(TcpListener, Router)>,
}

impl Application {
    /// Opens the database, applies migrations and binds the listener
    /// (`site_addr` port 0 picks a free port).
    pub async fn build(
        mut config: Config,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.site_addr)
            .await
            .map_err(|e| StartError::Listen(config.site_addr, e))?;
        if config.public_url.is_none() {
            // Links in mail name the address actually bound (port 0 picks one).
            if let Ok(addr) = listener.local_addr() {
                config.link_origin = format!("http://{addr}");
            }
        }
        let db = Db::connect(&config.database_url).await?;
        let state = AppState::new(config, db, leptos_options).await;
        state.signing.start().await.map_err(StartError::Keys)?;
        // Providers load in the background: one that is down never stops
        // the server.
        state.federation.start();
        state
            .sessions
            .sync_revocations()
            .await
            .map_err(StartError::Revocations)?;
        let router = router(state.clone());
        let metrics = crate::http::metrics::listener(&state).await;
        Ok(Self {
            listener,
            router,
            state,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The metrics listener's port, if it is bound.
    pub fn metrics_port(&self) -> Option<u16> {
        let (listener, _) = self.metrics.as_ref()?;
        listener.local_addr().ok().map(|a| a.port())
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let background = tokio::spawn(background_tasks(self.state.clone()));
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            })
        });
        // Headers and body leave in separate writes; without TCP_NODELAY,
        // Nagle's algorithm holds the second until the client's delayed ACK
        // (about 40 ms on Linux) on every keep-alive response.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "could not set TCP_NODELAY");
            }
        });
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        background.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        self.state.sessions.close().await;
        result
    }
}

/// Purges expired rows at start-up, then once an hour.
async fn purge_hourly(state: AppState) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    hourly.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        hourly.tick().await;
        match state.sessions.purge().await {
            Ok(report) => tracing::debug!(
                sessions = report.sessions,
                events = report.events,
                other = report.other,
                batches = report.batches,
                longest_batch_ms = report.longest_batch.as_millis() as u64,
                "purged expired rows"
            ),
            Err(err) => tracing::warn!(error = %err, "purge failed"),
        }
    }
}

/// Picks up revocations and signing-key changes made by other instances —
/// at once when the database pushes them (PostgreSQL), else by the poll —
/// and moves signing keys along when their time comes; purges expired rows
/// once an hour beside them (a long purge never delays a revocation).
async fn background_tasks(state: AppState) {
    tokio::spawn(purge_hourly(state.clone()));
    let mut poll = tokio::time::interval(state.config.lifetimes.revocation_poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut notices = state
        .sessions
        .revocation_notices()
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "revocations will be polled only");
            None
        });
    loop {
        tokio::select! {
            _ = poll.tick() => {}
            pushed = async {
                match notices.as_mut() {
                    Some(n) => n.next().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Err(err) = pushed {
                    tracing::warn!(error = %err, "revocation notices interrupted; polling meanwhile");
                    tokio::time::sleep(state.config.lifetimes.revocation_poll).await;
                }
            }
        }
        if let Err(err) = state.sessions.sync_revocations().await {
            tracing::warn!(error = %err, "could not load revocations");
        }
        if let Err(err) = state.signing.tick().await {
            tracing::warn!(error = %err, "could not update the signing keys");
        }
    }
}

async fn unknown_api() -> impl IntoResponse {
    AppError::new(ErrorCode::NotFound, "There is no such API endpoint.")
}

/// Gives Leptos rendering the app state and this response's CSP nonce.
fn render_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        if let Some(parts) = use_context::<axum::http::request::Parts>() {
            if let Some(nonce) = parts.extensions.get::<headers::CspNonce>() {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
            }
        }
    }
}

/// All routes with their middleware.
pub fn router(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let router = Router::new()
        .merge(api::router())
        .merge(crate::http::oidc::router())
        // Server functions are registered at their own paths by
        // `leptos_routes_with_context`; anything else under /api is unknown.
        .route("/api/{*rest}", any(unknown_api))
        .leptos_routes_with_context(&state, routes, render_context(state.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(render_context(state.clone()), shell))
        .layer(axum::middleware::from_fn(
            crate::http::deadline::render_deadline,
        ))
        .layer(from_fn_with_state(state.clone(), forms::server_fn_adapter))
        .layer(from_fn_with_state(
            state.clone(),
            refresh_layer::authenticate,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            cross_site::refuse_cross_site,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            headers::content_security_policy,
        ))
        // Public and cacheable (the JWKS, readiness, the OpenAPI
        // document): outside the layers that authenticate and mark
        // signed-in answers `no-store`.
        .merge(Router::from(crate::openapi::public_routes()))
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            headers::assets(&options),
        )
        // Around every route, the assets and the fallback, so nothing runs
        // for a request naming another host (DNS rebinding); inside the
        // static headers, so its 421 carries them too.
        .layer(from_fn_with_state(
            std::sync::Arc::new(host::AllowedHosts::from_config(&state.config)),
            host::refuse_misdirected,
        ))
        // The token API's errors as problem documents, refusals of the
        // layers above included; inside compression, which would hide the
        // body it rewrites.
        .layer(axum::middleware::from_fn(problem::problem_details));
    headers::static_headers(router, &state.config)
        .layer(headers::compression())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                // The path only: query strings may carry user input.
                // At debug level: an enabled span per request costs more
                // than authenticating it.
                tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
        // Every answer counted and timed by its route's template.
        .layer(axum::middleware::from_fn(crate::http::metrics::record))
        // Outermost: every answer, refusals included, names its request.
        .layer(from_fn_with_state(state.clone(), request_id::request_id))
        .with_state(state)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Starts logging with `RUST_LOG` (default `info`), as text or, with
/// `GATEHOUSE_LOG_FORMAT=json`, one JSON object per line. An unknown format
/// is an error (logging starts as text so it can be reported).
pub fn init_tracing() -> Result<(), crate::config::ConfigError> {
    let format = LogFormat::from_env();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        Ok(LogFormat::Json) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        _ => builder.try_init(),
    };
    format.map(|_| ())
}

/// Builds the server from the environment and serves until a signal.
pub async fn serve() -> Result<(), StartError> {
    let config = Config::from_env()?;
    if !config.secure_cookies {
        tracing::warn!("GATEHOUSE_SECURE_COOKIES=false: cookies lose Secure and the __Host- prefix; use only for plain-http development");
    }
    if config.environment == Environment::Production && config.public_url.is_none() {
        tracing::warn!("GATEHOUSE_PUBLIC_URL is unset: links in mail name the address this server listens on; requests naming a host other than localhost or this server's address are answered 421; set it to the public https origin");
    }
    let options = leptos_options(&config);
    let app = Application::build(config, options).await?;
    let addr = app
        .listener
        .local_addr()
        .map_err(|e| StartError::Listen(app.state.config.site_addr, e))?;
    tracing::info!("gatehouse listening on http://{addr}");
    // Standard output carries only JSON objects when logs are JSON.
    if app.state.config.log_format == LogFormat::Text {
        println!("gatehouse is running at http://{addr}");
    }
    app.run_until(shutdown_signal())
        .await
        .map_err(|e| StartError::Listen(addr, e))
}
