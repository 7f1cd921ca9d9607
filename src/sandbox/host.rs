//! The host side of injection: the [`SandboxHost`] trait the plugin
//! adapters implement, and two small hosts for tools and tests.

use std::cell::RefCell;
use std::rc::Rc;

use crate::message::PackMut;

/// What a sandbox needs from its plugin runner to inject messages.
///
/// The engine calls it during entry points, on the sandbox's own thread:
///
/// - Filters and inputs: each `inject_message`/`inject_payload` takes a pack
///   with [`new_pack`](Self::new_pack), fills it (with `loop_count` set to
///   the loop count of the message being processed, 0 in `timer_event` and
///   inputs) and hands it to [`inject`](Self::inject) for routing.
/// - Decoders: the first injection reuses the decoded pack; further ones
///   take [`new_pack`](Self::new_pack). The packs are returned by
///   [`Sandbox::decode`](super::Sandbox::decode), never passed to `inject`.
/// - Encoders and outputs never call the host.
///
/// The sandbox owns its host (given to [`Sandbox::new`](super::Sandbox::new)):
/// the Rust functions Lua calls must reach it, and a host borrowed per call
/// could only be handed to them with unsafe code or a per-call
/// `Lua::scope`, which costs on every call and breaks scripts that keep API
/// functions in locals (`local inject_message = inject_message`). Share
/// state with the adapter through `Rc`/`Arc` fields when needed.
///
/// An `Err(text)` becomes a Lua error with that text (which terminates the
/// sandbox unless the script catches it; texts ending in `aborted` cannot
/// be caught and keep the state for preservation, as in Heka).
pub trait SandboxHost {
    /// A cleared pack for an injection; may block on the pool.
    fn new_pack(&mut self) -> Result<PackMut, String>;
    /// Routes an injected pack (e.g. fails with "exceeded MaxMsgLoops" or
    /// "creates a circular reference (matches this plugin's message_matcher)").
    fn inject(&mut self, pack: PackMut) -> Result<(), String>;
}

/// A host for kinds that never inject (encoders, outputs): every call fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl SandboxHost for NoHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        Err("no pack source".into())
    }
    fn inject(&mut self, _pack: PackMut) -> Result<(), String> {
        Err("injection is not available".into())
    }
}

/// A host that gives standalone packs and keeps what is injected, for tools
/// (`sandpiper` script runners) and tests. Clones share the collected packs.
#[derive(Debug, Default, Clone)]
pub struct CollectHost {
    injected: Rc<RefCell<Vec<PackMut>>>,
}

impl CollectHost {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the packs injected so far.
    pub fn take(&self) -> Vec<PackMut> {
        std::mem::take(&mut *self.injected.borrow_mut())
    }

    /// Number of packs injected and not yet taken.
    pub fn len(&self) -> usize {
        self.injected.borrow().len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SandboxHost for CollectHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        Ok(PackMut::standalone())
    }
    fn inject(&mut self, pack: PackMut) -> Result<(), String> {
        self.injected.borrow_mut().push(pack);
        Ok(())
    }
}
