//! Attacks and faults, tried against the real server: bursts of guesses,
//! sign-up floods, forged cookies at sign-out, a database that is locked
//! while a page refreshes.
#![cfg(feature = "ssr")]

mod common;

use common::{email, on_postgres, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};

/// The free allowance per (account, client address): the most password
/// checks a burst may get.
const FREE_PER_ACCOUNT_AND_CLIENT: usize = 5;

#[tokio::test]
async fn a_parallel_burst_of_guesses_gets_no_more_checks_than_the_allowance() {
    let app = TestApp::spawn().await;
    let address = email("burst");
    let _ = app.signed_up(&address).await;
    let guesses = (0..60).map(|i| {
        let b = app.browser();
        let address = address.clone();
        async move {
            let guess = format!("wrong guess number {i}");
            b.post_form("/api/login", &[("email", &address), ("password", &guess)])
                .await
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|a| a.code() == "invalid_credentials")
        .count();
    let throttled: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        (1..=FREE_PER_ACCOUNT_AND_CLIENT).contains(&checked),
        "{checked} guesses reached a password check"
    );
    assert_eq!(
        checked + throttled.len(),
        60,
        "every other guess is refused"
    );
    for answer in throttled {
        assert_eq!(answer.code(), "throttled");
        let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
    }
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_REGISTER_LIMIT", "3"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let first = "203.0.113.10";
    for _ in 0..3 {
        let res = register_from(&app, first, &email("signup")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    // Beyond the limit: refused before any work, even for a taken address
    // (no bulk `email_taken` probing).
    let taken = email("taken");
    let _ = app.signed_up(&taken).await;
    for address in [email("signup"), taken] {
        let res = register_from(&app, first, &address).await;
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "throttled")
        );
        let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    // Another address is not affected.
    let other = register_from(&app, "203.0.113.11", &email("signup")).await;
    assert_eq!(other.status, StatusCode::OK);
}

/// A sign-up from `ip`, as forwarded by the trusted proxy on loopback.
async fn register_from(app: &TestApp, ip: &str, address: &str) -> common::Answer {
    let fields = [("email", address), ("password", PASSWORD)];
    app.browser()
        .post_form_from(ip, "/api/register", &fields)
        .await
}

#[tokio::test]
async fn a_failed_sign_in_is_still_logged_for_the_owner() {
    let app = TestApp::spawn().await;
    let address = email("logged");
    let owner = app.signed_up(&address).await;
    let res = app
        .browser()
        .post_form(
            "/api/login",
            &[("email", &address), ("password", "not it at all")],
        )
        .await;
    assert_eq!(res.code(), "invalid_credentials");
    // The entry is written after the answer; poll for it.
    for _ in 0..100 {
        let log = owner.post_form("/api/security_events", &[]).await.json();
        if log
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "sign_in_failed")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the failed sign-in never reached the security log");
}

#[tokio::test]
async fn sign_out_with_a_forged_refresh_cookie_still_ends_the_session() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("forged")).await;
    let access = b.access();
    // Same shape as a real refresh token, but not authentic.
    let real = b.refresh_token();
    let last = real.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &real[..real.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    b.set_cookie("__Host-gh_refresh", &forged);
    let res = b.post_form("/api/logout", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let me = app.browser().get_bearer("/api/v1/me", &access).await;
    assert_eq!(
        (me.status, me.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session_revoked"),
        "the session named by the access token ended"
    );
}

#[tokio::test]
async fn a_locked_database_during_a_page_refresh_signs_nobody_out() {
    if on_postgres() {
        return; // The lock below is SQLite's.
    }
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("locked")).await;
    let refresh = b.refresh_token();
    b.remove_cookie("__Host-gh_access");

    // Another process holds the write lock longer than the busy timeout.
    let url = common::database_url(&app.data_dir).await;
    let locker = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut conn = locker.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *conn)
        .await
        .unwrap();
    let page = b.get("/sessions").await;
    sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    drop(conn);

    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.header("retry-after").is_some());
    assert!(
        page.set_cookies().is_empty(),
        "no cookie is cleared: {:?}",
        page.set_cookies()
    );
    // Once the lock is gone the same refresh token still works.
    assert_eq!(b.refresh_token(), refresh);
    let again = b.get("/sessions").await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn account_data_is_never_cacheable() {
    let app = TestApp::spawn().await;
    let b = app.signed_up(&email("nostore")).await;
    for path in ["/", "/sessions", "/security"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(
            page.header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
    }
    for path in [
        "/api/list_sessions",
        "/api/security_events",
        "/api/whoami",
        "/api/notices",
    ] {
        let res = b.post_form(path, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(
            res.header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
    }
    let token = b.access();
    let me = b.get_bearer("/api/v1/me", &token).await;
    assert_eq!(me.header("cache-control").as_deref(), Some("no-store"));
    // A signed-out page carries nothing personal and may be cached.
    let login = app.browser().get("/login").await;
    assert_ne!(login.header("cache-control").as_deref(), Some("no-store"));
}

/// A wrong guess at `address` from `ip` (through the trusted proxy).
async fn guess_from(app: &TestApp, ip: &str, address: &str) -> common::Answer {
    let fields = [("email", address), ("password", "a wrong guess")];
    app.browser()
        .post_form_from(ip, "/api/login", &fields)
        .await
}

#[tokio::test]
async fn strangers_guesses_never_lock_the_owner_out_of_a_known_device() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let address = email("owner");
    let owner = app.signed_up(&address).await;
    let api = app
        .browser()
        .post_json(
            "/api/v1/token",
            serde_json::json!({"email": address, "password": PASSWORD}),
        )
        .await;
    let device_token = api.json()["device_token"]
        .as_str()
        .expect("the token API hands out a device credential")
        .to_owned();
    // The device credential survives sign-out.
    owner.post_form("/api/logout", &[]).await;
    assert!(owner.cookie("__Host-gh_device").is_some());
    // A credential earned for another account.
    let other = app.signed_up(&email("other")).await;
    let borrowed = app.browser();
    borrowed.set_cookie(
        "__Host-gh_device",
        &other.cookie("__Host-gh_device").unwrap(),
    );

    // A distributed guessing run: every guess from another address, until
    // the account-wide lock is on.
    for round in 0..6 {
        let guesses = (0..20).map(|i| {
            let ip = format!("2001:db8:{:x}::1", round * 20 + i + 1);
            let (app, address) = (&app, &address);
            async move { guess_from(app, &ip, address).await }
        });
        futures::future::join_all(guesses).await;
    }
    // Strangers keep guessing until the backoff is at least two seconds
    // long (each guess after a backoff doubles it), so the checks below
    // fall inside it.
    let mut locked = false;
    for n in 0..40 {
        let stranger = guess_from(&app, &format!("2001:db8:ff{n:02x}::1"), &address).await;
        let retry: u64 = stranger
            .header("retry-after")
            .map_or(0, |v| v.parse().unwrap());
        if stranger.status == StatusCode::TOO_MANY_REQUESTS && retry >= 2 {
            assert_eq!(stranger.code(), "throttled");
            locked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(locked, "the account is locked for strangers");
    let res = borrowed
        .post_form("/api/login", &[("email", &address), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.code(),
        "throttled",
        "another account's credential does not help"
    );

    // The owner's browser and API client still get in.
    let res = owner
        .post_form("/api/login", &[("email", &address), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .browser()
        .post_json(
            "/api/v1/token",
            serde_json::json!({"email": address, "password": PASSWORD, "device_token": device_token}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ups_is_refused_at_once_beyond_the_password_queue() {
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
        ("GATEHOUSE_REGISTER_LIMIT", "1000"),
    ])
    .await;
    // Long, l33t-laden passwords: the strength check's expensive kind.
    let crafted = "p@55w0rd!1337".repeat(19);
    let signups = (0..100).map(|i| {
        let app = &app;
        let password = format!("{crafted}{i}");
        async move {
            let b = app.browser();
            b.send(
                b.request(reqwest::Method::POST, "/api/register")
                    .header("x-forwarded-for", format!("2001:db8::1:{i:x}"))
                    .header("accept", "application/json")
                    .form(&[("email", email("flood").as_str()), ("password", &password)]),
            )
            .await
        }
    });
    let health = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        app.browser().get("/healthz").await
    };
    let (answers, health) = tokio::join!(futures::future::join_all(signups), health);
    assert_eq!(health.status, StatusCode::OK);
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        !refused.is_empty(),
        "the password workers' queue is bounded: some sign-ups are refused at once"
    );
    for answer in refused {
        assert_eq!(answer.code(), "throttled");
        assert!(answer.header("retry-after").is_some());
    }
    assert!(answers.iter().all(|a| [
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::BAD_REQUEST
    ]
    .contains(&a.status)));
}

#[tokio::test]
async fn a_password_change_ends_every_other_device_credential() {
    let app = TestApp::spawn().await;
    let address = email("epoch");
    let laptop = app.signed_up(&address).await;
    let old_credential = laptop.cookie("__Host-gh_device").unwrap();
    let res = laptop
        .post_form(
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new lighthouse keeper sings"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let fresh = laptop.cookie("__Host-gh_device").unwrap();
    assert_ne!(fresh, old_credential, "this device gets a fresh credential");
    // Five wrong guesses from one address lock that address out of the
    // account; a stale credential does not lift the lock, a fresh one does.
    for i in 0..5 {
        let guess = format!("wrong {i} wrong {i} wrong");
        app.browser()
            .post_form("/api/login", &[("email", &address), ("password", &guess)])
            .await;
    }
    let sign_in_with = |credential: String| {
        let (app, address) = (&app, &address);
        async move {
            let b = app.browser();
            b.set_cookie("__Host-gh_device", &credential);
            let fields = [
                ("email", address.as_str()),
                ("password", "a brand new lighthouse keeper sings"),
            ];
            b.post_form("/api/login", &fields).await
        }
    };
    assert_eq!(sign_in_with(old_credential).await.code(), "throttled");
    let res = sign_in_with(fresh).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[tokio::test]
async fn pages_get_a_fresh_csp_nonce_and_other_answers_a_policy_that_loads_nothing() {
    let app = TestApp::spawn().await;
    let nonce_of = |res: &common::Answer| {
        let csp = res.header("content-security-policy").unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {csp}"))
            .to_owned();
        assert!(
            csp.contains("'strict-dynamic'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        nonce
    };
    let first = app.browser().get("/login").await;
    let second = app.browser().get("/login").await;
    let (a, b) = (nonce_of(&first), nonce_of(&second));
    assert_ne!(a, b, "a fresh nonce per page");
    assert!(a.len() >= 22, "at least 128 bits: {a}");
    assert!(
        first.body.contains(&format!("nonce=\"{a}\"")),
        "the page's scripts carry the header's nonce"
    );
    let api = [
        app.browser().get("/api/v1/me").await,
        app.browser().post_form("/api/whoami", &[]).await,
    ];
    for res in api {
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.starts_with("default-src 'none'") && !csp.contains("nonce"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

/// A request to the server at `app` that names `host` (the way a
/// DNS-rebinding page does: its own name, pointed at 127.0.0.1), with an
/// `Origin` to match it, as its browser would send.
fn naming_host(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    host: &str,
) -> reqwest::RequestBuilder {
    from_origin(app, method, path, host, &format!("http://{host}"))
}

/// A request to the server at `app` that names `host`, from `origin`.
fn from_origin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    host: &str,
    origin: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .request(method, format!("{}{path}", app.base))
        .header(reqwest::header::HOST, host)
        .header(reqwest::header::ORIGIN, origin)
}

/// Sends `req` and checks it was answered `421 misdirected_request`, not to
/// be stored, and without a cookie.
async fn assert_misdirected(req: reqwest::RequestBuilder, what: &str) -> String {
    let res = req.send().await.expect("request sent");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{what}");
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("cache-control").as_deref(),
        Some("no-store"),
        "{what}"
    );
    assert!(header("set-cookie").is_none(), "{what}");
    let body = res.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    assert_eq!(json["error"], "misdirected_request", "{what}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

#[tokio::test]
async fn a_rebinding_page_reads_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    // Mail with a link in it waits in the development outbox.
    let owner = email("rebound");
    let _ = app.signed_up(&owner).await;
    app.wait_for_mail(&owner, "Confirm your email address", 1)
        .await;
    use reqwest::Method;
    let rebound = format!("rebind.attacker.example:{port}");
    for path in [
        "/dev/outbox",
        "/",
        "/login",
        "/healthz",
        "/.well-known/jwks.json",
        "/pkg/gatehouse.js",
        "/api/v1/me",
        "/no-such-page",
    ] {
        let body = assert_misdirected(naming_host(&app, Method::GET, path, &rebound), path).await;
        assert!(!body.contains("token="), "{path}: {body}");
    }
    for path in ["/api/dev_outbox", "/api/whoami"] {
        let body = assert_misdirected(naming_host(&app, Method::POST, path, &rebound), path).await;
        assert!(!body.contains("token="), "{path}: {body}");
    }
    // Other names that are not ours, with and without the port.
    for host in [
        "rebind.attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        &format!("gatehouse.lan:{port}"),
    ] {
        assert_misdirected(naming_host(&app, Method::GET, "/dev/outbox", host), host).await;
    }

    // A sign-up and a sign-in through the rebound name do nothing.
    let victim = email("victim");
    let fields = [("email", victim.as_str()), ("password", PASSWORD)];
    let sign_up = naming_host(&app, Method::POST, "/api/register", &rebound)
        .header("accept", "application/json")
        .form(&fields);
    assert_misdirected(sign_up, "sign-up").await;
    let owner_fields = [("email", owner.as_str()), ("password", PASSWORD)];
    let sign_in = naming_host(&app, Method::POST, "/api/login", &rebound)
        .header("accept", "application/json")
        .form(&owner_fields);
    assert_misdirected(sign_in, "sign-in").await;
    let token = naming_host(&app, Method::POST, "/api/v1/token", &rebound)
        .json(&serde_json::json!({"email": owner, "password": PASSWORD}));
    assert_misdirected(token, "token API").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = $1", &victim)
            .await,
        0,
        "no account was made"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            &owner
        )
        .await,
        1,
        "no session was started"
    );
    // The address is still free at the server's own address.
    let _ = app.signed_up(&victim).await;
}

#[tokio::test]
async fn loopback_names_and_addresses_are_answered_in_development() {
    let app = TestApp::spawn().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost.:{port}"),
        format!("app.localhost:{port}"),
        format!("[::1]:{port}"),
        "127.0.0.1".to_owned(),
    ] {
        let res = naming_host(&app, reqwest::Method::GET, "/healthz", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    // A browser on http://localhost:PORT signs up and in as on 127.0.0.1.
    let host = format!("localhost:{port}");
    let address = email("localhost");
    let res = naming_host(&app, reqwest::Method::POST, "/api/register", &host)
        .header("accept", "application/json")
        .form(&[("email", address.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// One raw HTTP/1.x request; the status line of the answer.
async fn raw_status_line(app: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_request_must_name_our_host_wherever_it_names_one() {
    let app = TestApp::spawn().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let ok = raw_status_line(
        &app,
        &format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(ok.contains(" 200 "), "{ok}");
    // HTTP/1.0 without a Host names no host of ours.
    let none = raw_status_line(&app, "GET /healthz HTTP/1.0\r\n\r\n").await;
    assert!(none.contains(" 421 "), "{none}");
    // An absolute target wins over Host (RFC 9112 §3.2.2), so both count.
    let target = raw_status_line(
        &app,
        &format!("GET http://rebind.attacker.example/healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(target.contains(" 421 "), "{target}");
    let two = raw_status_line(
        &app,
        &format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(two.contains(" 421 ") || two.contains(" 400 "), "{two}");
}

#[tokio::test]
async fn with_a_public_url_only_its_host_is_answered() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_PUBLIC_URL", "https://auth.example.com")]).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    for host in [
        "auth.example.com",
        "auth.example.com:443",
        "AUTH.example.com.",
    ] {
        let res = naming_host(&app, reqwest::Method::GET, "/healthz", host)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    // A sign-up through the public name, from the public origin.
    let address = email("public");
    let res = from_origin(
        &app,
        reqwest::Method::POST,
        "/api/register",
        "auth.example.com",
        "https://auth.example.com",
    )
    .header("accept", "application/json")
    .form(&[("email", address.as_str()), ("password", PASSWORD)])
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "auth.example.com:8443".to_owned(),
        "rebind.attacker.example".to_owned(),
    ] {
        assert_misdirected(
            naming_host(&app, reqwest::Method::GET, "/healthz", &host),
            &host,
        )
        .await;
    }
    let address = email("public");
    let sign_up = naming_host(
        &app,
        reqwest::Method::POST,
        "/api/register",
        &format!("127.0.0.1:{port}"),
    )
    .header("accept", "application/json")
    .form(&[("email", address.as_str()), ("password", PASSWORD)]);
    assert_misdirected(sign_up, "sign-up at the loopback address").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = $1", &address)
            .await,
        0
    );
}

#[tokio::test]
async fn every_answer_names_its_request_and_only_a_trusted_proxy_chooses_the_name() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "10.9.9.9")]).await;
    let browser = app.browser();
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/healthz",
        "/readyz",
        "/login",
        "/api/v1/me",
        "/no-such-page",
    ] {
        let res = browser.get(path).await;
        let id = res
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no X-Request-Id"));
        assert!(!id.is_empty() && seen.insert(id.clone()), "{path}: {id}");
    }
    // The client's own id is not believed: the socket (127.0.0.1) is not a
    // trusted proxy, so a log line cannot be forged through it.
    let forged = browser
        .send(
            browser
                .request(Method::GET, "/healthz")
                .header("x-request-id", "forged-id"),
        )
        .await;
    assert_ne!(forged.header("x-request-id").as_deref(), Some("forged-id"));
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json(), serde_json::json!({"ready": true}));
    assert_eq!(ready.header("cache-control").as_deref(), Some("no-store"));
}

/// The sign-in allowance of one client address (an IPv4 address or an IPv6
/// /64); the /56 around a client gets four times as much, the /48 sixteen.
const FREE_PER_CLIENT: usize = 20;
const FREE_PER_48: usize = 16 * FREE_PER_CLIENT;

/// Client `n` of the /48 `prefix` (e.g. `2001:db8:aa`): every `n` below
/// 65,536 is a /64 of its own, and no /56 holds more than `n / 256 + 1`.
fn client_in_48(prefix: &str, n: usize) -> String {
    format!("{prefix}:{:x}::1", ((n % 256) << 8) | (n / 256))
}

#[tokio::test]
async fn guesses_spread_over_the_64s_of_one_48_are_counted_together() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let owner_address = email("tunnel-owner");
    let owner = app.signed_up(&owner_address).await;
    // Password spraying from a tunnel broker's /48: one guess per account,
    // every guess from a /64 of its own. Up to the /48's allowance each
    // one is checked.
    let mut n = 0;
    while n < FREE_PER_48 - 1 {
        let batch = (n..(n + 8).min(FREE_PER_48 - 1)).map(|i| {
            let app = &app;
            async move { guess_from(app, &client_in_48("2001:db8:aa", i), &email("spray")).await }
        });
        for answer in futures::future::join_all(batch).await {
            assert_eq!(answer.code(), "invalid_credentials", "{}", answer.body);
        }
        n = (n + 8).min(FREE_PER_48 - 1);
    }
    // Beyond it the /48 is in backoff, whichever of its /64s guesses next
    // (guessing on until the backoff is at least two seconds long, so the
    // checks below fall inside it).
    let mut locked = false;
    for _ in 0..40 {
        n += 1;
        let answer = guess_from(&app, &client_in_48("2001:db8:aa", n), &email("spray")).await;
        let retry: u64 = answer
            .header("retry-after")
            .map_or(0, |v| v.parse().unwrap());
        if answer.status == StatusCode::TOO_MANY_REQUESTS && retry >= 2 {
            assert_eq!(answer.code(), "throttled");
            locked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(locked, "the /48 is throttled once its allowance is spent");
    let fresh = guess_from(&app, "2001:db8:aa:ffff::1", &email("spray")).await;
    assert_eq!(
        (fresh.status, fresh.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        "a /64 and /56 never used before are inside the same /48"
    );
    assert!(fresh.header("retry-after").is_some());
    // The owner's known device is exempt from the address-wide locks.
    let res = owner
        .post_form_from(
            "2001:db8:aa:fffe::1",
            "/api/login",
            &[("email", &owner_address), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Another /48 is not affected.
    let other = guess_from(&app, "2001:db8:ab::1", &email("spray")).await;
    assert_eq!(other.code(), "invalid_credentials", "{}", other.body);
}

#[tokio::test]
async fn sign_ups_are_limited_per_ipv6_56_and_48_too() {
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_REGISTER_LIMIT", "2"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let refused = |res: common::Answer, what: &str| {
        assert_eq!(
            (res.status, res.code().as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            "{what}: {}",
            res.body
        );
        let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
    };
    // A /56 gets four times the limit, whichever of its /64s sign up.
    for n in 0..8 {
        let res = register_from(&app, &format!("2001:db8:aa:bb{n:02x}::1"), &email("v6")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    refused(
        register_from(&app, "2001:db8:aa:bbff::1", &email("v6")).await,
        "a fresh /64 of a spent /56",
    );
    // A /48 gets sixteen times the limit, whichever of its /56s sign up.
    for n in 0..24 {
        let res = register_from(&app, &format!("2001:db8:aa:{n:02x}00::1"), &email("v6")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    refused(
        register_from(&app, "2001:db8:aa:ff00::1", &email("v6")).await,
        "a fresh /56 of a spent /48",
    );
    // Another /48 is not affected.
    let other = register_from(&app, "2001:db8:ab::1", &email("v6")).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
}

#[tokio::test]
async fn reset_requests_are_limited_per_ipv6_56_too() {
    let app = TestApp::spawn_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let ask = |ip: String| {
        let app = &app;
        async move {
            app.browser()
                .post_form_from(
                    &ip,
                    "/api/request_password_reset",
                    &[("email", &email("nobody"))],
                )
                .await
        }
    };
    // 30 an hour per client; a /56 gets four times as many, whichever of
    // its /64s ask.
    for n in 0..120 {
        let res = ask(format!("2001:db8:cc:dd{n:02x}::1")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let refused = ask("2001:db8:cc:ddff::1".to_owned()).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "throttled")
    );
    assert!(refused.header("retry-after").is_some());
    // Another /56 of the same /48 is not held up.
    let other = ask("2001:db8:cc:ee00::1".to_owned()).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
}

/// Starts the real binary with `vars`; its stdout is captured.
fn spawn_binary(
    dir: &std::path::Path,
    database_url: &str,
    port: u16,
    vars: &[(&str, &str)],
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .envs(vars.iter().copied())
        .env("GATEHOUSE_SECRET", common::SECRET)
        .env("GATEHOUSE_DATA_DIR", dir)
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the gatehouse binary starts")
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_with_each_answer_and_no_query_string() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(dir.path()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = spawn_binary(
        dir.path(),
        &database_url,
        port,
        &[("GATEHOUSE_LOG_FORMAT", "json")],
    );
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if let Ok(res) = reqwest::get(format!("{base}/healthz")).await {
            up = res.status().is_success();
            if up {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "the server did not come up");
    let res = reqwest::get(format!("{base}/reset-password?token=secret-link-token"))
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let status = res.status().as_u16();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("secret-link-token"), "{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let line = lines
        .iter()
        .find(|l| l["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no line for {id} in {stdout}"));
    assert_eq!(line["route"], "/reset-password");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], status);
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["level"], "INFO");
    assert!(line["timestamp"].is_string());
}

#[tokio::test]
async fn an_unknown_log_format_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(dir.path()).await;
    let child = spawn_binary(
        dir.path(),
        &database_url,
        1,
        &[("GATEHOUSE_LOG_FORMAT", "yaml")],
    );
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("GATEHOUSE_LOG_FORMAT") && stderr.contains("yaml"),
        "{stderr}"
    );
}
