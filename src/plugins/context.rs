//! What runners hand to plugins: contexts for inputs, decoders, filters and
//! outputs, and the small interfaces the pipeline implements for them
//! (streams, injection), so plugins never depend on pipeline internals.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;

pub use super::inject::{InjectError, InjectPath, Injections, Injector, PluginManager, RouteSink};
use super::{Encoded, Encoder, PluginError};
use crate::message::{DeliveryGuard, PackMut, PackPool, PackRef, Signer, write_framed};

/// A flag the pipeline raises to stop a plugin; sleeps can wait on it.
#[derive(Clone, Default)]
pub struct StopSignal {
    inner: Arc<StopInner>,
}

#[derive(Default)]
struct StopInner {
    set: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
    notify: tokio::sync::Notify,
}

impl StopSignal {
    /// A new, unset signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the signal and wakes every waiter.
    pub fn set(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        let _guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.cond.notify_all();
        self.inner.notify.notify_waiters();
    }

    /// True once raised.
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`; returns true if the signal was raised.
    pub fn wait(&self, d: Duration) -> bool {
        let guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_set() {
            return true;
        }
        let _ = self.inner.cond.wait_timeout_while(guard, d, |_| !self.is_set());
        self.is_set()
    }

    /// Waits asynchronously until the signal is raised.
    pub async fn wait_async(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// A byte stream of one input (a file sequence, a TCP connection): it owns
/// the stream's splitter and decoder and routes what they produce.
pub trait InputStream: Send {
    /// Splits `data` (appended to any partial record kept from before) and
    /// delivers every complete record.
    fn deliver(&mut self, data: &[u8]);

    /// Delivers a partial trailing record if the splitter is configured with
    /// `deliver_incomplete_final` (end of a file or connection), or drops it.
    fn finish_record(&mut self);

    /// Delivers a partial trailing record whatever the splitter settings
    /// (a rotated file's last line without a newline is still a line).
    fn flush_partial(&mut self);

    /// Bytes received but not yet delivered (a partial record).
    fn buffered(&self) -> usize;

    /// Packs made from now on carry this delivery guard.
    fn set_guard(&mut self, guard: Option<DeliveryGuard>);

    /// Header values stamped on messages made from raw records.
    fn set_headers(&mut self, headers: StreamHeaders);

    /// HMAC keys for the stream's splitter (signed Heka framing).
    fn set_signers(&mut self, keys: Arc<super::SignerKeys>);
}

/// Header values an input stamps on each message made from a raw record.
#[derive(Debug, Clone, Default)]
pub struct StreamHeaders {
    /// Message Type.
    pub msg_type: Vec<u8>,
    /// Logger (input or stream name).
    pub logger: Vec<u8>,
    /// Hostname.
    pub hostname: Vec<u8>,
}

/// Makes streams for an input.
pub trait StreamFactory: Send + Sync {
    /// A stream with fresh splitter and decoder instances.
    fn new_stream(&self) -> Result<Box<dyn InputStream>, PluginError>;
}

/// Given to an input's `run`.
pub struct InputContext {
    /// Plugin name.
    pub name: String,
    /// `[hekad] hostname`.
    pub hostname: String,
    /// `[hekad] base_dir`.
    pub base_dir: PathBuf,
    /// `ticker_interval` in seconds (0 = none).
    pub ticker_interval: u64,
    /// Raised when the input must stop.
    pub stop: StopSignal,
    /// Runtime for network inputs.
    pub runtime: tokio::runtime::Handle,
    /// Makes streams (splitter + decoder + routing).
    pub streams: Arc<dyn StreamFactory>,
    /// Counters shown in the input's report.
    pub report: Arc<InputStats>,
    /// Routing for inputs that make whole messages (SandboxInput).
    pub router: Arc<dyn RouteSink>,
    /// The input pack pool.
    pub pool: PackPool,
}

impl InputContext {
    /// A new stream stamped with `headers`.
    pub fn stream(&self, headers: StreamHeaders) -> Result<Box<dyn InputStream>, PluginError> {
        let mut s = self.streams.new_stream()?;
        s.set_headers(headers);
        Ok(s)
    }

    /// True when the pipeline is stopping.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_set()
    }
}

/// Counters every input keeps (shown in `heka.all-report`).
#[derive(Debug, Default)]
pub struct InputStats {
    /// Records delivered.
    pub records: std::sync::atomic::AtomicU64,
    /// Bytes read.
    pub bytes: std::sync::atomic::AtomicU64,
    /// Records dropped (oversize, bad framing, failed authentication).
    pub dropped: std::sync::atomic::AtomicU64,
    /// Decode failures.
    pub decode_failures: std::sync::atomic::AtomicU64,
    /// Read or connection errors.
    pub errors: std::sync::atomic::AtomicU64,
    /// Open streams or connections.
    pub streams: std::sync::atomic::AtomicU64,
}

impl InputStats {
    /// Adds one to a counter.
    pub fn inc(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where a decoder puts what it produced.
pub struct DecodeOut<'a> {
    packs: &'a mut Vec<PackMut>,
    pool: &'a PackPool,
}

impl<'a> DecodeOut<'a> {
    /// Collects into `packs`, taking extra packs from `pool`.
    pub fn new(packs: &'a mut Vec<PackMut>, pool: &'a PackPool) -> Self {
        DecodeOut { packs, pool }
    }

    /// Emits a decoded pack.
    pub fn push(&mut self, pack: PackMut) {
        self.packs.push(pack);
    }

    /// A new pack for a multi-message decode (from the input pool).
    pub fn new_pack(&self) -> PackMut {
        self.pool.get()
    }

    /// The output vector itself (for decoders that append directly).
    pub fn packs(&mut self) -> &mut Vec<PackMut> {
        self.packs
    }

    /// The pool extra packs come from.
    pub fn pool(&self) -> &'a PackPool {
        self.pool
    }

    /// Packs emitted so far.
    pub fn len(&self) -> usize {
        self.packs.len()
    }

    /// True when nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

/// What a filter factory gets on the filter's thread.
#[derive(Clone)]
pub struct FilterEnv {
    /// Plugin name.
    pub name: String,
    /// `[hekad] hostname`.
    pub hostname: String,
    /// Injection path (sandbox filters inject from inside Lua calls).
    pub inject: InjectPath,
    /// Changes the running pipeline (for SandboxManagerFilter).
    pub manager: Option<Arc<dyn PluginManager>>,
    /// `[hekad]` settings (base_dir, share_dir, limits).
    pub hekad: Arc<crate::config::HekadConfig>,
    /// True when the filter is built to replace a running one (an in-place
    /// reload): its state will be handed over with `import_state`, so it
    /// must not load saved state of its own.
    pub replacing: bool,
}

/// What a decoder factory gets on the thread that will run the decoder.
#[derive(Clone)]
pub struct DecoderEnv {
    /// The input pack pool (extra packs of multi-message decodes).
    pub pool: PackPool,
    /// Name of the input the decoder serves.
    pub input_name: String,
}

/// Given to filters.
pub struct FilterContext<'a> {
    /// Plugin name.
    pub name: &'a str,
    /// `[hekad] hostname`.
    pub hostname: &'a str,
    /// Routing of injected messages.
    pub injector: &'a mut dyn Injector,
}

impl FilterContext<'_> {
    /// A cleared pack to fill and inject.
    pub fn new_pack(&mut self) -> Result<PackMut, InjectError> {
        self.injector.new_pack()
    }

    /// Injects a message into the router.
    pub fn inject(&mut self, pack: PackMut) -> Result<(), InjectError> {
        self.injector.inject(pack)
    }
}

/// Encoding settings of one output.
pub struct EncodeSettings {
    /// The output's encoder, if it has one.
    pub encoder: Option<Box<dyn Encoder>>,
    /// Wrap encoded bytes in Heka stream framing.
    pub use_framing: bool,
    /// Sign framed records.
    pub signer: Option<Signer>,
    /// `[hekad] max_message_size`.
    pub max_message_size: usize,
}

/// Delivery guards of messages an output could not deliver. They are kept
/// until the process ends, so inputs never checkpoint past those messages
/// and read them again after a restart.
pub type Undelivered = Arc<Mutex<Vec<DeliveryGuard>>>;

/// Given to outputs.
pub struct OutputContext<'a> {
    /// Plugin name.
    pub name: &'a str,
    /// Encoder and framing.
    pub encoding: &'a mut EncodeSettings,
    /// Raised when the pipeline stops (outputs retrying a send give up).
    pub stop: &'a StopSignal,
    undelivered: Option<&'a Undelivered>,
    /// Scratch buffer for encoding.
    scratch: Vec<u8>,
}

impl<'a> OutputContext<'a> {
    /// A context for one output.
    pub fn new(name: &'a str, encoding: &'a mut EncodeSettings, stop: &'a StopSignal) -> Self {
        OutputContext { name, encoding, stop, undelivered: None, scratch: Vec::new() }
    }

    /// Where guards of undeliverable messages go.
    pub fn with_undelivered(mut self, undelivered: &'a Undelivered) -> Self {
        self.undelivered = Some(undelivered);
        self
    }

    /// Gives up on messages: their inputs will read them again after a
    /// restart instead of checkpointing past them.
    pub fn keep_undelivered(&mut self, guards: Vec<DeliveryGuard>) {
        if let Some(u) = self.undelivered {
            u.lock().unwrap_or_else(|p| p.into_inner()).extend(guards);
        }
    }

    /// Encodes `pack` with the output's encoder (and framing, if enabled),
    /// appending to `out` (Heka's `OutputRunner.Encode`).
    pub fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError> {
        let Some(encoder) = self.encoding.encoder.as_mut() else {
            return Err(PluginError::Fatal("no encoder configured".into()));
        };
        if !self.encoding.use_framing {
            return encoder.encode(pack, out);
        }
        self.scratch.clear();
        if encoder.encode(pack, &mut self.scratch)? == Encoded::Nothing {
            return Ok(Encoded::Nothing);
        }
        write_framed(
            &self.scratch,
            self.encoding.signer.as_ref(),
            self.encoding.max_message_size,
            out,
        )
        .map_err(|e| PluginError::Failed(e.to_string()))?;
        Ok(Encoded::Output)
    }

    /// True if the output has an encoder.
    pub fn has_encoder(&self) -> bool {
        self.encoding.encoder.is_some()
    }
}

/// Plugin-specific values for the report (`heka.all-report`).
#[derive(Debug, Default, Clone)]
pub struct PluginReport {
    /// Name/value pairs in insertion order.
    pub values: Vec<(String, Value)>,
}

impl PluginReport {
    /// Adds a value.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.values.push((key.to_string(), value.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signal_wakes_sleepers() {
        let s = StopSignal::new();
        assert!(!s.wait(Duration::from_millis(5)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        s.set();
        assert!(t.join().unwrap());
        assert!(s.is_set());
    }
}
