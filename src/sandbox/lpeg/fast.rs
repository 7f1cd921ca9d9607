//! `match` as a Lua C function, so a match crosses from Lua into Rust
//! once, with no mlua conversions.
//!
//! Through mlua, matching a log line took three crossings of mlua's call
//! boundary: the `match` callback (converting its arguments and results),
//! a protected call building the table captures, and one per match-time
//! capture; for a log grammar that was a sixth of a line's cost. Here
//! `lpeg.match` and the patterns' `match` method are one C closure. It
//! runs the VM and pushes the captures (`push`) inside one `lua_pcall`:
//! match-time capture functions are called with `lua_call` and the values
//! they return stay on the Lua stack, as in C LPeg. Arguments other than a
//! pattern, a string, an integer or nil `init` and any extra arguments
//! are first converted by an mlua function with LPeg's rules and errors
//! (`api::lp_match_args`, the closure's first upvalue); a pattern is
//! compiled on its first match by another (the third).
//!
//! The compiled program is found through the pattern's second user value,
//! a light userdata set when the program is compiled (see [`publish`]);
//! the pattern owns the program, and the pattern is on the stack for the
//! whole call. The limits apply as everywhere: VM steps and capture
//! evaluation are charged to the instruction budget, native buffers are
//! checked against the memory limit, and Lua values are created by Lua's
//! allocator under the state's limit. Errors are raised as Lua errors with
//! LPeg's texts after the Rust state is put back, so the unwinding skips
//! nothing with a destructor.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::fmt::Write;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use mlua::{AnyUserData, Function, LightUserData, Lua, ffi};

use super::api::init_position;
use super::capture::Cap;
use super::error::{LpegError, Result};
use super::program::Program;
use super::push::{MatchStack, PushEval};
use super::vm::{self, Buffers, MatchTime, Resumed, returned_position};
use crate::sandbox::budget;
use crate::sandbox::guard::error_text;
use crate::sandbox::raw::{self, ErrorText};

/// Upvalue 1 of the closure: converts unusual arguments (an mlua function,
/// `api::lp_match_args`).
const ARGS: c_int = 1;
/// Upvalue 2: the metatable of pattern userdata.
const PATTERN_MT: c_int = 2;
/// Upvalue 3: compiles a pattern (an mlua function), on its first match.
const COMPILE: c_int = 3;

/// The user value of a pattern holding its program for the C function.
const PROGRAM_SLOT: usize = 2;

/// Stack indexes inside the protected call: its arguments.
const CTX: c_int = 1;
const KTABLE: c_int = 2;
const SUBJECT: c_int = 3;

/// Tells the C function where `prog`, just compiled for the pattern `ud`,
/// is.
pub fn publish(ud: &AnyUserData, prog: &Rc<Program>) -> mlua::Result<()> {
    ud.set_nth_user_value(PROGRAM_SLOT, LightUserData(Rc::as_ptr(prog) as *mut c_void))
}

/// Creates the C `match` closure over `args` (converting unusual
/// arguments, see [`ARGS`]) and `compile` (which compiles the pattern it
/// is given), and makes it the `match` method of patterns; `sample` is any
/// pattern.
pub fn create(
    lua: &Lua,
    args: Function,
    compile: Function,
    sample: AnyUserData,
) -> mlua::Result<Function> {
    // SAFETY: inside mlua's protected call with the three arguments on the
    // stack; raw calls only, nothing with a destructor held. The pattern
    // metatable's `__index` is mlua's methods table (patterns have
    // methods but no fields); the closure replaces its `match` entry.
    unsafe {
        lua.exec_raw::<Function>((args, compile, sample), |state| {
            // args, compile, sample, then the metatable (4).
            if ffi::lua_getmetatable(state, 3) == 0 {
                ffi::luaL_error(state, c"lpeg: pattern without a metatable".as_ptr());
            }
            ffi::lua_pushvalue(state, 1);
            ffi::lua_pushvalue(state, 4);
            ffi::lua_pushvalue(state, 2);
            ffi::lua_pushcclosure(state, raw_match, 3);
            // The closure (5), then the methods table (6).
            if ffi::lua_getfield(state, 4, c"__index".as_ptr()) == ffi::LUA_TTABLE {
                ffi::lua_pushvalue(state, 5);
                ffi::lua_setfield(state, 6, c"match".as_ptr());
            }
            ffi::lua_settop(state, 5);
            ffi::lua_replace(state, 1);
            ffi::lua_settop(state, 1);
        })
    }
}

