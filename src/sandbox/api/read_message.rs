//! `read_message` as a raw Lua C function (why, and the rules it follows:
//! `sandbox/raw.rs`); the lookup itself is [`read::read`](super::read::read).
//!
//! The function's upvalue points at the sandbox's context
//! (`raw::context_pointer`). The context is borrowed with `try_borrow_mut`
//! as the other API functions do, and the guard is dropped before the
//! result is pushed.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::c_int;
use std::fmt::Write;

use mlua::{Function, Lua, ffi};

use super::read::{Read, index_value, read};
use crate::message::uuid;
use crate::sandbox::context::{Context, Shared};
use crate::sandbox::modules::args::Arg;
use crate::sandbox::raw::{ErrorText, arg, context, context_pointer, raise};

/// The `read_message` function of a state whose API context is `ctx`.
pub(super) fn function(lua: &Lua, ctx: &Shared) -> mlua::Result<Function> {
    let ptr = context_pointer(lua, ctx)?;
    // SAFETY: pushes a light userdata and a C closure over it (two stack
    // slots, in mlua's protected call); the closure is the function's only
    // result.
    unsafe {
        lua.exec_raw((), |l| {
            ffi::lua_pushlightuserdata(l, ptr);
            ffi::lua_pushcclosure(l, read_message, 1);
        })
    }
}

/// A [`Read`] whose bytes are no longer tied to the context borrow: the
/// pointer targets the current pack, `Context::raw` or the caller's UUID
/// buffer, none of which changes before the push copies it (rule 2 of
/// `sandbox/raw.rs`).
enum Out {
    Nil,
    Bytes(*const u8, usize),
    Integer(i64),
    Number(f64),
    Boolean(bool),
}

impl From<Read<'_>> for Out {
    fn from(r: Read<'_>) -> Self {
        match r {
            Read::Nil => Out::Nil,
            Read::Bytes(b) => Out::Bytes(b.as_ptr(), b.len()),
            Read::Integer(i) => Out::Integer(i),
            Read::Number(n) => Out::Number(n),
            Read::Boolean(b) => Out::Boolean(b),
        }
    }
}

/// `read_message(variable [, field_index [, array_index]])`.
unsafe extern "C-unwind" fn read_message(l: *mut ffi::lua_State) -> c_int {
    let mut uuid_text = [0; uuid::TEXT_LEN];
    // SAFETY: upvalue 1 is the pointer `function` got from
    // `context_pointer`.
    let ctx = unsafe { context(l, 1) };
    // SAFETY: `l` is running this function.
    match unsafe { lookup(l, ctx, &mut uuid_text) } {
        Ok(out) => {
            // SAFETY: nothing with a destructor is alive here (rule 1), and
            // the bytes are still in place (see `Out`).
            unsafe { push(l, out) };
            1
        }
        Err(msg) => {
            let mut text = ErrorText::new();
            // SAFETY: `l` is running this function.
            unsafe { text.position(l) };
            let _ = text.write_str(&msg);
            drop(msg);
            // SAFETY: `msg` is dropped; only `text`, `uuid_text` and
            // references are alive (rule 1).
            unsafe { raise(l, &text) }
        }
    }
}

/// Checks the arguments and looks the value up, with the context borrowed
/// only in here; an error is the text without position.
///
/// # Safety
///
/// `l` is running `read_message`.
unsafe fn lookup(
    l: *mut ffi::lua_State,
    ctx: &RefCell<Context>,
    uuid_text: &mut [u8; uuid::TEXT_LEN],
) -> Result<Out, String> {
    // SAFETY: `l` is running `read_message`; its arguments stay on the
    // stack until it returns, longer than `var` is used.
    let (var, fi, ai) = unsafe { (arg(l, 1), arg(l, 2), arg(l, 3)) };
    let Arg::String(var) = var else {
        return Err(format!(
            "bad argument #1 to 'read_message' (string expected, got {})",
            var.type_name()
        ));
    };
    let fi = index_value(fi, "read_message", 2, "field index")?;
    let ai = index_value(ai, "read_message", 3, "array index")?;
    let Ok(mut c) = ctx.try_borrow_mut() else {
        return Err("sandbox API called re-entrantly".into());
    };
    let c = &mut *c;
    let Some(pack) = c.current.pack() else { return Ok(Out::Nil) };
    Ok(Out::from(read(pack, var, fi, ai, uuid_text, &mut c.raw)))
}

/// Pushes the result.
///
/// # Safety
///
/// `l` is running `read_message`, nothing with a destructor is alive in
/// its frames, and `Out::Bytes` points at live bytes.
unsafe fn push(l: *mut ffi::lua_State, out: Out) {
    // SAFETY: as the caller guarantees; one stack slot.
    unsafe {
        match out {
            Out::Nil => ffi::lua_pushnil(l),
            Out::Bytes(p, n) => {
                ffi::lua_pushlstring(l, p.cast(), n);
            }
            Out::Integer(i) => ffi::lua_pushinteger(l, i),
            Out::Number(n) => ffi::lua_pushnumber(l, n),
            Out::Boolean(b) => ffi::lua_pushboolean(l, c_int::from(b)),
        }
    }
}
