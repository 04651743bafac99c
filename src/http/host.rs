//! Answers only to this site's own host name, against DNS rebinding.
//!
//! A page on `rebind.attacker.example` whose name the attacker then points
//! at 127.0.0.1 is, to the browser, still that page's own origin: it may
//! read every answer (the development outbox with its reset links
//! included), and its `Origin` equals the `Host` it sends, so the
//! cross-site check cannot tell. What gives it away is that `Host` names
//! the attacker's domain. So a request is served only when the host it
//! names is ours: with `GATEHOUSE_PUBLIC_URL`, exactly that URL's host and
//! port; without it, a loopback name (`localhost`, `*.localhost`, which
//! resolve to loopback without asking DNS, RFC 6761 §6.3), a loopback
//! address, or the listening address. An address literal cannot be
//! rebound — rebinding needs a name whose DNS answer the attacker
//! controls — so, when listening on every interface, any literal passes.
//! Anything else is answered `421 Misdirected Request` before any route
//! runs (RFC 9110 §15.5.20: a server "sends 421 to reject a target URI that
//! does not match an origin for which the server has been configured").
//!
//! Background: Jackson et al., "Protecting Browsers from DNS Rebinding
//! Attacks" (CCS 2007), whose defence on the server side is exactly this
//! `Host` check; OWASP Web Security Testing Guide, "Testing for Host Header
//! Injection"; and the same fix in other local servers (e.g. webpack-dev-server's
//! `allowedHosts`, Jupyter's `allow_remote_access`).

use crate::{
    config::Config,
    error::{AppError, ErrorCode},
};
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    net::{IpAddr, Ipv6Addr},
    sync::Arc,
};

/// A host as a request or the configuration names it, normalised: names in
/// lower case without a trailing dot, addresses parsed (so `[::1]` and
/// `[0:0:0:0:0:0:0:1]` are one).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Name(String),
    Address(IpAddr),
}

/// An authority (`host[:port]`) from `Host` or the request target.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Authority {
    host: Host,
    port: Option<u16>,
}

impl Authority {
    /// Parses `host[:port]` (RFC 9110 §7.2: `Host = uri-host [ ":" port ]`);
    /// `None` for anything else, user information included.
    fn parse(value: &str) -> Option<Self> {
        let (host, port) = if let Some(rest) = value.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let address = inside.parse::<Ipv6Addr>().ok()?;
            let port = match after {
                "" => "",
                after => after.strip_prefix(':')?,
            };
            (Host::Address(IpAddr::V6(address)), port)
        } else {
            let (name, port) = value.split_once(':').unwrap_or((value, ""));
            (parse_host(name)?, port)
        };
        // An empty port is the default one (RFC 3986 §3.2.3).
        let port = match port {
            "" => None,
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse().ok()?),
            _ => return None,
        };
        Some(Self { host, port })
    }
}

/// A registered name or an IPv4 address (IPv6 comes in brackets).
fn parse_host(name: &str) -> Option<Host> {
    if let Ok(address) = name.parse::<IpAddr>() {
        return Some(Host::Address(address));
    }
    // One trailing dot names the same host (RFC 1034 §3.1, absolute names).
    let name = name.strip_suffix('.').unwrap_or(name);
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then(|| Host::Name(name.to_ascii_lowercase()))
}

/// The hosts this server answers to, fixed at start-up.
#[derive(Clone, Debug)]
pub struct AllowedHosts(Rule);

#[derive(Clone, Debug)]
enum Rule {
    /// `GATEHOUSE_PUBLIC_URL`: its host, and its port (given or the
    /// scheme's default); a `Host` without a port means the scheme's
    /// default, as it does for the browser that sent it.
    Public {
        host: Host,
        port: u16,
        default_port: u16,
    },
    /// Without a public URL: loopback names and addresses, and the address
    /// the server listens on (any address literal when that is
    /// unspecified). Ports do not matter here: rebinding is about the name,
    /// and a port forward (a container's, a proxy's) changes the port.
    Local { listening: IpAddr },
    /// A public URL that could not be read (the configuration validates it,
    /// so never in practice): nothing is served rather than everything.
    Nothing,
}

