//! Security headers on every response (OWASP HTTP Headers Cheat Sheet), and
//! the per-response CSP nonce (<https://web.dev/articles/strict-csp>: a
//! nonce with 'strict-dynamic', no 'unsafe-inline').

use crate::{config::Environment, state::AppState};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::Response,
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The CSP nonce of this response, for Leptos' hydration scripts.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Adds the headers that are the same on every response.
pub fn static_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    state: &AppState,
) -> Router<S> {
    let router = router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Form posts without JavaScript are sent back to the page they came
        // from, which needs the same-origin Referer.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    if state.config.secure_cookies {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
    } else {
        router
    }
}

/// The policy of answers that are not pages (JSON, assets, redirects):
/// nothing may load, nothing may frame them.
const NOT_A_PAGE: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Gives a request that may render a page (a GET outside the API and the
/// assets) a fresh nonce and its response a CSP naming it; every other
/// answer gets a fixed policy without the cost of a nonce.
pub async fn content_security_policy(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let may_render = matches!(*req.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/");
    if !may_render {
        let mut res = next.run(req).await;
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(NOT_A_PAGE));
        return res;
    }
    // 144 bits from the thread's CSPRNG (ChaCha, seeded by the OS).
    let mut bytes = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let nonce = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let dev_reload = match state.config.reload_port {
        Some(port) if state.config.environment == Environment::Development => {
            format!(" ws://127.0.0.1:{port} ws://localhost:{port}")
        }
        _ => String::new(),
    };
    let csp = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{dev_reload}; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
    );
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("ascii"),
    );
    res
}

/// The compiled assets (`/pkg`): precompressed brotli or gzip files when the
/// build made them and the client accepts them, else the file itself. With
/// hashed names (a new name for new content) they are cacheable for a year
/// and never revalidated; without, caches must revalidate each time.
pub fn assets(options: &leptos::config::LeptosOptions) -> axum::routing::MethodRouter {
    use axum::{http::StatusCode, middleware::map_response, routing::get_service};
    use tower_http::services::ServeDir;
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let policy = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    get_service(ServeDir::new(dir).precompressed_br().precompressed_gzip()).layer(map_response(
        move |mut res: Response| {
            let policy = policy.clone();
            async move {
                if matches!(res.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
                    res.headers_mut().insert(header::CACHE_CONTROL, policy);
                }
                res
            }
        },
    ))
}

/// Marks a response whose body carries a secret (the token API's tokens):
/// it is never compressed.
#[derive(Clone, Copy, Debug)]
pub struct CarriesSecrets;

/// Compresses pages and JSON of some size (brotli or gzip, as the client
/// accepts) at a level cheap enough to pay on every response; assets come
/// precompressed from the build instead.
///
/// BREACH (<https://www.breachattack.com/>) recovers a secret from the size
/// of compressed responses that also reflect attacker-chosen text. Pages and
/// other JSON carry no secret: tokens travel only in `Set-Cookie` headers,
/// which HTTP compression does not touch, and the CSP nonce changes with
/// every response. The token API's bodies do carry tokens, so they are
/// marked [`CarriesSecrets`] and sent as they are.
pub fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::{predicate::SizeAbove, CompressionLayer, CompressionLevel, Predicate as _};
    let compressible = |_, _, headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions| {
        extensions.get::<CarriesSecrets>().is_none()
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
    };
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(SizeAbove::new(512).and(compressible))
}
