#![cfg(feature = "ssr")]
//! Property tests for the parsers that see attacker input: refresh tokens
//! (`parse_refresh_token` and its MAC), access tokens, the `next` redirect check and the
//! sign-in URL builder, email normalization, the `X-Forwarded-For` client
//! address and the auth cookies. Each property states what must hold for
//! every input (no panics, only same-origin redirects, only authentic tokens,
//! only proxy-vouched addresses, only the exact cookie name).

use axum::http::{header, HeaderMap, HeaderValue};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use gatehouse::{
    auth::{cookies::AuthCookies, service::normalize_email},
    config::Config,
    error::ErrorCode,
    ids::SessionId,
    keys::Keyring,
    redirect::{login_url, safe_next},
    request::client_ip,
    sessions::tokens::{
        new_session_id, new_session_secret, parse_refresh_token, ParsedRefreshToken, TokenKeys,
    },
};
use proptest::prelude::*;
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::LazyLock,
};

static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    Config::from_lookup(|k| (k == "GATEHOUSE_JWT_SECRET").then(|| "k".repeat(40)))
        .expect("test configuration is valid")
});

static KEYS: LazyLock<TokenKeys> = LazyLock::new(|| {
    let ring = Keyring::ephemeral(&CONFIG.secret, "gatehouse");
    TokenKeys::new(&CONFIG.secret, std::sync::Arc::new(ring))
});

/// Modest case counts, and no regression files written next to this one.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings an attacker might send: anything, printable ASCII, long text,
/// multi-byte text around the 128-byte refresh-token limit.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,200}",
        "\\PC{0,300}",
        "[ -~]{1000,3000}",
        "[A-Za-z0-9_-]{60,90}",
        "\\s{0,3}[A-Za-z0-9_-]{75}\\s{0,3}",
        "[éΣ€😀A-Za-z0-9_-]{40,140}",
    ]
}

// ---------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------

fn session_id() -> impl Strategy<Value = SessionId> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(|b| SessionId::new(URL_SAFE_NO_PAD.encode(b))),
        Just(()).prop_map(|()| SessionId::new(new_session_id())),
    ]
}

fn generation() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), Just(i64::MAX), 0..1_000i64, 0..=i64::MAX]
}

fn secret() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        Just(()).prop_map(|()| new_session_secret()),
    ]
}

/// Characters a flipped token position may take: the base64url alphabet,
/// the standard-base64 extras, padding, whitespace and a non-ASCII letter.
const FLIP_ALPHABET: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S',
    'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l',
    'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '0', '1', '2', '3', '4',
    '5', '6', '7', '8', '9', '-', '_', '+', '/', '=', ' ', '.', 'é',
];

/// Whether `parsed` still counts as the token of (`sid`, `generation`,
/// `secret`): it parses to that session and generation and its MAC checks.
fn accepted_as(
    parsed: Option<&ParsedRefreshToken>,
    sid: &SessionId,
    generation: i64,
    secret: &[u8],
) -> bool {
    parsed.is_some_and(|p| {
        p.session_id == *sid
            && p.generation == generation
            && KEYS.refresh_token_is_authentic(p, secret)
    })
}