impl AllowedHosts {
    pub fn from_config(config: &Config) -> Self {
        let Some(public) = &config.public_url else {
            return Self(Rule::Local {
                listening: config.site_addr.ip(),
            });
        };
        let parsed = url::Url::parse(public).ok().and_then(|url| {
            let host = match url.host()? {
                url::Host::Domain(name) => parse_host(name)?,
                url::Host::Ipv4(address) => Host::Address(address.into()),
                url::Host::Ipv6(address) => Host::Address(address.into()),
            };
            Some(Rule::Public {
                host,
                port: url.port_or_known_default()?,
                default_port: scheme_default(url.scheme())?,
            })
        });
        Self(parsed.unwrap_or_else(|| {
            tracing::error!("GATEHOUSE_PUBLIC_URL has no host and port; every request is refused");
            Rule::Nothing
        }))
    }

    /// Whether a request naming `authority` is for this server.
    fn admits(&self, authority: &Authority) -> bool {
        match &self.0 {
            Rule::Public {
                host,
                port,
                default_port,
            } => authority.host == *host && authority.port.unwrap_or(*default_port) == *port,
            Rule::Local { listening } => match &authority.host {
                Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
                Host::Address(address) => {
                    let address = address.to_canonical();
                    address.is_loopback()
                        || listening.is_unspecified()
                        || address == listening.to_canonical()
                }
            },
            Rule::Nothing => false,
        }
    }

    /// Whether every authority `req` names is this server's: the request
    /// target's when it is in absolute form (which RFC 9112 §3.2.2 says
    /// wins over `Host`) and every `Host` line. A request naming none
    /// (HTTP/1.0 without `Host`) names no host of ours either.
    fn admits_request(&self, req: &Request) -> bool {
        let target = req.uri().authority().map(|a| a.as_str());
        let hosts = req
            .headers()
            .get_all(header::HOST)
            .iter()
            .map(|v| v.to_str().ok());
        let mut named = target.map(Some).into_iter().chain(hosts).peekable();
        named.peek().is_some()
            && named.all(|value| {
                value
                    .and_then(Authority::parse)
                    .is_some_and(|a| self.admits(&a))
            })
    }
}

