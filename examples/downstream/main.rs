//! A separate service that trusts gatehouse's access tokens, verifying them
//! from the published JWKS alone:
//!
//! ```sh
//! cargo run --features ssr --example downstream -- \
//!     http://127.0.0.1:3000/.well-known/jwks.json gatehouse 127.0.0.1:4000
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:4000/whoami
//! ```
//!
//! Arguments: the JWKS URL, the issuer (gatehouse's `GATEHOUSE_PUBLIC_URL`,
//! or `gatehouse` when unset), and the address to listen on.

mod verifier;

use std::sync::Arc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let jwks = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000/.well-known/jwks.json".into());
    let issuer = args.next().unwrap_or_else(|| "gatehouse".into());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:4000".into());
    let verifier = Arc::new(verifier::JwksVerifier::new(&jwks, &issuer));
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {listen}: {e}"));
    println!("downstream: verifying tokens from {jwks}; listening on http://{listen}");
    axum::serve(listener, verifier::router(verifier))
        .await
        .expect("serves");
}