proptest! {
    #![proptest_config(cases(256))]

    /// No text is accepted as an access token but one the key signed: not
    /// arbitrary input, and not a signed token with any byte changed.
    #[test]
    fn access_tokens_are_only_what_the_key_signed(
        input in hostile_text(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        prop_assert!(KEYS.verify_access(&input).is_err());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = KEYS
            .issue_access(&"u".into(), &"s".into(), now, std::time::Duration::from_secs(60), vec!["pwd".into()])
            .unwrap()
            .value;
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(altered) = String::from_utf8(bytes) {
            // base64url's last character can carry unused bits; a change
            // there that decodes to the same bytes is the same token.
            let same = URL_SAFE_NO_PAD.decode(altered.rsplit('.').next().unwrap_or_default())
                .ok()
                .zip(URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap_or_default()).ok())
                .is_some_and(|(a, b)| a == b) && altered.rsplit_once('.').map(|p| p.0) == token.rsplit_once('.').map(|p| p.0);
            prop_assert!(same || KEYS.verify_access(&altered).is_err(), "accepted {altered}");
        }
    }

    /// Arbitrary input never panics the parser, and whatever it accepts is
    /// shaped like a token: at most 128 bytes, a 16-byte session id, a
    /// non-negative generation, and a MAC no random secret satisfies.
    #[test]
    fn refresh_parser_survives_arbitrary_input(input in hostile_text(), secret in secret()) {
        if let Some(parsed) = parse_refresh_token(&input) {
            prop_assert!(input.len() <= 128, "accepted {} bytes", input.len());
            prop_assert!(parsed.generation >= 0);
            let id = URL_SAFE_NO_PAD.decode(parsed.session_id.as_str());
            prop_assert_eq!(id.map(|b| b.len()).ok(), Some(16));
            prop_assert!(!KEYS.refresh_token_is_authentic(&parsed, &secret));
        }
    }

    /// A derived token parses back to its session and generation and is
    /// authentic with its own secret only; it also no longer authenticates
    /// when the parsed generation or session id is changed.
    #[test]
    fn refresh_tokens_round_trip(
        sid in session_id(),
        generation in generation(),
        secret in secret(),
        other_secret in secret(),
        other_generation in generation(),
        other_sid in session_id(),
    ) {
        let token = KEYS.refresh_token(&sid, generation, &secret);
        prop_assert_eq!(&token, &KEYS.refresh_token(&sid, generation, &secret));
        let parsed = parse_refresh_token(token.expose());
        prop_assert!(parsed.is_some(), "a derived token does not parse");
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed.session_id, &sid);
        prop_assert_eq!(parsed.generation, generation);
        prop_assert!(KEYS.refresh_token_is_authentic(&parsed, &secret));
        if other_secret != secret {
            prop_assert!(!KEYS.refresh_token_is_authentic(&parsed, &other_secret));
        }
        if other_generation != generation {
            let mut forged = parsed.clone();
            forged.generation = other_generation;
            prop_assert!(!KEYS.refresh_token_is_authentic(&forged, &secret));
        }
        if other_sid != sid {
            let mut forged = parsed.clone();
            forged.session_id = other_sid;
            prop_assert!(!KEYS.refresh_token_is_authentic(&forged, &secret));
        }
    }

    /// Changing any one character of a token makes it unusable: it either
    /// fails to parse or fails the MAC.
    #[test]
    fn flipped_refresh_tokens_are_refused(
        sid in session_id(),
        generation in generation(),
        secret in secret(),
        at in any::<prop::sample::Index>(),
        with in any::<prop::sample::Index>(),
    ) {
        let token = KEYS.refresh_token(&sid, generation, &secret);
        let mut chars: Vec<char> = token.expose().chars().collect();
        let i = at.index(chars.len());
        let mut j = with.index(FLIP_ALPHABET.len());
        if FLIP_ALPHABET[j] == chars[i] {
            j = (j + 1) % FLIP_ALPHABET.len();
        }
        chars[i] = FLIP_ALPHABET[j];
        let flipped: String = chars.into_iter().collect();
        prop_assert_ne!(&flipped, token.expose());
        let parsed = parse_refresh_token(&flipped);
        prop_assert!(
            !parsed.as_ref().is_some_and(|p| KEYS.refresh_token_is_authentic(p, &secret)),
            "flipped token {flipped:?} (position {i}) still authenticates",
        );
        prop_assert!(!accepted_as(parsed.as_ref(), &sid, generation, &secret));
    }
}

// ---------------------------------------------------------------------------
// Redirect targets
// ---------------------------------------------------------------------------

/// `next` values built from pieces known to confuse redirect checks.
fn tricky_next() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "/",
        "//",
        "\\",
        "/\\",
        "%2F",
        "%5C",
        "%09",
        ".",
        "..",
        "\t",
        "\n",
        "\r",
        " ",
        "\u{3000}",
        "\u{0085}",
        "\u{200B}",
        "é",
        "https:",
        "javascript:",
        "@",
        ":",
        "?",
        "#",
        "evil.example",
        "login",
        "/login",
        "sessions",
    ]);
    prop::collection::vec(pieces, 0..8).prop_map(|p| p.concat())
}

