//! Time as gatehouse stores it: unix milliseconds, formatted as RFC 3339 UTC
//! at the edges.

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub type Millis = i64;

/// The current time in unix milliseconds.
pub fn now_ms() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// A duration in milliseconds.
pub fn millis(d: std::time::Duration) -> Millis {
    d.as_millis() as Millis
}

/// Whole seconds of a millisecond time (rounded down).
pub fn secs(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

/// Formats unix milliseconds as RFC 3339 UTC (e.g. `2026-11-25T10:00:00Z`).
pub fn rfc3339(ms: Millis) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_without_fraction() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
