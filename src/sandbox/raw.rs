//! Shared pieces of the sandbox functions written as raw Lua C functions:
//! `read_message` (`api/read_message.rs`), the circular buffer's `add`,
//! `set` and `get` (`modules/circular_buffer/raw.rs`) and the entry-point
//! call (`entry.rs`). [`arg`] also serves the raw reader of
//! `inject_message` tables (`api/table_raw.rs`).
//!
//! Why raw: a call through mlua's `create_function` or `UserDataMethods`
//! costs about 150 ns (each argument becomes a `Value`, the callback is
//! wrapped for errors, a userdata is borrowed through its lock), and these
//! functions run for every message: the shipped `http_status.lua` makes
//! three such calls per message, on top of the entry-point call itself. A
//! C function reads its arguments off the Lua stack and pushes its results
//! itself. Everything else stays on mlua's safe API.
//!
//! Rules the raw functions follow (each `unsafe` block refers to them):
//!
//! 1. A Lua error is a `longjmp` over the Rust frames up to the Lua call.
//!    It is raised only with [`raise`], from a frame where no Rust value
//!    with a destructor is alive in any frame it skips: the text goes into
//!    an [`ErrorText`] (a fixed buffer without a destructor) and the values
//!    that produced it (`String`s, `mlua::Error`s, `RefCell` guards) are
//!    dropped first.
//! 2. `lua_pushlstring` may raise "not enough memory" (the memory limit) and
//!    so is called under rule 1 too. It copies the bytes before anything
//!    else can run: an allocation failure only runs an emergency
//!    collection, which never calls finalizers, so no Lua code (and no other
//!    API function) runs between taking the pointer and the copy.
//! 3. A C function may use `LUA_MINSTACK` (20) stack slots above its
//!    arguments without `lua_checkstack`; these push at most three.
//! 4. Error texts are the ones the mlua callbacks gave, word for word (the
//!    tests next to each function pin them).

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, c_int, c_void};
use std::fmt;
use std::rc::Rc;

use mlua::{Lua, ffi};

use super::context::{Context, Shared};
use super::guard::HOST_CHUNK;
use super::modules::args::Arg;

/// Keeps the API context alive for as long as the Lua state exists (see
/// [`context_pointer`]).
struct KeepContext(Shared);

/// A pointer to the sandbox's `RefCell<Context>`, for the upvalue of a raw
/// function (read back with [`context`]).
///
/// A clone of `ctx` goes into the state's app data, which keeps the
/// allocation alive, in place, for as long as the Lua state exists: mlua
/// drops app data only after `lua_close`, so even a finalizer run while
/// the state closes sees a live context; and nothing removes it (the type
/// is private to this file). Only shared references to the `RefCell` are
/// made from the pointer; the context is borrowed through it.
pub(crate) fn context_pointer(lua: &Lua, ctx: &Shared) -> mlua::Result<*mut c_void> {
    let kept = lua.app_data_ref::<KeepContext>().map(|k| Rc::ptr_eq(&k.0, ctx));
    match kept {
        Some(true) => {}
        Some(false) => return Err(mlua::Error::runtime("the state already has another context")),
        None => {
            lua.set_app_data(KeepContext(ctx.clone()));
        }
    }
    Ok(Rc::as_ptr(ctx).cast_mut().cast())
}

/// The context behind upvalue `n` of the running C function.
///
/// # Safety
///
/// Upvalue `n` of the C function running in `l` is a light userdata made
/// from [`context_pointer`].
pub(crate) unsafe fn context<'a>(l: *mut ffi::lua_State, n: c_int) -> &'a RefCell<Context> {
    // SAFETY: as the caller guarantees; the pointee lives as long as the
    // state (see `context_pointer`).
    unsafe { &*ffi::lua_touserdata(l, ffi::lua_upvalueindex(n)).cast::<RefCell<Context>>() }
}

/// The text of an error about to be raised: up to 512 bytes, cut at a
/// character boundary. It has no destructor, so it may be alive when
/// [`raise`] jumps.
pub(crate) struct ErrorText {
    buf: [u8; 512],
    len: usize,
}

