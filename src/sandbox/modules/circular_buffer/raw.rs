//! The circular buffer's `add`, `set` and `get` as raw Lua C functions
//! (why, and the rules they follow: `sandbox/raw.rs`).
//!
//! How a C function reaches the cells: [`create`] stores a light userdata
//! pointing at the buffer's `RefCell<Cells>` (inside its `Rc`) in the
//! userdata's user value slot. The pointer is used only once `self` is
//! known to be a live `CircularBuffer` userdata: its metatable is the
//! type's metatable (upvalue 1). Scripts cannot change a userdata's
//! metatable or user value (no `debug` library, and mlua hides its
//! metatables behind `__metatable`), and mlua swaps in its "destructed"
//! metatable (upvalue 2) before it drops a userdata's value, so a matching
//! metatable means the `Rc` is alive; it stays alive while `self` is on the
//! stack. The cells are borrowed through the `RefCell`, like every other
//! path does, and the borrow ends before anything is pushed or raised.
//!
//! [`install`] puts the three functions into the type's method table (the
//! metatable's `__index`), where mlua has no methods of those names.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, c_int, c_void};
use std::fmt::{Display, Write};
use std::rc::Rc;

use mlua::{AnyUserData, Function, Lua, Result, Table, Value, ffi};

use super::{CircularBuffer, column};
use crate::sandbox::error_text;
use crate::sandbox::modules::args::{integer_arg, ns_arg, number_arg};
use crate::sandbox::modules::circular_buffer::cells::{CbufError, Cells};
use crate::sandbox::raw::{ErrorText, arg, raise};

/// Makes the userdata of a new buffer.
pub(super) fn create(lua: &Lua, cells: Cells) -> Result<AnyUserData> {
    let cb = CircularBuffer(Rc::new(RefCell::new(cells)));
    let ptr = Rc::as_ptr(&cb.0).cast_mut().cast::<c_void>();
    let ud = lua.create_userdata(cb)?;
    let mut stored = false;
    // SAFETY: the new userdata is argument 1 of mlua's protected call; one
    // more stack slot for the light userdata, which `lua_setiuservalue`
    // pops (it reports 0 if the userdata had no user value slot).
    unsafe {
        lua.exec_raw::<()>(&ud, |l| {
            ffi::lua_pushlightuserdata(l, ptr);
            stored = ffi::lua_setiuservalue(l, 1, 1) != 0;
            ffi::lua_settop(l, 0);
        })?;
    }
    if !stored {
        return Err(mlua::Error::runtime("circular_buffer: userdata without a user value slot"));
    }
    Ok(ud)
}

/// Puts the raw `add`, `set` and `get` into the `CircularBuffer` type's
/// method table. Run by `open`, once per state (again is harmless).
pub(super) fn install(lua: &Lua) -> Result<()> {
    let cells = Cells::new(2, 1, 1, false)
        .ok_or_else(|| mlua::Error::MemoryError("not enough memory".into()))?;
    let probe = lua.create_userdata(CircularBuffer(Rc::new(RefCell::new(cells))))?;
    let metatable = metatable_of(lua, &probe)?;
    probe.destroy()?;
    let destructed = metatable_of(lua, &probe)?;
    let Value::Table(methods) = metatable.raw_get("__index")? else {
        return Err(mlua::Error::runtime("circular_buffer: the methods are not in a table"));
    };
    let functions: [(&str, ffi::lua_CFunction); 3] = [("add", add), ("set", set), ("get", get)];
    for (name, f) in functions {
        // SAFETY: the two tables are the arguments of mlua's protected
        // call; `lua_pushcclosure` makes them the upvalues and leaves the
        // closure as the only result.
        let function: Function =
            unsafe { lua.exec_raw((&metatable, &destructed), |l| ffi::lua_pushcclosure(l, f, 2))? };
        methods.raw_set(name, function)?;
    }
    Ok(())
}

/// The metatable of `ud`, which scripts cannot see.
fn metatable_of(lua: &Lua, ud: &AnyUserData) -> Result<Table> {
    // SAFETY: `ud` is argument 1 of mlua's protected call; its metatable
    // (or nil) replaces it as the only result.
    let mt: Option<Table> = unsafe {
        lua.exec_raw(ud, |l| {
            if ffi::lua_getmetatable(l, 1) == 0 {
                ffi::lua_pushnil(l);
            }
            ffi::lua_remove(l, 1);
        })?
    };
    mt.ok_or_else(|| mlua::Error::runtime("circular_buffer: userdata without a metatable"))
}

/// `bad argument #1 to 'CircularBuffer.<method>' (<why>)`, mlua's text
/// for a bad `self`.
fn bad_self(method: &str, why: impl Display) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #1 to 'CircularBuffer.{method}' ({why})"))
}

