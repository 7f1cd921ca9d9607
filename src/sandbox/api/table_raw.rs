//! The common shapes of `inject_message` tables, read with raw Lua API
//! calls in one protected call.
//!
//! Reading a message table through mlua's safe API makes a registry
//! reference for every key and value and drops it again; for a decoded
//! log line of a dozen fields that was about a fifth of a decoder's time.
//! This reader walks the table with `lua_next` and reads strings, numbers
//! and booleans in place. It handles the hash form with string, number and
//! boolean values and `{value=…, value_type=…, representation=…}` tables
//! of one value, and the header keys with numbers or strings. For
//! anything else (the array form, arrays of values, userdata, a textual
//! Timestamp, a value that is an error) it answers `None` and the caller
//! reads the table again through the general reader in `table.rs`, which
//! stays the reference for every rule and error message.
//!
//! Values are read with `raw::arg` (the borrowed view the raw C functions
//! use); a string borrows Lua's copy, which the table being read keeps
//! alive for the whole call.
//!
//! No call made here can raise a Lua error: nothing is allocated by Lua,
//! no metamethod runs (raw reads only), the table is not modified while it
//! is traversed, and the stack stays within the slots every C call gets.
//! So Rust values with destructors may live in these frames.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io::Write as _;

use mlua::{Lua, Table, ffi};

use super::payload::append_number;
use super::table::{Filled, Kind, finish, push_bytes, recycled, reset};
use crate::message::{Field, FieldValue, Message};
use crate::sandbox::modules::args::Arg;
use crate::sandbox::raw::arg;

/// Stack slots the reader uses at most (the table, three levels of
/// key and value, one probe).
const SLOTS: c_int = 8;

/// Fills `m` from `t` when every part of `t` has a common shape; `None`
/// (with `m` partly filled) when the general reader must read it.
pub(crate) fn fill_message(
    lua: &Lua,
    spare: &mut Vec<Field>,
    t: &Table,
    m: &mut Message,
) -> mlua::Result<Option<Filled>> {
    let mut filled = None;
    // SAFETY: the closure runs inside mlua's protected call with `t` as
    // its one argument (index 1). It makes only the raw calls listed in
    // the module comment, none of which raises a Lua error, after checking
    // the stack space it needs, and leaves the stack empty.
    unsafe {
        lua.exec_raw::<()>(t.clone(), |state| {
            if ffi::lua_checkstack(state, SLOTS) != 0 {
                filled = message(state, 1, spare, m);
            }
            ffi::lua_settop(state, 0);
        })?;
    }
    Ok(filled)
}

/// The message table at `t`.
///
/// # Safety
/// Inside the protected call of [`fill_message`], `t` a table index.
unsafe fn message(
    state: *mut ffi::lua_State,
    t: c_int,
    spare: &mut Vec<Field>,
    m: &mut Message,
) -> Option<Filled> {
    let mut filled = Filled::default();
    // SAFETY (whole body): raw reads of a valid table on a valid state;
    // the strings read stay in the table during the call.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            if let Arg::String(key) = arg(state, -2) {
                let v = arg(state, -1);
                match key {
                    b"Uuid" => {
                        if let Arg::String(u) = v
                            && u.len() == 16
                        {
                            m.uuid.extend_from_slice(u);
                        }
                    }
                    b"Timestamp" => {
                        m.timestamp = match v {
                            Arg::Integer(i) => i,
                            Arg::Number(f) if f.is_finite() => f.round() as i64,
                            _ => return None,
                        };
                        filled.timestamp = true;
                    }
                    b"Type" => text(v, &mut m.msg_type)?,
                    b"Logger" => text(v, &mut m.logger)?,
                    b"Payload" => text(v, &mut m.payload)?,
                    b"EnvVersion" => text(v, &mut m.env_version)?,
                    b"Hostname" => text(v, &mut m.hostname)?,
                    b"Severity" => m.severity = Some(int32(v)?),
                    b"Pid" => m.pid = Some(int32(v)?),
                    b"Fields" => match ffi::lua_type(state, -1) {
                        ffi::LUA_TTABLE => fields(state, ffi::lua_gettop(state), spare, m)?,
                        _ => return None,
                    },
                    _ => {}
                }
            }
            ffi::lua_pop(state, 1);
        }
    }
    Some(filled)
}

