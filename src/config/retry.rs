//! The `[<name>.retries]` sub-table: the restart policy of an input, filter
//! or output (Heka's `RetryOptions`).

use std::time::Duration;

use toml::Value;

use super::error::Report;
use super::value;

/// How a failed plugin is restarted: exponential back-off from `delay` up
/// to `max_delay`, plus up to `max_jitter` of randomness, `max_retries`
/// times (-1 = forever, 0 = never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Restarts allowed: -1 forever (default), 0 never.
    pub max_retries: i64,
    /// First back-off delay. Default 250ms.
    pub delay: Duration,
    /// Back-off ceiling. Default 30s.
    pub max_delay: Duration,
    /// Largest random addition to each delay. Default 500ms.
    pub max_jitter: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: -1,
            delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_jitter: Duration::from_millis(500),
        }
    }
}

const KEYS: &[&str] = &["max_retries", "delay", "max_delay", "max_jitter"];

/// Reads a `retries` value; missing keys keep their defaults, bad ones are
/// reported under `<prefix>.<key>`.
pub(crate) fn parse(v: &Value, prefix: &str, r: &mut Report) -> RetryConfig {
    let mut c = RetryConfig::default();
    let Some(table) = r.check(prefix, value::table(v)) else { return c };
    for (key, v) in table {
        let path = format!("{prefix}.{key}");
        match key.as_str() {
            "max_retries" => r.set(&path, &mut c.max_retries, value::int_in(v, -1, i64::MAX)),
            "delay" => r.set(&path, &mut c.delay, value::duration(v)),
            "max_delay" => r.set(&path, &mut c.max_delay, value::duration(v)),
            "max_jitter" => r.set(&path, &mut c.max_jitter, value::duration(v)),
            _ => r.key(&path, value::unknown_setting(&path, KEYS)),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::ConfigError;

    fn parse_str(text: &str) -> (RetryConfig, Vec<String>) {
        let v: Value = Value::Table(text.parse().unwrap());
        let mut errors: Vec<ConfigError> = Vec::new();
        let c = parse(&v, "retries", &mut Report::new(Path::new("f"), Some("S"), &mut errors));
        (c, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let (c, errors) = parse_str("max_retries = 5\ndelay = \"1s\"");
        assert!(errors.is_empty());
        assert_eq!(
            c,
            RetryConfig {
                max_retries: 5,
                delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                max_jitter: Duration::from_millis(500),
            }
        );
    }

    #[test]
    fn every_bad_key_is_reported() {
        let (c, errors) =
            parse_str("max_retries = -2\ndelay = 250\nmax_jitter = \"1x\"\nmax_retry = 3");
        assert_eq!(
            errors,
            vec![
                "f: [S] retries.delay: invalid type: integer 250, expected a duration string \
                 such as \"250ms\" or \"2m\"",
                "f: [S] retries.max_jitter: unknown unit \"x\" in duration \"1x\"",
                "f: [S] retries.max_retries: must be at least -1",
                "f: [S] unknown config setting 'retries.max_retry'",
            ]
        );
        assert_eq!(c, RetryConfig::default());
    }

    #[test]
    fn a_non_table_is_reported() {
        let v = Value::from(3);
        let mut errors = Vec::new();
        parse(&v, "retries", &mut Report::new(Path::new("f"), Some("S"), &mut errors));
        assert_eq!(
            errors[0].to_string(),
            "f: [S] retries: invalid type: integer 3, expected a table"
        );
    }
}
