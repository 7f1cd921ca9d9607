//! Uncatchable limits: the instruction count hook, the cross-thread
//! interrupt, the `pcall`/`xpcall`/`coroutine.resume` wrappers, and how Lua
//! errors become Heka error text.
//!
//! The hook (`Lua::set_global_hook`, so Lua-created coroutines are counted
//! too) charges the per-call [`InstructionBudget`] every [`HOOK_INTERVAL`]
//! instructions. Once spent, the budget stays spent until the next entry
//! call, and the wrappers re-raise these errors instead of returning them to
//! the script: a spent budget, memory errors, an interrupt, and host errors
//! ending in `aborted` or `shutting down`. The same hook checks the
//! [`InterruptHandle`] flag, which another thread sets to stop a script that
//! never returns (a continuous input); Input and Output sandboxes get the
//! hook for this even though they have no instruction limit. The wrappers are Lua closures over the
//! native functions (no `debug` library, so the natives are unreachable);
//! they keep Lua 5.4's semantics otherwise: error values pass through
//! untouched (Rust errors become their message string) and `pcall` stays
//! yieldable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{Function, HookTriggers, Lua, Value, VmState};

use super::budget::{self, HOOK_INTERVAL, INSTRUCTION_LIMIT_EXCEEDED, InstructionBudget};

/// Chunk name of the host's own Lua code (skipped in error positions).
pub(crate) const HOST_CHUNK: &str = "=sandbox";

/// Lua's out-of-memory message.
pub const NOT_ENOUGH_MEMORY: &str = "not enough memory";

/// The error text of an interrupted call (Heka's stop hook said the same).
pub const SHUTTING_DOWN: &str = "shutting down";

/// Stops a running script from another thread: the next hook call (within
/// about a thousand VM instructions) raises `shutting down`, which the
/// script cannot catch. Like Heka's `aborted` errors it keeps the Lua state,
/// so `stop` still preserves data. The flag stays set: every later call is
/// interrupted too. Time spent inside one C function (a long `string.find`,
/// a blocking `io.read`) is not interrupted.
#[derive(Debug, Clone, Default)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    /// Asks the script to stop.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once [`interrupt`](Self::interrupt) was called.
    pub fn is_interrupted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

fn interrupted(lua: &Lua) -> bool {
    lua.app_data_ref::<InterruptHandle>().is_some_and(|i| i.is_interrupted())
}

/// Installs the count hook when `limit > 0`, or when `interruptible`
/// (without either there is no hook and no hook cost).
pub(crate) fn install_hook(lua: &Lua, limit: u64, interruptible: bool) -> mlua::Result<()> {
    if limit == 0 && !interruptible {
        return Ok(());
    }
    lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_INTERVAL), |lua, _| {
        if interrupted(lua) {
            return Err(mlua::Error::runtime(SHUTTING_DOWN));
        }
        super::stats::MemoryPeak::sample(lua);
        budget::charge(lua, u64::from(HOOK_INTERVAL))?;
        Ok(VmState::Continue)
    })
}

/// Errors that keep the Lua state (Heka's abort rule).
pub(crate) fn is_abort_text(text: &str) -> bool {
    text.ends_with("aborted") || text.ends_with(SHUTTING_DOWN)
}

/// True when `e` must end the entry-point call whatever the script does.
fn is_fatal(lua: &Lua, e: &Value) -> bool {
    if lua.app_data_ref::<InstructionBudget>().is_some_and(|b| b.is_exhausted()) || interrupted(lua)
    {
        return true;
    }
    match e {
        Value::String(s) => {
            let b = s.as_bytes();
            &b[..] == NOT_ENOUGH_MEMORY.as_bytes()
                || b.ends_with(b"aborted")
                || b.ends_with(SHUTTING_DOWN.as_bytes())
        }
        Value::Error(err) => is_fatal_error(err),
        _ => false,
    }
}

