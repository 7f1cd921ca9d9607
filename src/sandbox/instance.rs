//! [`Sandbox`]: one hardened Lua state running one Heka-style script, and
//! its entry points (documented on the type).

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;

use mlua::{Function, IntoLuaMulti, Lua, Table, Value};

use super::api;
use super::budget::InstructionBudget;
use super::compat::rewrite_setfenv;
use super::config::{SandboxConfig, SandboxKind};
use super::context::{Context, Current, Shared};
use super::entry::{self, Message, Status};
use super::error::{SandboxError, Terminated};
use super::guard::{InterruptHandle, error_text, is_abort_text};
use super::host::SandboxHost;
use super::outcome::{DecodeOutcome, EncodeOutcome, ProcessStatus};
use super::require;
use super::state::{self, StateLimits};
use super::stats::{Counters, MemoryPeak, SandboxStats};
use crate::message::{PackMut, PackRef, encode_into};

/// The live Lua side of a sandbox (dropped on termination).
pub(super) struct Engine {
    pub globals: Table,
    /// Entry functions calling the globals `process_message` and
    /// `timer_event` (see `entry.rs`).
    pub process: Function,
    pub timer: Function,
    /// The state's instruction budget (a handle on the one in app data).
    pub budget: InstructionBudget,
    /// Global names that existed before the script ran (not preserved).
    pub initial_globals: HashSet<Vec<u8>>,
    /// Declared last: handles above are dropped before the state.
    pub lua: Lua,
}

/// One hardened Lua state running one Heka-style script.
///
/// A `Sandbox` is `!Send`: create it on the thread that drives it. Every
/// entry point resets the instruction budget, hands the current message to
/// the API by handle, calls the script, and takes the message back. Any
/// runtime error or limit violation *terminates* the sandbox: the Lua state
/// is closed, the error text is kept, and every later call returns it at
/// once (Heka's rule for errors ending in `aborted` excepted — see
/// [`Terminated`]).
///
/// ```no_run
/// use sandpiper::message::PackMut;
/// use sandpiper::sandbox::{CollectHost, ProcessStatus, Sandbox, SandboxConfig, SandboxKind};
///
/// let host = CollectHost::new();
/// let cfg = SandboxConfig::new(SandboxKind::Filter, "counter", "counter.lua");
/// let mut sb = Sandbox::new(cfg, Box::new(host.clone())).expect("script loads");
/// let pack = PackMut::standalone().freeze();
/// match sb.process_message(&pack) {
///     Ok(ProcessStatus::Ok) => {}
///     Ok(other) => eprintln!("script status {other:?}"),
///     Err(t) => eprintln!("terminated: {t}"),
/// }
/// sb.stop().expect("state saved");
/// ```
pub struct Sandbox {
    pub(super) kind: SandboxKind,
    pub(super) name: String,
    pub(super) preserve_data: bool,
    pub(super) preservation_path: Option<PathBuf>,
    pub(super) memory_limit: usize,
    pub(super) instruction_limit: u64,
    max_process_inject: u32,
    max_timer_inject: u32,
    sample_every: u32,
    pub(super) ctx: Shared,
    pub(super) engine: Option<Engine>,
    pub(super) terminated: Option<String>,
    pub(super) counters: Counters,
    interrupt: InterruptHandle,
}

