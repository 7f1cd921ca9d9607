//! Options every plugin of a category shares (Heka's `CommonInputConfig`,
//! `CommonFOConfig`, `CommonSplitterConfig`). They are taken out of a
//! section before the plugin sees it. Settings a plugin may default itself
//! (TcpInput's decoder, TcpOutput's `use_buffering`, sandboxes' `can_exit`)
//! are `Option`s: `None` means "not in the file".

use toml::{Table, Value};

use super::buffering::{self, BufferingConfig};
use super::error::Report;
use super::retry::{self, RetryConfig};
use super::section::Category;
use super::value;

/// The parsed common options of one section, by category.
#[derive(Debug, Clone, PartialEq)]
pub enum CommonConfig {
    Input(CommonInputConfig),
    Splitter(CommonSplitterConfig),
    Decoder,
    Encoder,
    Filter(CommonFilterOutputConfig),
    Output(CommonFilterOutputConfig),
}

impl CommonConfig {
    /// The input options, if this is an input.
    pub fn input(&self) -> Option<&CommonInputConfig> {
        match self {
            CommonConfig::Input(c) => Some(c),
            _ => None,
        }
    }

    /// The filter/output options, if this is a filter or an output.
    pub fn filter_output(&self) -> Option<&CommonFilterOutputConfig> {
        match self {
            CommonConfig::Filter(c) | CommonConfig::Output(c) => Some(c),
            _ => None,
        }
    }

    /// The splitter options, if this is a splitter.
    pub fn splitter(&self) -> Option<&CommonSplitterConfig> {
        match self {
            CommonConfig::Splitter(c) => Some(c),
            _ => None,
        }
    }

    /// The restart policy (inputs, filters and outputs have one).
    pub fn retries(&self) -> Option<&RetryConfig> {
        self.input().map(|c| &c.retries).or_else(|| self.filter_output().map(|c| &c.retries))
    }
}

/// Options of every input.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonInputConfig {
    /// Decoder section name (`""` = none; the plugin may default one).
    pub decoder: Option<String>,
    /// Splitter section name (the plugin may default; Heka: NullSplitter).
    pub splitter: Option<String>,
    /// Decode in the input's own task rather than a decoder task.
    pub synchronous_decode: bool,
    /// Sandpiper's addition: threads decoding each stream in parallel, for
    /// decoders that run on their own thread (Lua). Order is kept. Default 1.
    pub decoder_threads: usize,
    /// On decode failure, route the original message flagged with
    /// `decode_failure`/`decode_error` fields.
    pub send_decode_failures: bool,
    /// Log decode failures. Default true.
    pub log_decode_failures: bool,
    /// If false, this input stopping stops Sandpiper.
    pub can_exit: Option<bool>,
    /// Seconds between polls, for polling inputs.
    pub ticker_interval: Option<u64>,
    /// Restart policy.
    pub retries: RetryConfig,
}

impl Default for CommonInputConfig {
    fn default() -> Self {
        CommonInputConfig {
            decoder: None,
            splitter: None,
            synchronous_decode: false,
            decoder_threads: 1,
            send_decode_failures: false,
            log_decode_failures: true,
            can_exit: None,
            ticker_interval: None,
            retries: RetryConfig::default(),
        }
    }
}

/// Options of every filter and output. Heka shares one struct between
/// the two, so a filter accepts (and ignores) `encoder` and `use_framing`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommonFilterOutputConfig {
    /// Which messages to deliver (matcher expression); `None` = plugin
    /// default, else nothing.
    pub message_matcher: Option<String>,
    /// Only messages signed by this signer are delivered.
    pub message_signer: Option<String>,
    /// Seconds between timer events.
    pub ticker_interval: Option<u64>,
    /// If false, this plugin stopping stops Sandpiper (sandboxes default
    /// to true).
    pub can_exit: Option<bool>,
    /// Encoder section name (outputs).
    pub encoder: Option<String>,
    /// Wrap encoder output in Heka stream framing (outputs).
    pub use_framing: Option<bool>,
    /// Put a disk queue between the router and the plugin.
    pub use_buffering: Option<bool>,
    /// Disk queue settings, if a `buffering` table was given.
    pub buffering: Option<BufferingConfig>,
    /// Restart policy.
    pub retries: RetryConfig,
}

