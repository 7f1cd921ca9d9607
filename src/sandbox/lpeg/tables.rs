//! Table captures recorded in Rust and handed to Lua in one protected call.
//!
//! With the sandbox's memory limit set, mlua wraps every table store and
//! every string creation a native function makes in its own protected call
//! (a `lua_pcall` each): a table capture of ten fields cost twenty of them,
//! most of the time LPeg spent on a log line. So the evaluator records a
//! table capture here as a list of entries (subject ranges, integers, Lua
//! values, nested tables), and [`Tables::build`] creates the whole nest of
//! tables with raw Lua API calls inside a single protected call, reading
//! group names from the pattern's ktable (already Lua strings). The
//! memory limit still applies: an allocation that passes it raises Lua's
//! memory error inside that call, which comes back as an error like any
//! other; the entries themselves are checked as they grow.

#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::ffi;
use mlua::{Lua, Value, Variadic};

use super::capture::{Env, Val};
use super::error::{LpegError, Result};
use super::program::Program;
use super::vm::grow;

/// Deepest nest of tables built (the evaluator's own nesting limit keeps
/// captures well under it).
const MAX_DEPTH: u32 = 256;

/// No entry.
const NONE: u32 = u32::MAX;

/// Where a value is stored in its table.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// The next array position.
    Index(i64),
    /// A named group: the ktable entry holding the name.
    Name(u32),
}

struct Entry {
    key: Key,
    val: Val,
    next: u32,
}

/// One table capture: its size hints and its entries, a linked list
/// through [`Tables::entries`] (nested captures add theirs in between).
struct Pending {
    narr: u32,
    nrec: u32,
    head: u32,
    tail: u32,
}

/// The table captures of one evaluation.
#[derive(Default)]
pub struct Tables {
    tables: Vec<Pending>,
    entries: Vec<Entry>,
}

impl Tables {
    pub fn clear(&mut self) {
        self.tables.clear();
        self.entries.clear();
    }

    pub fn shrink_to(&mut self, n: usize) {
        self.tables.shrink_to(n);
        self.entries.shrink_to(n);
    }

    /// Starts a table with room for `narr` array and `nrec` named entries.
    pub fn open(&mut self, lua: &Lua, narr: usize, nrec: usize) -> Result<u32> {
        grow(lua, &mut self.tables)?;
        let id = u32::try_from(self.tables.len()).map_err(|_| too_many())?;
        self.tables.push(Pending {
            narr: u32::try_from(narr).unwrap_or(u32::MAX),
            nrec: u32::try_from(nrec).unwrap_or(u32::MAX),
            head: NONE,
            tail: NONE,
        });
        Ok(id)
    }

    /// Records `t[key] = val` (a later entry for the same key wins, as a
    /// later store would).
    pub fn set(&mut self, lua: &Lua, t: u32, key: Key, val: Val) -> Result<()> {
        grow(lua, &mut self.entries)?;
        let e = u32::try_from(self.entries.len()).map_err(|_| too_many())?;
        self.entries.push(Entry { key, val, next: NONE });
        let Some(p) = self.tables.get_mut(t as usize) else {
            return Err(unknown_table());
        };
        match self.entries.get_mut(p.tail as usize) {
            Some(prev) => prev.next = e,
            None => p.head = e,
        }
        p.tail = e;
        Ok(())
    }

    /// Creates table `t` and the tables nested in it as Lua tables.
    pub fn build(&self, env: &Env, t: u32) -> Result<Value> {
        // The arguments of the protected call: the pattern, whose ktable
        // holds the names of named entries (read from there, already Lua
        // strings, instead of being hashed again), then the Lua values the
        // tables hold, in the order the build below uses them.
        let mut args = Vec::new();
        self.collect(env, t, 0, &mut args)?;
        let (subject, prog) = (env.subject, env.prog);
        let args = (env.pattern, Variadic::from(args));
        // SAFETY: the closure runs inside mlua's protected call on a stack
        // holding exactly the arguments above. `build_raw` only uses raw
        // Lua API calls on that stack, checks the stack space it needs, and
        // holds no value with a destructor, so a Lua error (running out of
        // memory) unwinding through it skips nothing that must run. It
        // leaves the built table as the only value on the stack.
        let v = unsafe {
            env.lua.exec_raw::<Value>(args, |state| {
                let kt = ktable_at_1(state);
                let mut next_arg = 2;
                build_raw(state, self, Raw { subject, prog, kt }, t, &mut next_arg);
                ffi::lua_replace(state, 1);
                ffi::lua_settop(state, 1);
            })
        };
        Ok(v?)
    }

    fn pending(&self, t: u32) -> Result<&Pending> {
        self.tables.get(t as usize).ok_or_else(unknown_table)
    }

    /// Entries of `t`, in order.
    fn entries_of(&self, p: &Pending) -> impl Iterator<Item = &Entry> {
        std::iter::successors(self.entries.get(p.head as usize), |e| {
            self.entries.get(e.next as usize)
        })
    }

    /// Adds the Lua values [`build_raw`] takes from the arguments for table
    /// `t` (group names are read from the ktable, not passed).
    fn collect(&self, env: &Env, t: u32, depth: u32, args: &mut Vec<Value>) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(LpegError::NestingTooDeep);
        }
        for e in self.entries_of(self.pending(t)?) {
            self.collect_value(env, &e.val, depth, args)?;
        }
        Ok(())
    }

    /// Adds the Lua values [`push_value`] takes from the arguments for `v`.
    pub fn collect_value(
        &self,
        env: &Env,
        v: &Val,
        depth: u32,
        args: &mut Vec<Value>,
    ) -> Result<()> {
        match v {
            Val::Lua(v) if !is_immediate(v) => args.push(v.clone()),
            Val::Tab(c) => self.collect(env, *c, depth + 1, args)?,
            Val::Lua(_) | Val::Str(..) | Val::Int(_) | Val::Const(_) => {}
        }
        Ok(())
    }
}