impl Sandbox {
    /// Builds the state, loads the script (a syntax error names the file and
    /// line), runs its top level, then restores the preserved globals when
    /// `preserve_data` is set and the file exists. On error nothing is left
    /// running.
    pub fn new(cfg: SandboxConfig, host: Box<dyn SandboxHost>) -> Result<Sandbox, SandboxError> {
        let tz =
            match cfg.tz.as_deref() {
                None | Some("UTC") | Some("") => None,
                Some(name) => Some(jiff::tz::TimeZone::get(name).map_err(|e| {
                    SandboxError::Config(format!("unknown time zone '{name}': {e}"))
                })?),
            };
        let instruction_limit = cfg.effective_instruction_limit();
        let interrupt = InterruptHandle::default();
        let limits = StateLimits {
            memory: cfg.memory_limit,
            instructions: instruction_limit,
            output: cfg.output_limit,
            interrupt: interrupt.clone(),
        };
        let lua =
            state::new_state(cfg.kind, limits).map_err(|e| SandboxError::Lua(error_text(&e)))?;
        let ctx: Shared = Rc::new(RefCell::new(Context::new(&cfg, tz, host)));
        let setup = |lua: &Lua| -> mlua::Result<Engine> {
            api::register(lua, &ctx, cfg.kind)?;
            require::install(
                lua,
                cfg.kind,
                cfg.module_directories.clone(),
                cfg.extensions.clone(),
            )?;
            let globals = lua.globals();
            let mut initial_globals = HashSet::new();
            for kv in globals.pairs::<Value, Value>() {
                if let (Value::String(k), _) = kv? {
                    initial_globals.insert(k.as_bytes().to_vec());
                }
            }
            Ok(Engine {
                process: entry::function(lua, &ctx, "process_message")?,
                timer: entry::function(lua, &ctx, "timer_event")?,
                budget: lua
                    .app_data_ref::<InstructionBudget>()
                    .map(|b| b.clone())
                    .unwrap_or_default(),
                globals,
                initial_globals,
                lua: lua.clone(),
            })
        };
        let engine = setup(&lua).map_err(|e| SandboxError::Lua(error_text(&e)))?;
        drop(lua);
        let mut sb = Sandbox {
            kind: cfg.kind,
            name: cfg.name.clone(),
            preserve_data: cfg.preserve_data,
            preservation_path: cfg.preservation_path.clone(),
            memory_limit: cfg.memory_limit,
            instruction_limit,
            max_process_inject: cfg.max_process_inject,
            max_timer_inject: cfg.max_timer_inject,
            sample_every: cfg.duration_sample_denominator.max(1),
            ctx,
            engine: Some(engine),
            terminated: None,
            counters: Counters::default(),
            interrupt,
        };
        sb.load_script(&cfg.script_path, cfg.source.as_deref())?;
        if sb.preserve_data
            && cfg.load_preserved
            && let Some(path) = sb.preservation_path.clone()
            && path.exists()
        {
            let data = std::fs::read_to_string(&path)
                .map_err(|source| SandboxError::PreservationIo { path: path.clone(), source })?;
            sb.restore_named(&data, &format!("@{}", path.display()))?;
        }
        Ok(sb)
    }