/// True for errors that terminate a call even inside `pcall`.
pub(crate) fn is_fatal_error(err: &mlua::Error) -> bool {
    match root_cause(err) {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::RuntimeError(s) => {
            s == INSTRUCTION_LIMIT_EXCEEDED || is_abort_text(s) || s == NOT_ENOUGH_MEMORY
        }
        _ => false,
    }
}

/// The innermost error of a callback/context chain.
pub(crate) fn root_cause(err: &mlua::Error) -> &mlua::Error {
    match err {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            root_cause(cause)
        }
        other => other,
    }
}

/// Heka-style text of an error: the message as Lua would show it, without
/// mlua's decorations or the stack traceback.
pub fn error_text(err: &mlua::Error) -> String {
    let text = match root_cause(err) {
        mlua::Error::RuntimeError(s) => s.clone(),
        mlua::Error::MemoryError(_) => NOT_ENOUGH_MEMORY.to_string(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::BadArgument { to, pos, cause, .. } => format!(
            "bad argument #{pos} to '{}' ({})",
            to.as_deref().unwrap_or("?"),
            error_text(cause)
        ),
        other => other.to_string(),
    };
    match text.find("\nstack traceback:") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A runtime error with the position of the calling Lua code, the way
/// `luaL_error` reports errors of C functions (`file:line: msg`); C frames
/// (such as `pcall`) are skipped to find the Lua line.
pub(crate) fn lua_error(lua: &Lua, msg: impl std::fmt::Display) -> mlua::Error {
    // The nearest script frame: mlua's protected helpers and the host's own
    // wrappers (chunk "=sandbox") may sit in between.
    let pos = (1..=6)
        .find_map(|level| {
            lua.inspect_stack(level, |d| {
                let line = d.current_line()?;
                let source = d.source();
                if source.source.as_deref() == Some(HOST_CHUNK) {
                    return None;
                }
                Some(format!("{}:{line}: ", source.short_src?))
            })
            .flatten()
        })
        .unwrap_or_default();
    mlua::Error::RuntimeError(format!("{pos}{msg}"))
}

const WRAPPERS: &str = r#"
local native_pcall, native_xpcall, resume, close, is_fatal, error_value = ...
local function check(ok, ...)
  if ok then return ok, ... end
  return false, error_value((...))
end
pcall = function(f, ...)
  return check(native_pcall(f, ...))
end
xpcall = function(f, handler, ...)
  local function h(e)
    if is_fatal(e) then return e end
    return handler(error_value(e))
  end
  return check(native_xpcall(f, h, ...))
end
coroutine.resume = function(co, ...)
  return check(resume(co, ...))
end
coroutine.close = function(co)
  return check(close(co))
end
"#;

/// Replaces `pcall`, `xpcall`, `coroutine.resume` and `coroutine.close`
/// with versions that cannot swallow the limits.
pub(crate) fn install_wrappers(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    let co: mlua::Table = g.raw_get("coroutine")?;
    let is_fatal_fn = lua.create_function(|lua, e: Value| Ok(is_fatal(lua, &e)))?;
    let error_value = lua.create_function(|lua, e: Value| {
        if is_fatal(lua, &e) {
            return Err(match e {
                Value::Error(err) => *err,
                _ if interrupted(lua) => mlua::Error::runtime(SHUTTING_DOWN),
                Value::String(s) if is_abort_text(&s.to_string_lossy()) => {
                    mlua::Error::RuntimeError(s.to_string_lossy())
                }
                _ if lua.app_data_ref::<InstructionBudget>().is_some_and(|b| b.is_exhausted()) => {
                    mlua::Error::runtime(INSTRUCTION_LIMIT_EXCEEDED)
                }
                _ => mlua::Error::MemoryError(NOT_ENOUGH_MEMORY.into()),
            });
        }
        Ok(match e {
            Value::Error(err) => Value::String(lua.create_string(error_text(&err))?),
            other => other,
        })
    })?;
    let f = lua.load(WRAPPERS).set_name(HOST_CHUNK).into_function()?;
    f.call::<()>((
        g.raw_get::<Function>("pcall")?,
        g.raw_get::<Function>("xpcall")?,
        co.raw_get::<Function>("resume")?,
        co.raw_get::<Function>("close")?,
        is_fatal_fn,
        error_value,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua_with_budget(limit: u64) -> Lua {
        let lua = Lua::new();
        lua.set_app_data(InstructionBudget::new(limit));
        install_hook(&lua, limit, false).unwrap();
        install_wrappers(&lua).unwrap();
        lua
    }

    #[test]
    fn pcall_cannot_swallow_the_budget() {
        let lua = lua_with_budget(100_000);
        let err = lua
            .load("while true do pcall(function() while true do end end) end")
            .exec()
            .unwrap_err();
        assert_eq!(error_text(&err), INSTRUCTION_LIMIT_EXCEEDED);
        let b = lua.app_data_ref::<InstructionBudget>().unwrap();
        assert!(b.is_exhausted());
        b.reset();
    }

    #[test]
    fn xpcall_and_resume_cannot_swallow_the_budget() {
        let lua = lua_with_budget(100_000);
        for code in [
            "while true do xpcall(function() while true do end end, function(e) return e end) end",
            "while true do local co = coroutine.create(function() while true do end end)
               coroutine.resume(co) end",
            "local co = coroutine.wrap(function() while true do end end) co()",
        ] {
            lua.app_data_ref::<InstructionBudget>().unwrap().reset();
            let err = lua.load(code).exec().unwrap_err();
            assert_eq!(error_text(&err), INSTRUCTION_LIMIT_EXCEEDED, "{code}");
        }
    }

    #[test]
    fn ordinary_errors_still_behave_like_lua() {
        let lua = lua_with_budget(1_000_000);
        let (ok, msg, tbl): (bool, String, bool) = lua
            .load(
                r#"local ok, e = pcall(error, "boom", 0)
                   local ok2, t = pcall(error, {code = 7})
                   local ok3, m = xpcall(function() error("x", 0) end, function(e) return "h:" .. e end)
                   assert(not ok3 and m == "h:x")
                   return ok, e, (not ok2) and t.code == 7"#,
            )
            .eval()
            .unwrap();
        assert!(!ok);
        assert_eq!(msg, "boom");
        assert!(tbl, "table error values pass through");
        let r: (bool, i64, i64) =
            lua.load("return pcall(function(a, b) return a + b, a * b end, 2, 3)").eval().unwrap();
        assert_eq!(r, (true, 5, 6));
        // A Rust error becomes its message, not an opaque userdata.
        let f = lua.create_function(|lua, ()| Err::<(), _>(lua_error(lua, "nope"))).unwrap();
        lua.globals().set("fails", f).unwrap();
        let m: String =
            lua.load("local _, e = pcall(function() fails() end) return e").eval().unwrap();
        assert!(m.ends_with("nope") && m.contains(":1:"), "{m}");
        // pcall stays yieldable inside coroutines.
        let y: i64 = lua
            .load(
                "local co = coroutine.wrap(function() pcall(coroutine.yield, 41) return 0 end)
                 return co() + 1",
            )
            .eval()
            .unwrap();
        assert_eq!(y, 42);
    }

    #[test]
    fn memory_errors_are_not_catchable() {
        let lua = lua_with_budget(0);
        lua.set_memory_limit(lua.used_memory() + 256 * 1024).unwrap();
        let err = lua
            .load("local ok = pcall(string.rep, 'x', 1e8) return 'continued'")
            .exec()
            .unwrap_err();
        assert_eq!(error_text(&err), NOT_ENOUGH_MEMORY);
        assert!(is_fatal_error(&err));
    }

    #[test]
    fn error_text_strips_decorations() {
        use mlua::ErrorContext;
        let e = Err::<(), _>(mlua::Error::RuntimeError(
            "f.lua:3: bad\nstack traceback:\n\t[C]: in ?".into(),
        ))
        .context("while calling")
        .unwrap_err();
        assert_eq!(error_text(&e), "f.lua:3: bad");
        assert_eq!(error_text(&mlua::Error::MemoryError("x".into())), NOT_ENOUGH_MEMORY);
    }
}
