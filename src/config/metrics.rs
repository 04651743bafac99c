//! Where metrics are served: `GATEHOUSE_METRICS_ADDR`.

use super::{invalid, ConfigError};
use std::net::SocketAddr;

/// The default: loopback only, so a scraper on the same host (or a
/// sidecar) reads it and visitors never can.
pub const DEFAULT_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// Reads the variable's value: unset or blank is the default, `off` serves
/// no metrics.
pub fn metrics_addr(value: Option<&str>) -> Result<Option<SocketAddr>, ConfigError> {
    match value.map(str::trim) {
        None | Some("") => Ok(Some(DEFAULT_METRICS_ADDR)),
        Some("off") => Ok(None),
        Some(other) => other.parse().map(Some).map_err(|_| {
            invalid(
                "GATEHOUSE_METRICS_ADDR",
                format!("`{other}` is not an address like 127.0.0.1:9464 (or `off`)"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_off_on_request_and_nothing_else() {
        assert_eq!(metrics_addr(None).unwrap(), Some(DEFAULT_METRICS_ADDR));
        assert_eq!(metrics_addr(Some(" ")).unwrap(), Some(DEFAULT_METRICS_ADDR));
        assert_eq!(metrics_addr(Some("off")).unwrap(), None);
        assert_eq!(
            metrics_addr(Some("[::1]:9000")).unwrap(),
            Some("[::1]:9000".parse().unwrap())
        );
        let err = metrics_addr(Some("9464")).unwrap_err().to_string();
        assert!(
            err.contains("GATEHOUSE_METRICS_ADDR") && err.contains("9464"),
            "{err}"
        );
    }
}