impl ErrorText {
    /// An empty text.
    pub fn new() -> Self {
        ErrorText { buf: [0; 512], len: 0 }
    }

    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends `file:line: ` of the nearest script frame that called the
    /// running C function, skipping C frames (`pcall`) and the host's own
    /// wrappers, as `guard::lua_error` does for the mlua callbacks.
    ///
    /// # Safety
    ///
    /// `l` is the state running the C function.
    pub unsafe fn position(&mut self, l: *mut ffi::lua_State) {
        for level in 1..=6 {
            // SAFETY: `lua_Debug` is a plain C struct for which all zeroes
            // is a valid (empty) value; `lua_getstack` fills it for an
            // existing level, and `lua_getinfo` then reads that level of
            // the running state `l`.
            let ar = unsafe {
                let mut ar = std::mem::zeroed::<ffi::lua_Debug>();
                if ffi::lua_getstack(l, level, &mut ar) == 0
                    || ffi::lua_getinfo(l, c"Sl".as_ptr(), &mut ar) == 0
                {
                    continue;
                }
                ar
            };
            if ar.currentline < 0 {
                continue;
            }
            // SAFETY: `source` (when non-null) and `short_src` are NUL
            // terminated strings Lua owns while the frame exists.
            let (host, short_src) = unsafe {
                let host = !ar.source.is_null()
                    && CStr::from_ptr(ar.source).to_bytes() == HOST_CHUNK.as_bytes();
                (host, CStr::from_ptr(ar.short_src.as_ptr()))
            };
            if host {
                continue;
            }
            let src = String::from_utf8_lossy(short_src.to_bytes());
            let _ = fmt::Write::write_fmt(self, format_args!("{src}:{}: ", ar.currentline));
            return;
        }
    }
}

impl fmt::Write for ErrorText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Raises `text` as a Lua error (a string, like `luaL_error`'s).
///
/// # Safety
///
/// `l` is the state running the C function, and no Rust value with a
/// destructor is alive in the frames between here and the C function's
/// entry (rule 1).
pub(crate) unsafe fn raise(l: *mut ffi::lua_State, text: &ErrorText) -> ! {
    let bytes = text.as_bytes();
    // SAFETY: the caller guarantees rule 1; the push copies `bytes` (or
    // raises a memory error, equally fine here) and needs one stack slot.
    unsafe {
        ffi::lua_pushlstring(l, bytes.as_ptr().cast(), bytes.len());
        ffi::lua_error(l)
    }
}

/// Stack slot `idx` (an argument, absent = nil, or a negative index) as
/// the shared argument checks see it.
///
/// # Safety
///
/// `l` is the state running the C function. A string borrows Lua's copy:
/// `'a` must not outlive the value's place on the stack (arguments stay
/// there until the C function returns).
#[inline]
pub(crate) unsafe fn arg<'a>(l: *mut ffi::lua_State, idx: c_int) -> Arg<'a> {
    // SAFETY: reading a stack slot by type; `lua_tolstring` on a string
    // neither converts nor allocates, and returns `len` bytes Lua keeps
    // while the value is on the stack.
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => Arg::Nil,
            ffi::LUA_TBOOLEAN => Arg::Boolean(ffi::lua_toboolean(l, idx) != 0),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(l, idx) != 0 => {
                Arg::Integer(ffi::lua_tointeger(l, idx))
            }
            ffi::LUA_TNUMBER => Arg::Number(ffi::lua_tonumber(l, idx)),
            ffi::LUA_TSTRING => {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, idx, &mut len);
                Arg::String(std::slice::from_raw_parts(p.cast(), len))
            }
            ffi::LUA_TTABLE => Arg::Other { lua: "table", mlua: "table" },
            ffi::LUA_TFUNCTION => Arg::Other { lua: "function", mlua: "function" },
            ffi::LUA_TTHREAD => Arg::Other { lua: "thread", mlua: "thread" },
            ffi::LUA_TLIGHTUSERDATA => Arg::Other { lua: "userdata", mlua: "lightuserdata" },
            _ => Arg::Other { lua: "userdata", mlua: "userdata" },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    #[test]
    fn error_text_is_cut_at_a_character_boundary() {
        let mut t = ErrorText::new();
        write!(t, "{}", "é".repeat(300)).unwrap();
        assert_eq!(t.as_bytes().len(), 512);
        assert!(std::str::from_utf8(t.as_bytes()).is_ok());
        let mut t = ErrorText::new();
        write!(t, "a{}", "é".repeat(300)).unwrap();
        assert_eq!(t.as_bytes().len(), 511, "the half character is dropped");
        write!(t, "more").unwrap();
        assert_eq!(t.as_bytes().len(), 512);
    }
}
