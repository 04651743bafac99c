//! Times as people say them: "just now", "3 minutes ago", "yesterday at
//! 14:05". The server renders them in UTC; the browser, once hydrated,
//! re-renders them in the reader's own time zone.

use time::{format_description::well_known::Rfc3339, Duration, OffsetDateTime, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Parses an RFC 3339 time.
pub fn parse(rfc3339: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(rfc3339, &Rfc3339).ok()
}

fn clock(at: OffsetDateTime) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

fn date(at: OffsetDateTime) -> String {
    format!("{} {}", at.day(), MONTHS[at.month() as usize - 1])
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `at` relative to `now`, both seen at `offset` from UTC.
pub fn human(at: OffsetDateTime, now: OffsetDateTime, offset: UtcOffset) -> String {
    let (at, now) = (at.to_offset(offset), now.to_offset(offset));
    let ago = now - at;
    if ago < Duration::seconds(-60) {
        return exact(at, offset);
    }
    if ago < Duration::minutes(1) {
        return "just now".into();
    }
    if ago < Duration::hours(1) {
        return format!("{} ago", plural(ago.whole_minutes(), "minute"));
    }
    let days = (now.date() - at.date()).whole_days();
    match days {
        0 if ago < Duration::hours(4) => format!("{} ago", plural(ago.whole_hours(), "hour")),
        0 => format!("today at {}", clock(at)),
        1 => format!("yesterday at {}", clock(at)),
        2..=6 => format!("{} at {}", at.weekday(), clock(at)),
        _ if at.year() == now.year() => format!("{} at {}", date(at), clock(at)),
        _ => format!("{} {}", date(at), at.year()),
    }
}

/// The full time, for a tooltip: "26 November 2026, 14:05:09 UTC".
pub fn exact(at: OffsetDateTime, offset: UtcOffset) -> String {
    let at = at.to_offset(offset);
    let zone = if offset.is_utc() {
        "UTC".to_owned()
    } else {
        let (h, m, _) = offset.as_hms();
        format!(
            "UTC{}{:02}:{:02}",
            if offset.is_negative() { '-' } else { '+' },
            h.abs(),
            m.abs()
        )
    };
    format!(
        "{} {}, {}:{:02} {zone}",
        date(at),
        at.year(),
        clock(at),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn times_read_as_people_say_them() {
        let now = datetime!(2026-11-26 14:30:00 UTC);
        let utc = offset!(UTC);
        let say = |at| human(at, now, utc);
        assert_eq!(say(datetime!(2026-11-26 14:29:40 UTC)), "just now");
        assert_eq!(say(datetime!(2026-11-26 14:29:00 UTC)), "1 minute ago");
        assert_eq!(say(datetime!(2026-11-26 14:27:00 UTC)), "3 minutes ago");
        assert_eq!(say(datetime!(2026-11-26 12:10:00 UTC)), "2 hours ago");
        assert_eq!(say(datetime!(2026-11-26 08:05:00 UTC)), "today at 08:05");
        assert_eq!(
            say(datetime!(2026-11-25 14:05:00 UTC)),
            "yesterday at 14:05"
        );
        assert_eq!(say(datetime!(2026-11-22 09:00:00 UTC)), "Sunday at 09:00");
        assert_eq!(say(datetime!(2026-03-12 09:00:00 UTC)), "12 March at 09:00");
        assert_eq!(say(datetime!(2025-03-12 09:00:00 UTC)), "12 March 2025");
        assert_eq!(
            exact(datetime!(2026-11-26 14:05:09 UTC), utc),
            "26 November 2026, 14:05:09 UTC"
        );
    }

    #[test]
    fn the_day_is_the_readers_day() {
        // 23:30 UTC on the 25th is already the 26th in Berlin.
        let now = datetime!(2026-11-26 12:00:00 UTC);
        let at = datetime!(2026-11-25 23:30:00 UTC);
        assert_eq!(human(at, now, offset!(UTC)), "yesterday at 23:30");
        assert_eq!(human(at, now, offset!(+1)), "today at 00:30");
        assert_eq!(
            exact(at, offset!(-5:30)),
            "25 November 2026, 18:00:00 UTC-05:30"
        );
    }
}