/// The `Fields` table at `t`, in its hash form.
///
/// # Safety
/// As for [`message`].
unsafe fn fields(
    state: *mut ffi::lua_State,
    t: c_int,
    spare: &mut Vec<Field>,
    m: &mut Message,
) -> Option<()> {
    // SAFETY (whole body): raw reads of a valid table on a valid state;
    // the strings read stay in the table during the call.
    unsafe {
        // The array form (`Fields[1]` a table) is for the general reader.
        let first = ffi::lua_rawgeti(state, t, 1);
        ffi::lua_pop(state, 1);
        if first == ffi::LUA_TTABLE {
            return None;
        }
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            let Arg::String(name) = arg(state, -2) else { return None };
            let name = std::str::from_utf8(name).ok()?;
            // Filled in place (a field is large to move); left behind
            // half-filled when the general reader must take over, which
            // starts over.
            m.fields.push(recycled(spare));
            let field = m.fields.last_mut()?;
            field.name.clear();
            field.name.push_str(name);
            if ffi::lua_type(state, -1) == ffi::LUA_TTABLE {
                typed(state, ffi::lua_gettop(state), field)?;
            } else {
                scalar(arg(state, -1), None, &mut field.value)?;
            }
            ffi::lua_pop(state, 1);
        }
    }
    Some(())
}

/// `{value=…, value_type=…, representation=…}` at `t` with one value.
///
/// # Safety
/// As for [`message`].
unsafe fn typed(state: *mut ffi::lua_State, t: c_int, field: &mut Field) -> Option<()> {
    let (mut value, mut value_type, mut representation) = (None, None, None);
    // SAFETY (whole body): raw reads of a valid table on a valid state;
    // the strings read stay in the table during the call.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            if let Arg::String(key) = arg(state, -2) {
                let v = arg(state, -1);
                match key {
                    b"value" => value = Some(v),
                    b"value_type" => value_type = Some(v),
                    b"representation" => match v {
                        Arg::String(r) => representation = Some(r),
                        _ => return None,
                    },
                    _ => {}
                }
            }
            ffi::lua_pop(state, 1);
        }
    }
    let vt = match value_type {
        None => None,
        Some(Arg::Integer(i)) => Some(i),
        Some(Arg::Number(f)) if f.fract() == 0.0 => Some(f as i64),
        Some(_) => return None,
    };
    if let Some(r) = representation {
        field.representation.push_str(&String::from_utf8_lossy(r));
    }
    // No `value`: the table is an array of values, for the general reader.
    scalar(value?, vt, &mut field.value)
}

/// One value of kind `vt` (or the value's own kind) into `out`.
fn scalar(v: Arg<'_>, vt: Option<i64>, out: &mut FieldValue) -> Option<()> {
    let kind = match (&v, vt) {
        (Arg::String(_), None | Some(0)) => Kind::String,
        (Arg::String(_), Some(1)) => Kind::Bytes,
        (Arg::Integer(_) | Arg::Number(_), None | Some(3)) => Kind::Double,
        (Arg::Integer(_) | Arg::Number(_), Some(2)) => Kind::Integer,
        (Arg::Boolean(_), None | Some(4)) => Kind::Bool,
        _ => return None,
    };
    reset(kind, out);
    let mut used = 0;
    match (&mut *out, v) {
        (FieldValue::String(a) | FieldValue::Bytes(a), Arg::String(b)) => {
            push_bytes(a, &mut used, b)
        }
        (FieldValue::Double(a), Arg::Integer(i)) => a.push(i as f64),
        (FieldValue::Double(a), Arg::Number(f)) => a.push(f),
        (FieldValue::Integer(a), Arg::Integer(i)) => a.push(i),
        (FieldValue::Integer(a), Arg::Number(f)) => a.push(f as i64),
        (FieldValue::Bool(a), Arg::Boolean(b)) => a.push(b),
        _ => return None,
    }
    finish(out, used);
    Some(())
}

/// A header text: a string, or a number written as Lua writes it.
fn text(v: Arg<'_>, out: &mut Vec<u8>) -> Option<()> {
    match v {
        Arg::String(b) => out.extend_from_slice(b),
        Arg::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Arg::Number(f) => append_number(out, f),
        _ => return None,
    }
    Some(())
}

/// Severity or Pid: an integer that fits 32 bits.
fn int32(v: Arg<'_>) -> Option<i32> {
    let n = match v {
        Arg::Integer(i) => i,
        Arg::Number(f) if f.fract() == 0.0 => f as i64,
        _ => return None,
    };
    i32::try_from(n).ok()
}
