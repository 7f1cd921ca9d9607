//! Time helpers: timestamps are `i64` nanoseconds since the UNIX epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds per second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The current time in nanoseconds.
pub fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Parses an RFC 3339 timestamp into nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let ts: jiff::Timestamp = s.trim().parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Formats nanoseconds as RFC 3339 with nanoseconds in UTC.
pub fn format_rfc3339(ns: i64) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ns)) {
        Ok(ts) => format!("{ts:.9}"),
        Err(_) => ns.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let ns = parse_rfc3339("2014-02-10T16:46:41Z").unwrap();
        assert_eq!(ns, 1392050801000000000);
        assert_eq!(parse_rfc3339("2014-02-10T08:46:41-08:00"), Some(ns));
        assert_eq!(format_rfc3339(ns), "2014-02-10T16:46:41.000000000Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
