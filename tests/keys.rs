#![cfg(feature = "ssr")]
//! Signing keys: strict verification against the published set, the JWKS
//! through a rotation, revocation reaching every instance, rotation under
//! load, the HS256 upgrade window, and a master secret that cannot open
//! the stored keys.

mod common;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use common::{email, eventually, TestApp, CHROME, SECRET};
use ed25519_dalek::{Signer as _, SigningKey};
use gatehouse::{
    keys::claims::{Claims, AUDIENCE},
    keys::{jwks::thumbprint, ring::legacy_kid, service::Rotation, KeyError, KeyState},
    server::{leptos_options, Application, StartError},
};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{
    future::IntoFuture as _,
    time::{Duration, Instant},
};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS with any header, signed by `sign` over the signing input.
fn forge(header: Value, claims: &Claims, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(serde_json::to_string(claims).unwrap().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn hmac(key: &[u8]) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |msg| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(msg);
        mac.finalize().into_bytes().to_vec()
    }
}

fn ed25519(key: &SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |msg| key.sign(msg).to_bytes().to_vec()
}

async fn jwks(base: &str) -> (Value, Option<String>) {
    let res = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.json().await.unwrap(), cache)
}

fn kids(set: &Value) -> Vec<String> {
    let mut kids: Vec<String> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn header_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn access_tokens_are_verified_strictly_against_the_published_keys() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("jwt")).await;
    let ring = app.state.keys.ring();
    let kid = ring.signing_kid().unwrap();
    let good = app.state.keys.verify_access(&b.access()).unwrap();
    let claims = |f: &dyn Fn(&mut Claims)| {
        let mut c = (*good).clone();
        c.exp = now() + 300;
        f(&mut c);
        c
    };
    let (set, _) = jwks(&app.base).await;
    let public = URL_SAFE_NO_PAD
        .decode(set["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let attacker = SigningKey::generate(&mut rand::rngs::OsRng);
    let attacker_x = b64(attacker.verifying_key().as_bytes());
    let attacker_kid = thumbprint(attacker.verifying_key().as_bytes());

    let valid = ring.sign(&claims(&|_| {})).unwrap();
    let (head, rest) = valid.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let tampered = format!(
        "{head}.{}.{sig}",
        b64(
            serde_json::to_string(&claims(&|c| c.sub = "someone-else".into()))
                .unwrap()
                .as_bytes()
        )
    );
    let c = claims(&|_| {});
    let cases = [
        (
            "alg none",
            forge(json!({"alg": "none", "kid": kid}), &c, |_| vec![]),
            "unauthenticated",
        ),
        (
            "HS256 keyed with the public key (algorithm confusion)",
            forge(json!({"alg": "HS256", "kid": kid}), &c, hmac(&public)),
            "unauthenticated",
        ),
        (
            "HS256 with the master secret, on a deployment that never used it",
            forge(
                json!({"alg": "HS256", "kid": legacy_kid(&app.state.config.secret)}),
                &c,
                hmac(SECRET.as_bytes()),
            ),
            "unauthenticated",
        ),
        (
            "another Ed25519 key under the current kid",
            forge(json!({"alg": "EdDSA", "kid": kid}), &c, ed25519(&attacker)),
            "unauthenticated",
        ),
        (
            "the signing key carried in the header (jwk)",
            forge(
                json!({"alg": "EdDSA", "kid": attacker_kid, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x}}),
                &c,
                ed25519(&attacker),
            ),
            "unauthenticated",
        ),
        (
            "a key set of the attacker's (jku)",
            forge(
                json!({"alg": "EdDSA", "kid": kid, "jku": "https://evil.example/jwks.json"}),
                &c,
                ed25519(&attacker),
            ),
            "unauthenticated",
        ),
        (
            "no kid",
            forge(json!({"alg": "EdDSA"}), &c, ed25519(&attacker)),
            "unauthenticated",
        ),
        ("tampered payload", tampered, "unauthenticated"),
        (
            "wrong aud",
            ring.sign(&claims(&|c| c.aud = "elsewhere".into())).unwrap(),
            "unauthenticated",
        ),
        (
            "wrong iss",
            ring.sign(&claims(&|c| c.iss = "https://evil.example".into()))
                .unwrap(),
            "unauthenticated",
        ),
        (
            "expired",
            ring.sign(&claims(&|c| c.exp = now() - 60)).unwrap(),
            "token_expired",
        ),
        ("garbage", "not-a-token".to_owned(), "unauthenticated"),
    ];
    for (what, token, code) in cases {
        // Twice: a refusal is never remembered as a success.
        for _ in 0..2 {
            let res = app.browser().get_bearer("/api/v1/me", &token).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(res.code(), code, "{what}");
            assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer"));
        }
    }
    // The control: a token the current key signed, with every claim, passes.
    let ok = app.browser().get_bearer("/api/v1/me", &valid).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(good.aud, AUDIENCE);
    assert_eq!(good.amr, ["pwd"]);
    let header = jsonwebtoken::decode_header(b.access()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
}

#[tokio::test]
async fn the_jwks_follows_a_key_from_standby_to_retired() {
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_JWKS_MAX_AGE", "1"),
        ("GATEHOUSE_ACCESS_TTL", "2"),
        ("GATEHOUSE_REVOCATION_POLL", "1"),
    ])
    .await;
    let ring = app.state.keys.ring().clone();
    let first = ring.signing_kid().unwrap();
    let (set, cache) = jwks(&app.base).await;
    assert_eq!(cache.as_deref(), Some("public, max-age=1"));
    assert_eq!(kids(&set), std::slice::from_ref(&first));
    let key = &set["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    assert_eq!(
        key.as_object().unwrap().len(),
        6,
        "public members only: {key}"
    );

    // A token verifies with the published key alone.
    let b = app.signed_up(&email("jwks")).await;
    let old_token = b.access();
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Claims>(&old_token, &decoding, &validation)
        .expect("verifies from the JWKS");

    // Rotate: a standby is published first, and does not sign yet.
    let Rotation::Pending { kid: second, .. } = app.state.signing.rotate().await.unwrap() else {
        panic!("a new key is published before it signs");
    };
    assert_eq!(kids(&jwks(&app.base).await.0), {
        let mut k = vec![first.clone(), second.clone()];
        k.sort();
        k
    });
    assert_eq!(ring.signing_kid().as_deref(), Some(first.as_str()));
    assert!(
        matches!(
            app.state.signing.rotate().await.unwrap(),
            Rotation::Pending { kid, .. } if kid == second
        ),
        "a second rotate waits for the same standby"
    );

    // Once published for the JWKS max-age, a running server promotes it; the
    // previous key still verifies what it signed.
    eventually("promotion", Duration::from_secs(10), || {
        let ring = ring.clone();
        let second = second.clone();
        async move { ring.signing_kid() == Some(second) }
    })
    .await;
    assert_eq!(
        app.browser()
            .get_bearer("/api/v1/me", &old_token)
            .await
            .status,
        StatusCode::OK
    );
    b.post_form("/api/refresh", &[]).await;
    assert_eq!(header_kid(&b.access()), second);
    let states = |keys: Vec<gatehouse::store::keys::KeyRow>| {
        keys.into_iter()
            .map(|k| (k.kid, k.state))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(app.state.signing.list().await.unwrap()),
        [
            (first.clone(), KeyState::Previous),
            (second.clone(), KeyState::Current)
        ]
    );

    // After every token of the previous key has expired (access TTL, one
    // poll, leeway), it is retired and gone from the set.
    eventually("retirement", Duration::from_secs(20), || {
        let base = app.base.clone();
        let second = second.clone();
        async move { kids(&jwks(&base).await.0) == [second] }
    })
    .await;
    assert_eq!(
        states(app.state.signing.list().await.unwrap()),
        [(first, KeyState::Retired), (second, KeyState::Current)]
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_every_instance_and_sessions_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("GATEHOUSE_REVOCATION_POLL", "1")];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let two = TestApp::spawn_in(dir.path(), &vars).await;
    let b = one.signed_up(&email("revoke-key")).await;
    let token = b.access();
    let kid = header_kid(&token);
    assert_eq!(
        two.browser().get_bearer("/api/v1/me", &token).await.status,
        StatusCode::OK
    );

    assert_eq!(
        one.state.signing.revoke(&kid).await.unwrap(),
        KeyState::Current
    );
    for app in [&one, &two] {
        eventually("refused", Duration::from_secs(5), || {
            let browser = app.browser();
            let token = token.clone();
            async move {
                // As expired: clients refresh onto the new key rather than
                // sign out.
                let res = browser.get_bearer("/api/v1/me", &token).await;
                res.status == StatusCode::UNAUTHORIZED && res.code() == "token_expired"
            }
        })
        .await;
        assert!(
            !kids(&jwks(&app.base).await.0).contains(&kid),
            "unpublished"
        );
    }
    // The browser's next page load refreshes silently onto the new key.
    let page = b.get("/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_ne!(header_kid(&b.access()), kid);
    assert_eq!(
        two.browser()
            .get_bearer("/api/v1/me", &b.access())
            .await
            .status,
        StatusCode::OK
    );
    assert!(matches!(
        one.state.signing.revoke(&kid).await,
        Err(KeyError::Ended(_, "revoked"))
    ));
    assert!(matches!(
        one.state.signing.revoke("no-such-key").await,
        Err(KeyError::UnknownKey(_))
    ));
}

