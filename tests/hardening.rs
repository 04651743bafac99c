//! Attacks and faults, tried against the real server: bursts of guesses,
//! sign-up floods, forged cookies at sign-out, a database that is locked
//! while a page refreshes.
#![cfg(feature = "ssr")]

mod common;

use common::{email, on_postgres, TestApp, PASSWORD};
use reqwest::StatusCode;

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
