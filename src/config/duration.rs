//! Go-style duration strings ("250ms", "1m", "720h", "1h30m"), as Heka's
//! config uses them.

use std::time::Duration;

/// Parses a Go duration string: a sequence of decimal numbers (with optional
/// fraction), each followed by a unit `ns`, `us`/`µs`, `ms`, `s`, `m` or `h`.
/// `"0"` alone is zero. Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(format!("invalid duration {text:?}"));
    }
    let mut total_ns: f64 = 0.0;
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration {text:?}"));
        }
        let value: f64 =
            rest[..num_len].parse().map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("missing unit in duration {text:?}")),
            u => return Err(format!("unknown unit {u:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        total_ns += value * scale;
    }
    if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
        return Err(format!("duration {text:?} is too large"));
    }
    Ok(Duration::from_nanos(total_ns as u64))
}

/// Serde helper for plugin config structs: reads a Go duration string.
/// Use as `#[serde(deserialize_with = "crate::config::deserialize_duration")]`.
pub fn deserialize_duration<'de, D>(deserializer: D) -> Result<Duration, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Rescan {
        #[serde(deserialize_with = "deserialize_duration")]
        rescan_interval: Duration,
    }

    #[test]
    fn deserializes_duration_fields() {
        let ok: Rescan = toml::from_str("rescan_interval = \"1m\"").unwrap();
        assert_eq!(ok.rescan_interval, Duration::from_secs(60));
        let err = toml::from_str::<Rescan>("rescan_interval = \"1\"").unwrap_err();
        assert!(err.message().contains("missing unit"), "{err}");
        assert!(toml::from_str::<Rescan>("rescan_interval = 60").is_err());
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
    }
}
