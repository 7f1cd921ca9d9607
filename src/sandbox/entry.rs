//! The entry-point call: `process_message` and `timer_event` looked up and
//! called by a raw C function (why raw, and the rules it follows:
//! `raw.rs`).
//!
//! Calling the global through mlua cost about 60 ns a message more than
//! the call itself: a `Function` handle made and dropped by the lookup, and
//! the two results converted to `Value`s. An entry function (one per name,
//! made once) looks the global up with `lua_rawget`, calls it with the
//! arguments and records its first two results in the context
//! ([`Returned`]), so mlua converts nothing. The entry function is itself
//! called with `Function::call`, so errors, the traceback handler and the
//! error conversion are mlua's as before; a global that is not a function
//! is the error `function was not found`.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::c_int;
use std::fmt::Write;

use mlua::{Function, Lua, ffi};

use super::context::{Context, Shared};
use super::modules::args::Arg;
use super::raw::{ErrorText, arg, context, context_pointer, raise};

/// The first result of an entry point, as far as the status check needs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) enum Status {
    Integer(i64),
    Number(f64),
    /// Any other type, nil included.
    #[default]
    Other,
}

/// The second result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Message {
    #[default]
    Nil,
    /// A string; its bytes are in [`Returned::text`].
    String,
    /// Any other type.
    Other,
}

/// What the last entry-point call returned.
#[derive(Debug, Default)]
pub(crate) struct Returned {
    pub status: Status,
    pub message: Message,
    /// The message's bytes (the buffer is reused).
    pub text: Vec<u8>,
}

/// The entry function of the global `name` (`process_message` or
/// `timer_event`): called with the entry point's arguments, it returns
/// nothing and leaves the results in `Context::returned`.
pub(crate) fn function(lua: &Lua, ctx: &Shared, name: &str) -> mlua::Result<Function> {
    let ptr = context_pointer(lua, ctx)?;
    let key = lua.create_string(name)?;
    // SAFETY: `key` is argument 1 of mlua's protected call; the context
    // pointer goes below it and both become the upvalues of the closure,
    // the only result (two stack slots).
    unsafe {
        lua.exec_raw(&key, |l| {
            ffi::lua_pushlightuserdata(l, ptr);
            ffi::lua_insert(l, 1);
            ffi::lua_pushcclosure(l, entry, 2);
        })
    }
}

/// Upvalues: 1 the context pointer, 2 the global's name.
unsafe extern "C-unwind" fn entry(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is running this closure. The arguments plus three slots
    // (globals, name, function) fit in the `LUA_MINSTACK` slots a C
    // function gets (rule 3); the call's two results replace them. An
    // error in the called function unwinds through this frame, which
    // holds nothing with a destructor (rule 1).
    let found = unsafe {
        let nargs = ffi::lua_gettop(l);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_GLOBALS);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
        let found = ffi::lua_rawget(l, -2) == ffi::LUA_TFUNCTION;
        if found {
            ffi::lua_remove(l, -2);
            ffi::lua_insert(l, 1);
            ffi::lua_call(l, nargs, 2);
        }
        found
    };
    // SAFETY: upvalue 1 is the pointer `function` got from
    // `context_pointer`; the results are at -2 and -1.
    let recorded = found && unsafe { record(l, context(l, 1)) };
    if recorded {
        return 0;
    }
    let mut text = ErrorText::new();
    let _ = text.write_str(if found {
        "sandbox API called re-entrantly"
    } else {
        "function was not found"
    });
    // SAFETY: only `text` is alive (rule 1).
    unsafe { raise(l, &text) }
}

/// Copies the results at -2 and -1 into the context; false if the context
/// is borrowed. No Lua function that can fail is called while it is.
///
/// # Safety
///
/// `l` is running `entry`, after the call.
unsafe fn record(l: *mut ffi::lua_State, ctx: &RefCell<Context>) -> bool {
    let Ok(mut c) = ctx.try_borrow_mut() else { return false };
    let r = &mut c.returned;
    // SAFETY: the results stay on the stack while they are read.
    let (status, message) = unsafe { (arg(l, -2), arg(l, -1)) };
    r.status = match status {
        Arg::Integer(i) => Status::Integer(i),
        Arg::Number(n) => Status::Number(n),
        _ => Status::Other,
    };
    r.message = match message {
        Arg::Nil => Message::Nil,
        Arg::String(b) => {
            r.text.clear();
            r.text.extend_from_slice(b);
            Message::String
        }
        _ => Message::Other,
    };
    true
}

#[cfg(test)]
mod tests {
    use crate::sandbox::ProcessStatus;
    use crate::sandbox::SandboxKind;
    use crate::sandbox::tests::{start, test_pack};

    fn run(body: &str) -> Result<ProcessStatus, String> {
        let (mut sb, _h, _s) =
            start(SandboxKind::Filter, &format!("function process_message() {body} end"));
        sb.process_message(&test_pack()).map_err(|t| t.message)
    }

    #[test]
    fn results_become_the_status() {
        let failed = |status, message: Option<&str>| {
            Ok(ProcessStatus::Failed { status, message: message.map(Into::into) })
        };
        let fatal = |status| Ok(ProcessStatus::Fatal { status, message: None });
        assert_eq!(run("return 0, 'ignored'"), Ok(ProcessStatus::Ok));
        assert_eq!(run("return -1.9"), failed(-1, None));
        assert_eq!(run("return 1e300"), fatal(i32::MAX));
        assert_eq!(run("return math.mininteger"), failed(i32::MIN, None));
        assert_eq!(run("return -2, 'caf\\xff'"), failed(-2, Some("caf\u{fffd}")));
        assert_eq!(run("return -1, nil, 'extra'"), failed(-1, None));
        let numeric = "process_message() must return a numeric status code";
        for body in ["return '0'", "return 0/0", "return 1/0", "return nil, 'x'"] {
            assert_eq!(run(body), Err(numeric.into()), "{body}");
        }
        let message = "process_message() must return a nil or string error message";
        assert_eq!(run("return -1, 5"), Err(message.into()));
        assert_eq!(run("error('up', 2)"), Err("process_message() up".into()), "no position");
    }

    #[test]
    fn the_global_is_looked_up_on_every_call() {
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            "function process_message() process_message = function() return -7 end return 0 end
             function timer_event(ns) assert(ns == 42) timer_event = 1 end",
        );
        assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
        assert_eq!(
            sb.process_message(&test_pack()),
            Ok(ProcessStatus::Failed { status: -7, message: None })
        );
        assert_eq!(sb.timer_event(42), Ok(()));
        let err = sb.timer_event(42).unwrap_err();
        assert_eq!(err.message, "timer_event() function was not found");
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            "process_message = setmetatable({}, {__call = function() return 0 end})",
        );
        let err = sb.process_message(&test_pack()).unwrap_err();
        assert_eq!(err.message, "process_message() function was not found", "only functions");
    }
}
