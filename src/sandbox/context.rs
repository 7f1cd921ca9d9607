//! Per-sandbox state shared between the [`Sandbox`](super::Sandbox) and the
//! Rust functions it gives to Lua.
//!
//! The Lua callbacks capture an `Rc<RefCell<Context>>`. During an entry-point
//! call the context holds the current message *by handle* (no protobuf round
//! trip): a [`PackRef`] clone for read-only kinds, or the moved [`PackMut`]
//! of a decoder, taken back when the call ends. Callbacks borrow the context
//! with `try_borrow_mut`, so a re-entrant call (e.g. from a `__gc`
//! finalizer) fails as a Lua error instead of panicking.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use mlua::Lua;

use super::api::NameCache;
use super::config::{SandboxConfig, SandboxKind};
use super::extensions::Extensions;
use super::guard::lua_error;
use super::host::SandboxHost;
use crate::message::{Message, Pack, PackMut, PackRef};

/// The message an entry-point call works on.
#[derive(Debug, Default)]
pub(crate) enum Current {
    /// No message (timer_event, inputs, load time).
    #[default]
    None,
    /// A routed message, read-only (filters, outputs, encoders before a
    /// `write_message`).
    Shared(PackRef),
    /// A message the sandbox may change (decoders; encoders after
    /// copy-on-write).
    Owned(PackMut),
}

impl Current {
    /// The pack, if any.
    pub fn pack(&self) -> Option<&Pack> {
        match self {
            Current::None => None,
            Current::Shared(p) => Some(p),
            Current::Owned(p) => Some(p),
        }
    }

    /// The message, if any.
    pub fn message(&self) -> Option<&Message> {
        self.pack().map(|p| &p.message)
    }
}

/// Header values of a decoder's original message, copied into injected
/// messages that do not set them.
#[derive(Debug, Default)]
pub(crate) struct OriginalHeaders {
    pub timestamp: i64,
    pub msg_type: Vec<u8>,
    pub logger: Vec<u8>,
    pub hostname: Vec<u8>,
    pub severity: Option<i32>,
    pub pid: Option<i32>,
}

impl OriginalHeaders {
    /// Copies the headers of `m`, reusing the buffers.
    pub fn save(&mut self, m: &Message) {
        self.timestamp = m.timestamp;
        for (dst, src) in [
            (&mut self.msg_type, &m.msg_type),
            (&mut self.logger, &m.logger),
            (&mut self.hostname, &m.hostname),
        ] {
            dst.clear();
            dst.extend_from_slice(src);
        }
        self.severity = m.severity;
        self.pid = m.pid;
    }

    /// Fills the headers `m` left unset (Uuid gets a new random value).
    pub fn fill(&self, m: &mut Message, timestamp_set: bool) {
        if m.uuid.len() != 16 {
            m.uuid.clear();
            m.uuid.extend_from_slice(&crate::message::uuid::new_v4());
        }
        if !timestamp_set {
            m.timestamp = self.timestamp;
        }
        for (dst, src) in [
            (&mut m.msg_type, &self.msg_type),
            (&mut m.logger, &self.logger),
            (&mut m.hostname, &self.hostname),
        ] {
            if dst.is_empty() {
                dst.extend_from_slice(src);
            }
        }
        if m.severity.is_none() {
            m.severity = self.severity;
        }
        if m.pid.is_none() {
            m.pid = self.pid;
        }
    }
}

/// Decoder bookkeeping for one `process_message` call.
#[derive(Debug, Default)]
pub(crate) struct DecoderState {
    /// The first injection went into the original pack (`Current::Owned`).
    pub original_used: bool,
    /// Headers of the original message, saved at the first injection.
    pub headers: OriginalHeaders,
    /// Packs of the second and later injections.
    pub extra: Vec<PackMut>,
}

/// Encoder output of one call.
#[derive(Debug, Default)]
pub(crate) struct EncoderState {
    /// The bytes of the last `inject_payload`/`inject_message`.
    pub output: Vec<u8>,
    /// True once something was injected in this call.
    pub injected: bool,
}

/// Everything the API functions share with the sandbox.
pub(crate) struct Context {
    pub kind: SandboxKind,
    pub name: String,
    pub hostname: String,
    pub pid: i32,
    pub output_limit: usize,
    pub config: toml::Table,
    pub extensions: Extensions,
    pub tz: Option<jiff::tz::TimeZone>,
    pub host: Box<dyn SandboxHost>,

    pub current: Current,
    /// `read_next_field` position.
    pub next_field: usize,
    /// The `add_to_payload` buffer.
    pub payload: Vec<u8>,
    /// Injections left in this call (filters); `None` = unlimited.
    pub inject_left: Option<u32>,
    /// Loop count given to injected packs.
    pub loop_count: u32,
    pub decoder: DecoderState,
    pub encoder: EncoderState,
    /// Scratch message for `decode_message`.
    pub scratch: Message,
    /// `read_message("raw")` bytes of a pack without a trusted encoding.
    pub raw: Vec<u8>,
    /// The results of the last entry-point call.
    pub returned: super::entry::Returned,
    /// Scratch message that injections are built in before they commit.
    pub build: Message,
    /// Converted field names of `inject_message` tables.
    pub names: NameCache,
    /// Field objects to refill (from recycled packs), so injections do not
    /// allocate a name and a value buffer per field.
    pub spare_fields: Vec<crate::message::Field>,

    /// Successful injections (stats).
    pub inject_count: u64,
    /// Largest payload or injected message (stats).
    pub max_output: usize,
}

/// The handle the Lua callbacks hold.
pub(crate) type Shared = Rc<RefCell<Context>>;

impl Context {
    /// The context of a new sandbox.
    pub fn new(
        cfg: &SandboxConfig,
        tz: Option<jiff::tz::TimeZone>,
        host: Box<dyn SandboxHost>,
    ) -> Self {
        Context {
            kind: cfg.kind,
            name: cfg.name.clone(),
            hostname: cfg.hostname.clone(),
            pid: cfg.pid,
            output_limit: cfg.output_limit,
            config: cfg.config.clone(),
            extensions: cfg.extensions.clone(),
            tz,
            host,
            current: Current::None,
            next_field: 0,
            payload: Vec::new(),
            inject_left: None,
            loop_count: 0,
            decoder: DecoderState::default(),
            encoder: EncoderState::default(),
            scratch: Message::default(),
            raw: Vec::new(),
            returned: Default::default(),
            build: Message::default(),
            names: NameCache::default(),
            spare_fields: Vec::new(),
            inject_count: 0,
            max_output: 0,
        }
    }

    /// Resets the per-call state before an entry point runs.
    pub fn begin_call(&mut self, current: Current, inject_left: Option<u32>, loop_count: u32) {
        self.current = current;
        self.next_field = 0;
        self.inject_left = inject_left;
        self.loop_count = loop_count;
        self.decoder.original_used = false;
        // Packs a previous call left behind (e.g. injected at load time).
        self.decoder.extra.clear();
        self.encoder.injected = false;
    }

    /// Records an output size for the `MaxOutput` statistic.
    pub fn note_output(&mut self, len: usize) {
        if len > self.max_output {
            self.max_output = len;
        }
    }
}

/// Borrows the context from a Lua callback.
pub(crate) fn borrow<'a>(lua: &Lua, ctx: &'a Shared) -> mlua::Result<RefMut<'a, Context>> {
    ctx.try_borrow_mut().map_err(|_| lua_error(lua, "sandbox API called re-entrantly"))
}
