//! The `[<name>.buffering]` sub-table: the disk queue between the router
//! and a filter or output (Heka's `QueueBufferConfig`).

use std::fmt;

use toml::Value;

use super::error::Report;
use super::value;

/// Default segment file size: 512 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// What to do when the queue reaches `max_buffer_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullAction {
    /// Stop Sandpiper (Heka's default).
    #[default]
    Shutdown,
    /// Drop new messages until there is room.
    Drop,
    /// Stop accepting messages (back-pressure) until there is room.
    Block,
}

impl FullAction {
    /// The config spelling: `shutdown`, `drop` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            FullAction::Shutdown => "shutdown",
            FullAction::Drop => "drop",
            FullAction::Block => "block",
        }
    }
}

impl fmt::Display for FullAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Disk queue settings. Supplying a `buffering` table replaces all of a
/// plugin's own buffering defaults, so missing keys take these generic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferingConfig {
    /// Size at which a segment file is rolled. Default 512 MiB (0 means the
    /// default); must hold the largest framed record.
    pub max_file_size: u64,
    /// Whole-queue limit in bytes; 0 (default) is unlimited.
    pub max_buffer_size: u64,
    /// What happens when the queue is full. Default shutdown.
    pub full_action: FullAction,
    /// Checkpoint every N cursor updates. Default 1 (0 means 1).
    pub cursor_update_count: u64,
}

impl Default for BufferingConfig {
    fn default() -> Self {
        BufferingConfig {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_buffer_size: 0,
            full_action: FullAction::Shutdown,
            cursor_update_count: 1,
        }
    }
}

const KEYS: &[&str] = &["max_file_size", "max_buffer_size", "full_action", "cursor_update_count"];

/// Reads a `buffering` value; missing keys keep their defaults, bad ones are
/// reported under `<prefix>.<key>`.
pub(crate) fn parse(v: &Value, prefix: &str, r: &mut Report) -> BufferingConfig {
    let mut c = BufferingConfig::default();
    let Some(table) = r.check(prefix, value::table(v)) else { return c };
    for (key, v) in table {
        let path = format!("{prefix}.{key}");
        match key.as_str() {
            "max_file_size" => {
                let n = value::uint(v).map(|n| if n == 0 { DEFAULT_MAX_FILE_SIZE } else { n });
                r.set(&path, &mut c.max_file_size, n);
            }
            "max_buffer_size" => r.set(&path, &mut c.max_buffer_size, value::uint(v)),
            "full_action" => r.set(&path, &mut c.full_action, full_action(v)),
            "cursor_update_count" => {
                r.set(&path, &mut c.cursor_update_count, value::uint(v).map(|n| n.max(1)))
            }
            _ => r.key(&path, value::unknown_setting(&path, KEYS)),
        }
    }
    c
}

fn full_action(v: &Value) -> Result<FullAction, String> {
    match value::string(v)?.as_str() {
        "shutdown" => Ok(FullAction::Shutdown),
        "drop" => Ok(FullAction::Drop),
        "block" => Ok(FullAction::Block),
        other => {
            Err(format!("unknown value {other:?}, expected \"shutdown\", \"drop\" or \"block\""))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_str(text: &str) -> (BufferingConfig, Vec<String>) {
        let v: Value = Value::Table(text.parse().unwrap());
        let mut errors = Vec::new();
        let c = parse(&v, "buffering", &mut Report::new(Path::new("f"), Some("S"), &mut errors));
        (c, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let (c, errors) = parse_str("max_buffer_size = 1000000\nfull_action = \"block\"");
        assert!(errors.is_empty());
        assert_eq!(
            c,
            BufferingConfig {
                max_file_size: 512 * 1024 * 1024,
                max_buffer_size: 1_000_000,
                full_action: FullAction::Block,
                cursor_update_count: 1,
            }
        );
        assert_eq!(parse_str("").0, BufferingConfig::default());
    }

    #[test]
    fn zeros_mean_defaults() {
        let (c, _) = parse_str("max_file_size = 0\ncursor_update_count = 0");
        assert_eq!((c.max_file_size, c.cursor_update_count), (DEFAULT_MAX_FILE_SIZE, 1));
    }

    #[test]
    fn every_bad_key_is_reported() {
        let (_, errors) = parse_str(
            "full_action = \"Drop\"\nmax_file_size = -5\ncursor_update_count = \"50\"\nsize = 1",
        );
        assert_eq!(
            errors,
            vec![
                "f: [S] buffering.cursor_update_count: invalid type: string \"50\", \
                 expected an integer",
                "f: [S] buffering.full_action: unknown value \"Drop\", expected \"shutdown\", \
                 \"drop\" or \"block\"",
                "f: [S] buffering.max_file_size: must not be negative",
                "f: [S] unknown config setting 'buffering.size'",
            ]
        );
    }

    #[test]
    fn full_action_displays_its_config_spelling() {
        assert_eq!(FullAction::Block.to_string(), "block");
        assert_eq!(FullAction::default(), FullAction::Shutdown);
    }
}
