//! `TokenSplitter`: a record ends after every `count`-th occurrence of a
//! one-byte `delimiter` (default newline), which stays at the record's end.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Split, Splitter};

/// Options of `TokenSplitter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSplitterConfig {
    /// The delimiter: one byte (escapes like "\n" come from TOML).
    pub delimiter: String,
    /// Delimiters per record.
    pub count: usize,
}

impl Default for TokenSplitterConfig {
    fn default() -> Self {
        TokenSplitterConfig { delimiter: "\n".into(), count: 1 }
    }
}

/// The splitter.
#[derive(Debug, Clone)]
pub struct TokenSplitter {
    delimiter: u8,
    count: usize,
}

impl TokenSplitter {
    /// A splitter on `delimiter`, every `count` occurrences.
    pub fn new(delimiter: u8, count: usize) -> Self {
        TokenSplitter { delimiter, count: count.max(1) }
    }
}

impl Splitter for TokenSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        let mut from = 0;
        for _ in 0..self.count {
            match memchr::memchr(self.delimiter, &buf[from..]) {
                Some(i) => from += i + 1,
                None => return Split::NeedMore { skip: 0 },
            }
        }
        Split::Record { consumed: from, record: 0..from }
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: TokenSplitterConfig = cx.config()?;
    let bytes = c.delimiter.as_bytes();
    if bytes.len() != 1 {
        return Err(cx.error(Some("delimiter"), "must be exactly one byte"));
    }
    if c.count == 0 {
        return Err(cx.error(Some("count"), "must be at least 1"));
    }
    Ok(Built::Splitter(Arc::new(TokenSplitter::new(bytes[0], c.count))))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "TokenSplitter",
    category: Category::Splitter,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_after_each_delimiter_keeping_it() {
        let mut s = TokenSplitter::new(b'\n', 1);
        assert_eq!(s.find_record(b"ab\ncd\n"), Split::Record { consumed: 3, record: 0..3 });
        assert_eq!(s.find_record(b"partial"), Split::NeedMore { skip: 0 });
    }

    #[test]
    fn count_groups_several_delimiters() {
        let mut s = TokenSplitter::new(b';', 2);
        assert_eq!(s.find_record(b"a;b;c;"), Split::Record { consumed: 4, record: 0..4 });
        assert_eq!(s.find_record(b"a;b"), Split::NeedMore { skip: 0 });
    }
}