/// `lpeg.match(p, s [, init, ...])` and `p:match(s [, init, ...])`.
unsafe extern "C-unwind" fn raw_match(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with its arguments on the stack and the
    // upvalues set by `create`; `prog` is owned by the pattern at index 1.
    // The calls of the upvalue functions may raise, unwinding through
    // this frame, which holds nothing with a destructor.
    unsafe {
        let path = match fast_program(state) {
            Path::Other => {
                call_upvalue(state, ARGS);
                fast_program(state)
            }
            path => path,
        };
        let path = match path {
            Path::Compile => {
                ffi::lua_pushvalue(state, ffi::lua_upvalueindex(COMPILE));
                ffi::lua_pushvalue(state, 1);
                ffi::lua_call(state, 1, 0);
                fast_program(state)
            }
            path => path,
        };
        match path {
            Path::Fast(prog, init) => fast(state, &*prog, init),
            Path::Compile | Path::Other => {
                raise(state, LpegError::Lua(mlua::Error::runtime("lpeg: cannot match")))
            }
        }
    }
}

/// Replaces the arguments on the stack with what upvalue `n` returns for
/// them.
unsafe fn call_upvalue(state: *mut ffi::lua_State, n: c_int) {
    // SAFETY: a C function has LUA_MINSTACK free slots; the call's errors
    // unwind through this frame, which holds nothing with a destructor.
    unsafe {
        let top = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(n));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, top, ffi::LUA_MULTRET);
    }
}

/// How a call is matched.
enum Path {
    /// By `fast`, with this program and `init` (the ktable pushed).
    Fast(*const Program, Option<i64>),
    /// By `fast` once the pattern is compiled.
    Compile,
    /// By `fast` once the arguments are converted.
    Other,
}

/// How the call on the stack can be matched; for the fast path, the
/// pattern's ktable (or nil) is pushed on the stack. Leaves the stack as
/// it was otherwise.
unsafe fn fast_program(state: *mut ffi::lua_State) -> Path {
    // SAFETY: raw reads of the arguments, a metatable and a table; every
    // early return pops what was pushed.
    unsafe {
        let n = ffi::lua_gettop(state);
        if n < 2
            || ffi::lua_type(state, 1) != ffi::LUA_TUSERDATA
            || ffi::lua_type(state, 2) != ffi::LUA_TSTRING
        {
            return Path::Other;
        }
        let init = match ffi::lua_type(state, 3) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => None,
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, 3) != 0 => {
                Some(ffi::lua_tointeger(state, 3))
            }
            _ => return Path::Other,
        };
        if ffi::lua_getmetatable(state, 1) == 0 {
            return Path::Other;
        }
        let is_pattern = ffi::lua_rawequal(state, -1, ffi::lua_upvalueindex(PATTERN_MT)) != 0;
        ffi::lua_settop(state, n);
        if !is_pattern {
            return Path::Other;
        }
        if ffi::lua_getiuservalue(state, 1, 1) != ffi::LUA_TTABLE {
            ffi::lua_settop(state, n);
            return Path::Compile;
        }
        let slot = PROGRAM_SLOT as ffi::lua_Integer;
        match ffi::lua_rawgeti(state, -1, slot) {
            ffi::LUA_TLIGHTUSERDATA => {}
            ffi::LUA_TNIL => {
                ffi::lua_settop(state, n);
                return Path::Compile;
            }
            _ => {
                ffi::lua_settop(state, n);
                return Path::Other;
            }
        }
        let prog = ffi::lua_touserdata(state, -1) as *const Program;
        ffi::lua_rawgeti(state, -2, 1);
        ffi::lua_replace(state, n + 1);
        ffi::lua_settop(state, n + 1);
        Path::Fast(prog, init)
    }
}