/// Options of every splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonSplitterConfig {
    /// Deliver records larger than the buffer truncated instead of
    /// dropping them.
    pub keep_truncated: bool,
    /// Put records in the raw message bytes instead of the payload (the
    /// plugin may default; HekaFramingSplitter does).
    pub use_message_bytes: Option<bool>,
    /// Initial read buffer size in bytes. Default 8 KiB; at most the
    /// largest framed record.
    pub min_buffer_size: usize,
    /// Deliver a partial last record at end of stream.
    pub deliver_incomplete_final: bool,
}

impl Default for CommonSplitterConfig {
    fn default() -> Self {
        CommonSplitterConfig {
            keep_truncated: false,
            use_message_bytes: None,
            min_buffer_size: 8 * 1024,
            deliver_incomplete_final: false,
        }
    }
}

const INPUT_KEYS: &[&str] = &[
    "decoder",
    "splitter",
    "synchronous_decode",
    "decoder_threads",
    "send_decode_failures",
    "log_decode_failures",
    "can_exit",
    "ticker_interval",
    "retries",
];

const FILTER_OUTPUT_KEYS: &[&str] = &[
    "message_matcher",
    "message_signer",
    "ticker_interval",
    "can_exit",
    "encoder",
    "use_framing",
    "use_buffering",
    "buffering",
    "retries",
];

const SPLITTER_KEYS: &[&str] =
    &["keep_truncated", "use_message_bytes", "min_buffer_size", "deliver_incomplete_final"];

/// Removes the common keys of `category` from `table` and parses them,
/// reporting every bad one.
pub(crate) fn take(category: Category, table: &mut Table, r: &mut Report) -> CommonConfig {
    match category {
        Category::Input => CommonConfig::Input(take_input(table, r)),
        Category::Splitter => CommonConfig::Splitter(take_splitter(table, r)),
        Category::Decoder => CommonConfig::Decoder,
        Category::Encoder => CommonConfig::Encoder,
        Category::Filter => CommonConfig::Filter(take_filter_output(table, r)),
        Category::Output => CommonConfig::Output(take_filter_output(table, r)),
    }
}

/// Calls `read` with each of `keys` present in `table`, removed from it.
fn each_key(table: &mut Table, keys: &[&'static str], mut read: impl FnMut(&'static str, Value)) {
    for &key in keys {
        if let Some(v) = table.remove(key) {
            read(key, v);
        }
    }
}

fn seconds(v: &Value) -> Result<Option<u64>, String> {
    value::uint(v).map(Some)
}

fn some_bool(v: &Value) -> Result<Option<bool>, String> {
    value::boolean(v).map(Some)
}

fn take_input(table: &mut Table, r: &mut Report) -> CommonInputConfig {
    let mut c = CommonInputConfig::default();
    each_key(table, INPUT_KEYS, |key, v| match key {
        "decoder" => r.set(key, &mut c.decoder, value::opt_string(&v)),
        "splitter" => r.set(key, &mut c.splitter, value::opt_string(&v)),
        "synchronous_decode" => r.set(key, &mut c.synchronous_decode, value::boolean(&v)),
        "decoder_threads" => {
            let n = value::size(&v).and_then(|n| {
                if (1..=64).contains(&n) {
                    Ok(n)
                } else {
                    Err("must be between 1 and 64".to_owned())
                }
            });
            r.set(key, &mut c.decoder_threads, n);
        }
        "send_decode_failures" => r.set(key, &mut c.send_decode_failures, value::boolean(&v)),
        "log_decode_failures" => r.set(key, &mut c.log_decode_failures, value::boolean(&v)),
        "can_exit" => r.set(key, &mut c.can_exit, some_bool(&v)),
        "ticker_interval" => r.set(key, &mut c.ticker_interval, seconds(&v)),
        "retries" => c.retries = retry::parse(&v, key, r),
        _ => unreachable!("each_key only passes INPUT_KEYS"),
    });
    c
}