#[tokio::test]
async fn rotation_by_the_command_line_under_load_refuses_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("GATEHOUSE_JWKS_MAX_AGE", "2"),
        ("GATEHOUSE_REVOCATION_POLL", "1"),
    ];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let two = TestApp::spawn_in(dir.path(), &vars).await;
    let address = email("load");
    one.signed_up(&address).await;
    let login = one
        .browser()
        .post_json(
            "/api/v1/token",
            json!({"email": address, "password": common::PASSWORD}),
        )
        .await;
    let first_kid = header_kid(login.json()["access_token"].as_str().unwrap());

    // A client refreshes on one instance and calls the other, nonstop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (one, two, stop) = (one.base.clone(), two.base.clone(), stop.clone());
        let mut refresh = login.json()["refresh_token"].as_str().unwrap().to_owned();
        let mut access = login.json()["access_token"].as_str().unwrap().to_owned();
        tokio::spawn(async move {
            let (mut calls, mut refused, mut kids) = (0, 0, std::collections::BTreeSet::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..10 {
                    let res = common::Browser::new(&two, CHROME)
                        .get_bearer("/api/v1/me", &access)
                        .await;
                    calls += 1;
                    refused += usize::from(res.status != StatusCode::OK);
                }
                let res = common::Browser::new(&one, CHROME)
                    .post_json("/api/v1/token/refresh", json!({"refresh_token": refresh}))
                    .await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.body);
                refresh = res.json()["refresh_token"].as_str().unwrap().to_owned();
                access = res.json()["access_token"].as_str().unwrap().to_owned();
                kids.insert(header_kid(&access));
            }
            (calls, refused, kids)
        })
    };
    // The command runs on a blocking thread: this test's servers share its
    // one-threaded runtime, and blocking that runtime would freeze them in
    // the middle of whatever they were writing.
    let database_url = one.state.config.database_url.clone();
    let data_dir = dir.path().to_owned();
    let cli = |args: &'static [&'static str]| {
        let (database_url, data_dir) = (database_url.clone(), data_dir.clone());
        async move {
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
                    .args(args)
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .env("GATEHOUSE_JWT_SECRET", SECRET)
                    .env("GATEHOUSE_DATA_DIR", data_dir)
                    .env("GATEHOUSE_JWKS_MAX_AGE", "2")
                    .env("DATABASE_URL", database_url)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let published = cli(&["keys", "rotate"]).await;
    assert!(published.contains("standby"), "{published}");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let promoted = cli(&["keys", "rotate"]).await;
    // (A running instance may have promoted it first; then this rotate
    // publishes the next standby.)
    assert!(
        promoted.contains("is now current") || promoted.contains("standby"),
        "{promoted}"
    );
    let listed = cli(&["keys", "list"]).await;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{first_kid} previous "))),
        "{listed}"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (calls, refused, kids) = client.await.unwrap();
    assert!(calls > 50, "{calls} calls");
    assert_eq!(refused, 0, "{refused} of {calls} calls refused");
    assert!(
        kids.len() >= 2 && kids.contains(&first_kid),
        "signed by {kids:?}"
    );
}

#[tokio::test]
async fn hs256_tokens_from_before_the_upgrade_work_until_they_expire_then_never() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn_in(dir.path(), &[]).await;
    let b = app.signed_up(&email("upgrade")).await;
    let me = b.get("/api/v1/me").await.json();
    app.stop().await;
    // The database as the HS256 version left it: sessions, no signing keys.
    app.execute("DELETE FROM signing_keys").await;
    let legacy = legacy_kid(&app.state.config.secret);
    let claims = Claims {
        sub: me["id"].as_str().unwrap().to_owned(),
        sid: me["session_id"].as_str().unwrap().to_owned(),
        iat: now(),
        exp: now() + 300,
        jti: "pre-upgrade".into(),
        iss: "gatehouse".into(),
        aud: AUDIENCE.into(),
        amr: vec![],
    };
    let old = forge(
        json!({"typ": "JWT", "alg": "HS256", "kid": legacy}),
        &claims,
        hmac(SECRET.as_bytes()),
    );

    let vars = [
        ("GATEHOUSE_ACCESS_TTL", "2"),
        ("GATEHOUSE_REVOCATION_POLL", "1"),
    ];
    let upgraded = TestApp::spawn_in(dir.path(), &vars).await;
    let res = upgraded.browser().get_bearer("/api/v1/me", &old).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["id"], me["id"]);
    // Never published: a shared secret is not a public key.
    assert!(!kids(&jwks(&upgraded.base).await.0).contains(&legacy));
    // A token forged the old way under any other kid is still refused.
    let other = forge(
        json!({"alg": "HS256", "kid": "other"}),
        &claims,
        hmac(SECRET.as_bytes()),
    );
    assert_eq!(
        upgraded
            .browser()
            .get_bearer("/api/v1/me", &other)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Once the access lifetime (plus a poll and leeway) has passed, the
    // old scheme is over, even for a token whose `exp` is still ahead; it is
    // answered as expired, so a client refreshes onto the new key.
    eventually("the HS256 window closes", Duration::from_secs(20), || {
        let browser = upgraded.browser();
        let old = old.clone();
        async move {
            let res = browser.get_bearer("/api/v1/me", &old).await;
            res.status == StatusCode::UNAUTHORIZED && res.code() == "token_expired"
        }
    })
    .await;
    let again = upgraded.browser();
    again.set_cookie("__Host-gh_refresh", &b.refresh_token());
    let refreshed = again.post_form("/api/refresh", &[]).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(
        header_kid(&again.access()),
        upgraded.state.keys.ring().signing_kid().unwrap()
    );
    let listed = upgraded.state.signing.list().await.unwrap();
    assert!(listed
        .iter()
        .any(|k| k.kid == legacy && k.state == KeyState::Retired));
}

