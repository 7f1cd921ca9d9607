//! Typed reads of single TOML values for the settings this module owns
//! (`[hekad]` and the common plugin options). Each returns a message in
//! serde's style (`invalid type: string "x", expected ...`) so all config
//! errors read alike.

use std::path::PathBuf;
use std::time::Duration;

use toml::Value;

use super::duration::parse_duration;

/// Describes a value for an error message: `string "x"`, `integer 5`, ...
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "array".to_owned(),
        Value::Table(_) => "table".to_owned(),
    }
}

fn invalid_type(value: &Value, expected: &str) -> String {
    format!("invalid type: {}, expected {expected}", describe(value))
}

pub(crate) fn string(value: &Value) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| invalid_type(value, "a string"))
}

/// A string where `""` means "not set" (Heka's convention for names).
pub(crate) fn opt_string(value: &Value) -> Result<Option<String>, String> {
    string(value).map(|s| (!s.is_empty()).then_some(s))
}

/// A path where `""` means "not set".
pub(crate) fn opt_path(value: &Value) -> Result<Option<PathBuf>, String> {
    opt_string(value).map(|s| s.map(PathBuf::from))
}

pub(crate) fn boolean(value: &Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| invalid_type(value, "a boolean (true or false)"))
}

/// An integer in `min..=max`.
pub(crate) fn int_in(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    let n = value.as_integer().ok_or_else(|| invalid_type(value, "an integer"))?;
    if n < min {
        Err(if min == 0 {
            "must not be negative".to_owned()
        } else {
            format!("must be at least {min}")
        })
    } else if n > max {
        Err(format!("must be at most {max}"))
    } else {
        Ok(n)
    }
}

/// A non-negative integer that fits `u64` (TOML integers are `i64`).
pub(crate) fn uint(value: &Value) -> Result<u64, String> {
    int_in(value, 0, i64::MAX).map(|n| n.unsigned_abs())
}

/// A non-negative integer that fits `u32`.
pub(crate) fn uint32(value: &Value) -> Result<u32, String> {
    let n = int_in(value, 0, i64::from(u32::MAX))?;
    u32::try_from(n).map_err(|_| format!("must be at most {}", u32::MAX))
}

/// A non-negative integer that fits `usize`.
pub(crate) fn size(value: &Value) -> Result<usize, String> {
    let n = uint(value)?;
    usize::try_from(n).map_err(|_| format!("must be at most {}", usize::MAX))
}

/// `n` unless it is zero (for counts and sizes where 0 makes no sense).
pub(crate) fn nonzero<T: Default + PartialEq>(n: T) -> Result<T, String> {
    if n == T::default() { Err("must be greater than 0".to_owned()) } else { Ok(n) }
}

/// A table (a sub-table such as `retries` or `buffering`).
pub(crate) fn table(value: &Value) -> Result<&toml::Table, String> {
    value.as_table().ok_or_else(|| invalid_type(value, "a table"))
}

/// A Go duration string such as `"250ms"` or `"1h30m"`.
pub(crate) fn duration(value: &Value) -> Result<Duration, String> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid_type(value, "a duration string such as \"250ms\" or \"2m\""))?;
    parse_duration(text)
}

/// "unknown config setting 'key'", with a hint when the key only differs
/// in case from a known one (Heka's TOML library ignored case; we do not).
pub(crate) fn unknown_setting(key: &str, known: &[&str]) -> String {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    match known.iter().find(|k| k.eq_ignore_ascii_case(leaf)) {
        Some(k) => format!("unknown config setting '{key}' (keys are case-sensitive: use '{k}')"),
        None => format!("unknown config setting '{key}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_type() {
        assert_eq!(string(&Value::from("a")), Ok("a".to_owned()));
        assert_eq!(opt_string(&Value::from("")), Ok(None));
        assert_eq!(opt_path(&Value::from("x/y")), Ok(Some(PathBuf::from("x/y"))));
        assert_eq!(boolean(&Value::from(true)), Ok(true));
        assert_eq!(uint(&Value::from(7)), Ok(7));
        assert_eq!(uint32(&Value::from(7)), Ok(7));
        assert_eq!(size(&Value::from(7)), Ok(7));
        assert_eq!(duration(&Value::from("1m")), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn wrong_types_say_what_was_found_and_expected() {
        assert_eq!(
            uint(&Value::from("x")),
            Err("invalid type: string \"x\", expected an integer".to_owned())
        );
        assert_eq!(
            boolean(&Value::from(1)),
            Err("invalid type: integer 1, expected a boolean (true or false)".to_owned())
        );
        assert!(duration(&Value::from(250)).unwrap_err().contains("expected a duration string"));
        assert!(duration(&Value::from("250")).unwrap_err().contains("missing unit"));
        assert!(string(&Value::Array(vec![])).unwrap_err().contains("invalid type: array"));
        assert_eq!(
            table(&Value::from(3)),
            Err("invalid type: integer 3, expected a table".to_owned())
        );
    }

    #[test]
    fn ranges_are_enforced() {
        assert_eq!(uint(&Value::from(-1)), Err("must not be negative".to_owned()));
        assert_eq!(int_in(&Value::from(0), 1, 5), Err("must be at least 1".to_owned()));
        assert_eq!(int_in(&Value::from(6), 1, 5), Err("must be at most 5".to_owned()));
        assert_eq!(uint32(&Value::from(1_i64 << 32)), Err("must be at most 4294967295".into()));
        assert_eq!(size(&Value::from(0)).and_then(nonzero), Err("must be greater than 0".into()));
        assert_eq!(uint32(&Value::from(3)).and_then(nonzero), Ok(3));
    }

    #[test]
    fn unknown_setting_hints_at_case() {
        assert_eq!(unknown_setting("bogus", &["maxprocs"]), "unknown config setting 'bogus'");
        assert_eq!(
            unknown_setting("MaxProcs", &["maxprocs"]),
            "unknown config setting 'MaxProcs' (keys are case-sensitive: use 'maxprocs')"
        );
        assert!(unknown_setting("retries.Delay", &["delay"]).contains("use 'delay'"));
    }
}
