//! Who is calling and from where: the facts about a request that services
//! record and decide on (the caller's address and browser; the verified
//! access token). The extractors that read them live with the adapters.

use crate::{
    config::Config,
    ids::{SessionId, UserId},
};
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts, HeaderMap};
use std::net::{IpAddr, SocketAddr};

/// A verified access token.
#[derive(Clone, Debug)]
pub struct AuthedUser {
    pub user_id: UserId,
    pub session_id: SessionId,
    /// Access-token expiry, unix seconds.
    pub access_expires_at: i64,
}

/// The caller's address and user agent.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: String,
}

impl ClientInfo {
    pub fn from_parts(config: &Config, parts: &Parts) -> Self {
        let socket = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Self {
            ip: socket.map(|s| client_ip(s, &parts.headers, &config.trusted_proxies).to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

/// Whether `ip` is one of the configured proxies (`GATEHOUSE_TRUSTED_PROXIES`),
/// comparing IPv4-mapped IPv6 addresses as the IPv4 addresses they are.
pub fn is_trusted_proxy(ip: IpAddr, trusted: &[IpAddr]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|t| t.to_canonical() == ip)
}

/// The client's address: the socket's, or — only when the socket is a
/// trusted proxy — the nearest untrusted address in `X-Forwarded-For`
/// (a client can write anything into that header; only the entries our own
/// proxies appended are believed).
pub fn client_ip(socket: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
    let socket = socket.to_canonical();
    let trusted = |ip: &IpAddr| is_trusted_proxy(*ip, trusted);
    if !trusted(&socket) {
        return socket;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        // An entry that does not parse ends the chain: what lies before it
        // cannot be trusted either.
        .map_while(|ip| ip)
        .find(|ip| !trusted(ip))
        .unwrap_or(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.9".parse().unwrap();
        let h = forwarded("203.0.113.7, 198.51.100.2");
        assert_eq!(client_ip(other, &h, &[proxy]), other);
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            "198.51.100.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.7, junk"), &[proxy]),
            proxy
        );
    }
}
