//! The call of a match-time capture's function, made with raw Lua API
//! calls inside one protected call.
//!
//! Through mlua's safe API the call took a registry reference for the
//! function (fetched from the pattern's ktable), one per argument, a
//! protected call per captured string and an argument vector; for a log
//! grammar with one `Cmt` (a date converted while matching) that was a
//! tenth of a decoder's time. Here the function is fetched from the ktable
//! with a raw read, the captured values are pushed as they are (table
//! captures built in place, see `tables`), and the function is called
//! with `lua_call` inside the protected call, so its errors (and the
//! instruction limit) come back like any other.
#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::{Value, Variadic, ffi};

use super::capture::{Env, Val};
use super::error::{LpegError, Result};
use super::tables::{Raw, Tables, ktable_at_1, push_value};

/// What the function returned: `n` values, the first two held apart so the
/// common short returns need no vector.
pub struct Returned {
    n: usize,
    first: Value,
    second: Value,
    rest: Variadic<Value>,
}

impl Returned {
    pub fn into_values(self) -> impl Iterator<Item = Value> {
        [self.first, self.second].into_iter().chain(self.rest).take(self.n)
    }
}

/// Calls the function at ktable entry `key` with the subject, `pos + 1`
/// and the values `vals`; returns what it returns.
pub fn match_time(
    env: &Env,
    tables: &Tables,
    key: u32,
    pos: usize,
    vals: &[Val],
) -> Result<Returned> {
    // The pattern (its ktable holds the function), the subject, then the Lua values
    // the captured values hold, in the order they are pushed below (none,
    // and no vector, for captures of subject text and numbers).
    let mut extra = Vec::new();
    for v in vals {
        tables.collect_value(env, v, 0, &mut extra)?;
    }
    let base = c_int::try_from(extra.len() + 2).map_err(|_| LpegError::TooManyResults)?;
    let nvals = c_int::try_from(vals.len()).map_err(|_| LpegError::TooManyResults)?;
    let (subject, prog) = (env.subject, env.prog);
    let position = pos as ffi::lua_Integer + 1;
    // SAFETY: the closure runs inside mlua's protected call with the
    // `base` arguments above on its stack. It checks the stack space it
    // needs, uses raw API calls only, and holds no value with a
    // destructor, so an error raised by the called function (or by a
    // push that runs out of memory) unwinds through it safely. It leaves
    // the number of results, then the results, on the stack.
    let args = (env.pattern, env.subject_value, Variadic::from(extra));
    let (n, first, second, rest) = unsafe {
        env.lua.exec_raw::<(usize, Value, Value, Variadic<Value>)>(args, |state| {
            if ffi::lua_checkstack(state, nvals.saturating_add(4)) == 0 {
                ffi::luaL_error(state, c"too many captures".as_ptr());
            }
            // The function: ktable[key] (nil, which fails the call, when
            // there is no ktable).
            let kt = ktable_at_1(state);
            if kt != 0 {
                ffi::lua_rawgeti(state, kt, ffi::lua_Integer::from(key));
            } else {
                ffi::lua_pushnil(state);
            }
            ffi::lua_pushvalue(state, 2);
            ffi::lua_pushinteger(state, position);
            let raw = Raw { subject, prog, kt };
            let mut next_arg = 3;
            for v in vals {
                push_value(state, tables, raw, v, &mut next_arg);
            }
            ffi::lua_call(state, nvals + 2, ffi::LUA_MULTRET);
            // Their number below the results, then drop the arguments.
            let n = ffi::lua_gettop(state) - base;
            if ffi::lua_checkstack(state, 1) == 0 {
                ffi::luaL_error(state, c"too many results".as_ptr());
            }
            ffi::lua_pushinteger(state, ffi::lua_Integer::from(n));
            ffi::lua_rotate(state, base + 1, 1);
            ffi::lua_rotate(state, 1, -base);
            ffi::lua_settop(state, -base - 1);
        })
    }?;
    Ok(Returned { n, first, second, rest })
}