fn next_value() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile_text(),
        tricky_next(),
        "/[ -~]{0,60}",
        "/[!-~]{500,530}",
    ]
}

/// Percent-decodes `s`; `None` on a malformed escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The host a browser on gatehouse lands on after following `target`.
fn landing_host(target: &str) -> Option<String> {
    let base = url::Url::parse("https://gatehouse.example").unwrap();
    let joined = base.join(target).ok()?;
    (joined.scheme() == "https" && joined.port().is_none())
        .then(|| joined.host_str().map(str::to_owned))
        .flatten()
}

proptest! {
    #![proptest_config(cases(512))]

    /// Whatever `safe_next` lets through is a same-origin path.
    #[test]
    fn safe_next_only_allows_same_origin_paths(next in next_value()) {
        if let Some(p) = safe_next(&next) {
            prop_assert_eq!(p, next.as_str());
            prop_assert!(p.starts_with('/') && !p[1..].starts_with('/'), "{p:?}");
            prop_assert!(!p.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\'), "{p:?}");
            prop_assert!(p.len() <= 512);
            let host = landing_host(p);
            prop_assert_eq!(host.as_deref(), Some("gatehouse.example"), "{:?}", p);
        }
    }

    /// A printable-ASCII path without backslashes or a second leading slash
    /// is accepted (so the check above is not passing by refusing everything).
    #[test]
    fn safe_next_accepts_plain_paths(rest in "[!-\\[\\]-~]{0,300}") {
        prop_assume!(!rest.starts_with('/'));
        let next = format!("/{rest}");
        prop_assert_eq!(safe_next(&next), Some(next.as_str()));
    }

    /// `login_url` stays on gatehouse, carries `next` exactly when it is a
    /// safe path other than `/` and the sign-in page, and its `next=` value
    /// decodes back to that path.
    #[test]
    fn login_url_only_carries_safe_next(
        next in proptest::option::of(next_value()),
        reason in proptest::option::of(prop::sample::select(ErrorCode::ALL)),
    ) {
        let url = login_url(next.as_deref(), reason);
        prop_assert!(url == "/login" || url.starts_with("/login?"), "{url:?}");
        prop_assert!(url.bytes().all(|b| b.is_ascii_graphic()), "{url:?}");
        let host = landing_host(&url);
        prop_assert_eq!(host.as_deref(), Some("gatehouse.example"), "{:?}", url);

        let query = url.split_once('?').map_or("", |(_, q)| q);
        let mut carried_next = None;
        let mut carried_error = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("next", v)) if carried_next.is_none() => carried_next = Some(v),
                Some(("error", v)) if carried_error.is_none() => carried_error = Some(v),
                _ => prop_assert!(false, "unexpected query part {pair:?} in {url:?}"),
            }
        }
        let decoded = carried_next.map(percent_decode);
        if let Some(decoded) = &decoded {
            prop_assert!(decoded.is_some(), "next= does not decode in {url:?}");
            let decoded = decoded.as_deref().unwrap();
            prop_assert_eq!(safe_next(decoded), Some(decoded), "{:?}", url);
            prop_assert_eq!(Some(decoded), next.as_deref());
        }
        let expected_next = next
            .as_deref()
            .and_then(safe_next)
            .filter(|n| *n != "/" && !n.starts_with("/login"));
        let decoded = decoded.flatten();
        prop_assert_eq!(decoded.as_deref(), expected_next);
        let expected_error = reason.filter(|c| c.explains_sign_out()).map(ErrorCode::as_str);
        prop_assert_eq!(carried_error, expected_error);
    }
}

// ---------------------------------------------------------------------------
// Email addresses
// ---------------------------------------------------------------------------