/// The cells of `self` (argument 1), checked the way mlua checked a
/// method's `self`.
///
/// # Safety
///
/// `l` is running a closure made by [`install`]. The reference is valid
/// while argument 1 stays on the stack (until the C function returns).
unsafe fn this<'a>(l: *mut ffi::lua_State, method: &str) -> Result<&'a RefCell<Cells>> {
    // SAFETY: stack reads and at most one push and pop at a time (rule 3);
    // upvalues 1 and 2 are the tables `install` gave. The pointer in the
    // user value is dereferenced only for a userdata with the type's
    // metatable (see the file comment).
    unsafe {
        if ffi::lua_gettop(l) == 0 {
            return Err(bad_self(method, "error converting Lua missing argument to userdata"));
        }
        let t = ffi::lua_type(l, 1);
        if t != ffi::LUA_TUSERDATA {
            let name = CStr::from_ptr(ffi::lua_typename(l, t)).to_str().unwrap_or("unknown");
            return Err(bad_self(
                method,
                format!(
                    "error converting Lua {name} to userdata (expected userdata of type 'CircularBuffer')"
                ),
            ));
        }
        let mismatch = if ffi::lua_getmetatable(l, 1) == 0 {
            Some("userdata is not expected type")
        } else {
            let why = if ffi::lua_rawequal(l, -1, ffi::lua_upvalueindex(1)) != 0 {
                None
            } else if ffi::lua_rawequal(l, -1, ffi::lua_upvalueindex(2)) != 0 {
                Some("userdata has been destructed")
            } else {
                Some("userdata is not expected type")
            };
            ffi::lua_pop(l, 1);
            why
        };
        if let Some(why) = mismatch {
            return Err(bad_self(method, why));
        }
        let p = if ffi::lua_getiuservalue(l, 1, 1) == ffi::LUA_TLIGHTUSERDATA {
            ffi::lua_touserdata(l, -1)
        } else {
            std::ptr::null_mut()
        };
        ffi::lua_pop(l, 1);
        if p.is_null() {
            return Err(bad_self(method, "userdata is not expected type"));
        }
        Ok(&*p.cast::<RefCell<Cells>>())
    }
}

/// `add` or `set`.
type WriteOp = fn(&mut Cells, i64, usize, f64) -> std::result::Result<Option<f64>, CbufError>;

/// `cb:add(ns, column, value)` → the new value, or nil outside the window.
unsafe extern "C-unwind" fn add(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is running this closure (made by `install`).
    unsafe { finish(l, write(l, "add", Cells::add)) }
}

/// `cb:set(ns, column, value)` → the value now in the cell, or nil.
unsafe extern "C-unwind" fn set(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is running this closure (made by `install`).
    unsafe { finish(l, write(l, "set", Cells::set)) }
}

/// `cb:get(ns, column)` → the value, or nil outside the window.
unsafe extern "C-unwind" fn get(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is running this closure (made by `install`).
    unsafe { finish(l, read(l)) }
}

/// # Safety
///
/// `l` is running a closure made by [`install`].
unsafe fn write(l: *mut ffi::lua_State, method: &str, op: WriteOp) -> Result<Option<f64>> {
    // SAFETY: as the caller guarantees; the arguments stay on the stack.
    let (cell, ns, col, v) = unsafe { (this(l, method)?, arg(l, 2), arg(l, 3), arg(l, 4)) };
    let mut cb =
        cell.try_borrow_mut().map_err(|_| bad_self(method, mlua::Error::UserDataBorrowMutError))?;
    let ns = ns_arg(ns, 1, method)?;
    let col = column(&cb, integer_arg(col, 2, method)?, 2, method)?;
    let v = number_arg(v, 3, method)?;
    Ok(op(&mut cb, ns, col, v)?)
}

/// # Safety
///
/// `l` is running a closure made by [`install`].
unsafe fn read(l: *mut ffi::lua_State) -> Result<Option<f64>> {
    // SAFETY: as the caller guarantees; the arguments stay on the stack.
    let (cell, ns, col) = unsafe { (this(l, "get")?, arg(l, 2), arg(l, 3)) };
    let cb = cell.try_borrow().map_err(|_| bad_self("get", mlua::Error::UserDataBorrowError))?;
    let ns = ns_arg(ns, 1, "get")?;
    let col = column(&cb, integer_arg(col, 2, "get")?, 2, "get")?;
    Ok(cb.get(ns, col))
}

/// Pushes the result, or raises the error.
///
/// # Safety
///
/// `l` is running the C function that called this, whose frames hold
/// nothing with a destructor but `r` (rule 1).
unsafe fn finish(l: *mut ffi::lua_State, r: Result<Option<f64>>) -> c_int {
    match r {
        // SAFETY: one stack slot; pushing a number cannot fail.
        Ok(Some(v)) => unsafe { ffi::lua_pushnumber(l, v) },
        // SAFETY: as above.
        Ok(None) => unsafe { ffi::lua_pushnil(l) },
        Err(e) => {
            let mut text = ErrorText::new();
            let _ = text.write_str(&error_text(&e));
            drop(e);
            // SAFETY: `e` is dropped; only `text` is alive (rule 1).
            unsafe { raise(l, &text) }
        }
    }
    1
}
