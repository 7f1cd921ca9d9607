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

/// Translates a Go time layout ("02/Jan/2006:15:04:05 -0700") into a
/// strftime format for jiff. Unknown text is kept literally.
pub fn go_layout_to_strftime(layout: &str) -> String {
    // Longest tokens first so "January" wins over "Jan", "2006" over "2".
    const TOKENS: &[(&str, &str)] = &[
        ("January", "%B"),
        ("Monday", "%A"),
        ("Z07:00", "%:z"),
        ("-07:00", "%:z"),
        ("Z0700", "%z"),
        ("-0700", "%z"),
        ("2006", "%Y"),
        (".000000000", "%.f"),
        (".999999999", "%.f"),
        (".000000", "%.f"),
        (".999999", "%.f"),
        (".000", "%.f"),
        (".999", "%.f"),
        ("Jan", "%b"),
        ("Mon", "%a"),
        ("MST", "%Z"),
        ("-07", "%z"),
        ("_2", "%e"),
        ("01", "%m"),
        ("02", "%d"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("06", "%y"),
        ("15", "%H"),
        ("PM", "%p"),
        ("pm", "%P"),
        ("1", "%m"),
        ("2", "%d"),
        ("3", "%I"),
        ("4", "%M"),
        ("5", "%S"),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while let Some(c) = rest.chars().next() {
        for (go, fmt) in TOKENS {
            if let Some(r) = rest.strip_prefix(go) {
                out.push_str(fmt);
                rest = r;
                continue 'outer;
            }
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Parses `text` with a Go layout or one of Heka's epoch keywords
/// (`Epoch`, `EpochMilli`, `EpochMicro`, `EpochNano`). Times without a zone
/// are taken in `tz` (UTC when `None`); a missing year is the current year.
pub fn parse_with_layout(layout: &str, text: &str, tz: Option<&jiff::tz::TimeZone>) -> Option<i64> {
    let text = text.trim();
    let epoch = |scale: f64| text.parse::<f64>().ok().map(|v| (v * scale) as i64);
    match layout {
        "Epoch" => return epoch(1e9),
        "EpochMilli" => return epoch(1e6),
        "EpochMicro" => return epoch(1e3),
        "EpochNano" => return text.parse::<i64>().ok(),
        _ => {}
    }
    let fmt = go_layout_to_strftime(layout);
    parse_strftime(&fmt, text, tz)
}

/// Parses `text` with a strftime format (see [`parse_with_layout`]).
pub fn parse_strftime(fmt: &str, text: &str, tz: Option<&jiff::tz::TimeZone>) -> Option<i64> {
    let mut bdt = jiff::fmt::strtime::parse(fmt, text).ok()?;
    if bdt.year().is_none() {
        let year = jiff::ZonedDateTime::now().year();
        bdt.set_year(Some(year)).ok()?;
    }
    if let Ok(ts) = bdt.to_timestamp() {
        return i64::try_from(ts.as_nanosecond()).ok();
    }
    let dt = bdt.to_datetime().ok()?;
    let zone = tz.cloned().unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = dt.to_zoned_datetime(zone).ok()?;
    i64::try_from(zoned.timestamp().as_nanosecond()).ok()
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn go_layouts_translate_and_parse() {
        assert_eq!(go_layout_to_strftime("02/Jan/2006:15:04:05 -0700"), "%d/%b/%Y:%H:%M:%S %z");
        let ns =
            parse_with_layout("02/Jan/2006:15:04:05 -0700", "10/Feb/2014:08:46:41 -0800", None);
        assert_eq!(ns, Some(1392050801000000000));
        let ns = parse_with_layout("2006-01-02 15:04:05", "2014-02-10 16:46:41", None);
        assert_eq!(ns, Some(1392050801000000000));
        assert_eq!(parse_with_layout("Epoch", "1392050801.5", None), Some(1392050801500000000));
        assert_eq!(
            parse_with_layout("EpochMilli", "1392050801000", None),
            Some(1392050801000000000)
        );
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").ok();
        if let Some(tz) = berlin {
            let ns = parse_with_layout("2006-01-02 15:04:05", "2014-02-10 17:46:41", Some(&tz));
            assert_eq!(ns, Some(1392050801000000000));
        }
        assert_eq!(parse_with_layout("2006-01-02", "not a date", None), None);
    }
}
