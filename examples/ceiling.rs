//! The ceiling `scripts/bench` holds `GET /api/v1/me` against: a bare axum
//! server that checks one HS256 token per request and answers its subject,
//! loaded by the same external client (`wrk`) in the same run.
//!
//! `cargo run --release --features ssr --example ceiling -- 127.0.0.1:3291`
//! prints a token to send as `Authorization: Bearer …`, then serves.

use axum::{http::HeaderMap, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

const SECRET: &[u8] = b"ceiling-secret-ceiling-secret-ceiling";

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3291".into());
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let claims = Claims {
        sub: "user".into(),
        exp,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("a token");
    let key = DecodingKey::from_secret(SECRET);
    let validation = Validation::new(Algorithm::HS256);
    let me = move |headers: HeaderMap| async move {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        match decode::<Claims>(bearer, &key, &validation) {
            Ok(data) => Json(serde_json::json!({ "id": data.claims.sub })).into_response(),
            Err(_) => StatusCode::UNAUTHORIZED.into_response(),
        }
    };
    let app = Router::new().route("/api/v1/me", get(me));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("the address is free");
    println!("{token}");
    axum::serve(listener, app).await.expect("serves");
}