fn email_like() -> impl Strategy<Value = String> {
    let ws = "[ \t\n\u{00A0}\u{3000}]{0,2}";
    let local = prop_oneof![
        "[A-Za-z0-9._+%-]{1,70}",
        "\\PC{1,8}",
        "[A-Za-zİΣẞ]{1,10}",
        "[ -~]{0,10}",
    ];
    let label = prop_oneof!["[A-Za-z0-9-]{1,20}", "\\PC{1,5}", "[A-Z]{0,3}"];
    let domain = prop::collection::vec(label, 1..5).prop_map(|l| l.join("."));
    let at = prop::sample::select(vec!["@", "@", "@", "@@", "", "@x@"]);
    (ws, local, at, domain, ws).prop_map(|(a, l, at, d, b)| format!("{a}{l}{at}{d}{b}"))
}

fn email_input() -> impl Strategy<Value = String> {
    prop_oneof![hostile_text(), email_like(), "[ -~]{240,270}@a.b"]
}

proptest! {
    #![proptest_config(cases(512))]

    /// Whatever `normalize_email` returns is lower-case, trimmed, one `@`,
    /// free of whitespace and control characters, at most 254 bytes, and a
    /// fixed point.
    #[test]
    fn normalized_emails_are_canonical(raw in email_input()) {
        if let Ok(email) = normalize_email(&raw) {
            prop_assert_eq!(email.trim(), email.as_str());
            prop_assert_eq!(email.to_lowercase(), email.clone());
            prop_assert_eq!(email.matches('@').count(), 1, "{:?}", email);
            prop_assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()), "{email:?}");
            prop_assert!(email.len() <= 254);
            let (local, domain) = email.split_once('@').unwrap();
            prop_assert!(!local.is_empty() && local.len() <= 64, "{email:?}");
            prop_assert!(domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty()), "{email:?}");
            prop_assert_eq!(normalize_email(&email), Ok(email.clone()));
        }
    }

    /// Surrounding whitespace and ASCII letter case do not change the outcome.
    #[test]
    fn email_case_and_padding_do_not_matter(raw in email_input()) {
        let plain = normalize_email(&raw);
        prop_assert_eq!(normalize_email(&format!(" \t{raw}\n ")), plain.clone());
        if raw.is_ascii() {
            prop_assert_eq!(normalize_email(&raw.to_ascii_uppercase()), plain);
        }
    }

    /// Ordinary addresses are accepted unchanged.
    #[test]
    fn plain_emails_are_accepted(
        local in "[a-z0-9._+-]{1,64}",
        domain in "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){1,3}",
    ) {
        let email = format!("{local}@{domain}");
        prop_assert_eq!(normalize_email(&email), Ok(email.clone()));
    }
}

// ---------------------------------------------------------------------------
// X-Forwarded-For
// ---------------------------------------------------------------------------

/// A small pool, so trusted proxies, sockets and header entries overlap.
const POOL: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)),
];

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        3 => prop::sample::select(POOL),
        1 => any::<[u8; 4]>().prop_map(IpAddr::from),
        1 => any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
}

/// One header line: comma-separated entries, each an address (in several
/// spellings), junk or nothing, with stray spaces; or any printable ASCII.
fn forwarded_line() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        4 => ip().prop_map(|ip| ip.to_string()),
        1 => ip().prop_map(|ip| match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        }),
        1 => ip().prop_map(|ip| format!("{ip}:443")),
        1 => "[ -+\\--~]{0,12}",
        1 => Just(String::new()),
    ];
    let spaced = (entry, "[ \t]{0,2}", "[ \t]{0,2}").prop_map(|(e, a, b)| format!("{a}{e}{b}"));
    prop_oneof![
        4 => prop::collection::vec(spaced, 0..6).prop_map(|v| v.join(",")),
        1 => "[ -~]{0,80}",
    ]
}

fn forwarded_headers(lines: &[String]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let value = HeaderValue::from_str(line).expect("printable ASCII is a valid header value");
        headers.append("x-forwarded-for", value);
    }
    headers
}

