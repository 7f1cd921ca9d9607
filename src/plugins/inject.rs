//! Injection: how filters, sandboxes and the report put new messages into
//! the router — the inject pack pool, Heka's loop and self-match guards —
//! and the [`PluginManager`] a filter may use to change the running
//! pipeline.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::context::StopSignal;
use crate::message::{PackMut, PackPool};

/// Why an injection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// The message went round too many times.
    #[error("exceeded MaxMsgLoops")]
    Loops,
    /// The filter's own matcher matches the message.
    #[error("creates a circular reference (matches this plugin's message_matcher)")]
    SelfMatch,
    /// No pack became free in time.
    #[error("inject pool exhausted")]
    PoolExhausted,
    /// The pipeline is shutting down.
    #[error("aborted")]
    Aborted,
}

/// Where routed packs go: implemented by the pipeline's router.
pub trait RouteSink: Send + Sync {
    /// Freezes and routes every pack (in order) and empties the vector.
    fn route(&self, packs: &mut Vec<PackMut>);
}

/// How long an injection waits for a free pack before giving up.
const INJECT_POOL_WAIT: Duration = Duration::from_secs(5);

/// Everything a plugin needs to inject messages: the inject pool, the
/// router, and Heka's guards (`max_message_loops`, and the plugin's own
/// matcher against injecting to itself). Cheap to clone.
#[derive(Clone)]
pub struct InjectPath {
    /// Where injected packs go.
    pub sink: Arc<dyn RouteSink>,
    /// The inject pack pool.
    pub pool: PackPool,
    /// The plugin's own matcher (`None`: no self-match check).
    pub own: Option<crate::matcher::Matcher>,
    /// `[hekad] max_message_loops`.
    pub max_loops: u32,
    /// Counts accepted injections.
    pub injected: Arc<std::sync::atomic::AtomicU64>,
    /// Raised at shutdown: waits for packs give up.
    pub stop: StopSignal,
}

impl InjectPath {
    /// A cleared pack; waits (up to a few seconds) when the pool is empty.
    /// `before_wait` runs first if the pool is empty (route what you hold).
    pub fn new_pack(&self, before_wait: impl FnOnce()) -> Result<PackMut, InjectError> {
        if let Some(p) = self.pool.try_get() {
            return Ok(p);
        }
        before_wait();
        let deadline = std::time::Instant::now() + INJECT_POOL_WAIT;
        while std::time::Instant::now() < deadline {
            if let Some(p) = self.pool.get_timeout(Duration::from_millis(100)) {
                return Ok(p);
            }
            if self.stop.is_set() {
                return Err(InjectError::Aborted);
            }
        }
        Err(InjectError::PoolExhausted)
    }

    /// Applies the loop and self-match guards to a pack made while
    /// processing a message with `parent_loops` (0 in timer events) and
    /// counts it.
    pub fn check(&self, pack: &mut PackMut, parent_loops: u32) -> Result<(), InjectError> {
        pack.loop_count = parent_loops + 1;
        if pack.loop_count > self.max_loops {
            return Err(InjectError::Loops);
        }
        if let Some(own) = &self.own
            && own.matches(&pack.message)
        {
            return Err(InjectError::SelfMatch);
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The pipeline side of injection, as native filters see it.
pub trait Injector {
    /// A cleared pack from the inject pool.
    fn new_pack(&mut self) -> Result<PackMut, InjectError>;
    /// Routes an injected pack (after the loop and self-match checks).
    fn inject(&mut self, pack: PackMut) -> Result<(), InjectError>;
}

/// An [`Injector`] over an [`InjectPath`] that batches what it injects
/// until [`flush`](Self::flush).
pub struct Injections {
    /// The path.
    pub path: InjectPath,
    /// Loop count of the message being processed (0 in timer events).
    pub parent_loops: u32,
    pending: Vec<PackMut>,
}

impl Injections {
    /// Injections along `path`.
    pub fn new(path: InjectPath) -> Self {
        Injections { path, parent_loops: 0, pending: Vec::new() }
    }

    /// Routes everything injected since the last flush.
    pub fn flush(&mut self) {
        self.path.sink.route(&mut self.pending);
    }
}

impl Injector for Injections {
    fn new_pack(&mut self) -> Result<PackMut, InjectError> {
        let (sink, pending) = (&self.path.sink, &mut self.pending);
        self.path.new_pack(|| sink.route(pending))
    }

    fn inject(&mut self, mut pack: PackMut) -> Result<(), InjectError> {
        self.path.check(&mut pack, self.parent_loops)?;
        self.pending.push(pack);
        Ok(())
    }
}

/// Lets a filter change the running pipeline: SandboxManagerFilter loads,
/// unloads and reloads sandbox filters with it.
pub trait PluginManager: Send + Sync {
    /// Builds and starts a filter from its section (`section.name` must not
    /// be in use). The section is validated as a config file's would be.
    fn load_filter(&self, section: crate::config::PluginSection) -> Result<(), String>;
    /// Drains and stops a filter started by [`load_filter`](Self::load_filter)
    /// (its sandbox state is preserved if configured).
    fn unload_filter(&self, name: &str) -> Result<(), String>;
    /// Replaces a running filter in place from a new section (new script or
    /// settings); its state is carried over and no message is lost. On
    /// error the running version stays.
    fn reload_filter(&self, section: crate::config::PluginSection) -> Result<(), String>;
    /// Names of the filters started by `load_filter` that are running (a
    /// filter whose sandbox terminated is not; loading its name again
    /// replaces it).
    fn loaded_filters(&self) -> Vec<String>;
}
