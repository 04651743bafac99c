//! Benchmarks: token verification in-process, and the real server over
//! loopback (sign-in, authenticated requests, refresh rotation, a refresh
//! race). Run with `scripts/bench` (or `cargo bench --features ssr`).

use gatehouse::{
    config::Config,
    keys::Keyring,
    server::{leptos_options, Application},
    sessions::tokens::{new_session_id, new_session_secret, parse_refresh_token, TokenKeys},
};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

const PASSWORD: &str = "quiet lighthouse hums over grey water";

fn per_op(total: Duration, n: u32) -> String {
    let ns = total.as_nanos() as f64 / n as f64;
    if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 10_000_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(name: &str, value: String) {
    println!("| {name:<58} | {value:>22} |");
}

/// Exchanges a refresh token through the token API; returns the successor.
async fn rotate(client: &reqwest::Client, base: &str, refresh: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/token/refresh"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    res.json::<serde_json::Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Concurrent clients of the `/me` measurements.
const ME_CLIENTS: usize = 8;

struct Load {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `GET /api/v1/me` from [`ME_CLIENTS`] clients, 500 requests each.
async fn me_load(client: &reqwest::Client, base: &str, access: &str) -> Load {
    load(client, &format!("{base}/api/v1/me"), access).await
}

/// `GET url` with a Bearer token from [`ME_CLIENTS`] clients, 500 requests
/// each.
async fn load(client: &reqwest::Client, url: &str, access: &str) -> Load {
    let per_worker = 500;
    let started = Instant::now();
    let tasks = (0..ME_CLIENTS).map(|_| {
        let (client, url, access) = (client.clone(), url.to_owned(), access.to_owned());
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                let res = client.get(&url).bearer_auth(&access).send().await.unwrap();
                assert!(res.status().is_success());
                assert_eq!(res.url().as_str(), url, "answered, not redirected");
                let _ = res.bytes().await;
                latencies.push(t.elapsed());
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    Load {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        p99_ms: percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    }
}

/// One wrong password for `account` from `ip` (through the trusted proxy);
/// the answer's status.
async fn guess(client: &reqwest::Client, base: &str, account: &str, ip: &str, n: u32) -> u16 {
    client
        .post(format!("{base}/api/v1/token"))
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({"email": account, "password": format!("wrong guess {n}")}))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// The ceiling: a bare axum handler that verifies one HS256 token and
/// answers its subject, on its own port, measured by the same client.
async fn bare_axum_ceiling(client: &reqwest::Client) -> Load {
    use axum::{http::HeaderMap, response::IntoResponse, routing::get, Router};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use std::future::IntoFuture;
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        exp: i64,
    }
    let secret = b"bench-ceiling-secret-bench-ceiling";
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Claims {
            sub: "user".into(),
            exp,
        },
        &EncodingKey::from_secret(secret),
    )
    .unwrap();
    let key = DecodingKey::from_secret(secret);
    let validation = Validation::new(Algorithm::HS256);
    let app = Router::new().route(
        "/me",
        get(move |headers: HeaderMap| {
            let (key, validation) = (key.clone(), validation.clone());
            async move {
                let token = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default();
                match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
                    Ok(data) => {
                        axum::Json(serde_json::json!({"id": data.claims.sub})).into_response()
                    }
                    Err(_) => axum::http::StatusCode::UNAUTHORIZED.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/me", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, app).into_future());
    let result = load(client, &url, &token).await;
    server.abort();
    result
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<&str, String> = HashMap::from([
        (
            "GATEHOUSE_JWT_SECRET",
            "bench-secret-bench-secret-bench-secret-00".to_owned(),
        ),
        ("GATEHOUSE_DATA_DIR", dir.path().display().to_string()),
        (
            "DATABASE_URL",
            format!("sqlite://{}/bench.db", dir.path().display()),
        ),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".to_owned()),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let ring = Arc::new(Keyring::ephemeral(&config.secret, config.issuer()));
    let keys = TokenKeys::new(&config.secret, ring);

    println!("| benchmark {:<48} | {:>22} |", "", "result");
    println!("|{}|{}|", "-".repeat(60), "-".repeat(24));

    // In-process: what every request pays to authenticate.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let issue = |session: &str| {
        keys.issue_access(
            &"user".into(),
            &session.into(),
            now,
            Duration::from_secs(300),
            vec!["pwd".into()],
        )
        .unwrap()
    };
    let fresh: Vec<_> = (0..5_000).map(|i| issue(&format!("s{i}"))).collect();
    let started = Instant::now();
    for token in &fresh {
        std::hint::black_box(
            keys.verify_access(std::hint::black_box(&token.value))
                .unwrap(),
        );
    }
    row(
        "verify an access token first seen (Ed25519 + claims)",
        per_op(started.elapsed(), fresh.len() as u32),
    );
    let token = issue("session");
    let n = 200_000;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            keys.verify_access(std::hint::black_box(&token.value))
                .unwrap(),
        );
    }
    row(
        "verify an access token seen before (cache)",
        per_op(started.elapsed(), n),
    );

    let sid = new_session_id().into();
    let secret = new_session_secret();
    let refresh = keys.refresh_token(&sid, 7, &secret);
    let started = Instant::now();
    for _ in 0..n {
        let parsed = parse_refresh_token(std::hint::black_box(refresh.expose())).unwrap();
        std::hint::black_box(keys.refresh_token_is_authentic(&parsed, &secret));
    }
    row(
        "parse and check a refresh token (HMAC-SHA256)",
        per_op(started.elapsed(), n),
    );

    // The real server on loopback.
    let options = leptos_options(&config);
    let app = Application::build(config, options).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{base}/api/register"))
        .header("Origin", &base)
        .form(&[("email", "bench@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());

    let sign_in = || async {
        let res = client
            .post(format!("{base}/api/v1/token"))
            .json(&serde_json::json!({"email": "bench@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        res.json::<serde_json::Value>().await.unwrap()
    };
    let logins = 10;
    let started = Instant::now();
    let mut tokens = serde_json::Value::Null;
    for _ in 0..logins {
        tokens = sign_in().await;
    }
    row(
        "sign in (argon2id m=19456 t=2 p=1), sequential",
        per_op(started.elapsed(), logins),
    );

    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let ceiling = bare_axum_ceiling(&client).await;
    row(
        &format!("ceiling: bare axum + one HS256 check, {ME_CLIENTS} clients"),
        format!("{:.0} req/s", ceiling.per_second),
    );
    let idle = me_load(&client, &base, &access).await;
    row(
        &format!("GET /api/v1/me (Bearer), {ME_CLIENTS} concurrent clients"),
        format!(
            "{:.0} req/s ({:.0}%)",
            idle.per_second,
            100.0 * idle.per_second / ceiling.per_second
        ),
    );
    row(
        "  latency p50 / p99",
        format!("{:.2} / {:.2} ms", idle.p50_ms, idle.p99_ms),
    );
    let page = load(&client, &format!("{base}/sessions"), &access).await;
    row(
        "GET /sessions, server-rendered (Bearer)",
        format!(
            "{:.0} req/s ({:.0}%)",
            page.per_second,
            100.0 * page.per_second / ceiling.per_second
        ),
    );

    // A burst of 60 concurrent wrong guesses at one account from one address:
    // how many reach a password check.
    let burst = (0..60).map(|i| guess(&client, &base, "bench@example.com", "198.51.100.1", i));
    let answers = futures::future::join_all(burst).await;
    let checked = answers.iter().filter(|s| **s == 401).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    row(
        "60 concurrent wrong guesses, one account and address",
        format!("{checked} checked, {refused} refused"),
    );

    // A distributed guessing flood (random accounts from random addresses
    // through the trusted proxy, each a real argon2 check) while /me is
    // measured again. Every guess comes from a /48 of its own, so none is
    // refused by the throttle of a spent IPv6 prefix.
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flood = (0..16).map(|worker| {
        let (client, base, flooding) = (client.clone(), base.clone(), flooding.clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            // Bounded in count and time: it stops with the measurement.
            while flooding.load(std::sync::atomic::Ordering::Relaxed) && sent < 2_000 {
                let n = worker * 100_000 + sent;
                let ip = format!("2001:db8:{:x}::1", worker * 2_000 + sent);
                let account = format!("victim-{n}@example.com");
                guess(&client, &base, &account, &ip, n).await;
                sent += 1;
            }
            sent
        })
    });
    let flood: Vec<_> = flood.collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flooded = me_load(&client, &base, &access).await;
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let guesses: u32 = futures::future::join_all(flood)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    row(
        "GET /api/v1/me during a distributed guessing flood",
        format!("{:.0} req/s", flooded.per_second),
    );
    row(
        "  latency p50 / p99 (p99 vs idle)",
        format!(
            "{:.2} / {:.2} ms ({:.1}×)",
            flooded.p50_ms,
            flooded.p99_ms,
            flooded.p99_ms / idle.p99_ms
        ),
    );
    row("  guesses sent meanwhile", format!("{guesses}"));

    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let rotations = 300;
    let started = Instant::now();
    for _ in 0..rotations {
        refresh = rotate(&client, &base, &refresh).await;
    }
    row(
        "rotate a refresh token (one write), sequential",
        per_op(started.elapsed(), rotations),
    );

    let racers = 20;
    let started = Instant::now();
    let race = (0..racers).map(|_| {
        let (client, base, refresh) = (client.clone(), base.clone(), refresh.clone());
        async move { rotate(&client, &base, &refresh).await }
    });
    let successors: std::collections::HashSet<String> =
        futures::future::join_all(race).await.into_iter().collect();
    assert_eq!(successors.len(), 1);
    row(
        &format!("{racers} parallel refreshes of one token (one successor)"),
        format!("{:.1} ms total", started.elapsed().as_secs_f64() * 1e3),
    );

    let _ = stop.send(());
    let _ = server.await;
}