proptest! {
    #![proptest_config(cases(512))]

    /// The header is believed only from a trusted socket, and then only as
    /// far as trusted proxies vouch for it: the answer is the socket, or an
    /// untrusted address from the header such that every entry to its right
    /// is a trusted proxy; if the socket is the answer, no untrusted address
    /// sits to the right of the first unparseable entry. Addresses compare in
    /// canonical form (an IPv4-mapped IPv6 address is its IPv4 address).
    #[test]
    fn client_ip_believes_only_trusted_proxies(
        socket in ip(),
        trusted in prop::collection::vec(ip(), 0..4),
        lines in prop::collection::vec(forwarded_line(), 0..3),
    ) {
        let headers = forwarded_headers(&lines);
        let got = client_ip(socket, &headers, &trusted);
        let socket = socket.to_canonical();
        let trusted: Vec<IpAddr> = trusted.iter().map(IpAddr::to_canonical).collect();
        if !trusted.contains(&socket) {
            prop_assert_eq!(got, socket);
            return Ok(());
        }
        let entries: Vec<Option<IpAddr>> = lines
            .iter()
            .flat_map(|l| l.split(','))
            .map(|e| e.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
            .collect();
        let vouched_tail: Vec<IpAddr> = entries.iter().rev().map_while(|e| *e).collect();
        if got == socket {
            prop_assert!(
                vouched_tail.iter().all(|ip| trusted.contains(ip)),
                "fell back to the socket although {vouched_tail:?} has an untrusted address",
            );
        } else {
            prop_assert!(!trusted.contains(&got), "answered a trusted proxy {got}");
            let at = entries.iter().rposition(|e| *e == Some(got));
            prop_assert!(at.is_some(), "{got} is not in the header {lines:?}");
            let right = &entries[at.unwrap() + 1..];
            prop_assert!(
                right.iter().all(|e| e.is_some_and(|ip| trusted.contains(&ip))),
                "{got} is not vouched for by trusted proxies in {lines:?}",
            );
        }
    }

    /// With a trusted socket and a well-formed chain ending in an untrusted
    /// client followed by trusted hops, the client is found.
    #[test]
    fn client_ip_finds_the_client_behind_proxies(
        proxies in prop::collection::vec(ip(), 1..4),
        spoofed in prop::collection::vec(ip(), 0..3),
        client in ip(),
        hops in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        prop_assume!(!proxies.iter().any(|p| p.to_canonical() == client.to_canonical()));
        let mut chain: Vec<String> = spoofed.iter().map(IpAddr::to_string).collect();
        chain.push(client.to_string());
        chain.extend(hops.iter().map(|h| h.get(&proxies).to_string()));
        let headers = forwarded_headers(&[chain.join(", ")]);
        prop_assert_eq!(client_ip(proxies[0], &headers, &proxies), client.to_canonical());
    }
}

// ---------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------

const REFRESH: &str = "__Host-gh_refresh";

fn cookie_headers(lines: &[String]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let value = HeaderValue::from_str(line).expect("printable ASCII is a valid header value");
        headers.append(header::COOKIE, value);
    }
    headers
}

/// One `name=value` pair (or junk) of a Cookie header.
fn cookie_pair() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            REFRESH,
            "__Host-gh_access",
            "gh_refresh",
            "__host-gh_refresh",
            "%5F_Host-gh_refresh",
            "__Host-gh_refresh%",
            "\"__Host-gh_refresh\"",
        ])
        .prop_map(str::to_owned),
        "[ -:<-~]{0,12}",
    ];
    let value = prop_oneof![
        "[A-Za-z0-9_-]{0,80}",
        "[ -:<-~]{0,30}",
        "\"[ -~]{0,10}",
        "%[0-9A-Fa-f]{0,2}"
    ];
    prop_oneof![
        4 => (name, value).prop_map(|(n, v)| format!("{n}={v}")),
        1 => "[ -:<-~]{0,20}",
    ]
}

fn cookie_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::collection::vec(cookie_pair(), 0..6), prop::sample::select(vec![";", "; ", " ;  "]))
            .prop_map(|(pairs, sep)| pairs.join(sep)),
        1 => "[ -~]{0,200}",
    ]
}

