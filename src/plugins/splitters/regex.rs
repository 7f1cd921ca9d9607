//! `RegexSplitter`: records are separated by matches of a regular
//! expression. With one capture group, the captured text stays at the end
//! of the record (`delimiter_eol = true`) or starts the next record
//! (`delimiter_eol = false`); without one, the delimiter is dropped.
//!
//! Difference from Heka: with `delimiter_eol = true` the record runs up to
//! the end of the capture, so text of the delimiter before the capture
//! stays in the record too (Heka copies only the capture). For the usual
//! delimiters, where the capture is the whole match, both are the same.

use std::sync::Arc;

use regex::bytes::Regex;
use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Split, Splitter};

/// Options of `RegexSplitter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegexSplitterConfig {
    /// The delimiter regex (at most one capture group).
    pub delimiter: String,
    /// Keep the capture at the end of the record instead of the start of
    /// the next one.
    pub delimiter_eol: bool,
}

impl Default for RegexSplitterConfig {
    fn default() -> Self {
        RegexSplitterConfig { delimiter: String::new(), delimiter_eol: true }
    }
}

/// The splitter.
#[derive(Debug, Clone)]
pub struct RegexSplitter {
    delimiter: Regex,
    eol: bool,
}

impl RegexSplitter {
    /// A splitter on `delimiter`.
    pub fn new(delimiter: Regex, eol: bool) -> Self {
        RegexSplitter { delimiter, eol }
    }
}

impl Splitter for RegexSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        let mut start = 0;
        while start <= buf.len() {
            let Some(caps) = self.delimiter.captures_at(buf, start) else {
                return Split::NeedMore { skip: 0 };
            };
            let Some(whole) = caps.get(0) else { return Split::NeedMore { skip: 0 } };
            let (record_end, consumed) = match caps.get(1) {
                None => (whole.start(), whole.end()),
                Some(cap) if self.eol => (cap.end(), whole.end()),
                Some(cap) => (whole.start(), cap.start()),
            };
            if consumed == 0 {
                // The next record starts right here; look further.
                start = whole.end().max(start + 1);
                continue;
            }
            return Split::Record { consumed, record: 0..record_end };
        }
        Split::NeedMore { skip: 0 }
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: RegexSplitterConfig = cx.config()?;
    if c.delimiter.is_empty() {
        return Err(cx.error(Some("delimiter"), "is required"));
    }
    let re = Regex::new(&c.delimiter).map_err(|e| cx.error(Some("delimiter"), e.to_string()))?;
    if re.captures_len() > 2 {
        return Err(cx.error(Some("delimiter"), "may contain at most one capture group"));
    }
    Ok(Built::Splitter(Arc::new(RegexSplitter::new(re, c.delimiter_eol))))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "RegexSplitter",
    category: Category::Splitter,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(s: &mut RegexSplitter, mut buf: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while let Split::Record { consumed, record } = s.find_record(buf) {
            out.push(String::from_utf8_lossy(&buf[record]).into_owned());
            buf = &buf[consumed..];
        }
        out
    }

    #[test]
    fn without_capture_the_delimiter_is_dropped() {
        let mut s = RegexSplitter::new(Regex::new("\n+").unwrap(), true);
        assert_eq!(split_all(&mut s, b"a\n\nb\nc"), vec!["a", "b"]);
    }

    #[test]
    fn capture_ends_the_record_with_eol() {
        let mut s = RegexSplitter::new(Regex::new("(\n)").unwrap(), true);
        assert_eq!(split_all(&mut s, b"a\nb\n"), vec!["a\n", "b\n"]);
    }

    #[test]
    fn capture_starts_the_next_record_without_eol() {
        // Multi-line records that start with a date.
        let re = Regex::new(r"\n(\d{4}-\d\d-\d\d )").unwrap();
        let mut s = RegexSplitter::new(re, false);
        let input = b"2024-01-01 one\n  more\n2024-01-02 two\n2024-01-03 three";
        assert_eq!(split_all(&mut s, input), vec!["2024-01-01 one\n  more", "2024-01-02 two"]);
    }
}
