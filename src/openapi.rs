//! The token API's published contract: an OpenAPI 3.1 document for
//! `/api/v1/*`, the JWKS, `/healthz` and `/readyz`, generated from the
//! handlers' own descriptions and the types they read and answer with. It is
//! served at `/api/v1/openapi.json` and committed as `openapi.json`; a test
//! fails when the two differ.

use crate::{
    api,
    error::ErrorCode,
    http::{
        problem::{Problem, SignInRefused},
        ready,
    },
    state::AppState,
};
use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use std::sync::OnceLock;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// How long clients and caches may keep the document: it changes only with
/// a new release.
const MAX_AGE_SECONDS: u32 = 3600;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gatehouse token API",
        description = "Tokens for non-browser clients, the keys that verify them, and health.\n\n\
            Every error answer of `/api/v1/*` and `/healthz` is a problem document \
            (RFC 9457, `application/problem+json`): `type`, `title`, `status` and `detail`, \
            plus the machine-readable `error` code and the `message` for a person. \
            `type` is `https://gatehouse.invalid/problems/<error>`, an identifier that is not \
            meant to be fetched.\n\n\
            Any request naming a host other than this server's is answered `421 misdirected_request`, \
            and an unexpected failure `500 internal`, in the same shape.",
        license(name = "MIT", identifier = "MIT")
    ),
    // The error answers (`IntoResponses`) do not register their bodies.
    components(schemas(Problem, SignInRefused, ErrorCode)),
    modifiers(&BearerScheme),
    tags(
        (name = "token", description = "Access and refresh tokens for non-browser clients"),
        (name = "keys", description = "The public keys that verify access tokens"),
        (name = "operations", description = "Liveness, readiness and this document"),
    )
)]
struct ApiDoc;

/// The `bearer` security scheme: an access token from `/api/v1/token`.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `/api/v1/token` (EdDSA JWT; verify with the JWKS)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The public, cacheable routes outside the authenticating layers: the
/// JWKS, readiness and this document.
pub fn public_routes() -> OpenApiRouter<AppState> {
    api::public_routes()
        .routes(routes!(ready::readyz))
        .routes(routes!(openapi_json))
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(api::routes().into_openapi());
    doc.merge(public_routes().into_openapi());
    doc
}

/// The document as committed: pretty-printed, with a final newline.
pub fn pretty_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the document serializes");
    json.push('\n');
    json
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((
        status = 200,
        description = "The OpenAPI 3.1 document of this API",
        body = serde_json::Value,
        content_type = "application/json",
        headers(("Cache-Control" = String, description = "`public, max-age=3600`"))
    ))
)]
pub async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(pretty_json).as_str();
    let cache = format!("public, max-age={MAX_AGE_SECONDS}");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_str(&cache).expect("a valid header"),
            ),
        ],
        body,
    )
        .into_response()
}
