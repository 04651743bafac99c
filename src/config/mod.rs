//! Configuration, read once at start-up from the environment (and `.env`).
//! Every variable is documented in `.env.example` and the README.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

mod logging;
mod metrics;
mod oidc;
mod secret;

pub use logging::LogFormat;
pub use oidc::{ClientSecret, OidcProviderConfig};
pub use secret::MasterSecret;
use secret::{development_secret, looks_random};

/// `development` (default) or `production`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Everything gatehouse can be configured with; each field names its
/// variable.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`
    pub site_addr: SocketAddr,
    /// `DATABASE_URL`
    pub database_url: String,
    /// `GATEHOUSE_ENV`
    pub environment: Environment,
    /// `GATEHOUSE_PUBLIC_URL`: the public origin, e.g.
    /// `https://auth.example.com` (no trailing slash).
    pub public_url: Option<String>,
    /// `GATEHOUSE_SECRET` (or `GATEHOUSE_JWT_SECRET`)
    pub secret: MasterSecret,
    /// `GATEHOUSE_DATA_DIR`
    pub data_dir: PathBuf,
    pub lifetimes: Lifetimes,
    /// `GATEHOUSE_SECURE_COOKIES`
    pub secure_cookies: bool,
    /// `GATEHOUSE_TRUSTED_PROXIES`
    pub trusted_proxies: Vec<IpAddr>,
    /// Sign-ups allowed per client address per hour.
    pub register_limit: i64,
    /// The live-reload socket's port when running under `cargo leptos
    /// watch` (which sets `LEPTOS_WATCH`); the CSP allows it only then.
    pub reload_port: Option<u16>,
    /// `GATEHOUSE_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `GATEHOUSE_METRICS_ADDR`; `None` when metrics are off.
    pub metrics_addr: Option<SocketAddr>,
    pub mail: MailConfig,
    /// `GATEHOUSE_OIDC_<NAME>_*`: the OpenID Connect providers, by name.
    pub oidc: Vec<OidcProviderConfig>,
    /// The origin links in messages point at: `GATEHOUSE_PUBLIC_URL`, else
    /// the address the server listens on (set once it is bound). Never the
    /// request's `Host`, which a client chooses.
    pub link_origin: String,
}

/// Where mail goes, and from whom.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `GATEHOUSE_SMTP_URL`; `None` writes messages to the development
    /// outbox.
    pub smtp_url: Option<SmtpUrl>,
    /// `GATEHOUSE_MAIL_FROM`
    pub from: String,
    /// `GATEHOUSE_REQUIRE_VERIFIED_EMAIL`
    pub require_verified: bool,
}

/// An SMTP URL; it may carry a password, so it never prints.
#[derive(Clone)]
pub struct SmtpUrl(pub String);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpUrl(…)")
    }
}

/// How long tokens and sessions live, and how often revocations are polled.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// `GATEHOUSE_ACCESS_TTL`
    pub access: Duration,
    /// `GATEHOUSE_REFRESH_IDLE_TTL`
    pub refresh_idle: Duration,
    /// `GATEHOUSE_SESSION_MAX_AGE`
    pub session_max_age: Duration,
    /// `GATEHOUSE_REFRESH_GRACE`
    pub refresh_grace: Duration,
    /// `GATEHOUSE_REVOCATION_POLL`
    pub revocation_poll: Duration,
    /// `GATEHOUSE_KEY_ROTATION`: zero rotates only by the CLI.
    pub key_rotation: Duration,
    /// `GATEHOUSE_JWKS_MAX_AGE`: how long verifiers may cache the key set,
    /// and so how long a new key is published before it signs.
    pub jwks_max_age: Duration,
    /// `GATEHOUSE_REAUTH_WINDOW`: how recently a session must have proved a
    /// factor for a sensitive action.
    pub reauth_window: Duration,
}

/// Why the configuration was refused; printed at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name}: {reason}")]
    Provider { name: String, reason: String },
    #[error("could not keep the development JWT secret in {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// The smallest secret accepted: 256 bits, the HS256 output size
