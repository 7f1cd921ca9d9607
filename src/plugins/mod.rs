//! The plugin traits (Input, Splitter, Decoder, Filter, Encoder, Output) and
//! every plugin, one file each, listed in [`registry`].
//!
//! Plugins only do their own job; runners in `pipeline` own threads, queues,
//! matchers, tickers, restarts, counters and logging. Splitters, decoders and
//! encoders are templates: each input stream gets its own splitter and
//! decoder instances, each output its own encoder, built by a factory.

pub mod context;
pub mod decoders;
pub mod encoders;
pub mod filters;
pub mod inject;
pub mod inputs;
pub mod outputs;
pub mod registry;
pub mod sandbox;
pub mod splitters;

use std::ops::Range;

use crate::message::{Pack, PackMut, PackRef};

pub use context::{InjectPath, RouteSink};

pub use context::{
    DecodeOut, DecoderEnv, FilterContext, FilterEnv, InputContext, OutputContext, PluginReport,
};

/// An error a plugin returns at run time. Data errors are counted and
/// logged by the runner; `Fatal` stops the plugin (and is subject to its
/// restart policy).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// One message could not be processed; the plugin goes on.
    #[error("{0}")]
    Failed(String),
    /// The plugin cannot go on.
    #[error("fatal: {0}")]
    Fatal(String),
    /// A sandbox terminated (a limit or a script error): the plugin stops
    /// for good, without restarts.
    #[error("terminated: {0}")]
    Terminated(String),
    /// An I/O error the plugin cannot recover from itself.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl PluginError {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PluginError::Io { context: context.into(), source }
    }
}

/// Where a splitter found a record in the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// The first `skip` bytes are garbage (framing splitters): they are
    /// dropped, counted, and the rest is scanned again. With `skip == 0`:
    /// no complete record yet.
    NeedMore {
        /// Garbage bytes at the front.
        skip: usize,
    },
    /// A record: deliver `record`, then drop the first `consumed` bytes.
    Record {
        /// Bytes used up, including delimiters that are not delivered.
        consumed: usize,
        /// The record's bytes.
        record: Range<usize>,
    },
    /// A record larger than the splitter allows starts at the front;
    /// `consumed` bytes are dropped (HekaFramingSplitter's oversize header).
    Oversize {
        /// Bytes to drop.
        consumed: usize,
        /// Announced or found size.
        size: usize,
    },
}

/// Finds records in a byte stream (one instance per stream).
pub trait Splitter: Send {
    /// Looks for the next record at the front of `buf`.
    fn find_record(&mut self, buf: &[u8]) -> Split;

    /// Whole reads are records (NullSplitter): the runner calls
    /// `find_record` once per read with just that read's bytes.
    fn per_read(&self) -> bool {
        false
    }

    /// Heka's `UnframeRecord`: turns a found record into the bytes to
    /// deliver, or `Err` to drop it (e.g. HMAC check failed). May set pack
    /// bookkeeping such as the signer.
    fn unframe<'a>(&mut self, record: &'a [u8], pack: &mut Pack) -> Result<&'a [u8], String> {
        let _ = pack;
        Ok(record)
    }

    /// Records go to the pack's raw (protobuf) buffer instead of Payload.
    fn use_message_bytes(&self) -> bool {
        false
    }

    /// HMAC keys (`"<signer>_<version>"` -> key) for authenticating
    /// records, given by inputs that carry `signer` tables (TcpInput).
    fn set_signers(&mut self, keys: std::sync::Arc<SignerKeys>) {
        let _ = keys;
    }
}

/// HMAC keys by `"<signer>_<version>"`.
pub type SignerKeys = std::collections::HashMap<String, Vec<u8>>;

/// Builds splitter instances for streams.
pub trait SplitterFactory: Send + Sync {
    /// A new splitter for one stream.
    fn build(&self) -> Box<dyn Splitter>;
}

/// A splitter that is its own template: each stream gets a clone.
impl<T: Splitter + Clone + Sync + 'static> SplitterFactory for T {
    fn build(&self) -> Box<dyn Splitter> {
        Box::new(self.clone())
    }
}

/// Turns a pack holding a raw record into zero or more decoded packs.
pub trait Decoder {
    /// Decodes `pack`. Push the resulting packs (usually `pack` itself,
    /// mutated) into `out`; take extra packs from `out.new_pack()`. On
    /// failure return the pack with the reason so the runner can count it
    /// and, with `send_decode_failures`, route it marked as failed.
    fn decode(&mut self, pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure>;
}

/// A decode that failed.
#[derive(Debug)]
pub struct DecodeFailure {
    /// The original pack, when it is still available.
    pub pack: Option<PackMut>,
    /// Why.
    pub message: String,
}

impl DecodeFailure {
    /// A failure that gives the pack back.
    pub fn new(pack: PackMut, message: impl Into<String>) -> Self {
        DecodeFailure { pack: Some(pack), message: message.into() }
    }
}

/// Builds decoder instances, one per input stream.
pub trait DecoderFactory: Send + Sync {
    /// A decoder that can move between threads (native decoders), or `None`
    /// if this decoder must live on one thread (Lua sandboxes).
    fn build_send(&self, env: &DecoderEnv) -> Option<Result<Box<dyn Decoder + Send>, PluginError>>;