/// The default port of `scheme`, for a public URL that states none.
fn scheme_default(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// Answers `421 misdirected_request` (with `Cache-Control: no-store`, as
/// every error) to a request for a host that is not this server's; nothing
/// behind this layer runs for it.
pub async fn refuse_misdirected(
    State(allowed): State<Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    if allowed.admits_request(&req) {
        return next.run(req).await;
    }
    // The name helps an operator whose proxy rewrites `Host`; cut short, as
    // a client chose it.
    let host: String = req
        .headers()
        .get(header::HOST)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(100)
                .collect()
        })
        .unwrap_or_default();
    tracing::warn!(host = ?host, path = %req.uri().path(), "request for another host refused");
    AppError::from(ErrorCode::MisdirectedRequest).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(public_url: Option<&str>, site_addr: &str) -> AllowedHosts {
        let vars = [
            ("GATEHOUSE_SECRET", "0123456789abcdef0123456789abcdef"),
            ("LEPTOS_SITE_ADDR", site_addr),
            ("GATEHOUSE_PUBLIC_URL", public_url.unwrap_or("")),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect("a valid configuration");
        AllowedHosts::from_config(&config)
    }

    fn admits(allowed: &AllowedHosts, host: &str) -> bool {
        Authority::parse(host).is_some_and(|a| allowed.admits(&a))
    }

    #[test]
    fn hosts_are_read_as_the_browser_wrote_them() {
        let parsed = |v| Authority::parse(v);
        assert_eq!(
            parsed("LocalHost.:3000"),
            Some(Authority {
                host: Host::Name("localhost".into()),
                port: Some(3000)
            })
        );
        assert_eq!(
            parsed("[0:0:0:0:0:0:0:1]"),
            Some(Authority {
                host: Host::Address("::1".parse().unwrap()),
                port: None
            })
        );
        assert_eq!(parsed("example.com:").unwrap().port, None);
        for refused in [
            "",
            ":3000",
            "::1",
            "[::1",
            "[::1]x",
            "[localhost]",
            "user@localhost",
            "localhost:99999",
            "localhost:+80",
            "local host",
            "localhost/x",
            ".",
        ] {
            assert_eq!(parsed(refused), None, "{refused}");
        }
    }

    #[test]
    fn without_a_public_url_only_loopback_names_and_addresses_pass() {
        let local = rule(None, "127.0.0.1:3000");
        for ours in [
            "127.0.0.1:3000",
            "127.0.0.1",
            "127.8.9.10:4000",
            "localhost:3000",
            "LOCALHOST.",
            "app.localhost:3000",
            "[::1]:3000",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(admits(&local, ours), "{ours}");
        }
        for theirs in [
            "rebind.attacker.example",
            "rebind.attacker.example:3000",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "evil-localhost",
            "192.168.1.20:3000",
            "[fe80::1]",
        ] {
            assert!(!admits(&local, theirs), "{theirs}");
        }
    }

    #[test]
    fn the_listening_address_passes_and_any_literal_when_it_is_unspecified() {
        let lan = rule(None, "192.168.1.20:3000");
        assert!(admits(&lan, "192.168.1.20:3000"));
        assert!(admits(&lan, "localhost:3000"));
        assert!(!admits(&lan, "192.168.1.21:3000"));
        assert!(!admits(&lan, "gatehouse.lan:3000"));
        let everywhere = rule(None, "0.0.0.0:3000");
        assert!(admits(&everywhere, "10.1.2.3:3000"));
        assert!(admits(&everywhere, "[2001:db8::1]:3000"));
        assert!(!admits(&everywhere, "rebind.attacker.example:3000"));
    }

    #[test]
    fn a_public_url_admits_its_own_host_and_port_only() {
        let public = rule(Some("https://Auth.Example.com"), "127.0.0.1:3000");
        for ours in [
            "auth.example.com",
            "AUTH.example.com.",
            "auth.example.com:443",
        ] {
            assert!(admits(&public, ours), "{ours}");
        }
        for theirs in [
            "auth.example.com:80",
            "auth.example.com:8443",
            "example.com",
            "rebind.attacker.example",
            "127.0.0.1:3000",
            "localhost:3000",
        ] {
            assert!(!admits(&public, theirs), "{theirs}");
        }
        let on_a_port = rule(Some("http://localhost:8080"), "127.0.0.1:3000");
        assert!(admits(&on_a_port, "localhost:8080"));
        assert!(!admits(&on_a_port, "localhost"), "no port is port 80");
        assert!(!admits(&on_a_port, "localhost:3000"));
        let literal = rule(Some("https://[2001:db8::1]"), "127.0.0.1:3000");
        assert!(admits(&literal, "[2001:db8:0::1]"));
    }

    #[test]
    fn every_authority_a_request_names_must_be_ours() {
        let local = rule(None, "127.0.0.1:3000");
        let request = |target: &str, hosts: &[&str]| {
            let mut builder = Request::builder().uri(target);
            for host in hosts {
                builder = builder.header(header::HOST, *host);
            }
            builder.body(axum::body::Body::empty()).unwrap()
        };
        assert!(local.admits_request(&request("/", &["localhost:3000"])));
        // HTTP/1.0 without a Host names no host at all.
        assert!(!local.admits_request(&request("/", &[])));
        // An absolute target (or HTTP/2's :authority) counts, alone or not.
        assert!(local.admits_request(&request("http://127.0.0.1:3000/", &[])));
        assert!(!local.admits_request(&request(
            "http://rebind.attacker.example/",
            &["127.0.0.1:3000"]
        )));
        assert!(!local.admits_request(&request(
            "http://127.0.0.1:3000/",
            &["rebind.attacker.example"]
        )));
        assert!(!local.admits_request(&request(
            "/",
            &["localhost:3000", "rebind.attacker.example"]
        )));
    }
}
