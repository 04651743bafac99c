//! Configuration parsing: defaults, refusals and names.

use super::*;
use std::collections::HashMap;

/// A configuration from `pairs`, with a mail server unless they name one
/// (an empty value unsets it).
fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("GATEHOUSE_SMTP_URL".into())
        .or_insert_with(|| "smtp://127.0.0.1:2525".into());
    Config::from_lookup(move |k| map.get(k).cloned())
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// `openssl rand -base64 48`
const RANDOM: &str = "9xiZslo3uV4HKl16V9t/oXOF+T9Uhmxd9lBp+uPpQsUxfFxLv7+E3VBEyyRczX3g";

#[test]
fn production_needs_a_secret_and_secure_cookies() {
    let err = config(&[("GATEHOUSE_ENV", "production")]).unwrap_err();
    assert!(err.to_string().contains("GATEHOUSE_SECRET"));
    assert!(err.to_string().contains("GATEHOUSE_JWT_SECRET"));
    let err = config(&[
        ("GATEHOUSE_ENV", "production"),
        ("GATEHOUSE_SECRET", RANDOM),
        ("GATEHOUSE_SECURE_COOKIES", "false"),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("GATEHOUSE_SECURE_COOKIES"));
    assert!(config(&[
        ("GATEHOUSE_ENV", "production"),
        ("GATEHOUSE_SECRET", RANDOM)
    ])
    .is_ok());
    // The old name still works.
    assert!(config(&[
        ("GATEHOUSE_ENV", "production"),
        ("GATEHOUSE_JWT_SECRET", RANDOM)
    ])
    .is_ok());
}

#[test]
fn mail_settings_are_checked_and_production_needs_a_mail_server() {
    let err = config(&[
        ("GATEHOUSE_ENV", "production"),
        ("GATEHOUSE_SECRET", RANDOM),
        ("GATEHOUSE_SMTP_URL", ""),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("GATEHOUSE_SMTP_URL"), "{err}");
    // Development without one writes to the outbox.
    let dev = config(&[("GATEHOUSE_SECRET", SECRET), ("GATEHOUSE_SMTP_URL", "")]).unwrap();
    assert!(dev.mail.smtp_url.is_none());
    assert_eq!(dev.link_origin, "http://127.0.0.1:3000");
    // A malformed URL is refused without echoing it (it may hold a password).
    let err = config(&[("GATEHOUSE_SMTP_URL", "ftp://user:hunter2@mail")]).unwrap_err();
    assert!(err.to_string().contains("GATEHOUSE_SMTP_URL"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let ok = config(&[(
        "GATEHOUSE_SMTP_URL",
        "smtps://user:hunter2@mail.example.com:465",
    )])
    .unwrap();
    assert!(!format!("{ok:?}").contains("hunter2"));
    assert!(config(&[("GATEHOUSE_MAIL_FROM", "not a mailbox")]).is_err());
    assert!(config(&[("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "maybe")]).is_err());
    let public = config(&[("GATEHOUSE_PUBLIC_URL", "https://auth.example.com/")]).unwrap();
    assert_eq!(public.link_origin, "https://auth.example.com");
}

#[test]
fn production_refuses_secrets_that_look_typed() {
    for typed in [
        "correct horse battery staple correct horse battery",
        "ThisIsOurSuperSecretGatehouseKeyForProduction!!",
        "MyCompanyJwtSigningSecretForProductionUse2024",
        "ThisIsOurSuperSecretGatehouseKeyForProductionUse",
        "passwordpasswordpasswordpasswordpassword",
        // Hex and base64 that decode to fewer than 32 bytes.
        SECRET,
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "abababababababababababababababababababab",
    ] {
        let err = config(&[("GATEHOUSE_ENV", "production"), ("GATEHOUSE_SECRET", typed)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("openssl rand"), "{typed}: {err}");
        // Development takes it (with the length rule only).
        assert!(config(&[("GATEHOUSE_SECRET", typed)]).is_ok(), "{typed}");
    }
    // Generated secrets pass, in base64 and hex alike.
    for _ in 0..500 {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut bytes = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let hex: String = bytes[..32].iter().map(|b| format!("{b:02x}")).collect();
        for generated in [b64, hex] {
            let env = [
                ("GATEHOUSE_ENV", "production"),
                ("GATEHOUSE_SECRET", generated.as_str()),
            ];
            assert!(config(&env).is_ok(), "{generated}");
        }
    }
    let hex64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert!(config(&[("GATEHOUSE_ENV", "production"), ("GATEHOUSE_SECRET", hex64)]).is_ok());
}

#[test]
fn short_secrets_and_bad_numbers_are_refused() {
    assert!(config(&[("GATEHOUSE_JWT_SECRET", "short")]).is_err());
    assert!(config(&[
        ("GATEHOUSE_JWT_SECRET", SECRET),
        ("GATEHOUSE_ACCESS_TTL", "soon")
    ])
    .is_err());
    assert!(config(&[
        ("GATEHOUSE_JWT_SECRET", SECRET),
        ("GATEHOUSE_ACCESS_TTL", "0")
    ])
    .is_err());
}

#[test]
fn defaults_match_the_contract() {
    let c = config(&[("GATEHOUSE_JWT_SECRET", SECRET)]).unwrap();
    assert_eq!(c.lifetimes.access, Duration::from_secs(300));
    assert_eq!(c.lifetimes.refresh_grace, Duration::from_secs(10));
    assert_eq!(c.database_url, "sqlite://data/gatehouse.db");
    assert_eq!(c.issuer(), "gatehouse");
    assert!(c.secure_cookies);
    assert_eq!(c.register_limit, 30);
    // The live-reload socket only under `cargo leptos watch`.
    assert_eq!(c.reload_port, None);
    let watched = config(&[("GATEHOUSE_JWT_SECRET", SECRET), ("LEPTOS_WATCH", "true")]);
    assert_eq!(watched.unwrap().reload_port, Some(3001));
}

#[test]
fn the_page_reloads_through_the_port_the_csp_allows() {
    let c = config(&[
        ("GATEHOUSE_JWT_SECRET", SECRET),
        ("LEPTOS_WATCH", "true"),
        ("LEPTOS_RELOAD_PORT", "45245"),
    ])
    .unwrap();
    assert_eq!(c.reload_port, Some(45245));
    // What `<AutoReload>` puts in the page.
    assert_eq!(crate::server::leptos_options(&c).reload_port, 45245);
}

#[test]
fn development_secret_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let a = config(&[("GATEHOUSE_DATA_DIR", d)]).unwrap();
    let b = config(&[("GATEHOUSE_DATA_DIR", d)]).unwrap();
    assert_eq!(a.secret.bytes(), b.secret.bytes());
    assert!(a.secret.bytes().len() >= 32);
    assert_eq!(format!("{:?}", a.secret), "MasterSecret(<redacted>)");
}
