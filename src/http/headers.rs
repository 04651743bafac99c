//! Security headers on every response (OWASP HTTP Headers Cheat Sheet), and
//! the per-response CSP nonce (<https://web.dev/articles/strict-csp>: a
//! nonce with 'strict-dynamic', no 'unsafe-inline').

use crate::config::{Config, Environment};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::Response,
    Router,
};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// The CSP nonce of this response, for Leptos' hydration scripts.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Adds the headers that are the same on every response.
pub fn static_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: &Config,
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
        ))
        // Answers served outside the CSP layer (assets, the JWKS).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NOT_A_PAGE),
        ));
    if config.secure_cookies {
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
const NOT_A_PAGE: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Gives a request that may render a page (a GET outside the API and the
/// assets) a fresh nonce and its response a CSP naming it; every other
/// answer gets a fixed policy without the cost of a nonce.
pub async fn content_security_policy(
    State(config): State<Arc<Config>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let may_render = matches!(*req.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/");
    if !may_render {
        let mut res = next.run(req).await;
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NOT_A_PAGE),
        );
        return res;
    }
    // 144 bits from the thread's CSPRNG (ChaCha, seeded by the OS).
    let mut bytes = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let nonce = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let dev_reload = match config.reload_port {
        Some(port) if config.environment == Environment::Development => {
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
/// build made them and the client accepts them, else the file itself, with
/// `Vary: Accept-Encoding` so a shared cache keeps each variant apart. A name
/// with a content hash (cargo-leptos `hash-files`: new content, new name)
/// is cacheable for a year and never revalidated; anything else must be
/// revalidated each time.
pub fn assets(options: &leptos::config::LeptosOptions) -> axum::routing::MethodRouter {
    use axum::{http::StatusCode, middleware::from_fn, routing::get_service};
    use tower_http::services::ServeDir;
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let hashing = options.hash_files;
    let serve = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    get_service(serve).layer(from_fn(move |req: Request, next: Next| async move {
        let immutable = hashing && has_content_hash(req.uri().path());
        let mut res = next.run(req).await;
        let headers = res.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if matches!(res.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
            let policy = if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        }
        res
    }))
}

/// Whether a file name carries a content hash: a middle part of at least
/// 16 base64url characters (`gatehouse.8B7cV9yH5qrfjo-DS4Qgyg.css`).
fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| {
            p.len() >= 16
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Compresses public pages and JSON of some size (brotli or gzip, as the
/// client accepts) at a level cheap enough to pay on every response; assets
/// come precompressed from the build instead.
///
/// BREACH (<https://www.breachattack.com/>) recovers a secret from the size
/// of compressed responses that also reflect attacker-chosen text. So
/// nothing marked `Cache-Control: no-store` is compressed: that is every
/// answer with a token or account data (the token API, server-function
/// answers that set cookies, every signed-in page). What is compressed
/// carries no secret: tokens travel only in `Set-Cookie` headers, and the
/// CSP nonce changes with every response.
pub fn compression(
) -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use axum::http::{Extensions, HeaderMap};
    use tower_http::compression::{
        predicate::SizeAbove, CompressionLayer, CompressionLevel, Predicate as _,
    };
    let public_page_or_json = |_, _, headers: &HeaderMap, _: &Extensions| {
        let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let stored = !value(header::CACHE_CONTROL).is_some_and(|cc| cc.contains("no-store"));
        let text = value(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"));
        stored && text
    };
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(SizeAbove::new(512).and(public_page_or_json))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_names_with_a_content_hash_count_as_hashed() {
        for hashed in [
            "/pkg/gatehouse.8B7cV9yH5qrfjo-DS4Qgyg.css",
            "/pkg/gatehouse.-zNNKpfTidGBMK7GCNTO4Q.js",
        ] {
            assert!(super::has_content_hash(hashed), "{hashed}");
        }
        for plain in [
            "/pkg/gatehouse.css",
            "/pkg/gatehouse_bg.wasm",
            "/pkg/a.b.c",
            "/pkg/x.snippets..js",
        ] {
            assert!(!super::has_content_hash(plain), "{plain}");
        }
    }
}
