//! `NullSplitter`: every read (or datagram) is one record.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Split, Splitter};

/// `NullSplitter` has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullSplitterConfig {}

/// The splitter.
#[derive(Debug, Clone, Default)]
pub struct NullSplitter;

impl Splitter for NullSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        if buf.is_empty() {
            Split::NeedMore { skip: 0 }
        } else {
            Split::Record { consumed: buf.len(), record: 0..buf.len() }
        }
    }

    fn per_read(&self) -> bool {
        true
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: NullSplitterConfig = cx.config()?;
    Ok(Built::Splitter(Arc::new(NullSplitter)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "NullSplitter",
    category: Category::Splitter,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_buffer_is_one_record() {
        let mut s = NullSplitter;
        assert_eq!(s.find_record(b"abc\ndef"), Split::Record { consumed: 7, record: 0..7 });
        assert_eq!(s.find_record(b""), Split::NeedMore { skip: 0 });
        assert!(s.per_read());
    }
}