/// What the protected call needs.
struct Ctx<'a> {
    lua: &'a Lua,
    prog: &'a Program,
    subject: &'a [u8],
    init: usize,
    /// Extra arguments of `match` (for `Carg`), after the subject.
    nextra: c_int,
    maxstack: usize,
    bufs: &'a mut Buffers,
}

/// Matches with the ktable on top of the stack, above the arguments.
unsafe fn fast(state: *mut ffi::lua_State, prog: &Program, init: Option<i64>) -> c_int {
    // SAFETY: `prog` is owned by the pattern at stack index 1; the
    // subject string stays at index 2 for the whole call, so its bytes
    // stay valid. The buffers are given back before an error is raised,
    // and this frame holds nothing else with a destructor.
    unsafe {
        let base = ffi::lua_gettop(state);
        let lua = Lua::get_or_init_from_ptr(state);
        let mut len = 0usize;
        let ptr = ffi::lua_tolstring(state, 2, &mut len);
        let subject = std::slice::from_raw_parts(ptr.cast::<u8>(), len);
        let nextra = (base - 1 - 3).max(0);
        if len >= u32::MAX as usize - 1 {
            raise(state, LpegError::SubjectTooLong);
        }
        if ffi::lua_checkstack(state, nextra + 5) == 0 {
            raise(state, LpegError::TooManyCaptures);
        }
        let (mut bufs, maxstack) = vm::take_buffers(lua);
        let status = {
            let mut ctx = Ctx {
                lua,
                prog,
                subject,
                init: init_position(init, len),
                nextra,
                maxstack,
                bufs: &mut bufs,
            };
            ffi::lua_pushcfunction(state, protected);
            ffi::lua_pushlightuserdata(state, (&raw mut ctx).cast());
            ffi::lua_pushvalue(state, base);
            ffi::lua_pushvalue(state, 2);
            for k in 4..4 + nextra {
                ffi::lua_pushvalue(state, k);
            }
            ffi::lua_pcall(state, 3 + nextra, ffi::LUA_MULTRET, 0)
        };
        vm::give_back(lua, bufs);
        if status != ffi::LUA_OK {
            ffi::lua_error(state);
        }
        ffi::lua_gettop(state) - base
    }
}

/// The protected part: runs the VM and pushes the results.
unsafe extern "C-unwind" fn protected(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `fast` with the context, the ktable and the
    // subject as arguments. An error is turned into a Lua error only after
    // `run` has returned, so no Rust frame of it is skipped.
    unsafe {
        let ctx = &mut *ffi::lua_touserdata(state, CTX).cast::<Ctx>();
        let kt = if ffi::lua_type(state, KTABLE) == ffi::LUA_TTABLE { KTABLE } else { 0 };
        // A panic must not unwind into Lua's C frames: it becomes an error.
        match std::panic::catch_unwind(AssertUnwindSafe(|| run(state, ctx, kt))) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => raise(state, e),
            Err(_) => raise(state, LpegError::Lua(mlua::Error::runtime("lpeg: internal error"))),
        }
    }
}

/// Raises `e` as a Lua error with its text (no position: as C LPeg's
/// errors, raised from a C function).
unsafe fn raise(state: *mut ffi::lua_State, e: LpegError) -> ! {
    let mut text = ErrorText::new();
    let _ = match e {
        LpegError::Lua(e) => text.write_str(&error_text(&e)),
        other => write!(text, "{other}"),
    };
    // SAFETY: `e` and the texts made from it are dropped; `text` has no
    // destructor (rule 1 of `sandbox::raw`).
    unsafe { raw::raise(state, &text) }
}