#[tokio::test]
async fn another_master_secret_cannot_open_the_stored_keys_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn_in(dir.path(), &[]).await;
    let kid = app.state.keys.ring().signing_kid().unwrap();
    app.stop().await;
    let mut env = std::collections::HashMap::from([
        (
            "GATEHOUSE_JWT_SECRET".to_owned(),
            "another-secret-another-secret-0123456789".to_owned(),
        ),
        (
            "GATEHOUSE_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        (
            "DATABASE_URL".to_owned(),
            app.state.config.database_url.clone(),
        ),
        ("LEPTOS_SITE_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
    ]);
    env.retain(|_, v| !v.is_empty());
    let config = gatehouse::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let options = leptos_options(&config);
    let Err(err) = Application::build(config, options).await else {
        panic!("started with keys it cannot open");
    };
    assert!(
        matches!(err, StartError::Keys(KeyError::Unusable(ref k)) if *k == kid),
        "{err}"
    );
    assert!(err.to_string().contains("GATEHOUSE_SECRET"), "{err}");
}

#[path = "../examples/downstream/verifier.rs"]
mod downstream;

#[tokio::test]
async fn the_downstream_example_verifies_real_tokens_from_the_jwks_alone() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_JWKS_MAX_AGE", "60")]).await;
    let verifier = std::sync::Arc::new(
        downstream::JwksVerifier::new(&format!("{}/.well-known/jwks.json", app.base), "gatehouse")
            .with_min_refetch(Duration::ZERO),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, downstream::router(verifier.clone())).into_future());
    let whoami = |token: String| {
        let service = service.clone();
        async move {
            common::Browser::new(&service, CHROME)
                .get_bearer("/whoami", &token)
                .await
        }
    };

    let b = app.signed_up(&email("downstream")).await;
    let me = b.get("/api/v1/me").await.json();
    let res = whoami(b.access()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["user_id"], me["id"]);
    assert_eq!(res.json()["session_id"], me["session_id"]);
    assert_eq!(verifier.fetches(), 1);
    assert_eq!(whoami(b.access()).await.status, StatusCode::OK);
    assert_eq!(verifier.fetches(), 1, "the set is cached");

    // A key it has not seen (here: a standby promoted at once because the
    // current key was revoked) makes it fetch the set again, once; the
    // revoked key's tokens are refused from then on.
    let old = b.access();
    assert!(matches!(
        app.state.signing.rotate().await.unwrap(),
        Rotation::Pending { .. }
    ));
    app.state.signing.revoke(&header_kid(&old)).await.unwrap();
    b.post_form("/api/refresh", &[]).await;
    assert_ne!(header_kid(&b.access()), header_kid(&old));
    assert_eq!(whoami(b.access()).await.status, StatusCode::OK);
    assert_eq!(verifier.fetches(), 2);
    assert_eq!(whoami(old).await.status, StatusCode::UNAUTHORIZED);

    // Forged and foreign tokens are refused.
    let attacker = SigningKey::generate(&mut rand::rngs::OsRng);
    let claims = (*app.state.keys.verify_access(&b.access()).unwrap()).clone();
    let kid = header_kid(&b.access());
    for token in [
        forge(
            json!({"alg": "EdDSA", "kid": kid}),
            &claims,
            ed25519(&attacker),
        ),
        forge(
            json!({"alg": "HS256", "kid": kid}),
            &claims,
            hmac(SECRET.as_bytes()),
        ),
        "garbage".to_owned(),
    ] {
        assert_eq!(whoami(token).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn automatic_rotation_publishes_the_next_key_ahead_then_switches() {
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_KEY_ROTATION", "3"),
        ("GATEHOUSE_JWKS_MAX_AGE", "2"),
        ("GATEHOUSE_REVOCATION_POLL", "1"),
    ])
    .await;
    let ring = app.state.keys.ring().clone();
    let first = ring.signing_kid().unwrap();
    // About a second in (rotation 3 s − publication 2 s), the next key is
    // published while the first still signs.
    eventually("the next key is published", Duration::from_secs(10), || {
        let base = app.base.clone();
        async move { kids(&jwks(&base).await.0).len() == 2 }
    })
    .await;
    let published_at = Instant::now();
    assert_eq!(ring.signing_kid().as_deref(), Some(first.as_str()));
    eventually("it signs", Duration::from_secs(10), || {
        let ring = ring.clone();
        let first = first.clone();
        async move { ring.signing_kid().is_some_and(|k| k != first) }
    })
    .await;
    assert!(
        published_at.elapsed() >= Duration::from_millis(900),
        "published {:?} before it signed",
        published_at.elapsed()
    );
}