fn take_filter_output(table: &mut Table, r: &mut Report) -> CommonFilterOutputConfig {
    let mut c = CommonFilterOutputConfig::default();
    each_key(table, FILTER_OUTPUT_KEYS, |key, v| match key {
        "message_matcher" => r.set(key, &mut c.message_matcher, value::string(&v).map(Some)),
        "message_signer" => r.set(key, &mut c.message_signer, value::opt_string(&v)),
        "ticker_interval" => r.set(key, &mut c.ticker_interval, seconds(&v)),
        "can_exit" => r.set(key, &mut c.can_exit, some_bool(&v)),
        "encoder" => r.set(key, &mut c.encoder, value::opt_string(&v)),
        "use_framing" => r.set(key, &mut c.use_framing, some_bool(&v)),
        "use_buffering" => r.set(key, &mut c.use_buffering, some_bool(&v)),
        "buffering" => c.buffering = Some(buffering::parse(&v, key, r)),
        "retries" => c.retries = retry::parse(&v, key, r),
        _ => unreachable!("each_key only passes FILTER_OUTPUT_KEYS"),
    });
    c
}

fn take_splitter(table: &mut Table, r: &mut Report) -> CommonSplitterConfig {
    let mut c = CommonSplitterConfig::default();
    each_key(table, SPLITTER_KEYS, |key, v| match key {
        "keep_truncated" => r.set(key, &mut c.keep_truncated, value::boolean(&v)),
        "use_message_bytes" => r.set(key, &mut c.use_message_bytes, some_bool(&v)),
        "min_buffer_size" => {
            r.set(key, &mut c.min_buffer_size, value::size(&v).and_then(value::nonzero))
        }
        "deliver_incomplete_final" => {
            r.set(key, &mut c.deliver_incomplete_final, value::boolean(&v))
        }
        _ => unreachable!("each_key only passes SPLITTER_KEYS"),
    });
    c
}