    fn load_script(
        &mut self,
        path: &std::path::Path,
        text: Option<&[u8]>,
    ) -> Result<(), SandboxError> {
        let read;
        let text = match text {
            Some(t) => t,
            None => {
                read = std::fs::read(path).map_err(|source| SandboxError::ReadScript {
                    path: path.to_path_buf(),
                    source,
                })?;
                &read
            }
        };
        let source = rewrite_setfenv(text).into_owned();
        let Some(engine) = &self.engine else {
            return Err(SandboxError::Terminated(String::new()));
        };
        let f = engine
            .lua
            .load(source)
            .set_name(format!("@{}", path.display()))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| SandboxError::Load(error_text(&e)))?;
        self.ctx.borrow_mut().begin_call(
            Current::None,
            self.inject_cap(self.max_process_inject),
            0,
        );
        engine.budget.reset();
        let r = f.call::<()>(());
        self.counters.max_memory = self.counters.max_memory.max(engine.lua.used_memory());
        if let Err(e) = r {
            let text = error_text(&e);
            self.terminate(text.clone());
            return Err(SandboxError::Load(text));
        }
        Ok(())
    }

    fn inject_cap(&self, cap: u32) -> Option<u32> {
        (self.kind == SandboxKind::Filter).then_some(cap)
    }

    /// A handle another thread can use to stop a running call (e.g. a
    /// continuous input at shutdown); see [`InterruptHandle`].
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// The plugin kind.
    pub fn kind(&self) -> SandboxKind {
        self.kind
    }

    /// The plugin name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if the global `name` is a function (e.g. `process_message`).
    pub fn has_function(&self, name: &str) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|e| matches!(e.globals.raw_get::<Value>(name), Ok(Value::Function(_))))
    }

    /// The `.lua` module files the script has loaded with `require` so far
    /// (empty once terminated).
    pub fn module_files(&self) -> Vec<PathBuf> {
        self.engine.as_ref().map_or_else(Vec::new, |e| require::module_files(&e.lua))
    }

    /// The termination error, once terminated.
    pub fn terminated(&self) -> Option<&str> {
        self.terminated.as_deref()
    }

    fn alive(&self) -> Result<&Engine, Terminated> {
        match &self.engine {
            Some(e) => Ok(e),
            None => Err(Terminated::new(self.terminated.clone().unwrap_or_default())),
        }
    }

    /// Closes the Lua state and keeps `text` as the termination error.
    pub(super) fn terminate(&mut self, text: String) -> Terminated {
        {
            let mut c = self.ctx.borrow_mut();
            c.current = Current::None;
            c.names.clear();
        }
        if let Some(engine) = self.engine.take() {
            // A spent budget stops `__gc` finalizers that run while the
            // state closes.
            self.counters.max_memory = self.counters.max_memory.max(MemoryPeak::get(&engine.lua));
            if let Some(b) = engine.lua.app_data_ref::<InstructionBudget>() {
                self.counters.max_instructions = b.max_used();
                let _ = b.charge(u64::MAX);
            }
            drop(engine);
        }
        self.terminated = Some(text.clone());
        Terminated::new(text)
    }

    /// Calls global function `fname`; its first two results are left in
    /// `Context::returned`.
    fn call_entry(
        &mut self,
        fname: &str,
        timer: bool,
        args: impl IntoLuaMulti,
    ) -> Result<(), Terminated> {
        let engine = self.alive()?;
        engine.budget.reset();
        let f = if timer { &engine.timer } else { &engine.process };
        let r = f.call::<()>(args);
        let used = engine.lua.used_memory();
        if used > self.counters.max_memory {
            self.counters.max_memory = used;
        }
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let text = format!("{fname}() {}", error_text(&e));
                if is_abort_text(&text) {
                    return Err(Terminated { message: text, aborted: true });
                }
                Err(self.terminate(text))
            }
        }
    }

    /// Reads the `status[, message]` the entry point returned; a malformed
    /// pair terminates.
    fn status(&mut self, fname: &str) -> Result<(i32, Option<String>), Terminated> {
        let (code, message) = {
            let c = self.ctx.borrow();
            let r = &c.returned;
            let code = match r.status {
                Status::Integer(i) => {
                    Some(i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
                }
                Status::Number(f) if f.is_finite() => {
                    Some(f.trunc().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
                }
                _ => None,
            };
            let message = match r.message {
                Message::Nil => Some(None),
                Message::String => Some(Some(String::from_utf8_lossy(&r.text).into_owned())),
                Message::Other => None,
            };
            (code, message)
        };
        let Some(code) = code else {
            return Err(self.terminate(format!("{fname}() must return a numeric status code")));
        };
        let Some(message) = message else {
            return Err(
                self.terminate(format!("{fname}() must return a nil or string error message"))
            );
        };
        Ok((code, message))
    }

    fn begin(&self, current: Current, inject_left: Option<u32>, loop_count: u32) {
        self.ctx.borrow_mut().begin_call(current, inject_left, loop_count);
    }

    fn take_current(&self) -> Current {
        std::mem::take(&mut self.ctx.borrow_mut().current)
    }

    /// Filters and outputs: runs `process_message()` on a routed message.
    pub fn process_message(&mut self, pack: &PackRef) -> Result<ProcessStatus, Terminated> {
        self.alive()?;
        self.begin(
            Current::Shared(pack.clone()),
            self.inject_cap(self.max_process_inject),
            pack.loop_count,
        );
        let r = self.timed_process(());
        drop(self.take_current());
        let (code, message) = r?;
        Ok(ProcessStatus::from_code(code, message))
    }

    /// Inputs: one `process_message()` call (it may run as long as the
    /// input lives; inputs have no instruction limit).
    pub fn run_input(&mut self) -> Result<ProcessStatus, Terminated> {
        self.alive()?;
        self.begin(Current::None, None, 0);
        let (code, message) = self.timed_process(())?;
        Ok(ProcessStatus::from_code(code, message))
    }

    fn timed_process(
        &mut self,
        args: impl IntoLuaMulti,
    ) -> Result<(i32, Option<String>), Terminated> {
        self.counters.process_message_count += 1;
        let started = self.counters.process.start(self.sample_every);
        let r = self.call_entry("process_message", false, args);
        self.counters.process.finish(started);
        r?;
        let (code, message) = self.status("process_message")?;
        if code < 0 {
            self.counters.process_message_failures += 1;
        }
        Ok((code, message))
    }

    /// Decoders: runs `process_message()` with `pack` as the current,
    /// writable message. Packs to forward are appended to `out`.
    pub fn decode(
        &mut self,
        pack: PackMut,
        out: &mut Vec<PackMut>,
    ) -> Result<DecodeOutcome, Terminated> {
        self.alive()?;
        let loops = pack.loop_count;
        self.begin(Current::Owned(pack), None, loops);
        let r = self.timed_process(());
        let (current, mut extra, original_used) = {
            let mut c = self.ctx.borrow_mut();
            let extra = std::mem::take(&mut c.decoder.extra);
            (std::mem::take(&mut c.current), extra, c.decoder.original_used)
        };
        let (code, message) = r?;
        let Current::Owned(mut pack) = current else {
            return Err(self.terminate("decoder lost its pack".into()));
        };
        match code {
            0 if original_used || !extra.is_empty() => {
                let n = extra.len() + usize::from(original_used);
                if original_used {
                    out.push(pack);
                }
                out.append(&mut extra);
                Ok(DecodeOutcome::Injected(n))
            }
            0 => {
                pack.encode_bytes();
                out.push(pack);
                Ok(DecodeOutcome::Forwarded)
            }
            s if s < 0 => {
                let why = message.map(|m| format!("{m} ")).unwrap_or_default();
                let payload = String::from_utf8_lossy(&pack.message.payload);
                Ok(DecodeOutcome::Failed {
                    status: s,
                    message: format!("Failed parsing: {why}payload: {payload}"),
                })
            }
            s => Ok(DecodeOutcome::Fatal { status: s, message: message.unwrap_or_default() }),
        }
    }

    /// Encoders: runs `process_message()` on `pack` and puts the output
    /// bytes in `out` (replacing its contents) when the outcome is
    /// [`EncodeOutcome::Output`].
    pub fn encode(
        &mut self,
        pack: &PackRef,
        out: &mut Vec<u8>,
    ) -> Result<EncodeOutcome, Terminated> {
        self.alive()?;
        self.begin(Current::Shared(pack.clone()), None, pack.loop_count);
        let r = self.timed_process(());
        let current = self.take_current();
        let (code, message) = r?;
        Ok(match code {
            0 => {
                out.clear();
                let mut c = self.ctx.borrow_mut();
                if c.encoder.injected {
                    std::mem::swap(out, &mut c.encoder.output);
                    c.encoder.output.clear();
                } else {
                    match (&current, pack.trusted_bytes()) {
                        (Current::Owned(p), _) => encode_into(&p.message, out),
                        (_, Some(bytes)) => out.extend_from_slice(bytes),
                        (_, None) => encode_into(&pack.message, out),
                    }
                }
                EncodeOutcome::Output
            }
            -2 => EncodeOutcome::Skip,
            s if s < 0 => EncodeOutcome::Failed { status: s, message },
            s => EncodeOutcome::Fatal { status: s, message },
        })
    }

    /// Filters and outputs: runs `timer_event(ns)`; any error terminates.
    /// A full garbage collection follows, as in Heka.
    pub fn timer_event(&mut self, ns: i64) -> Result<(), Terminated> {
        self.alive()?;
        self.begin(Current::None, self.inject_cap(self.max_timer_inject), 0);
        let started = self.counters.timer.start(1);
        let r = self.call_entry("timer_event", true, ns);
        self.counters.timer.finish(started);
        r?;
        if let Some(engine) = &self.engine
            && let Err(e) = engine.lua.gc_collect()
        {
            return Err(self.terminate(format!("timer_event() {}", error_text(&e))));
        }
        Ok(())
    }

    /// Usage statistics.
    pub fn stats(&self) -> SandboxStats {
        let c = self.ctx.borrow();
        let (memory, max_memory, max_instructions) = match &self.engine {
            Some(e) => (
                e.lua.used_memory(),
                MemoryPeak::get(&e.lua).max(self.counters.max_memory),
                e.lua.app_data_ref::<InstructionBudget>().map_or(0, |b| b.max_used()),
            ),
            None => (0, self.counters.max_memory, self.counters.max_instructions),
        };
        SandboxStats {
            memory,
            max_memory,
            max_instructions,
            max_output: c.max_output,
            process_message_count: self.counters.process_message_count,
            process_message_failures: self.counters.process_message_failures,
            inject_message_count: c.inject_count,
            process_message_samples: self.counters.process.samples(),
            process_message_avg_duration: self.counters.process.avg_ns(),
            timer_event_samples: self.counters.timer.samples(),
            timer_event_avg_duration: self.counters.timer.avg_ns(),
        }
    }
}

pub(super) fn reset_budget(lua: &Lua) {
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
}