/// The cookie name a `name=value` pair would be read under, as loosely as
/// any parser might read it: trimmed and with every `%` treated as suspect.
fn could_name(pair: &str, name: &str) -> bool {
    let raw = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
    raw.contains('%') || raw.eq_ignore_ascii_case(name)
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any Cookie headers are read without panicking; what is read is never
    /// empty, and is found somewhere in the headers.
    #[test]
    fn cookies_survive_arbitrary_headers(lines in prop::collection::vec(cookie_line(), 0..3)) {
        let cookies = AuthCookies::read(&CONFIG, &cookie_headers(&lines));
        for value in [&cookies.access, &cookies.refresh].into_iter().flatten() {
            prop_assert!(!value.is_empty());
            prop_assert!(
                lines.iter().any(|l| l.contains(value.as_str())) || lines.iter().any(|l| l.contains('%')),
                "{value:?} is not in {lines:?}",
            );
        }
    }

    /// The refresh cookie is read exactly when it is sent under its exact
    /// name, whatever other cookies surround it, in one header or several.
    #[test]
    fn refresh_cookie_is_read_exactly(
        before in prop::collection::vec(cookie_pair(), 0..4),
        after in prop::collection::vec(cookie_pair(), 0..4),
        value in "[A-Za-z0-9_-]{1,120}",
        pad in "[ ]{0,2}",
        split in any::<bool>(),
    ) {
        let others = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .filter(|p| !could_name(p, REFRESH) && !could_name(p, "__Host-gh_access"))
                .collect()
        };
        let (before, after) = (others(before), others(after));
        let ours = format!("{pad}{REFRESH}={value}{pad}");
        let lines = if split {
            vec![before.join("; "), [vec![ours], after].concat().join("; ")]
        } else {
            vec![[before, vec![ours], after].concat().join("; ")]
        };
        let cookies = AuthCookies::read(&CONFIG, &cookie_headers(&lines));
        prop_assert_eq!(cookies.refresh.as_deref(), Some(value.as_str()), "{:?}", lines);
        prop_assert_eq!(cookies.access, None, "{:?}", lines);
    }

    /// With secure cookies on, a refresh cookie without the `__Host-` prefix
    /// (which any subdomain or plain-http page can plant) is never read.
    #[test]
    fn unprefixed_refresh_cookie_is_ignored(
        name in prop::sample::select(vec!["gh_refresh", "__host-gh_refresh", "__HOST-gh_refresh", "Host-gh_refresh", "_Host-gh_refresh"]),
        value in "[A-Za-z0-9_-]{1,80}",
    ) {
        let lines = vec![format!("{name}={value}")];
        let cookies = AuthCookies::read(&CONFIG, &cookie_headers(&lines));
        prop_assert_eq!(cookies.refresh, None);
    }
}

/// `name` with the characters picked by `mask` percent-encoded (hex case
/// picked by `upper`), as a cookie-tossing attacker would spell it.
fn percent_encode_some(name: &str, mask: &[bool], upper: bool) -> String {
    name.chars()
        .zip(mask.iter().chain(std::iter::repeat(&false)))
        .map(|(c, &encode)| match (encode, upper) {
            (true, true) => format!("%{:02X}", c as u32),
            (true, false) => format!("%{:02x}", c as u32),
            (false, _) => c.to_string(),
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(256))]

    /// A cookie whose name only percent-decodes to `__Host-gh_refresh` is not
    /// the `__Host-` cookie: browsers apply the prefix rules to the literal
    /// name, so any subdomain or plain-http response can set it. It must be
    /// neither read on its own nor override the real cookie.
    #[test]
    fn percent_encoded_refresh_name_is_not_the_host_cookie(
        mask in prop::collection::vec(any::<bool>(), 17),
        upper in any::<bool>(),
        real in proptest::option::of("[A-Za-z0-9_-]{1,80}"),
        planted in "[A-Za-z0-9_-]{1,80}",
    ) {
        prop_assume!(mask.iter().any(|m| *m));
        let tossed = percent_encode_some(REFRESH, &mask, upper);
        let mut pairs: Vec<String> = real.iter().map(|v| format!("{REFRESH}={v}")).collect();
        pairs.push(format!("{tossed}={planted}"));
        let lines = vec![pairs.join("; ")];
        let cookies = AuthCookies::read(&CONFIG, &cookie_headers(&lines));
        prop_assert_eq!(cookies.refresh, real, "{:?}", lines);
    }
}