    /// A decoder for the calling thread.
    fn build(&self, env: &DecoderEnv) -> Result<Box<dyn Decoder>, PluginError>;
}

/// A native decoder that is its own template: each stream gets a clone,
/// free to move between threads.
impl<T: Decoder + Clone + Send + Sync + 'static> DecoderFactory for T {
    fn build_send(
        &self,
        _env: &DecoderEnv,
    ) -> Option<Result<Box<dyn Decoder + Send>, PluginError>> {
        Some(Ok(Box::new(self.clone())))
    }

    fn build(&self, _env: &DecoderEnv) -> Result<Box<dyn Decoder>, PluginError> {
        Ok(Box::new(self.clone()))
    }
}

/// Whether an encoder produced output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// Bytes were appended.
    Output,
    /// Nothing to write for this message (Heka's sandbox `-2`).
    Nothing,
}

/// Serialises a message for an output.
pub trait Encoder {
    /// Appends the encoding of `pack` to `out`.
    fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError>;

    /// True when `encode` produces protobuf (so outputs frame it by default).
    fn is_protobuf(&self) -> bool {
        false
    }
}

/// Builds encoder instances, one per output.
pub trait EncoderFactory: Send + Sync {
    /// A new encoder (built on the output's thread).
    fn build(&self) -> Result<Box<dyn Encoder>, PluginError>;

    /// True when the encoder produces protobuf (ProtobufEncoder).
    fn is_protobuf(&self) -> bool {
        false
    }
}

/// An encoder that is its own template: each output gets a clone.
impl<T: Encoder + Clone + Send + Sync + 'static> EncoderFactory for T {
    fn build(&self) -> Result<Box<dyn Encoder>, PluginError> {
        Ok(Box::new(self.clone()))
    }

    fn is_protobuf(&self) -> bool {
        Encoder::is_protobuf(self)
    }
}

/// Reads data from the outside world. Runs on its own thread; returns when
/// the context says the pipeline is stopping, or on failure.
pub trait Input: Send {
    /// The input's main loop.
    fn run(&mut self, cx: &mut InputContext) -> Result<(), PluginError>;

    /// Called once after every output has stopped, so inputs can write
    /// their final checkpoints covering everything delivered.
    fn finish(&mut self, cx: &InputContext) {
        let _ = cx;
    }

    /// Batches read but not yet fully delivered (inputs that track
    /// delivery); a stopping input waits a moment for them.
    fn in_flight(&self) -> usize {
        0
    }
}

/// Processes routed messages; may inject new ones. Runs on its own thread.
pub trait Filter {
    /// Called for each matched message.
    fn process_message(
        &mut self,
        pack: &PackRef,
        cx: &mut FilterContext<'_>,
    ) -> Result<(), PluginError>;

    /// Called every `ticker_interval` seconds with the current time in ns.
    fn timer_event(&mut self, now_ns: i64, cx: &mut FilterContext<'_>) -> Result<(), PluginError> {
        let _ = (now_ns, cx);
        Ok(())
    }

    /// Called once when the filter stops cleanly (after its queue drained).
    fn stop(&mut self, cx: &mut FilterContext<'_>) {
        let _ = cx;
    }

    /// Adds plugin-specific values to the report.
    fn report(&self, report: &mut PluginReport) {
        let _ = report;
    }

    /// The state to carry into a replacement of this filter (an in-place
    /// reload), e.g. a sandbox's globals in preservation format.
    fn export_state(&self) -> Result<Option<String>, PluginError> {
        Ok(None)
    }

    /// Takes over the state of the filter this one replaces.
    fn import_state(&mut self, state: &str) -> Result<(), PluginError> {
        let _ = state;
        Ok(())
    }

    /// Called about once a second and after every batch (e.g. to notice a
    /// changed script file).
    fn poll(&mut self, cx: &mut FilterContext<'_>) -> Result<(), PluginError> {
        let _ = cx;
        Ok(())
    }
}

/// Builds a filter on its own thread.
pub trait FilterFactory: Send {
    /// The filter instance.
    fn build(&self, env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError>;
}

/// Sends messages to the outside world. Runs on its own thread.
pub trait Output {
    /// Called for each matched message.
    fn process_message(
        &mut self,
        pack: &PackRef,
        cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError>;

    /// Called every `ticker_interval` seconds with the current time in ns.
    fn timer_event(&mut self, now_ns: i64, cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        let _ = (now_ns, cx);
        Ok(())
    }

    /// Called after every batch and at least every 100 ms, for time-based
    /// flushing.
    fn poll(&mut self, cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        let _ = cx;
        Ok(())
    }

    /// Called on SIGHUP (FileOutput reopens its file).
    fn reopen(&mut self, cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        let _ = cx;
        Ok(())
    }

    /// Called once when the output stops; flush everything.
    fn stop(&mut self, cx: &mut OutputContext<'_>) {
        let _ = cx;
    }

    /// Adds plugin-specific values to the report.
    fn report(&self, report: &mut PluginReport) {
        let _ = report;
    }
}

/// Builds an output on its own thread.
pub trait OutputFactory: Send {
    /// The output instance.
    fn build(&self) -> Result<Box<dyn Output>, PluginError>;

    /// A signer for framed records (TcpOutput's `signer` table).
    fn signer(&self) -> Option<crate::message::Signer> {
        None
    }
}