/// Checks the sizes that depend on `[hekad] max_message_size`: a splitter
/// buffer no larger, and a buffer segment no smaller, than the largest
/// framed record (`max_record_size`).
pub(crate) fn check_record_size(common: &CommonConfig, max_record_size: usize, r: &mut Report) {
    let limit = max_record_size as u64;
    match common {
        CommonConfig::Splitter(c) if c.min_buffer_size > max_record_size => r.key(
            "min_buffer_size",
            format!("must be at most {max_record_size} (the largest record for max_message_size)"),
        ),
        CommonConfig::Filter(c) | CommonConfig::Output(c) => {
            if let Some(b) = c.buffering.as_ref().filter(|b| b.max_file_size < limit) {
                r.key(
                    "buffering.max_file_size",
                    format!(
                        "{} is smaller than the largest record ({limit} bytes for \
                         max_message_size)",
                        b.max_file_size
                    ),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::{ConfigError, FullAction};

    fn take_str(category: Category, text: &str) -> (CommonConfig, Table, Vec<String>) {
        let mut table: Table = text.parse().unwrap();
        let mut errors: Vec<ConfigError> = Vec::new();
        let common =
            take(category, &mut table, &mut Report::new(Path::new("f"), Some("S"), &mut errors));
        (common, table, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn input_options_are_taken_out_of_the_table() {
        let (common, rest, errors) = take_str(
            Category::Input,
            r#"
            address = "127.0.0.1:5565"
            splitter = "HekaFramingSplitter"
            decoder = "ProtobufDecoder"
            synchronous_decode = true
            send_decode_failures = true
            log_decode_failures = false
            can_exit = true
            ticker_interval = 5
            [retries]
            max_delay = "30s"
            delay = "250ms"
            max_retries = 5
            "#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rest.keys().collect::<Vec<_>>(), vec!["address"]);
        let c = common.input().unwrap();
        assert_eq!(c.decoder.as_deref(), Some("ProtobufDecoder"));
        assert_eq!(c.splitter.as_deref(), Some("HekaFramingSplitter"));
        assert!(c.synchronous_decode && c.send_decode_failures && !c.log_decode_failures);
        assert_eq!((c.can_exit, c.ticker_interval), (Some(true), Some(5)));
        assert_eq!(c.retries.max_retries, 5);
        assert_eq!(common.retries().unwrap().delay, Duration::from_millis(250));
    }

    #[test]
    fn unset_options_are_defaults_or_none() {
        let (common, _, _) = take_str(Category::Input, "");
        assert_eq!(common, CommonConfig::Input(CommonInputConfig::default()));
        assert!(common.input().unwrap().log_decode_failures);
        let (common, _, _) = take_str(Category::Output, "");
        let c = common.filter_output().unwrap();
        assert_eq!(
            (c.use_buffering, c.buffering, c.can_exit, c.use_framing),
            (None, None, None, None)
        );
        assert_eq!(c.retries, RetryConfig::default());
        let (common, _, _) = take_str(Category::Splitter, "");
        assert_eq!(common.splitter().unwrap().min_buffer_size, 8192);
    }

    #[test]
    fn filter_and_output_options_with_buffering() {
        let (common, rest, errors) = take_str(
            Category::Output,
            r#"
            message_matcher = "Type != 'heka.counter-output'"
            message_signer = "some_signer"
            ticker_interval = 10
            encoder = "ProtobufEncoder"
            use_framing = true
            use_buffering = true
            address = "x:1"
            [buffering]
            max_buffer_size = 1048576
            full_action = "drop"
            "#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rest.keys().collect::<Vec<_>>(), vec!["address"]);
        assert!(matches!(common, CommonConfig::Output(_)));
        let c = common.filter_output().unwrap();
        assert_eq!(c.message_matcher.as_deref(), Some("Type != 'heka.counter-output'"));
        assert_eq!(c.message_signer.as_deref(), Some("some_signer"));
        assert_eq!(c.ticker_interval, Some(10));
        assert_eq!((c.use_framing, c.use_buffering), (Some(true), Some(true)));
        let b = c.buffering.unwrap();
        assert_eq!((b.max_buffer_size, b.full_action), (1_048_576, FullAction::Drop));
        assert_eq!((b.max_file_size, b.cursor_update_count), (512 * 1024 * 1024, 1));
    }

    #[test]
    fn decoders_and_encoders_keep_every_key() {
        let (common, rest, _) = take_str(Category::Decoder, "decoder = \"x\"\nretries = 1");
        assert_eq!(common, CommonConfig::Decoder);
        assert_eq!(rest.len(), 2);
        assert!(common.retries().is_none());
    }

    #[test]
    fn splitter_options() {
        let (common, rest, errors) = take_str(
            Category::Splitter,
            "delimiter = '\\n'\nkeep_truncated = true\nuse_message_bytes = false\n\
             min_buffer_size = 1024\ndeliver_incomplete_final = true",
        );
        assert!(errors.is_empty());
        assert_eq!(rest.keys().collect::<Vec<_>>(), vec!["delimiter"]);
        assert_eq!(
            common.splitter().copied(),
            Some(CommonSplitterConfig {
                keep_truncated: true,
                use_message_bytes: Some(false),
                min_buffer_size: 1024,
                deliver_incomplete_final: true,
            })
        );
    }

    #[test]
    fn ill_typed_options_name_their_keys() {
        let (_, rest, errors) = take_str(
            Category::Filter,
            "ticker_interval = \"x\"\ncan_exit = \"yes\"\nmessage_matcher = 1\nretries = 5",
        );
        assert!(rest.is_empty(), "bad common keys are still consumed");
        assert_eq!(
            errors,
            vec![
                "f: [S] message_matcher: invalid type: integer 1, expected a string",
                "f: [S] ticker_interval: invalid type: string \"x\", expected an integer",
                "f: [S] can_exit: invalid type: string \"yes\", expected a boolean (true or false)",
                "f: [S] retries: invalid type: integer 5, expected a table",
            ]
        );
        let (_, _, errors) = take_str(Category::Splitter, "min_buffer_size = 0");
        assert_eq!(errors, vec!["f: [S] min_buffer_size: must be greater than 0"]);
    }

    #[test]
    fn record_size_limits() {
        let mut errors = Vec::new();
        let mut r = Report::new(Path::new("f"), Some("S"), &mut errors);
        let splitter = CommonConfig::Splitter(CommonSplitterConfig {
            min_buffer_size: 70_000,
            ..CommonSplitterConfig::default()
        });
        check_record_size(&splitter, 65_794, &mut r);
        check_record_size(&splitter, 70_000, &mut r);
        let buffering = Some(BufferingConfig { max_file_size: 1000, ..BufferingConfig::default() });
        let output = CommonConfig::Output(CommonFilterOutputConfig {
            buffering,
            ..CommonFilterOutputConfig::default()
        });
        check_record_size(&output, 65_794, &mut r);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "f: [S] min_buffer_size: must be at most 65794 (the largest record for \
                 max_message_size)",
                "f: [S] buffering.max_file_size: 1000 is smaller than the largest record \
                 (65794 bytes for max_message_size)",
            ]
        );
    }
}