/// Replaces stack slot 1, the pattern, with its ktable; the index of the
/// ktable (1), or 0 when the pattern has none. (mlua keeps a userdata's
/// user values in a table in its Lua user value; the ktable is entry 1.)
///
/// # Safety
/// Inside a protected call whose first argument is the pattern userdata.
pub(super) unsafe fn ktable_at_1(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: raw reads of the userdata at slot 1 with the two slots
    // checked first; the result (nil when there is no ktable) moves into
    // slot 1 and the wrapper table is dropped.
    unsafe {
        if ffi::lua_checkstack(state, 2) == 0 {
            ffi::luaL_error(state, c"stack overflow".as_ptr());
        }
        let mut kind = ffi::lua_getiuservalue(state, 1, 1);
        if kind == ffi::LUA_TTABLE {
            kind = ffi::lua_rawgeti(state, -1, 1);
            ffi::lua_remove(state, -2);
        }
        ffi::lua_replace(state, 1);
        if kind == ffi::LUA_TTABLE { 1 } else { 0 }
    }
}

/// Lua values [`push_value`] pushes itself rather than taking them from
/// the arguments (no reference needed).
fn is_immediate(v: &Value) -> bool {
    matches!(v, Value::Nil | Value::Boolean(_) | Value::Integer(_) | Value::Number(_))
}

/// What the raw builders read besides the entries.
#[derive(Clone, Copy)]
pub(super) struct Raw<'a> {
    pub subject: &'a [u8],
    pub prog: &'a Program,
    /// The stack index of the pattern's ktable, 0 when the pattern has
    /// none (then no table has named entries).
    pub kt: c_int,
}

/// Pushes the Lua value of `v`; Lua values are taken from the arguments on
/// the stack from `next_arg` on, in [`Tables::collect_value`]'s order.
///
/// # Safety
/// As for `build_raw`, with a free stack slot.
pub(super) unsafe fn push_value(
    state: *mut ffi::lua_State,
    tables: &Tables,
    raw: Raw,
    v: &Val,
    next_arg: &mut i32,
) {
    let Raw { subject, prog, .. } = raw;
    // SAFETY: raw pushes on a valid state with the room the caller checked.
    unsafe {
        match v {
            Val::Str(a, b) => {
                let (a, b) = (*a as usize, *b as usize);
                push_bytes(state, subject.get(a..b.max(a)).unwrap_or_default());
            }
            Val::Const(k) => push_bytes(state, prog.string(*k).unwrap_or_default()),
            Val::Int(n) => ffi::lua_pushinteger(state, *n),
            Val::Lua(Value::Nil) => ffi::lua_pushnil(state),
            Val::Lua(Value::Boolean(b)) => ffi::lua_pushboolean(state, c_int::from(*b)),
            Val::Lua(Value::Integer(n)) => ffi::lua_pushinteger(state, *n),
            Val::Lua(Value::Number(x)) => ffi::lua_pushnumber(state, *x),
            Val::Lua(_) => {
                ffi::lua_pushvalue(state, *next_arg);
                *next_arg += 1;
            }
            Val::Tab(c) => build_raw(state, tables, raw, *c, next_arg),
        }
    }
}

/// Pushes table `t`, built from its entries; Lua values are taken from the
/// arguments on the stack from `next_arg` on, in `collect`'s order, and the
/// names of named entries from the ktable at `raw.kt`.
///
/// # Safety
/// `state` must be inside a protected call whose stack holds the arguments
/// `collect` gathered for `t` from `next_arg` on, and the ktable at
/// `raw.kt` when a table of the nest has named entries.
unsafe fn build_raw(
    state: *mut ffi::lua_State,
    tables: &Tables,
    raw: Raw,
    t: u32,
    next_arg: &mut i32,
) {
    // SAFETY (whole body): raw API calls on a valid state, within the
    // stack space checked first; errors raised here unwind to the
    // protected call (see `Tables::build`).
    unsafe {
        if ffi::lua_checkstack(state, 4) == 0 {
            ffi::luaL_error(state, c"table capture nested too deep".as_ptr());
        }
        let Some(p) = tables.tables.get(t as usize) else {
            ffi::luaL_error(state, c"table capture: unknown table".as_ptr());
            return;
        };
        let size = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        ffi::lua_createtable(state, size(p.narr), size(p.nrec));
        for e in tables.entries_of(p) {
            match e.key {
                Key::Index(i) => ffi::lua_pushinteger(state, i),
                Key::Name(k) if raw.kt != 0 => {
                    ffi::lua_rawgeti(state, raw.kt, ffi::lua_Integer::from(k));
                }
                // No ktable: cannot happen (names live there); a nil key
                // makes the store fail with Lua's own error.
                Key::Name(_) => ffi::lua_pushnil(state),
            }
            push_value(state, tables, raw, &e.val, next_arg);
            ffi::lua_rawset(state, -3);
        }
    }
}

/// Pushes `bytes` as a Lua string.
///
/// # Safety
/// As for `build_raw`, with a free stack slot.
unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    // SAFETY: a valid state with a slot checked by the caller; the pointer
    // and length describe `bytes`, which Lua copies.
    unsafe {
        ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
    }
}

fn too_many() -> LpegError {
    LpegError::Lua(mlua::Error::MemoryError("not enough memory".into()))
}

fn unknown_table() -> LpegError {
    LpegError::Lua(mlua::Error::runtime("table capture: unknown table"))
}
