//! The Bearer token API for non-browser clients (`/api/v1/*`), `/healthz` and
//! the signing keys' JWKS document.
//! Token responses follow RFC 6749 §5.1 (`Cache-Control: no-store`);
//! revocation follows RFC 7009 §2.2 (unknown tokens answer success too).
//! Each handler parses its input, makes one service call and shapes the answer.
//! Each also describes itself (`#[utoipa::path]`): the routes below are made
//! from those descriptions, so the OpenAPI document (`crate::openapi`)
//! cannot name a path or method the server does not answer.

use crate::{
    auth::{passwords::Password, service::SignIn},
    clock::now_ms,
    error::{AppError, ErrorCode},
    http::{
        body::Json,
        problem::{
            BearerRefusals, JsonPostRefusals, Problem, SignInRefusals, SignInRefused, PROBLEM_JSON,
        },
    },
    request::{AuthedUser, ClientInfo},
    sessions::tokens::IssuedTokens,
    state::AppState,
    vocab::SessionKind,
};
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The token API and `/healthz`, with their descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_token))
        .routes(routes!(second_step))
        .routes(routes!(refresh_token))
        .routes(routes!(revoke_token))
        .routes(routes!(me))
        .routes(routes!(healthz))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

/// The public routes outside the authenticating layers: the JWKS.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}

/// Sign-in with a password.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "amber orchard whistles under cold stars"}))]
struct PasswordGrant {
    email: String,
    password: String,
    /// The device credential from an earlier sign-in, if the client kept it.
    #[serde(default)]
    device_token: Option<String>,
}

/// The second step of a sign-in (Auth0's `mfa_token` shape).
#[derive(Deserialize, utoipa::ToSchema)]
struct SecondStepGrant {
    /// From the `403 mfa_required` answer of `/api/v1/token`.
    mfa_token: String,
    /// A TOTP code or a recovery code; an empty one is refused as
    /// `invalid_input`.
    #[schema(min_length = 1)]
    code: String,
    #[serde(default)]
    device_token: Option<String>,
}

/// A refresh token to rotate or revoke.
#[derive(Deserialize, utoipa::ToSchema)]
struct RefreshGrant {
    refresh_token: String,
}

/// Tokens for a session (RFC 6749 §5.1).
#[derive(Serialize, utoipa::ToSchema)]
struct TokenResponse {
    /// A JWT (EdDSA), sent as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Single use: rotated by `/api/v1/token/refresh`.
    refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// A device credential, at sign-in: send it back with the next sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

/// Who the Bearer token signs in.
#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    id: String,
    email: String,
    email_verified: bool,
    session_id: String,
}

/// A success that must not be cached (nor so compressed; see
/// `http::headers::compression` on BREACH): it carries tokens or account
/// data.
struct NoStore<T>(T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

type Answer<T> = Result<NoStore<T>, AppError>;

fn token_response(issued: IssuedTokens) -> NoStore<axum::Json<TokenResponse>> {
    NoStore(axum::Json(TokenResponse {
        access_token: issued.access.value,
        refresh_token: issued.refresh.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.access.expires_at - now_ms() / 1000,
        device_token: issued.device.map(|d| d.expose().to_owned()),
    }))
}

/// Sign in with an email address and a password.
#[utoipa::path(
    post,
    path = "/api/v1/token",
    tag = "token",
    request_body = PasswordGrant,
    responses((
            status = 200,
            description = "Tokens for a new session",
            body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store` (RFC 6749 §5.1)")),
            links(
                ("refresh" = (
                    operation_id = "refresh_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "Rotate the refresh token"
                )),
                ("revoke" = (
                    operation_id = "revoke_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "End the session"
                ))
            )
        ), SignInRefusals)
)]
async fn issue_token(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<PasswordGrant>,
) -> Result<Response, AppError> {
    let answer = state
        .auth
        .login(
            &grant.email,
            Password::new(grant.password),
            SessionKind::Api,
            grant.device_token.as_deref(),
            &client,
        )
        .await?;
    Ok(match answer {
        SignIn::Done(_, issued) => token_response(issued).into_response(),
        SignIn::SecondStep { token, methods } => {
            let code = ErrorCode::MfaRequired;
            let status = StatusCode::FORBIDDEN;
            let body = SignInRefused {
                problem: Problem::new(code, code.default_message(), status),
                mfa_token: Some(token),
                methods: Some(methods),
            };
            let content_type = [(header::CONTENT_TYPE, PROBLEM_JSON)];
            NoStore((status, content_type, axum::Json(body))).into_response()
        }
    })
}

/// Finish a sign-in that answered `mfa_required`, with a TOTP or recovery
/// code.
#[utoipa::path(
    post,
    path = "/api/v1/token/mfa",
    tag = "token",
    request_body = SecondStepGrant,
    responses((
            status = 200,
            description = "Tokens for a new session",
            body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store` (RFC 6749 §5.1)")),
            links(
                ("refresh" = (
                    operation_id = "refresh_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "Rotate the refresh token"
                )),
                ("revoke" = (
                    operation_id = "revoke_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "End the session"
                ))
            )
        ), JsonPostRefusals)
)]
async fn second_step(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<SecondStepGrant>,
) -> Answer<axum::Json<TokenResponse>> {
    let (_, issued) = state
        .auth
        .finish_second_step(
            &grant.mfa_token,
            &grant.code,
            SessionKind::Api,
            grant.device_token.as_deref(),
            &client,
        )
        .await?;
    Ok(token_response(issued))
}