unsafe fn run(state: *mut ffi::lua_State, ctx: &mut Ctx, kt: c_int) -> Result<c_int> {
    let Ctx { lua, prog, subject, init, nextra, maxstack, .. } = *ctx;
    let bufs = &mut *ctx.bufs;
    let dyn_base = SUBJECT + nextra;
    let args = (SUBJECT + 1, nextra);
    let mut m = MatchStack { state, lua, prog, subject, kt, dyn_base, args };
    let (end, unbilled) = vm::run(lua, prog, subject, bufs, maxstack, init, &mut m)?;
    // SAFETY: pushes within the slots checked here, on the protected state.
    unsafe {
        if ffi::lua_checkstack(state, 2) == 0 {
            return Err(LpegError::TooManyCaptures);
        }
        let Some(end) = end else {
            budget::charge(lua, unbilled)?;
            ffi::lua_pushnil(state);
            return Ok(1);
        };
        let mut ev = PushEval::new(m, &bufs.caps);
        let n = ev.push_range(0, bufs.caps.len())?;
        budget::charge(lua, unbilled + ev.steps)?;
        if n == 0 {
            ffi::lua_pushinteger(state, end as ffi::lua_Integer + 1);
            return Ok(1);
        }
        c_int::try_from(n).map_err(|_| LpegError::TooManyCaptures)
    }
}

/// Match-time captures called with `lua_call`; the values they return are
/// kept on the stack above `dyn_base` (the protected call's arguments).
impl MatchTime for MatchStack<'_> {
    fn dyn_len(&self) -> u32 {
        // SAFETY: reading the top of a valid state.
        (unsafe { ffi::lua_gettop(self.state) } - self.dyn_base) as u32
    }

    fn dyn_truncate(&mut self, n: u32) {
        // SAFETY: only drops values above the arguments.
        unsafe { ffi::lua_settop(self.state, self.dyn_base + n as c_int) }
    }

    fn call(&mut self, caps: &[Cap], open: usize, pos: usize) -> Result<Option<Resumed>> {
        let state = self.state;
        let c = caps[open];
        let key = self.prog.caps[c.idx as usize].key;
        // SAFETY: raw calls on the protected state with the slots checked;
        // the function's errors unwind to the protected call through
        // frames that hold nothing with a destructor.
        unsafe {
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err(LpegError::TooManyCaptures);
            }
            let before = ffi::lua_gettop(state);
            self.push_kvalue(key);
            ffi::lua_pushvalue(state, SUBJECT);
            ffi::lua_pushinteger(state, pos as ffi::lua_Integer + 1);
            let mut ev = PushEval::new(*self, caps);
            let n = ev.push_range(open + 1, caps.len())?;
            budget::charge(self.lua, ev.steps)?;
            let nargs = c_int::try_from(n + 2).map_err(|_| LpegError::TooManyCaptures)?;
            ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
            let nres = ffi::lua_gettop(state) - before;
            let ret = before + 1;
            let newpos =
                match ffi::lua_type(state, ret) {
                    _ if nres == 0 => None,
                    ffi::LUA_TNIL => None,
                    ffi::LUA_TBOOLEAN => (ffi::lua_toboolean(state, ret) != 0).then_some(pos),
                    ffi::LUA_TNUMBER if ffi::lua_isinteger(state, ret) != 0 => Some(
                        returned_position(ffi::lua_tointeger(state, ret), pos, self.subject.len())?,
                    ),
                    ffi::LUA_TNUMBER => {
                        let x = ffi::lua_tonumber(state, ret);
                        if x.fract() != 0.0 || x.abs() >= 9.0e15 {
                            return Err(LpegError::InvalidPosition);
                        }
                        Some(returned_position(x as i64, pos, self.subject.len())?)
                    }
                    _ => return Err(LpegError::InvalidPosition),
                };
            let Some(newpos) = newpos else {
                ffi::lua_settop(state, before);
                return Ok(None);
            };
            ffi::lua_remove(state, ret);
            let first = (before - self.dyn_base) as u32;
            Ok(Some(Resumed { pos: newpos, first, count: (nres - 1) as usize }))
        }
    }
}