/// (RFC 7518 §3.2: "a key of the same size as the hash output or larger").
const MIN_SECRET_BYTES: usize = 32;

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_vars(std::env::vars())
    }

    /// Reads configuration from these variables (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
        Self::read(vars.keys().map(String::as_str), |name| {
            vars.get(name).cloned()
        })
    }

    /// Reads configuration through `lookup`, so tests can pass their own
    /// (no OpenID Connect providers: their names are found by listing the
    /// variables; see [`Config::from_vars`]).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(std::iter::empty(), lookup)
    }

    fn read<'a>(
        names: impl IntoIterator<Item = &'a str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let environment = match get("GATEHOUSE_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "GATEHOUSE_ENV",
                    format!("must be `development` or `production`, not `{other}`"),
                ))
            }
        };
        let site_addr = match get("LEPTOS_SITE_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(v) => v.parse().map_err(|_| {
                invalid(
                    "LEPTOS_SITE_ADDR",
                    format!("`{v}` is not an address like 127.0.0.1:3000"),
                )
            })?,
        };
        let data_dir = PathBuf::from(get("GATEHOUSE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("gatehouse.db").display()));
        let public_url = match get("GATEHOUSE_PUBLIC_URL") {
            None => None,
            Some(v) => Some(parse_origin(&v)?),
        };
        let secure_cookies = parse_bool(
            "GATEHOUSE_SECURE_COOKIES",
            get("GATEHOUSE_SECURE_COOKIES"),
            true,
        )?;
        if environment == Environment::Production && !secure_cookies {
            return Err(invalid(
                "GATEHOUSE_SECURE_COOKIES",
                "production refuses insecure cookies; remove GATEHOUSE_SECURE_COOKIES=false",
            ));
        }

        // `GATEHOUSE_JWT_SECRET` is the master secret's old name.
        let (secret_name, given) = match get("GATEHOUSE_SECRET") {
            Some(v) => ("GATEHOUSE_SECRET", Some(v)),
            None => ("GATEHOUSE_JWT_SECRET", get("GATEHOUSE_JWT_SECRET")),
        };
        let secret = match given {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(invalid(
                    secret_name,
                    format!("must be at least {MIN_SECRET_BYTES} bytes"),
                ))
            }
            Some(secret) => {
                if environment == Environment::Production {
                    looks_random(&secret).map_err(|why| {
                        invalid(
                            secret_name,
                            format!("{why}; generate one with `openssl rand -base64 48`"),
                        )
                    })?;
                }
                MasterSecret::new(secret.into_bytes())
            }
            None if environment == Environment::Production => {
                return Err(invalid(
                    "GATEHOUSE_SECRET",
                    "production refuses to start without a master secret (or its old name GATEHOUSE_JWT_SECRET): at least 32 random bytes, e.g. `openssl rand -base64 48`",
                ))
            }
            None => development_secret(&data_dir)?,
        };

        let lifetimes = Lifetimes {
            access: seconds(&get, "GATEHOUSE_ACCESS_TTL", 300)?,
            refresh_idle: seconds(&get, "GATEHOUSE_REFRESH_IDLE_TTL", 1_209_600)?,
            session_max_age: seconds(&get, "GATEHOUSE_SESSION_MAX_AGE", 2_592_000)?,
            refresh_grace: seconds_allow_zero(&get, "GATEHOUSE_REFRESH_GRACE", 10)?,
            revocation_poll: seconds(&get, "GATEHOUSE_REVOCATION_POLL", 2)?,
            key_rotation: seconds_allow_zero(&get, "GATEHOUSE_KEY_ROTATION", 2_592_000)?,
            jwks_max_age: seconds_allow_zero(&get, "GATEHOUSE_JWKS_MAX_AGE", 300)?,
            reauth_window: seconds(&get, "GATEHOUSE_REAUTH_WINDOW", 600)?,
        };

        let register_limit = match get("GATEHOUSE_REGISTER_LIMIT") {
            None => 30,
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "GATEHOUSE_REGISTER_LIMIT",
                        format!("`{v}` is not a number of sign-ups (1 or more)"),
                    )
                })?,
        };

        let trusted_proxies = match get("GATEHOUSE_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpAddr>().map_err(|_| {
                        invalid(
                            "GATEHOUSE_TRUSTED_PROXIES",
                            format!("`{s}` is not an IP address"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let mail = mail_config(&get, environment)?;
        let oidc = oidc::providers(names, &get)?;
        let link_origin = public_url
            .clone()
            .unwrap_or_else(|| format!("http://{site_addr}"));

        Ok(Self {
            mail,
            oidc,
            link_origin,
            site_addr,
            database_url,
            environment,
            public_url,
            secret,
            data_dir,
            lifetimes,
            secure_cookies,
            trusted_proxies,
            register_limit,
            log_format: LogFormat::parse(get("GATEHOUSE_LOG_FORMAT").as_deref())?,
            metrics_addr: metrics::metrics_addr(get("GATEHOUSE_METRICS_ADDR").as_deref())?,
            reload_port: get("LEPTOS_WATCH").map(|_| {
                get("LEPTOS_RELOAD_PORT")
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(3001)
            }),
        })
    }

    /// A provider's label ("Google"), or its name if it is not configured
    /// any more.
    pub fn provider_label(&self, name: &str) -> String {
        self.oidc
            .iter()
            .find(|p| p.name == name)
            .map_or_else(|| name.to_owned(), |p| p.label.clone())
    }

    /// The `iss` claim: the public origin, or `gatehouse` when it is unset.
    pub fn issuer(&self) -> &str {
        self.public_url.as_deref().unwrap_or("gatehouse")
    }
}

fn mail_config(
    get: &impl Fn(&str) -> Option<String>,
    environment: Environment,
) -> Result<MailConfig, ConfigError> {
    let smtp_url = match get("GATEHOUSE_SMTP_URL") {
        Some(url) => {
            // The value is never echoed: it may hold the server's password.
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.trim()).map_err(
                |_| {
                    invalid(
                        "GATEHOUSE_SMTP_URL",
                        "is not an SMTP URL like smtps://user:pass@host:465 or smtp://host:587?tls=required",
                    )
                },
            )?;
            Some(SmtpUrl(url.trim().to_owned()))
        }
        None if environment == Environment::Production => {
            return Err(invalid(
                "GATEHOUSE_SMTP_URL",
                "production refuses to start without a mail server: password resets and verification links must reach people",
            ))
        }
        None => None,
    };
    let from =
        get("GATEHOUSE_MAIL_FROM").unwrap_or_else(|| "gatehouse <no-reply@localhost>".into());
    from.parse::<lettre::message::Mailbox>().map_err(|_| {
        invalid(
            "GATEHOUSE_MAIL_FROM",
            format!("`{from}` is not a mailbox like `gatehouse <no-reply@example.com>`"),
        )
    })?;
    Ok(MailConfig {
        smtp_url,
        from,
        require_verified: parse_bool(
            "GATEHOUSE_REQUIRE_VERIFIED_EMAIL",
            get("GATEHOUSE_REQUIRE_VERIFIED_EMAIL"),
            false,
        )?,
    })
}

fn parse_origin(value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|_| invalid("GATEHOUSE_PUBLIC_URL", format!("`{value}` is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "GATEHOUSE_PUBLIC_URL",
            "must be an http(s) origin like https://auth.example.com",
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// [`parse_bool`] for a variable whose name is made at run time.
fn parse_bool_owned(name: &str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    parse_bool("", value, default).map_err(|err| match err {
        ConfigError::Invalid { reason, .. } => ConfigError::Provider {
            name: name.to_owned(),
            reason,
        },
        other => other,
    })
}

fn parse_bool(
    name: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(invalid(
            name,
            format!("must be true or false, not `{other}`"),
        )),
    }
}

fn seconds_allow_zero(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match get(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 10 * 365 * 24 * 3600)
            .map(Duration::from_secs)
            .ok_or_else(|| invalid(name, format!("`{v}` is not a number of seconds"))),
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let value = seconds_allow_zero(get, name, default)?;
    if value.is_zero() {
        return Err(invalid(name, "must be at least 1 second"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
