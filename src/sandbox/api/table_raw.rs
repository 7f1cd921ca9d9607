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

/// A value read in place. `Str` points into a Lua string that the table
/// being read keeps alive.
#[derive(Clone, Copy)]
enum Scalar {
    Str(*const u8, usize),
    Int(i64),
    Num(f64),
    Bool(bool),
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
    // SAFETY (whole body): raw reads of a valid table on a valid state.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            if ffi::lua_type(state, -2) == ffi::LUA_TSTRING {
                let v = ffi::lua_gettop(state);
                match string_at(state, -2) {
                    b"Uuid" => {
                        if let Some(Scalar::Str(p, 16)) = scalar_at(state, v) {
                            m.uuid.extend_from_slice(bytes(p, 16));
                        }
                    }
                    b"Timestamp" => {
                        m.timestamp = match scalar_at(state, v)? {
                            Scalar::Int(i) => i,
                            Scalar::Num(f) if f.is_finite() => f.round() as i64,
                            _ => return None,
                        };
                        filled.timestamp = true;
                    }
                    b"Type" => text(state, v, &mut m.msg_type)?,
                    b"Logger" => text(state, v, &mut m.logger)?,
                    b"Payload" => text(state, v, &mut m.payload)?,
                    b"EnvVersion" => text(state, v, &mut m.env_version)?,
                    b"Hostname" => text(state, v, &mut m.hostname)?,
                    b"Severity" => m.severity = int32(state, v)?,
                    b"Pid" => m.pid = int32(state, v)?,
                    b"Fields" => match ffi::lua_type(state, v) {
                        ffi::LUA_TTABLE => fields(state, v, spare, m)?,
                        ffi::LUA_TNIL => {}
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
    // SAFETY (whole body): raw reads of a valid table on a valid state.
    unsafe {
        // The array form (`Fields[1]` a table) is for the general reader.
        let first = ffi::lua_rawgeti(state, t, 1);
        ffi::lua_pop(state, 1);
        if first == ffi::LUA_TTABLE {
            return None;
        }
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            if ffi::lua_type(state, -2) != ffi::LUA_TSTRING {
                return None;
            }
            let name = std::str::from_utf8(string_at(state, -2)).ok()?;
            // Filled in place (a field is large to move); left behind
            // half-filled when the general reader must take over, which
            // starts over.
            m.fields.push(recycled(spare));
            let field = m.fields.last_mut()?;
            field.name.clear();
            field.name.push_str(name);
            let v = ffi::lua_gettop(state);
            if ffi::lua_type(state, v) == ffi::LUA_TTABLE {
                typed(state, v, field)?;
            } else {
                scalar(scalar_at(state, v)?, None, &mut field.value)?;
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
    // SAFETY (whole body): raw reads of a valid table on a valid state.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            if ffi::lua_type(state, -2) == ffi::LUA_TSTRING {
                let v = ffi::lua_gettop(state);
                match string_at(state, -2) {
                    b"value" => value = Some(scalar_at(state, v)?),
                    b"value_type" => value_type = Some(scalar_at(state, v)?),
                    b"representation" => match scalar_at(state, v)? {
                        Scalar::Str(p, n) => representation = Some(bytes(p, n)),
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
        Some(Scalar::Int(i)) => Some(i),
        Some(Scalar::Num(f)) if f.fract() == 0.0 => Some(f as i64),
        Some(_) => return None,
    };
    if let Some(r) = representation {
        field.representation.push_str(&String::from_utf8_lossy(r));
    }
    // No `value`: the table is an array of values, for the general reader.
    scalar(value?, vt, &mut field.value)
}

/// One value of kind `vt` (or the value's own kind) into `out`.
fn scalar(v: Scalar, vt: Option<i64>, out: &mut FieldValue) -> Option<()> {
    let kind = match (v, vt) {
        (Scalar::Str(..), None | Some(0)) => Kind::String,
        (Scalar::Str(..), Some(1)) => Kind::Bytes,
        (Scalar::Int(_) | Scalar::Num(_), None | Some(3)) => Kind::Double,
        (Scalar::Int(_) | Scalar::Num(_), Some(2)) => Kind::Integer,
        (Scalar::Bool(_), None | Some(4)) => Kind::Bool,
        _ => return None,
    };
    reset(kind, out);
    let mut used = 0;
    match (&mut *out, v) {
        (FieldValue::String(a) | FieldValue::Bytes(a), Scalar::Str(p, n)) => {
            // SAFETY: `p` and `n` describe a live Lua string (see `Scalar`).
            push_bytes(a, &mut used, unsafe { bytes(p, n) });
        }
        (FieldValue::Double(a), Scalar::Int(i)) => a.push(i as f64),
        (FieldValue::Double(a), Scalar::Num(f)) => a.push(f),
        (FieldValue::Integer(a), Scalar::Int(i)) => a.push(i),
        (FieldValue::Integer(a), Scalar::Num(f)) => a.push(f as i64),
        (FieldValue::Bool(a), Scalar::Bool(b)) => a.push(b),
        _ => return None,
    }
    finish(out, used);
    Some(())
}

/// A header text: a string, or a number written as Lua writes it.
///
/// # Safety
/// As for [`message`], `v` a valid index.
unsafe fn text(state: *mut ffi::lua_State, v: c_int, out: &mut Vec<u8>) -> Option<()> {
    // SAFETY: as the caller's.
    if unsafe { ffi::lua_type(state, v) } == ffi::LUA_TNIL {
        return Some(());
    }
    // SAFETY: as the caller's.
    match unsafe { scalar_at(state, v) }? {
        // SAFETY: a live Lua string (see `Scalar`).
        Scalar::Str(p, n) => out.extend_from_slice(unsafe { bytes(p, n) }),
        Scalar::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Scalar::Num(f) => append_number(out, f),
        Scalar::Bool(_) => return None,
    }
    Some(())
}

/// Severity or Pid: nil, or an integer that fits 32 bits.
///
/// # Safety
/// As for [`message`], `v` a valid index.
unsafe fn int32(state: *mut ffi::lua_State, v: c_int) -> Option<Option<i32>> {
    // SAFETY: as the caller's.
    if unsafe { ffi::lua_type(state, v) } == ffi::LUA_TNIL {
        return Some(None);
    }
    // SAFETY: as the caller's.
    let n = match unsafe { scalar_at(state, v) }? {
        Scalar::Int(i) => i,
        Scalar::Num(f) if f.fract() == 0.0 => f as i64,
        _ => return None,
    };
    i32::try_from(n).ok().map(Some)
}

/// The string, number or boolean at `idx`; `None` for other types.
///
/// # Safety
/// A valid state and index.
unsafe fn scalar_at(state: *mut ffi::lua_State, idx: c_int) -> Option<Scalar> {
    // SAFETY: typed reads of a value whose type is checked first; none of
    // them converts the value in place.
    unsafe {
        match ffi::lua_type(state, idx) {
            ffi::LUA_TSTRING => {
                let mut len = 0;
                let p = ffi::lua_tolstring(state, idx, &mut len);
                Some(Scalar::Str(p.cast(), len))
            }
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
                Some(Scalar::Int(ffi::lua_tointegerx(state, idx, std::ptr::null_mut())))
            }
            ffi::LUA_TNUMBER => {
                Some(Scalar::Num(ffi::lua_tonumberx(state, idx, std::ptr::null_mut())))
            }
            ffi::LUA_TBOOLEAN => Some(Scalar::Bool(ffi::lua_toboolean(state, idx) != 0)),
            _ => None,
        }
    }
}

/// The bytes of the string at `idx`.
///
/// # Safety
/// A valid state, and a string at `idx`, which the caller keeps alive while
/// it uses the bytes.
unsafe fn string_at<'a>(state: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: a string value: `lua_tolstring` returns its bytes unchanged.
    unsafe {
        let p = ffi::lua_tolstring(state, idx, &mut len);
        bytes(p.cast(), len)
    }
}

/// # Safety
/// `p` points to `n` bytes that stay valid for `'a`.
unsafe fn bytes<'a>(p: *const u8, n: usize) -> &'a [u8] {
    if p.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts(p, n) }
}