/// Rotate a refresh token: the answer's tokens replace the old ones (the
/// old refresh token is accepted once more for a few seconds, answered with
/// the same successor).
#[utoipa::path(
    post,
    path = "/api/v1/token/refresh",
    tag = "token",
    request_body = RefreshGrant,
    responses((
            status = 200,
            description = "Rotated tokens for the same session",
            body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store` (RFC 6749 §5.1)")),
            links(
                ("refresh" = (
                    operation_id = "refresh_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "Rotate the refresh token"
                )),
                ("revoke" = (
                    operation_id = "revoke_token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}),
                    description = "End the session"
                ))
            )
        ), JsonPostRefusals)
)]
async fn refresh_token(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<RefreshGrant>,
) -> Answer<axum::Json<TokenResponse>> {
    let issued = state.auth.refresh(&grant.refresh_token, &client).await?;
    Ok(token_response(issued))
}

/// End the session of a refresh token (RFC 7009: also `204` for an unknown
/// or already revoked token).
#[utoipa::path(
    post,
    path = "/api/v1/token/revoke",
    tag = "token",
    request_body = RefreshGrant,
    responses(
        (
            status = 204,
            description = "The session is ended (or there was none)",
            headers(("Cache-Control" = String, description = "`no-store`"))
        ),
        JsonPostRefusals
    )
)]
async fn revoke_token(
    State(state): State<AppState>,
    Json(grant): Json<RefreshGrant>,
) -> Answer<StatusCode> {
    state
        .auth
        .revoke_refresh_token(&grant.refresh_token)
        .await?;
    Ok(NoStore(StatusCode::NO_CONTENT))
}

/// Who the access token (Bearer, or the browser's access cookie) signs in.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "token",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "The account and session of the access token",
            body = Me,
            headers(("Cache-Control" = String, description = "`no-store`"))
        ),
        BearerRefusals
    )
)]
async fn me(State(state): State<AppState>, authed: AuthedUser) -> Answer<axum::Json<Me>> {
    let user = state
        .auth
        .user(&authed.user_id)
        .await?
        .ok_or(ErrorCode::Unauthenticated)?;
    Ok(NoStore(axum::Json(Me {
        id: user.id.into_string(),
        email: user.email,
        email_verified: user.email_verified_at.is_some(),
        session_id: authed.session_id.into_string(),
    })))
}

/// The database answers.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: whether this instance and its database answer.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 503, description = "`unavailable`: the database does not answer", body = Problem, content_type = "application/problem+json")
    )
)]
async fn healthz(State(state): State<AppState>) -> Response {
    if state.sessions.healthy().await {
        NoStore(axum::Json(Health { status: "ok" })).into_response()
    } else {
        AppError::from(ErrorCode::Unavailable).into_response()
    }
}

/// The public keys of the standby, current and previous signing keys
/// (RFC 7517), cacheable for exactly as long as a new key is published
/// before it signs.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses((
        status = 200,
        description = "The published keys",
        body = crate::keys::jwks::KeySet,
        headers(("Cache-Control" = String, description = "`public, max-age=<GATEHOUSE_JWKS_MAX_AGE>`"))
    ))
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let max_age = state.config.lifetimes.jwks_max_age.as_secs();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        ],
        state.keys.ring().jwks().to_string(),
    )
        .into_response()
}
